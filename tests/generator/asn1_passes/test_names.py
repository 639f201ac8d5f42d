"""Pass 3, name anonymous types: inner SEQUENCE/CHOICE/ENUMERATED become named types."""

from __future__ import annotations

import pytest

from gen61850.generator.asn1.ir import Sequence, SequenceOf, TypeRef
from gen61850.generator.asn1.passes.names import name_anonymous_types, pascal
from gen61850.generator.errors import GeneratorError

from .helpers import parsed


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bit-string", "BitString"),
        ("allData", "AllData"),
        ("mMSString", "MMSString"),
        ("a_b", "AB"),
    ],
)
def test_pascal(name: str, expected: str) -> None:
    assert pascal(name) == expected


def test_inner_types_are_lifted_and_referenced_by_name() -> None:
    module = name_anonymous_types(
        parsed(
            "P ::= SEQUENCE { f SEQUENCE { x INTEGER, y [1] SEQUENCE OF SEQUENCE { z BOOLEAN } },"
            " g [2] ENUMERATED { a, b }, h [3] SEQUENCE OF INTEGER }"
        )
    )
    names = [t.name for t in module.types]
    assert names == ["P", "PF", "PFYItem", "PG"]
    assert all(t.anonymous for t in module.types[1:]) and not module.types[0].anonymous
    fields = {c.name: c for c in module.get("P").type.components}  # type: ignore[union-attr]
    assert fields["f"].type == TypeRef("PF")
    assert fields["g"].type == TypeRef("PG")
    assert isinstance(fields["h"].type, SequenceOf)  # SEQUENCE OF a primitive stays inline
    inner = module.get("PF").type
    assert isinstance(inner, Sequence)
    assert inner.components[1].type.item.type == TypeRef("PFYItem")  # type: ignore[union-attr]


def test_a_name_already_taken_is_refused() -> None:
    with pytest.raises(GeneratorError) as caught:
        name_anonymous_types(parsed("P ::= SEQUENCE { f SEQUENCE { x INTEGER } }\nPF ::= INTEGER"))
    assert (
        str(caught.value) == "m.asn:P.f: its inner type would be named PF, which is already a type"
    )
