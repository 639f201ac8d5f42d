"""Pass 4, first-tag sets: computed per type, and ambiguity refused."""

from __future__ import annotations

import pytest

from gen61850.generator.asn1.ir import Tag, TagClass
from gen61850.generator.errors import GeneratorError

from .helpers import after


def context(*numbers: int) -> frozenset[Tag]:
    return frozenset(Tag(TagClass.CONTEXT, n) for n in numbers)


def test_first_tags_of_each_kind() -> None:
    module = after(
        "check first tags",
        "S ::= SEQUENCE { a [0] INTEGER }\n"
        "T ::= [APPLICATION 3] SEQUENCE { a [0] INTEGER }\n"
        "C ::= CHOICE { a [1] INTEGER, b [2] BOOLEAN, d D }\n"
        "D ::= CHOICE { e [4] INTEGER, f [5] INTEGER }\n"
        "I ::= INTEGER\nA ::= ANY\nE ::= ENUMERATED { x }",
    )
    found = {t.name: t.first_tags for t in module.types}
    assert found["S"] == frozenset({Tag(TagClass.UNIVERSAL, 16)})
    assert found["T"] == frozenset({Tag(TagClass.APPLICATION, 3)})
    assert found["C"] == context(1, 2, 4, 5)
    assert found["I"] == frozenset({Tag(TagClass.UNIVERSAL, 2)})
    assert found["E"] == frozenset({Tag(TagClass.UNIVERSAL, 10)})
    assert found["A"] is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "C ::= CHOICE { a [1] INTEGER, b [1] BOOLEAN }",
            "m.asn:C.b: starts with tag [1] like alternative a",
        ),
        (
            "C ::= CHOICE { a [1] INTEGER, d D }\nD ::= CHOICE { e [1] INTEGER }",
            "m.asn:C.d: starts with tag [1] like alternative a",
        ),
        (
            "S ::= SEQUENCE { a [0] INTEGER OPTIONAL, b [0] BOOLEAN }",
            "m.asn:S.a: OPTIONAL component starts with [0] like b after it",
        ),
        (
            "S ::= SEQUENCE { a [0] INTEGER OPTIONAL, b [1] INTEGER DEFAULT 1, c [0] BOOLEAN }",
            "m.asn:S.a: OPTIONAL component starts with [0] like c after it",
        ),
        ("S ::= SEQUENCE { a ANY }", "m.asn:S.a: an untagged ANY cannot be decoded"),
        ("C ::= CHOICE { a ANY }", "m.asn:C.a: an untagged ANY cannot be decoded"),
        (
            "C ::= CHOICE { d D }\nD ::= CHOICE { c C }",
            "m.asn:C: untagged CHOICE alternatives go round in a loop: C -> D -> C",
        ),
    ],
)
def test_ambiguities_are_refused_with_where(body: str, message: str) -> None:
    with pytest.raises(GeneratorError) as caught:
        after("check first tags", body)
    assert str(caught.value) == message


def test_an_optional_run_ends_at_the_next_mandatory_component() -> None:
    module = after(
        "check first tags",
        "S ::= SEQUENCE { a [0] INTEGER OPTIONAL, b [1] INTEGER, c [0] INTEGER OPTIONAL }",
    )
    assert module.get("S").first_tags == frozenset({Tag(TagClass.UNIVERSAL, 16)})
