"""Pass 5, mark recursion: strongly connected types, dependency order, infinite types refused."""

from __future__ import annotations

import pytest

from gen61850.generator.asn1.passes.recursion import strongly_connected
from gen61850.generator.errors import GeneratorError

from .helpers import after, parsed


def test_strongly_connected_components_come_after_what_they_use() -> None:
    module = parsed(
        "A ::= SEQUENCE { b [0] B, d [1] D }\nB ::= CHOICE { c [0] C, i [1] INTEGER }\n"
        "C ::= SEQUENCE OF B\nD ::= INTEGER"
    )
    assert strongly_connected(module) == [["B", "C"], ["D"], ["A"]]


def test_recursive_types_are_marked_and_ordered() -> None:
    module = after(
        "mark recursion",
        "Data ::= CHOICE { array [1] IMPLICIT SEQUENCE OF Data, b [3] IMPLICIT BOOLEAN }\n"
        "Pdu ::= SEQUENCE { all [0] IMPLICIT SEQUENCE OF Data }\n"
        "Node ::= SEQUENCE { next [0] Node OPTIONAL }",
    )
    assert [t.name for t in module.types] == ["Data", "Node", "Pdu"]
    assert {t.name: t.recursive for t in module.types} == {"Data": True, "Node": True, "Pdu": False}


@pytest.mark.parametrize(
    "body",
    [
        "A ::= SEQUENCE { a [0] A }",
        "A ::= SEQUENCE { b [0] B }\nB ::= SEQUENCE { a [0] A }",
        "A ::= CHOICE { a [0] A }",
        "A ::= SEQUENCE { a [0] SEQUENCE SIZE (1..4) OF A }",
    ],
)
def test_a_type_with_no_finite_value_is_refused(body: str) -> None:
    with pytest.raises(GeneratorError) as caught:
        after("mark recursion", body)
    assert "recursive with no way out" in str(caught.value)
    assert str(caught.value).startswith("m.asn:A: ")
