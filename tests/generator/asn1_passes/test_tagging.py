"""Pass 2, apply tagging: module defaults, forced explicit tags, AUTOMATIC numbering."""

from __future__ import annotations

import pytest

from gen61850.generator.asn1.ir import Sequence, Tag, TagClass, Tagging
from gen61850.generator.asn1.passes.tagging import apply_tagging
from gen61850.generator.errors import GeneratorError

from .helpers import parsed


def components(module, name):  # type: ignore[no-untyped-def]
    body = module.get(name).type
    assert isinstance(body, Sequence)
    return {c.name: c for c in body.components}


@pytest.mark.parametrize(
    ("default", "expected"),
    [
        ("IMPLICIT", Tagging.IMPLICIT),
        ("EXPLICIT", Tagging.EXPLICIT),
        ("AUTOMATIC", Tagging.IMPLICIT),
    ],
)
def test_an_unmarked_tag_takes_the_module_default(default: str, expected: Tagging) -> None:
    module = apply_tagging(parsed("A ::= SEQUENCE { b [0] INTEGER }", default))
    assert components(module, "A")["b"].tagging is expected


def test_written_tagging_is_kept() -> None:
    module = apply_tagging(
        parsed("A ::= SEQUENCE { b [0] EXPLICIT INTEGER, c [1] IMPLICIT INTEGER }", "EXPLICIT")
    )
    found = components(module, "A")
    assert (found["b"].tagging, found["c"].tagging) == (Tagging.EXPLICIT, Tagging.IMPLICIT)


def test_choice_and_any_are_tagged_explicitly_even_in_an_implicit_module() -> None:
    module = apply_tagging(
        parsed("A ::= SEQUENCE { c [0] C, d [1] ANY }\nC ::= CHOICE { x [0] INTEGER }")
    )
    found = components(module, "A")
    assert (found["c"].tagging, found["d"].tagging) == (Tagging.EXPLICIT, Tagging.EXPLICIT)


def test_a_tagged_choice_may_be_tagged_implicitly() -> None:
    module = apply_tagging(parsed("A ::= SEQUENCE { c [0] C }\nC ::= [5] CHOICE { x [0] INTEGER }"))
    assert components(module, "A")["c"].tagging is Tagging.IMPLICIT


def test_type_assignments_get_their_tagging_too() -> None:
    module = apply_tagging(parsed("A ::= [APPLICATION 1] SEQUENCE { }"))
    assert module.get("A").tagging is Tagging.IMPLICIT


def test_automatic_tagging_numbers_untagged_components() -> None:
    module = apply_tagging(
        parsed(
            "A ::= SEQUENCE { a INTEGER, b BOOLEAN, c C }\nC ::= CHOICE { x INTEGER, y BOOLEAN }",
            "AUTOMATIC",
        )
    )
    found = components(module, "A")
    assert [found[n].tag for n in "abc"] == [Tag(TagClass.CONTEXT, n) for n in range(3)]
    assert found["c"].tagging is Tagging.EXPLICIT  # a CHOICE stays explicit
    choice = module.get("C").type
    assert [a.tag.number for a in choice.alternatives] == [0, 1]  # type: ignore[union-attr]


def test_automatic_tagging_leaves_a_sequence_with_any_tag_alone() -> None:
    module = apply_tagging(parsed("A ::= SEQUENCE { a [5] INTEGER, b BOOLEAN }", "AUTOMATIC"))
    assert components(module, "A")["b"].tag is None


def test_implicit_on_an_untagged_choice_is_refused() -> None:
    with pytest.raises(GeneratorError) as caught:
        apply_tagging(parsed("A ::= SEQUENCE { c [0] IMPLICIT C }\nC ::= CHOICE { x [0] INTEGER }"))
    assert str(caught.value) == "m.asn:A.c: an untagged CHOICE or ANY cannot be tagged IMPLICIT"
