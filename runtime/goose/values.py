"""GOOSE data set values: MMS ``Data`` as plain JSON, and as typed values per member type.

``plain`` is what ``gen61850 goose decode --format jsonl`` prints: booleans, numbers, bit
strings as strings of 0/1, octets as hex, UtcTime as ISO-8601, structures and arrays as
lists. ``MemberType`` describes one data set member as SCL types it (a basic type, a
structure of members, an array); ``typed``/``to_data`` convert between ``Data`` and
Python values of that type (IEC 61850-8-1 Table 6 gives the alternative of each type).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

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
)
from gen61850.runtime.asn1types import BitString, MmsFloat, UtcTime
from gen61850.runtime.device.types import BasicType
from gen61850.runtime.errors import Gen61850Error
from gen61850.runtime.sv.quality import DETAIL_BITS, Quality, Source, Validity

ARRAY = "Array"
"""``MemberType.kind`` of an array (the others are ``BasicType`` values or ``Struct``)."""


class MemberValueError(Gen61850Error, ValueError):
    """A value that does not fit its data set member type: says which member and why."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def plain(value: Data) -> Any:
    """``value`` as plain JSON data (non-finite floats as the strings inf, -inf, nan)."""
    if isinstance(value, DataBoolean):
        return value.value
    if isinstance(value, DataInteger | DataUnsigned | DataBcd):
        return value.value
    if isinstance(value, DataFloatingPoint):
        number = value.value.value
        return number if math.isfinite(number) else str(number)
    if isinstance(value, DataBitString | DataBooleanArray):
        return value.value.bits
    if isinstance(value, DataUtcTime):
        return value.value.isoformat()
    if isinstance(value, DataOctetString | DataBinaryTime):
        return value.value.hex()
    if isinstance(value, DataVisibleString | DataMMSString):
        return value.value
    return [plain(item) for item in value.value]


_QUALITIES: dict[tuple[bytes, int], Quality] = {}
"""Qualities met so far (a data set repeats a handful of them; at most 2**14 exist)."""


def quality_from_bits(bits: BitString) -> Quality:
    """IEC 61850-8-1 Quality (a BIT STRING, validity in bits 0-1 written ``b0 b1``)."""
    key = (bits.octets, bits.length)
    known = _QUALITIES.get(key)
    if known is None:
        known = _quality(bits)
        if len(_QUALITIES) < 1 << 14:
            _QUALITIES[key] = known
    return known


def _quality(bits: BitString) -> Quality:

    def bit(index: int) -> bool:
        return index < bits.length and bits.bit(index)

    validity = Validity(int(bit(0)) << 1 | int(bit(1)))
    flags = {name: bit(number) for name, number in DETAIL_BITS.items()}
    return Quality(
        validity=validity,
        source=Source.SUBSTITUTED if bit(10) else Source.PROCESS,
        test=bit(11),
        operator_blocked=bit(12),
        derived=bit(13),
        **flags,
    )


def quality_to_bits(quality: Quality, length: int = 13) -> BitString:
    """The BIT STRING of a Quality (13 bits, or 14 with ``derived``)."""
    bits = ["0"] * max(length, 14 if quality.derived else length)
    bits[0] = "1" if int(quality.validity) & 2 else "0"
    bits[1] = "1" if int(quality.validity) & 1 else "0"
    for name, number in DETAIL_BITS.items():
        bits[number] = "1" if getattr(quality, name) else "0"
    bits[10] = "1" if quality.source is Source.SUBSTITUTED else "0"
    bits[11] = "1" if quality.test else "0"
    bits[12] = "1" if quality.operator_blocked else "0"
    if quality.derived:
        bits[13] = "1"
    return BitString.from_bits("".join(bits))


def two_bits(code: int) -> BitString:
    """Dbpos/Tcmd code (0..3) as its 2-bit string (``b0 b1`` = code's bits 1, 0)."""
    return BitString.from_bits(f"{code & 3:02b}")


@dataclass(frozen=True)
class MemberType:
    """What one data set member (or a part of one) holds.

    ``kind``: a ``BasicType`` value (``BOOLEAN``, ``INT32``, ``Quality``, ...), ``Struct``
    with ``members``, or ``Array`` with ``members[0]`` the element type and ``count``.
    ``name`` labels it in messages (the FCDA reference, a DA name).
    """

    kind: str
    name: str = ""
    members: tuple[MemberType, ...] = ()
    count: int = 0

    @classmethod
    def basic(cls, kind: BasicType | str, name: str = "") -> MemberType:
        return cls(str(kind), name)

    @classmethod
    def struct(cls, members: Sequence[MemberType], name: str = "") -> MemberType:
        return cls(BasicType.STRUCT.value, name, tuple(members))

    @classmethod
    def array(cls, element: MemberType, count: int, name: str = "") -> MemberType:
        return cls(ARRAY, name, (element,), count)


