"""MMS ``Data`` ↔ plain Python values a client works with, guided by a type.

Two guides: the basic type of a typed reference (``Ref``, from a generated device package),
and the MMS type description a server gives (GetDataDefinition) for references written as
text. Values: bool, int, float, str, bytes, ``Timestamp`` (with its TimeQuality),
``Quality``, ``BitString``, an aware ``datetime`` (EntryTime), lists (arrays) and dicts
(structures, by component name). A value that does not fit its type is the peer's fault:
``PayloadError`` naming the reference.
"""

from __future__ import annotations

import datetime
import struct
from typing import Any, TypeAlias

from gen61850.generated.scsm_8_2.bindings import Data, TypeDescription
from gen61850.runtime.device import VALUE_TYPES, BasicType, BitString, Timestamp
from gen61850.runtime.sv.quality import Quality, Source, Validity
from gen61850.runtime.xmpp.errors import PayloadError
from gen61850.runtime.xmpp.values import (
    BIT_SIZES,
    Scalar,
    ValueMismatch,
    array,
    data_to_scalar,
    is_true,
    scalar_to_data,
    timestamp_of,
)

PlainValue: TypeAlias = (
    bool
    | int
    | float
    | str
    | bytes
    | Timestamp
    | datetime.datetime
    | Quality
    | BitString
    | list["PlainValue"]
    | dict[str, "PlainValue"]
)
QUALITY_BITS = 13  # IEC 61850-8-1 Quality; no other basic type is a 13-bit string
# Quality detail flags in 8-1 bit order (bit 2 overflow ... bit 9 inaccurate).
_DETAIL = (
    "overflow",
    "out_of_range",
    "bad_reference",
    "oscillatory",
    "failure",
    "old_data",
    "inconsistent",
    "inaccurate",
)


def quality_of(bits: str) -> Quality:
    """The Quality of a 13-bit string: validity (bits 0-1, its code MSB first), detail flags
    (2-9), source (10), test (11), operatorBlocked (12)."""
    if len(bits) != QUALITY_BITS or bits.strip("01"):
        raise ValueMismatch(f"{bits[:20]!r} is not a Quality of {QUALITY_BITS} bits")
    flags = {name: bits[2 + i] == "1" for i, name in enumerate(_DETAIL)}
    return Quality(
        validity=Validity(int(bits[:2], 2)),
        source=Source(int(bits[10])),
        test=bits[11] == "1",
        operator_blocked=bits[12] == "1",
        **flags,
    )


def quality_bits(quality: Quality) -> str:
    """The 13-bit string of a Quality (``derived`` and reserved bits have no place in it)."""
    if quality.derived or quality.reserved:
        raise ValueMismatch("derived and reserved quality bits do not fit the 8-1 Quality")
    details = "".join("1" if getattr(quality, name) else "0" for name in _DETAIL)
    return (
        format(int(quality.validity), "02b")
        + details
        + str(int(quality.source))
        + ("1" if quality.test else "0")
        + ("1" if quality.operator_blocked else "0")
    )


