"""Bad GOOSE PDUs: one error type, naming the field path (list items included) and offset."""

from __future__ import annotations

import pytest

from gen61850.generated.goose.iec61850_8_1 import (
    DataBoolean,
    DataStructure,
    IECGoosePdu,
    decode_iec_goose_pdu,
    encode_iec_goose_pdu,
)
from gen61850.runtime.asn1types import BitString, MmsFloat, UtcTime
from gen61850.runtime.ber import encode_length
from gen61850.runtime.errors import DecodeError, EncodeError

from .test_data_tables import PDU, PDU_OCTETS

GOOD = bytes.fromhex(PDU_OCTETS)


def with_all_data(content: bytes) -> bytes:
    """The table's PDU with ``content`` as allData's contents (lengths fixed up)."""
    head = GOOD[2 : GOOD.index(b"\xab\x08")]
    body = head + b"\xab" + encode_length(len(content)) + content
    return b"\x61" + encode_length(len(body)) + body


def error_of(data: bytes) -> str:
    with pytest.raises(DecodeError) as caught:
        decode_iec_goose_pdu(data)
    return str(caught.value)


ALL_DATA_AT = len(with_all_data(b"")) - 2  # where allData's tag is


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "IECGoosePdu at offset 0: missing (expected tag 0x61, found the end)"),
        (b"\x60\x00", "IECGoosePdu at offset 0: expected tag 0x61, found 0x60"),
        (GOOD[:40], "IECGoosePdu at offset 0: length 80 runs past the end (38 octets left)"),
        (
            with_all_data(bytes.fromhex("83 01 ff 83 02 00 00")),
            f"IECGoosePdu.allData[1].boolean at offset {ALL_DATA_AT + 5}: expected 1 octet, got 2",
        ),
        (
            with_all_data(bytes.fromhex("a2 05 83 01 00 88 00")),
            f"IECGoosePdu.allData[0].structure[1] at offset {ALL_DATA_AT + 7}: "
            "tag 0x88 starts none of the alternatives of Data",
        ),
        (
            with_all_data(bytes.fromhex("87 03 08 00 00")),
            f"IECGoosePdu.allData[0].floating-point at offset {ALL_DATA_AT + 2}: FloatingPoint "
            "of 3 octets with exponent width 8: expected 5 octets with width 8 (single) or 9 "
            "with width 11 (double)",
        ),
        (
            with_all_data(bytes.fromhex("84 02 08 00")),
            f"IECGoosePdu.allData[0].bit-string at offset {ALL_DATA_AT + 2}: 8 unused bits in 1 octets",
        ),
        (
            with_all_data(bytes.fromhex("91 07 00 00 00 00 00 00 00")),
            f"IECGoosePdu.allData[0].utc-time at offset {ALL_DATA_AT + 2}: expected 8 octets, got 7",
        ),
        (
            with_all_data(bytes.fromhex("90 02 c3 28")),
            f"IECGoosePdu.allData[0].mMSString at offset {ALL_DATA_AT + 2}: not UTF-8 at offset "
            f"{ALL_DATA_AT + 4}: invalid continuation byte",
        ),
    ],
)
def test_located_messages(data: bytes, message: str) -> None:
    assert error_of(data) == message


def test_deep_nesting_is_a_located_error_not_recursion_error() -> None:
    inner = bytes.fromhex("83 01 00")
    for _ in range(600):
        inner = b"\xa2" + encode_length(len(inner)) + inner
    message = error_of(with_all_data(inner))
    # allData[0] is level 1; the value at level 33 is refused.
    assert message.startswith("IECGoosePdu.allData[0]" + ".structure[0]" * 32 + " at offset")
    assert message.endswith(": nested more than 32 levels deep")
    shallow = inner[-3 - 2 * 31 :]  # 31 structures around a boolean: allowed
    assert decode_iec_goose_pdu(with_all_data(shallow)).allData


def test_every_truncation_raises_decode_error() -> None:
    for cut in range(len(GOOD)):
        with pytest.raises(DecodeError):
            decode_iec_goose_pdu(GOOD[:cut])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"stNum": 2**32}, "IECGoosePdu.stNum: 4294967296 is outside 0..4294967295"),
        ({"gocbRef": ""}, "IECGoosePdu.gocbRef: 0 octets, expected 1..129"),
        ({"datSet": "é"}, "IECGoosePdu.datSet: 'é' is not a VisibleString (characters 0x20..0x7e)"),
        (
            {"goID": "a\x1b"},
            "IECGoosePdu.goID: 'a\\x1b' is not a VisibleString (characters 0x20..0x7e)",
        ),
        ({"t": UtcTime(0, 2**24, 0)}, "IECGoosePdu.t: fraction 16777216 does not fit in 3 octets"),
        (
            {"allData": [DataBoolean(True), DataStructure([object()])]},  # type: ignore[list-item]
            "IECGoosePdu.allData[1].structure[0]: object is not an alternative of Data",
        ),
    ],
)
def test_encode_errors_are_located(change: dict[str, object], message: str) -> None:
    from dataclasses import replace

    with pytest.raises(EncodeError) as caught:
        encode_iec_goose_pdu(replace(PDU, **change))  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_single_floats_that_overflow_are_refused() -> None:
    from gen61850.generated.goose.iec61850_8_1 import DataFloatingPoint, encode_data

    with pytest.raises(EncodeError, match="does not fit an IEEE 754 single"):
        encode_data(DataFloatingPoint(MmsFloat(1e300)))
    assert BitString.from_bits("1").bits == "1"
    assert isinstance(PDU, IECGoosePdu)