_SIGNED = {BasicType.INT8, BasicType.INT16, BasicType.INT24, BasicType.INT32, BasicType.INT64}
_SIGNED |= {BasicType.INT128, BasicType.ENUM}
_UNSIGNED = {BasicType.INT8U, BasicType.INT16U, BasicType.INT24U, BasicType.INT32U}
_BITS = {
    BasicType.CHECK,
    BasicType.TRGOPS,
    BasicType.OPTFLDS,
    BasicType.SVOPTFLDS,
    BasicType.LOGOPTFLDS,
}
_VISIBLE = {b for b in BasicType if b.name.startswith("VISSTRING")} | {
    BasicType.OBJREF,
    BasicType.CURRENCY,
}
_OCTETS = {BasicType.OCTET64, BasicType.OCTET6, BasicType.OCTET16, BasicType.ENTRYID}
_TIMES = {BasicType.TIMESTAMP, BasicType.ENTRYTIME}
_RANGES = {
    BasicType.INT8: (-(2**7), 2**7 - 1),
    BasicType.INT16: (-(2**15), 2**15 - 1),
    BasicType.INT24: (-(2**23), 2**23 - 1),
    BasicType.INT32: (-(2**31), 2**31 - 1),
    BasicType.INT64: (-(2**63), 2**63 - 1),
    BasicType.INT8U: (0, 2**8 - 1),
    BasicType.INT16U: (0, 2**16 - 1),
    BasicType.INT24U: (0, 2**24 - 1),
    BasicType.INT32U: (0, 2**32 - 1),
}
_ALTERNATIVE = {
    **dict.fromkeys(_SIGNED, DataInteger),
    **dict.fromkeys(_UNSIGNED, DataUnsigned),
    **dict.fromkeys(_BITS | {BasicType.DBPOS, BasicType.TCMD, BasicType.QUALITY}, DataBitString),
    **dict.fromkeys(_VISIBLE, DataVisibleString),
    **dict.fromkeys(_OCTETS, DataOctetString),
    **dict.fromkeys(_TIMES, DataUtcTime),
    BasicType.BOOLEAN: DataBoolean,
    BasicType.FLOAT32: DataFloatingPoint,
    BasicType.FLOAT64: DataFloatingPoint,
    BasicType.UNICODE255: DataMMSString,
    BasicType.STRUCT: DataStructure,
}


_BASIC = {b.value: b for b in BasicType}


def _basic(kind: str, path: str) -> BasicType:
    basic = _BASIC.get(kind)
    if basic is None:
        raise MemberValueError(path, f"unknown basic type {kind!r}")
    return basic


Converter = Callable[[Data], Any]


def typed(value: Data, member: MemberType, path: str = "") -> Any:
    """The Python value of ``value`` as ``member`` types it; MemberValueError when it does
    not fit (its path is ``path``, or the member's name, then the inner members').

    bool, int, float, ``Quality``, ``UtcTime``, str, bytes; Dbpos and Tcmd as their code
    (0 intermediate, 1 off, 2 on, 3 bad); other bit strings as ``BitString``; a structure
    as a tuple, an array as a list.
    """
    try:
        return converter(member)(value)
    except MemberValueError as error:
        if not path:
            raise
        own = member.name or "value"
        raise MemberValueError(path + error.path[len(own) :], error.reason) from None


