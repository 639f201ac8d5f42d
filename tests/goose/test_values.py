"""Data set values: plain JSON, typed per member type and back, Quality bits."""

from __future__ import annotations

import math

import pytest

from gen61850.generated.goose.iec61850_8_1 import (
    DataArray,
    DataBitString,
    DataBoolean,
    DataFloatingPoint,
    DataInteger,
    DataMMSString,
    DataOctetString,
    DataStructure,
    DataUnsigned,
    DataUtcTime,
    DataVisibleString,
)
from gen61850.runtime.asn1types import BitString, MmsFloat, UtcTime
from gen61850.runtime.goose.values import (
    MemberType,
    MemberValueError,
    data_from_json,
    plain,
    quality_from_bits,
    quality_to_bits,
    to_data,
    typed,
)
from gen61850.runtime.sv.quality import Quality, Source, Validity


def test_plain_json() -> None:
    value = DataStructure(
        [
            DataBoolean(True),
            DataBitString(BitString.from_bits("0110")),
            DataFloatingPoint(MmsFloat(math.inf)),
            DataOctetString(b"\x0a\x0b"),
            DataUtcTime(UtcTime(0, 1 << 23, 0)),
            DataArray([DataUnsigned(3)]),
        ]
    )
    assert plain(value) == [True, "0110", "inf", "0a0b", "1970-01-01T00:00:00.500000000Z", [3]]


@pytest.mark.parametrize(
    ("kind", "python", "data"),
    [
        ("BOOLEAN", True, DataBoolean(True)),
        ("INT8", -128, DataInteger(-128)),
        ("INT32", 2**31 - 1, DataInteger(2**31 - 1)),
        ("INT32U", 2**32 - 1, DataUnsigned(2**32 - 1)),
        ("Enum", 3, DataInteger(3)),
        ("FLOAT32", 1.5, DataFloatingPoint(MmsFloat(1.5))),
        ("FLOAT64", 0.1, DataFloatingPoint(MmsFloat(0.1, True))),
        ("Dbpos", 2, DataBitString(BitString.from_bits("10"))),
        ("Dbpos", 1, DataBitString(BitString.from_bits("01"))),
        ("Timestamp", UtcTime(5, 6, 7), DataUtcTime(UtcTime(5, 6, 7))),
        ("VisString255", "x", DataVisibleString("x")),
        ("Unicode255", "é", DataMMSString("é")),
        ("Octet64", b"\x01", DataOctetString(b"\x01")),
        ("Check", BitString.from_bits("01"), DataBitString(BitString.from_bits("01"))),
    ],
)
def test_typed_and_back(kind: str, python: object, data: object) -> None:
    member = MemberType.basic(kind, "m")
    assert typed(data, member) == python  # type: ignore[arg-type]
    assert to_data(python, member) == data


def test_quality_bits_follow_8_1() -> None:
    invalid = quality_from_bits(BitString.from_bits("0100000000000"))
    assert invalid.validity is Validity.INVALID
    questionable_test = quality_from_bits(BitString.from_bits("1100000000010"))
    assert questionable_test.validity is Validity.QUESTIONABLE and questionable_test.test
    q = Quality(validity=Validity.INVALID, failure=True, source=Source.SUBSTITUTED)
    assert quality_from_bits(quality_to_bits(q)) == q
    assert quality_to_bits(q).bits == "0100001000100"


def test_structures_and_arrays() -> None:
    member = MemberType.struct(
        [MemberType.basic("Dbpos", "stVal"), MemberType.array(MemberType.basic("INT16"), 2, "a")],
        "Pos",
    )
    data = DataStructure(
        [DataBitString(BitString.from_bits("10")), DataArray([DataInteger(1), DataInteger(-2)])]
    )
    assert typed(data, member) == (2, [1, -2])
    assert to_data((2, [1, -2]), member) == data


@pytest.mark.parametrize(
    ("data", "kind", "message"),
    [
        (DataInteger(1), "BOOLEAN", "m: BOOLEAN travels as DataBoolean, got DataInteger"),
        (DataInteger(300), "INT8", "m: 300 is outside INT8 (-128..127)"),
        (DataBitString(BitString.from_bits("101")), "Dbpos", "m: Dbpos has 2 bits, got 3"),
        (DataStructure([]), "Struct", "m: structure of 0 members, expected 0"),
    ],
)
def test_misfits_say_which_member(data: object, kind: str, message: str) -> None:
    if kind == "Struct":
        assert typed(data, MemberType.struct([], "m")) == ()  # type: ignore[arg-type]
        return
    with pytest.raises(MemberValueError) as caught:
        typed(data, MemberType.basic(kind, "m"))  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_to_data_refuses_out_of_range_and_unknown() -> None:
    with pytest.raises(MemberValueError, match="is not an INT16"):
        to_data(70000, MemberType.basic("INT16", "m"))
    with pytest.raises(MemberValueError, match="unknown basic type"):
        to_data(1, MemberType.basic("INT99", "m"))


def test_json_values_for_the_command_line() -> None:
    assert data_from_json(
        [True, 5, 1.5, "x", {"bit-string": "01"}, {"unsigned": 7}, {"array": [1]}]
    ) == DataStructure(
        [
            DataBoolean(True),
            DataInteger(5),
            DataFloatingPoint(MmsFloat(1.5)),
            DataVisibleString("x"),
            DataBitString(BitString.from_bits("01")),
            DataUnsigned(7),
            DataArray([DataInteger(1)]),
        ]
    )
    with pytest.raises(MemberValueError, match="'nope' is not a Data alternative"):
        data_from_json({"nope": 1})
    with pytest.raises(MemberValueError, match="is not a GOOSE value"):
        data_from_json(None)
