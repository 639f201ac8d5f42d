"""Pass 6, map representations: the specs' table applied to named types, misfits refused."""

from __future__ import annotations

import pytest

from gen61850.generator.asn1.catalog import load_representations
from gen61850.generator.asn1.passes.representation import map_representations
from gen61850.generator.errors import GeneratorError

from .helpers import parsed

RULES = load_representations()


def test_named_types_get_the_representation_the_table_gives() -> None:
    module = parsed(
        "A ::= SEQUENCE { n [0] INT16U, t [1] UtcTime }\nINT16U ::= OCTET STRING (SIZE (2))\nUtcTime ::= OCTET STRING (SIZE (8))"
    )
    mapped = map_representations(
        module, {"INT16U": "unsigned-octets", "UtcTime": "utc-time"}, RULES, "t.toml"
    )
    found = {t.name: t.representation for t in mapped.types}
    assert found == {"A": None, "INT16U": "unsigned-octets", "UtcTime": "utc-time"}


@pytest.mark.parametrize(
    ("body", "table", "message"),
    [
        (
            "X ::= INTEGER",
            {"X": "unsigned-octets"},
            "t.toml: X = 'unsigned-octets': needs a type defined as OCTET STRING",
        ),
        (
            "X ::= OCTET STRING (SIZE (1..2))",
            {"X": "unsigned-octets"},
            "t.toml: X = 'unsigned-octets': needs one fixed SIZE of 1..8 (has 1..2)",
        ),
        (
            "X ::= OCTET STRING (SIZE (9))",
            {"X": "unsigned-octets"},
            "t.toml: X = 'unsigned-octets': needs one fixed SIZE of 1..8 (has 9)",
        ),
        (
            "X ::= OCTET STRING",
            {"X": "utc-time"},
            "t.toml: X = 'utc-time': needs SIZE (8) (has none)",
        ),
        ("X ::= OCTET STRING", {"Y": "utc-time"}, "t.toml: Y = 'utc-time': m.asn has no type Y"),
        (
            "X ::= OCTET STRING",
            {"X": "nope"},
            "t.toml: X = 'nope': no such representation (known: mms-floating-point, unsigned-octets, utc-time)",
        ),
    ],
)
def test_misfits_are_refused_with_where(body: str, table: dict[str, str], message: str) -> None:
    with pytest.raises(GeneratorError) as caught:
        map_representations(parsed(body), table, RULES, "t.toml")
    assert str(caught.value) == message


def test_the_specs_tables_load() -> None:
    assert set(RULES) == {"unsigned-octets", "utc-time", "mms-floating-point"}
    assert RULES["utc-time"].sizes == (8,)