@functools.cache
def converter(member: MemberType) -> Converter:
    """A function that types one value as ``member`` says, made once per member type
    (what ``typed`` does, without deciding it again for every value)."""
    name = member.name or "value"
    if member.kind == ARRAY:
        return _array_converter(name, converter(member.members[0]), member.members[0])
    kind = _basic(member.kind, name)
    expected = _ALTERNATIVE.get(kind)
    if expected is None:
        raise MemberValueError(name, f"{kind.value} cannot travel in GOOSE")

    def misfit(value: Data) -> MemberValueError:
        return MemberValueError(
            name, f"{kind.value} travels as {expected.__name__}, got {type(value).__name__}"
        )

    if kind is BasicType.STRUCT:
        return _struct_converter(name, member.members, misfit)
    if kind in (BasicType.DBPOS, BasicType.TCMD):

        def two_bit_code(value: Data) -> Any:
            if type(value) is not DataBitString:
                raise misfit(value)
            if value.value.length != 2:
                raise MemberValueError(name, f"{kind.value} has 2 bits, got {value.value.length}")
            return value.value.octets[0] >> 6

        return two_bit_code
    if kind is BasicType.QUALITY:

        def quality(value: Data) -> Any:
            if type(value) is not DataBitString:
                raise misfit(value)
            return quality_from_bits(value.value)

        return quality
    if expected is DataFloatingPoint:

        def number(value: Data) -> Any:
            if type(value) is not DataFloatingPoint:
                raise misfit(value)
            return value.value.value

        return number
    number_range = _RANGES.get(kind)
    if number_range is not None:
        low, high = number_range

        def ranged(value: Data) -> Any:
            if type(value) is not expected or not isinstance(value, DataInteger | DataUnsigned):
                raise misfit(value)
            got = value.value
            if not low <= got <= high:
                raise MemberValueError(name, f"{got} is outside {kind.value} ({low}..{high})")
            return got

        return ranged

    def plain_value(value: Data) -> Any:
        if type(value) is not expected:
            raise misfit(value)
        return value.value

    return plain_value


def _struct_converter(
    name: str, members: tuple[MemberType, ...], misfit: Callable[[Data], MemberValueError]
) -> Converter:
    parts = [(converter(m), m.name or str(i)) for i, m in enumerate(members)]

    def structure(value: Data) -> Any:
        if type(value) is not DataStructure:
            raise misfit(value)
        items = value.value
        if len(items) != len(parts):
            raise MemberValueError(
                name, f"structure of {len(items)} members, expected {len(parts)}"
            )
        out = []
        for item, (convert, label) in zip(items, parts, strict=True):
            try:
                out.append(convert(item))
            except MemberValueError as error:
                inner = error.path.split(".", 1)[1:] if "." in error.path else []
                rest = f".{inner[0]}" if inner else ""
                raise MemberValueError(f"{name}.{label}{rest}", error.reason) from None
        return tuple(out)

    return structure


def _array_converter(name: str, element: Converter, member: MemberType) -> Converter:
    def array(value: Data) -> Any:
        if type(value) is not DataArray:
            raise MemberValueError(name, f"expected an array, got {type(value).__name__}")
        out = []
        for index, item in enumerate(value.value):
            try:
                out.append(element(item))
            except MemberValueError as error:
                own = member.name or "value"
                raise MemberValueError(
                    f"{name}[{index}]{error.path[len(own) :]}", error.reason
                ) from None
        return out

    return array


def to_data(value: Any, member: MemberType, path: str = "") -> Data:
    """``value`` (a Python value as ``typed`` returns it) as the ``Data`` of ``member``."""
    where = path or member.name or "value"
    if member.kind == ARRAY:
        return DataArray(
            [to_data(v, member.members[0], f"{where}[{i}]") for i, v in enumerate(value)]
        )
    kind = _basic(member.kind, where)
    try:
        if kind is BasicType.STRUCT:
            items = list(value)
            if len(items) != len(member.members):
                raise MemberValueError(
                    where, f"{len(items)} values for {len(member.members)} members"
                )
            return DataStructure(
                [
                    to_data(v, m, f"{where}.{m.name or i}")
                    for i, (v, m) in enumerate(zip(items, member.members, strict=True))
                ]
            )
        if kind is BasicType.BOOLEAN:
            return DataBoolean(bool(value))
        if kind in _RANGES:
            low, high = _RANGES[kind]
            number = int(value)
            if not low <= number <= high or (isinstance(value, float) and number != value):
                raise MemberValueError(where, f"{value!r} is not an {kind.value} ({low}..{high})")
            return DataUnsigned(number) if kind in _UNSIGNED else DataInteger(number)
        if kind in _SIGNED:
            return DataInteger(int(value))
        if kind in (BasicType.FLOAT32, BasicType.FLOAT64):
            return DataFloatingPoint(MmsFloat(float(value), kind is BasicType.FLOAT64))
        if kind in (BasicType.DBPOS, BasicType.TCMD):
            return DataBitString(two_bits(int(value)))
        if kind is BasicType.QUALITY:
            if isinstance(value, Quality):
                return DataBitString(quality_to_bits(value))
            return DataBitString(_bits(value))
        if kind in _BITS:
            return DataBitString(_bits(value))
        if kind in _TIMES:
            return DataUtcTime(value if isinstance(value, UtcTime) else UtcTime.from_ns(int(value)))
        if kind in _VISIBLE:
            return DataVisibleString(str(value))
        if kind is BasicType.UNICODE255:
            return DataMMSString(str(value))
        if kind in _OCTETS:
            return DataOctetString(bytes.fromhex(value) if isinstance(value, str) else bytes(value))
    except (TypeError, ValueError) as error:
        if isinstance(error, MemberValueError):
            raise
        raise MemberValueError(where, f"{value!r} is not a {kind.value}: {error}") from None
    raise MemberValueError(where, f"{kind.value} cannot travel in GOOSE")


