"""Every Data alternative and the GOOSE PDU as (value, octets) tables, both directions.

The octets are written out by hand from ISO 9506-2 / IEC 61850-8-1 and X.690, not produced
by the codec under test.
"""

from __future__ import annotations

import math

import pytest

from gen61850.generated.goose.iec61850_8_1 import (
    Data,
    DataArray,
    DataBcd,
    DataBinaryTime,
    DataBitString,
    DataBoolean,
    DataBooleanArray,
    DataFloatingPoint,
    DataInteger,
    DataMMSString,
    DataOctetString,
    DataStructure,
    DataUnsigned,
    DataUtcTime,
    DataVisibleString,
    IECGoosePdu,
    decode_data,
    decode_iec_goose_pdu,
    encode_data,
    encode_iec_goose_pdu,
)
from gen61850.runtime.asn1types import BitString, MmsFloat, UtcTime

TABLE: list[tuple[str, Data, str]] = [
    ("boolean true", DataBoolean(True), "83 01 ff"),
    ("boolean false", DataBoolean(False), "83 01 00"),
    ("bit-string quality 13 bits", DataBitString(BitString(b"\x00\x00", 13)), "84 03 03 00 00"),
    ("bit-string Dbpos on", DataBitString(BitString.from_bits("10")), "84 02 06 80"),
    ("bit-string empty", DataBitString(BitString(b"", 0)), "84 01 00"),
    ("integer 0", DataInteger(0), "85 01 00"),
    ("integer -1", DataInteger(-1), "85 01 ff"),
    ("integer 128", DataInteger(128), "85 02 00 80"),
    ("integer -129", DataInteger(-129), "85 02 ff 7f"),
    ("integer -128 in one octet", DataInteger(-128), "85 01 80"),
    ("integer -32768 in two octets", DataInteger(-32768), "85 02 80 00"),
    ("integer INT64 min", DataInteger(-(2**63)), "85 08 80 00 00 00 00 00 00 00"),
    ("unsigned 255", DataUnsigned(255), "86 02 00 ff"),
    ("unsigned INT32U max", DataUnsigned(2**32 - 1), "86 05 00 ff ff ff ff"),
    ("floating-point single 1.5", DataFloatingPoint(MmsFloat(1.5)), "87 05 08 3f c0 00 00"),
    (
        "floating-point double -2",
        DataFloatingPoint(MmsFloat(-2.0, True)),
        "87 09 0b c0 00 00 00 00 00 00 00",
    ),
    ("floating-point single inf", DataFloatingPoint(MmsFloat(math.inf)), "87 05 08 7f 80 00 00"),
    ("octet-string", DataOctetString(b"\x01\x02"), "89 02 01 02"),
    ("octet-string empty", DataOctetString(b""), "89 00"),
    ("visible-string", DataVisibleString("Bay1"), "8a 04 42 61 79 31"),
    ("binary-time 4", DataBinaryTime(b"\x00\x00\x01\x00"), "8c 04 00 00 01 00"),
    ("binary-time 6", DataBinaryTime(bytes(range(6))), "8c 06 00 01 02 03 04 05"),
    ("bcd", DataBcd(1234), "8d 02 04 d2"),
    ("booleanArray", DataBooleanArray(BitString.from_bits("101")), "8e 02 05 a0"),
    ("mMSString UTF-8", DataMMSString("é"), "90 02 c3 a9"),
    (
        "utc-time",
        DataUtcTime(UtcTime(0x386EBBF3, 0x421728, 0x0A)),
        "91 08 38 6e bb f3 42 17 28 0a",
    ),
    ("structure", DataStructure([DataBoolean(True), DataInteger(5)]), "a2 06 83 01 ff 85 01 05"),
    ("structure empty", DataStructure([]), "a2 00"),
    (
        "array of structures",
        DataArray([DataStructure([DataBoolean(False)]), DataStructure([])]),
        "a1 07 a2 03 83 01 00 a2 00",
    ),
    (
        "nested three deep",
        DataStructure([DataArray([DataStructure([DataVisibleString("x")])])]),
        "a2 07 a1 05 a2 03 8a 01 78",
    ),
]


@pytest.mark.parametrize(("name", "value", "octets"), TABLE, ids=[row[0] for row in TABLE])
def test_data_value_to_octets_and_back(name: str, value: Data, octets: str) -> None:
    wire = bytes.fromhex(octets)
    assert encode_data(value) == wire
    assert decode_data(wire) == value


def test_every_alternative_is_in_the_table() -> None:
    kinds = {type(value) for _, value, _ in TABLE}
    assert kinds == set(Data.__args__)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("octets", "value"),
    [
        ("83 01 01", DataBoolean(True)),  # BER: any non-zero octet is TRUE
        ("85 05 00 00 00 00 05", DataInteger(5)),  # fixed-length GOOSE pads integers
        ("84 02 06 c0", DataBitString(BitString(b"\xc0", 2))),  # padding bits are kept
        ("8a 81 03 41 42 43", DataVisibleString("ABC")),  # long-form length
    ],
)
def test_lenient_forms_decode(octets: str, value: Data) -> None:
    assert decode_data(bytes.fromhex(octets)) == value


PDU = IECGoosePdu(
    "IED1/LLN0$GO$gcb1",
    2000,
    "IED1/LLN0$DS1",
    UtcTime(1_700_000_000, 0x800000, 0x0A),
    7,
    3,
    1,
    2,
    [DataBoolean(True), DataBitString(BitString(b"\x00\x00", 13))],
    goID="G1",
    simulation=False,
    ndsCom=True,
)
PDU_OCTETS = (
    "61 50"
    " 80 11 49 45 44 31 2f 4c 4c 4e 30 24 47 4f 24 67 63 62 31"  # gocbRef
    " 81 02 07 d0"  # timeAllowedtoLive 2000
    " 82 0d 49 45 44 31 2f 4c 4c 4e 30 24 44 53 31"  # datSet
    " 83 02 47 31"  # goID
    " 84 08 65 53 f1 00 80 00 00 0a"  # t
    " 85 01 07 86 01 03"  # stNum 7, sqNum 3
    " 87 01 00"  # simulation FALSE, sent (as real publishers do)
    " 88 01 01 89 01 ff 8a 01 02"  # confRev 1, ndsCom TRUE, numDatSetEntries 2
    " ab 08 83 01 ff 84 03 03 00 00"  # allData
)


def test_pdu_to_octets_and_back() -> None:
    wire = bytes.fromhex(PDU_OCTETS)
    assert encode_iec_goose_pdu(PDU) == wire
    assert decode_iec_goose_pdu(wire) == PDU


def test_absent_defaults_decode_as_false() -> None:
    wire = bytes.fromhex(PDU_OCTETS.replace(" 87 01 00", "").replace("61 50", "61 4d"))
    assert decode_iec_goose_pdu(wire).simulation is False