def _entry_time(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


def _typed_scalar(btype: BasicType, data: Data) -> Any:
    value = data_to_scalar(btype, data)  # the store's checks: kind, width, range, characters
    wanted = VALUE_TYPES[btype]
    if wanted is Quality:
        return quality_of(data.bit_string or "")
    if wanted is BitString:
        return BitString(data.bit_string or "")
    if wanted is datetime.datetime and isinstance(value, float):
        return _entry_time(value)
    return value


def typed_value(btype: BasicType, count: int, data: Data, where: str) -> Any:
    """The value of ``data`` as ``VALUE_TYPES[btype]`` (a list of it when ``count``)."""
    try:
        if count:
            if data.array is None or len(data.array.data) != count:
                raise ValueMismatch(f"expected an array of {count}")
            return [_typed_scalar(btype, item) for item in data.array.data]
        return _typed_scalar(btype, data)
    except ValueMismatch as error:
        raise PayloadError(where, f"not a {btype.value} value: {error}") from None


def _store_scalar(btype: BasicType, value: object) -> Scalar:
    if isinstance(value, Quality):
        return int(quality_bits(value), 2)
    if isinstance(value, BitString):
        if btype in BIT_SIZES and len(value) != BIT_SIZES[btype]:
            raise ValueMismatch(f"{len(value)} bits, {btype.value} has {BIT_SIZES[btype]}")
        return int(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise ValueMismatch("a datetime with a time zone is needed")
        return value.timestamp()
    if isinstance(value, bool | int | float | str | bytes | Timestamp):
        return value
    raise ValueMismatch(f"{type(value).__name__} is not a {btype.value} value")


def data_of(btype: BasicType, count: int, value: object) -> Data:
    """The Data of a typed value (what ``typed_value`` gives back); ValueMismatch if not."""
    if count:
        if not isinstance(value, list) or len(value) != count:
            raise ValueMismatch(f"expected a list of {count} values")
        return array([scalar_to_data(btype, _store_scalar(btype, v)) for v in value])
    return scalar_to_data(btype, _store_scalar(btype, value))


def plain_value(description: TypeDescription, data: Data, where: str) -> PlainValue:
    """The value of ``data`` as its MMS type description says (structures as dicts)."""
    try:
        return _plain(description, data)
    except (ValueMismatch, ValueError) as error:
        raise PayloadError(where, f"the value does not follow its type: {error}") from None


def _plain(description: TypeDescription, data: Data) -> PlainValue:
    if description.structure is not None:
        components = description.structure.components.sequence
        if data.structure is None or len(data.structure.data) != len(components):
            raise ValueMismatch(f"expected a structure of {len(components)}")
        out: dict[str, PlainValue] = {}
        for component, item in zip(components, data.structure.data, strict=True):
            inner = component.component_type.type_description
            if inner is None or not component.component_name:
                raise ValueMismatch("a component without a name or a type description")
            out[component.component_name] = _plain(inner, item)
        return out
    if description.array is not None:
        inner = description.array.element_type.type_description
        if data.array is None or inner is None:
            raise ValueMismatch("expected an array")
        if len(data.array.data) != description.array.number_of_elements:
            raise ValueMismatch(f"expected {description.array.number_of_elements} elements")
        return [_plain(inner, item) for item in data.array.data]
    if description.boolean is not None and data.boolean is not None:
        return is_true(data.boolean)
    if description.bit_string is not None and data.bit_string is not None:
        width = abs(description.bit_string)
        bits = data.bit_string
        if description.bit_string > 0 and len(bits) != width:
            raise ValueMismatch(f"{len(bits)} bits, {width} expected")
        return quality_of(bits) if width == QUALITY_BITS else BitString(bits)
    if description.integer is not None and data.integer is not None:
        return data.integer
    if description.unsigned is not None and data.unsigned is not None:
        return data.unsigned
    if description.floating_point is not None and data.floating_point is not None:
        raw = data.floating_point
        if len(raw) == 5 and raw[0] == 8:
            return float(struct.unpack(">f", raw[1:])[0])
        if len(raw) == 9 and raw[0] == 11:
            return float(struct.unpack(">d", raw[1:])[0])
        raise ValueMismatch("floating-point octets of another format")
    if description.octet_string is not None and data.octet_string is not None:
        return data.octet_string
    if description.visible_string is not None and data.visible_string is not None:
        return data.visible_string
    if description.m_msstring is not None and data.m_msstring is not None:
        return data.m_msstring
    if description.utc_time is not None and data.utc_time is not None:
        return timestamp_of(data.utc_time)
    if description.binary_time is not None and data.binary_time is not None:
        seconds = data_to_scalar(BasicType.ENTRYTIME, data)
        assert isinstance(seconds, float)
        return _entry_time(seconds)
    raise ValueMismatch("the value is not of the described type")


__all__ = [
    "QUALITY_BITS",
    "PlainValue",
    "data_of",
    "plain_value",
    "quality_bits",
    "quality_of",
    "typed_value",
]