def data_from_json(value: Any, path: str = "value") -> Data:
    """A ``Data`` from JSON with no data set type: true/false, integers, numbers (single
    floats), strings (VisibleString), lists (structures), or ``{"alternative": value}``
    for the rest: ``{"bit-string": "0101"}``, ``{"unsigned": 5}``, ``{"double": 1.5}``,
    ``{"octet-string": "0a0b"}``, ``{"utc-time": "now"}`` (or ns since the epoch),
    ``{"array": [...]}``, ``{"mMSString": "é"}``, ``{"binary-time": "hex"}``, ``{"bcd": 12}``,
    ``{"booleanArray": "01"}``."""
    try:
        if isinstance(value, bool):
            return DataBoolean(value)
        if isinstance(value, int):
            return DataInteger(value)
        if isinstance(value, float):
            return DataFloatingPoint(MmsFloat(value))
        if isinstance(value, str):
            return DataVisibleString(value)
        if isinstance(value, list):
            return DataStructure([data_from_json(v, f"{path}[{i}]") for i, v in enumerate(value)])
        if isinstance(value, dict) and len(value) == 1:
            ((name, inner),) = value.items()
            return _alternative_from_json(str(name), inner, path)
    except (TypeError, ValueError) as error:
        if isinstance(error, MemberValueError):
            raise
        raise MemberValueError(path, f"{value!r}: {error}") from None
    raise MemberValueError(path, f"{value!r} is not a GOOSE value")


def _alternative_from_json(name: str, inner: Any, path: str) -> Data:
    simple: dict[str, Any] = {
        "boolean": lambda: DataBoolean(bool(inner)),
        "bit-string": lambda: DataBitString(_bits(inner)),
        "booleanArray": lambda: DataBooleanArray(_bits(inner)),
        "integer": lambda: DataInteger(int(inner)),
        "unsigned": lambda: DataUnsigned(int(inner)),
        "bcd": lambda: DataBcd(int(inner)),
        "floating-point": lambda: DataFloatingPoint(MmsFloat(float(inner))),
        "double": lambda: DataFloatingPoint(MmsFloat(float(inner), True)),
        "octet-string": lambda: DataOctetString(bytes.fromhex(inner)),
        "binary-time": lambda: DataBinaryTime(bytes.fromhex(inner)),
        "visible-string": lambda: DataVisibleString(str(inner)),
        "mMSString": lambda: DataMMSString(str(inner)),
        "utc-time": lambda: DataUtcTime(
            UtcTime.now() if inner == "now" else UtcTime.from_ns(int(inner))
        ),
        "structure": lambda: DataStructure(
            [data_from_json(v, f"{path}[{i}]") for i, v in enumerate(inner)]
        ),
        "array": lambda: DataArray(
            [data_from_json(v, f"{path}[{i}]") for i, v in enumerate(inner)]
        ),
    }
    make = simple.get(name)
    if make is None:
        raise MemberValueError(path, f"{name!r} is not a Data alternative ({', '.join(simple)})")
    result: Data = make()
    return result


def _bits(value: Any) -> BitString:
    if isinstance(value, BitString):
        return value
    return BitString.from_bits(str(value))


def typed_values(values: Sequence[Data], members: Sequence[MemberType]) -> list[Any]:
    """Every member's typed value; a count that differs is a MemberValueError too."""
    if len(values) != len(members):
        raise MemberValueError("allData", f"{len(values)} values for {len(members)} members")
    return [converter(m)(v) for v, m in zip(values, members, strict=True)]


__all__ = [
    "ARRAY",
    "MemberType",
    "MemberValueError",
    "converter",
    "data_from_json",
    "plain",
    "quality_from_bits",
    "quality_to_bits",
    "to_data",
    "two_bits",
    "typed",
    "typed_values",
]
