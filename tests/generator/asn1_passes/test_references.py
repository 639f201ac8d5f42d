"""Pass 1, resolve references: undefined names, loops and DEFAULTs are refused with where."""

from __future__ import annotations

import pytest

from gen61850.generator.asn1.passes.references import resolve_references
from gen61850.generator.errors import GeneratorError

from .helpers import parsed


def test_a_module_that_resolves_is_left_as_it_is() -> None:
    module = parsed("A ::= SEQUENCE { b [0] B }\nB ::= INTEGER")
    assert resolve_references(module) == module


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("A ::= SEQUENCE { b [0] Missing }", "m.asn:A: type Missing is not defined"),
        ("A ::= SEQUENCE OF Missing", "m.asn:A: type Missing is not defined"),
        (
            "A ::= B\nB ::= C\nC ::= A",
            "m.asn:A: type references go round in a loop: A -> B -> C -> A",
        ),
        (
            "A ::= SEQUENCE { b [0] Flag DEFAULT 3 }\nFlag ::= BOOLEAN",
            "m.asn:A.b: DEFAULT 3 does not fit the type",
        ),
        (
            "A ::= SEQUENCE { c [0] C DEFAULT purple }\nC ::= ENUMERATED { red, green }",
            "m.asn:A.c: DEFAULT 'purple' does not fit the type",
        ),
        (
            "A ::= SEQUENCE { b [0] INTEGER DEFAULT TRUE }",
            "m.asn: ASN.1 not understood: invalid literal for int() with base 10: 'TRUE'",
        ),
        (
            'A ::= SEQUENCE { b [0] VisibleString DEFAULT "x" }',
            "m.asn:A.b: DEFAULT is supported for BOOLEAN, INTEGER and ENUMERATED",
        ),
    ],
)
def test_refusals_are_located(body: str, message: str) -> None:
    with pytest.raises(GeneratorError) as caught:
        resolve_references(parsed(body))
    assert str(caught.value) == message


def test_defaults_written_for_a_referenced_type_become_values() -> None:
    module = parsed(
        "A ::= SEQUENCE { b [0] Flag DEFAULT TRUE, n [1] Count DEFAULT -3 }\n"
        "Flag ::= BOOLEAN\nCount ::= INTEGER"
    )
    assert [c.default for c in module.get("A").type.components] == ["TRUE", -3]  # type: ignore[union-attr]
    resolved = resolve_references(module)
    assert [c.default for c in resolved.get("A").type.components] == [True, -3]  # type: ignore[union-attr]
