"""Naming filters shared by the templates."""

from __future__ import annotations

import pytest

from gen61850.generator.naming import bytes_literal, hex_byte, safe_identifier, snake_case


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("SavPdu", "sav_pdu"),
        ("ASDU", "asdu"),
        ("smpCnt", "smp_cnt"),
        ("svID", "sv_id"),
        ("LLN0", "lln0"),
        ("class", "class_"),
        ("IEC61850-9-2", "iec61850_9_2"),
        ("match", "match_"),
    ],
)
def test_snake_case(name: str, expected: str) -> None:
    assert snake_case(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("XCBR1", "XCBR1"),
        ("1stStage", "_1stStage"),
        ("import", "import_"),
        ("a-b", "a_b"),
        ("", "_"),
    ],
)
def test_safe_identifier(name: str, expected: str) -> None:
    assert safe_identifier(name) == expected


def test_literals() -> None:
    assert hex_byte(0x82) == "0x82"
    assert bytes_literal(b"\x82\x02") == 'b"\\x82\\x02"'
    assert bytes_literal(0x30) == 'b"\\x30"'
