"""Attribute values ↔ MMS ``Data`` (IEC 61850-8-1 type mapping, 8-2 clause 8.3), both ways.

Python values follow ``BasicType.python_type``: bit strings (Quality, Dbpos, TrgOps, ...)
are ints whose most significant of the n bits is bit 0 (the leftmost on the wire);
Timestamp is a ``Timestamp`` (seconds since 1970 and its TimeQuality; a float is taken as
seconds with the default quality); octet strings are bytes. FLOAT32 travels as ``08`` +
IEEE 754 single, FLOAT64 as ``0B`` + double; Timestamp as UtcTime: 4 octets seconds, 3
octets fraction, 1 octet TimeQuality.

Strings must be what XML text can carry unchanged, or the answer would not be well-formed
(or come back different): a VisibleString holds only 0x20 to 0x7E (ASN.1 VisibleString),
a Unicode string only XML 1.0 characters other than carriage return (which XML parsers
turn into a line feed). Both directions refuse anything else (``ValueMismatch``).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

from gen61850.generated.scsm_8_2.bindings import (
    ArrayTypeDescription,
    Boolean,
    Data,
    DataList,
    FloatingPointType,
    Null,
    StructureComponent,
    StructureComponents,
    StructureTypeDescription,
    TypeDescription,
    TypeSpecification,
)
from gen61850.runtime.device import BasicType, DataAttribute, TimeQuality, Timestamp

# Bit-string sizes (IEC 61850-8-1 table of basic types).
BIT_SIZES: dict[BasicType, int] = {
    BasicType.QUALITY: 13,
    BasicType.DBPOS: 2,
    BasicType.TCMD: 2,
    BasicType.CHECK: 2,
    BasicType.TRGOPS: 6,
    BasicType.OPTFLDS: 10,
    BasicType.SVOPTFLDS: 5,
    BasicType.LOGOPTFLDS: 3,
}
SIGNED_BITS = {
    BasicType.INT8: 8,
    BasicType.INT16: 16,
    BasicType.INT24: 24,
    BasicType.INT32: 32,
    BasicType.INT64: 64,
    BasicType.INT128: 128,
    BasicType.ENUM: 8,
}
UNSIGNED_BITS = {
    BasicType.INT8U: 8,
    BasicType.INT16U: 16,
    BasicType.INT24U: 24,
    BasicType.INT32U: 32,
}
VISIBLE_SIZES = {
    BasicType.VISSTRING32: 32,
    BasicType.VISSTRING64: 64,
    BasicType.VISSTRING65: 65,
    BasicType.VISSTRING129: 129,
    BasicType.VISSTRING255: 255,
    BasicType.OBJREF: 129,
    BasicType.CURRENCY: 3,
}
OCTET_SIZES = {
    BasicType.OCTET64: 64,
    BasicType.OCTET6: 6,
    BasicType.OCTET16: 16,
    BasicType.ENTRYID: 8,
}
EPOCH_1984 = 441_763_200  # 1984-01-01T00:00:00Z, the origin of MMS BinaryTime days
UNICODE_SIZE = 255
Scalar = bool | int | float | str | bytes | Timestamp
PyValue = Scalar | tuple["PyValue", ...] | dict[str, "PyValue"]
_VISIBLE = re.compile(r"[\x20-\x7e]*")
_NOT_VISIBLE = re.compile(r"[^\x20-\x7e]")
_XML_TEXT = re.compile("[\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
_NOT_XML_TEXT = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class ValueMismatch(ValueError):
    """A Data value that does not fit the attribute's type (maps to type-inconsistent)."""


def _true() -> Boolean:
    return Boolean(true=Null())


def _false() -> Boolean:
    return Boolean(false=Null())


def boolean(value: bool) -> Boolean:
    return _true() if value else _false()


def is_true(value: Boolean | None) -> bool:
    return value is not None and value.true is not None


def check_text(btype: BasicType, text: str) -> str:
    """``text`` if a string of ``btype`` may hold it (see the module docstring)."""
    unicode = btype is BasicType.UNICODE255
    if (_XML_TEXT if unicode else _VISIBLE).fullmatch(text) is None:
        bad = (_NOT_XML_TEXT if unicode else _NOT_VISIBLE).search(text)
        where = f"U+{ord(bad.group()):04X} at {bad.start()}" if bad else "a character"
        kind = "an XML character (other than CR)" if unicode else "VisibleString (0x20-0x7E)"
        raise ValueMismatch(f"{where} is not {kind} for {btype.value}")
    size = UNICODE_SIZE if unicode else VISIBLE_SIZES.get(btype, 255)
    if len(text) > size:
        raise ValueMismatch(f"{len(text)} characters, {btype.value} holds at most {size}")
    return text


def default_value(btype: BasicType) -> Scalar:
    """The value of an attribute that SCL does not initialise."""
    if btype is BasicType.BOOLEAN:
        return False
    if btype is BasicType.TIMESTAMP:
        return Timestamp(0.0)
    if btype.is_float or btype is BasicType.ENTRYTIME:
        return 0.0
    if btype.is_integer or btype in BIT_SIZES:
        return 0
    if btype in OCTET_SIZES:
        return b""
    return ""


def scalar_to_data(btype: BasicType, value: Scalar) -> Data:
    """One basic value as MMS Data; ValueMismatch for a value of another kind.

    Numbers and booleans must be numbers (a string such as ``"false"`` is refused, not
    converted by truth value); ranges and lengths are ``data_to_scalar``'s business.
    """
    if isinstance(value, Timestamp):
        if btype is not BasicType.TIMESTAMP:
            raise ValueMismatch(f"a Timestamp is not a {btype.value} value")
        return Data(utc_time=utc_time(value.seconds, value.quality))
    if isinstance(value, str | bytes) and (
        btype is BasicType.BOOLEAN or btype in BIT_SIZES or btype.is_integer or btype.is_float
    ):
        raise ValueMismatch(f"{value!r} is not a {btype.value} value")
    if btype is BasicType.BOOLEAN:
        return Data(boolean=boolean(bool(value)))
    if btype in BIT_SIZES:
        size = BIT_SIZES[btype]
        bits = int(value)
        if not 0 <= bits < 1 << size:
            raise ValueMismatch(f"{value!r} does not fit the {size} bits of {btype.value}")
        return Data(bit_string=format(bits, f"0{size}b"))
    if btype in SIGNED_BITS:
        return Data(integer=int(value))
    if btype in UNSIGNED_BITS:
        return Data(unsigned=int(value))
    if btype is BasicType.FLOAT32:
        return Data(floating_point=b"\x08" + struct.pack(">f", float(value)))
    if btype is BasicType.FLOAT64:
        return Data(floating_point=b"\x0b" + struct.pack(">d", float(value)))
    if btype is BasicType.TIMESTAMP:
        if isinstance(value, str | bytes):
            raise ValueMismatch(f"{value!r} is not a Timestamp")
        return Data(utc_time=utc_time(float(value)))
    if btype is BasicType.ENTRYTIME:
        return Data(binary_time=binary_time(float(value)))
    if btype in OCTET_SIZES or btype is BasicType.PHYCOMADDR:
        if not isinstance(value, bytes):
            raise ValueMismatch(f"{value!r} is not octets (bytes) for {btype.value}")
        return Data(octet_string=value)
    if not isinstance(value, str):
        raise ValueMismatch(f"{value!r} is not a string for {btype.value}")
    if btype is BasicType.UNICODE255:
        return Data(m_msstring=check_text(btype, value))
    return Data(visible_string=check_text(btype, value))


def utc_time(seconds: float, quality: TimeQuality | None = None) -> bytes:
    """UtcTime octets: seconds (4), fraction of a second (3), TimeQuality (1)."""
    if not 0 <= seconds < 1 << 32:
        raise ValueMismatch(f"{seconds!r} s is outside UtcTime (1970 to 2106)")
    whole = int(seconds)
    fraction = int((seconds - whole) * (1 << 24)) & 0xFFFFFF
    octet = (quality or TimeQuality()).to_octet()
    return struct.pack(">I", whole & 0xFFFFFFFF) + fraction.to_bytes(3, "big") + bytes((octet,))


_TIME_QUALITY = tuple(TimeQuality.from_octet(octet) for octet in range(256))
"""Every TimeQuality by its octet (immutable values: one each, not one per time stamp)."""


def timestamp_of(raw: bytes) -> Timestamp:
    """The Timestamp of 8 UtcTime octets (ValueMismatch for another length)."""
    if len(raw) != 8:
        raise ValueMismatch("expected utc-time of 8 octets")
    seconds = int.from_bytes(raw[:4], "big") + int.from_bytes(raw[4:7], "big") / (1 << 24)
    return Timestamp(seconds, _TIME_QUALITY[raw[7]])


def binary_time(seconds: float) -> bytes:
    """BinaryTime (6 octets): milliseconds since midnight, days since 1984-01-01 (UTC)."""
    since = max(0.0, seconds - EPOCH_1984)
    days, rest = divmod(round(since * 1000), 86_400_000)
    return struct.pack(">IH", rest, min(days, 0xFFFF))


def data_to_scalar(btype: BasicType, data: Data) -> Scalar:
    """MMS Data as the Python value of ``btype``; ValueMismatch when the alternative is wrong."""
    if btype is BasicType.BOOLEAN:
        if data.boolean is None:
            raise ValueMismatch("expected boolean")
        return is_true(data.boolean)
    if btype in BIT_SIZES:
        bits = data.bit_string
        if bits is None or len(bits) != BIT_SIZES[btype] or bits.strip("01"):
            raise ValueMismatch(f"expected bit-string of {BIT_SIZES[btype]} bits")
        return int(bits, 2)
    if btype in SIGNED_BITS:
        if data.integer is None:
            raise ValueMismatch("expected integer")
        limit = 1 << (SIGNED_BITS[btype] - 1)
        if not -limit <= data.integer < limit:
            raise ValueMismatch(f"integer out of range for {btype.value}")
        return data.integer
    if btype in UNSIGNED_BITS:
        if data.unsigned is None:
            raise ValueMismatch("expected unsigned")
        if not 0 <= data.unsigned < (1 << UNSIGNED_BITS[btype]):
            raise ValueMismatch(f"unsigned out of range for {btype.value}")
        return data.unsigned
    if btype.is_float:
        raw = data.floating_point
        if raw is None:
            raise ValueMismatch("expected floating-point")
        if btype is BasicType.FLOAT32 and len(raw) == 5 and raw[0] == 8:
            return float(struct.unpack(">f", raw[1:])[0])
        if btype is BasicType.FLOAT64 and len(raw) == 9 and raw[0] == 11:
            return float(struct.unpack(">d", raw[1:])[0])
        raise ValueMismatch(f"floating-point octets do not fit {btype.value}")
    if btype is BasicType.TIMESTAMP:
        if data.utc_time is None:
            raise ValueMismatch("expected utc-time")
        return timestamp_of(data.utc_time)
    if btype is BasicType.ENTRYTIME:
        raw = data.binary_time
        if raw is None or len(raw) != 6:
            raise ValueMismatch("expected binary-time of 6 octets")
        milliseconds, days = int.from_bytes(raw[:4], "big"), int.from_bytes(raw[4:], "big")
        if milliseconds >= 86_400_000:
            raise ValueMismatch("binary-time: more milliseconds than a day has")
        return (days * 86_400 + EPOCH_1984) + milliseconds / 1000
    if btype in OCTET_SIZES or btype is BasicType.PHYCOMADDR:
        if data.octet_string is None:
            raise ValueMismatch("expected octet-string")
        if btype in OCTET_SIZES and len(data.octet_string) > OCTET_SIZES[btype]:
            raise ValueMismatch("octet-string too long")
        return data.octet_string
    if btype is BasicType.UNICODE255:
        if data.m_msstring is None:
            raise ValueMismatch("expected mMSString")
        return check_text(btype, data.m_msstring)
    if data.visible_string is None:
        raise ValueMismatch("expected visible-string")
    return check_text(btype, data.visible_string)


# ---------------------------------------------------------------- the direct path

Direct = Callable[[object], Scalar | None]
_FLOAT32 = struct.Struct(">f")
_FLOAT64 = struct.Struct(">d")


def _direct_timestamp(value: object) -> Scalar | None:
    """What ``utc_time`` then ``timestamp_of`` make of a Timestamp or of seconds."""
    if type(value) is Timestamp:
        seconds, octet = value.seconds, (value.quality or TimeQuality()).to_octet()
        if type(seconds) is not float and type(seconds) is not int:
            return None
    elif type(value) is float:
        seconds, octet = value, _DEFAULT_OCTET
    else:
        return None
    if not (0 <= seconds < 1 << 32 and 0 <= octet <= 0xFF):
        return None
    whole = int(seconds)
    fraction = int((seconds - whole) * (1 << 24)) & 0xFFFFFF
    return Timestamp(whole + fraction / (1 << 24), _TIME_QUALITY[octet])


_DEFAULT_OCTET = TimeQuality().to_octet()


def _direct_float(packer: struct.Struct) -> Direct:
    def direct(value: object) -> Scalar | None:
        if type(value) is not float and type(value) is not int:
            return None
        try:
            return float(packer.unpack(packer.pack(float(value)))[0])
        except (OverflowError, struct.error):
            return None

    return direct


def _direct_range(low: int, high: int) -> Direct:
    def direct(value: object) -> Scalar | None:
        return value if type(value) is int and low <= value < high else None

    return direct


def _direct_text(btype: BasicType) -> Direct:
    def direct(value: object) -> Scalar | None:
        return check_text(btype, value) if type(value) is str else None

    return direct


def _direct_octets(size: int) -> Direct:
    def direct(value: object) -> Scalar | None:
        return value if type(value) is bytes and len(value) <= size else None

    return direct


def _direct_boolean(value: object) -> Scalar | None:
    return value if type(value) is bool else None


def direct_normaliser(btype: BasicType) -> Direct | None:
    """A function giving what ``data_to_scalar(btype, scalar_to_data(btype, v))`` gives, for
    the values it is sure of (the common Python type, in range), and None for any other
    (the caller then takes the way through Data, which also says what is wrong). A store
    write of a scalar skips building MMS Data to read it back; ``tests/xmpp/test_store.py``
    holds the two ways equal over edge values of every type."""
    if btype is BasicType.BOOLEAN:
        return _direct_boolean
    if btype in BIT_SIZES:
        return _direct_range(0, 1 << BIT_SIZES[btype])
    if btype in SIGNED_BITS:
        limit = 1 << (SIGNED_BITS[btype] - 1)
        return _direct_range(-limit, limit)
    if btype in UNSIGNED_BITS:
        return _direct_range(0, 1 << UNSIGNED_BITS[btype])
    if btype is BasicType.FLOAT32:
        return _direct_float(_FLOAT32)
    if btype is BasicType.FLOAT64:
        return _direct_float(_FLOAT64)
    if btype is BasicType.TIMESTAMP:
        return _direct_timestamp
    if btype in VISIBLE_SIZES or btype is BasicType.UNICODE255:
        return _direct_text(btype)
    if btype in OCTET_SIZES:
        return _direct_octets(OCTET_SIZES[btype])
    return None


def data_to_python(data: Data) -> PyValue:
    """MMS Data without a type to guide it (what a client shows): structures become tuples."""
    if data.structure is not None:
        return tuple(data_to_python(d) for d in data.structure.data)
    if data.array is not None:
        return tuple(data_to_python(d) for d in data.array.data)
    if data.boolean is not None:
        return is_true(data.boolean)
    if data.bit_string is not None:
        return data.bit_string
    if data.integer is not None:
        return data.integer
    if data.unsigned is not None:
        return data.unsigned
    if data.floating_point is not None:
        raw = data.floating_point
        if len(raw) == 5:
            return float(struct.unpack(">f", raw[1:])[0])
        if len(raw) == 9:
            return float(struct.unpack(">d", raw[1:])[0])
        return raw
    if data.utc_time is not None:
        return timestamp_of(data.utc_time) if len(data.utc_time) == 8 else data.utc_time
    for octets in (data.octet_string, data.binary_time):
        if octets is not None:
            return octets
    if data.m_msstring is not None:
        return data.m_msstring
    return data.visible_string or ""


def parse_text(btype: BasicType, text: str) -> Scalar:
    """A value typed on a command line, for ``btype`` (``true``, ``1.5``, ``0101``, ``0xAB``)."""
    try:
        if btype is BasicType.BOOLEAN:
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError(text)
            return lowered in ("true", "1")
        if btype in BIT_SIZES:
            return int(text, 2) if set(text) <= {"0", "1"} else int(text, 0)
        if btype.is_integer:
            return int(text, 0)
        if btype is BasicType.TIMESTAMP:
            return Timestamp(float(text))
        if btype.is_float:
            return float(text)
        if btype in OCTET_SIZES:
            return bytes.fromhex(text.removeprefix("0x"))
    except ValueError as error:
        raise ValueMismatch(f"{text!r} is not a {btype.value} value") from error
    return text


def leaf_type_description(attribute: DataAttribute) -> TypeDescription:
    """The MMS TypeDescription of one basic attribute (no array, no struct)."""
    btype = attribute.btype
    if btype is BasicType.BOOLEAN:
        return TypeDescription(boolean=Null())
    if btype in BIT_SIZES:
        return TypeDescription(bit_string=BIT_SIZES[btype])
    if btype in SIGNED_BITS:
        return TypeDescription(integer=SIGNED_BITS[btype])
    if btype in UNSIGNED_BITS:
        return TypeDescription(unsigned=UNSIGNED_BITS[btype])
    if btype is BasicType.FLOAT32:
        return TypeDescription(floating_point=FloatingPointType(format_width=32, exponent_width=8))
    if btype is BasicType.FLOAT64:
        return TypeDescription(floating_point=FloatingPointType(format_width=64, exponent_width=11))
    if btype is BasicType.TIMESTAMP:
        return TypeDescription(utc_time=Null())
    if btype is BasicType.ENTRYTIME:
        return TypeDescription(binary_time=_true())
    if btype in OCTET_SIZES or btype is BasicType.PHYCOMADDR:
        return TypeDescription(octet_string=-OCTET_SIZES.get(btype, 64))
    if btype is BasicType.UNICODE255:
        return TypeDescription(m_msstring=-255)
    return TypeDescription(visible_string=-VISIBLE_SIZES.get(btype, 255))


def structure_description(components: list[tuple[str, TypeDescription]]) -> TypeDescription:
    return TypeDescription(
        structure=StructureTypeDescription(
            components=StructureComponents(
                sequence=[
                    StructureComponent(
                        component_name=name,
                        component_type=TypeSpecification(type_description=description),
                    )
                    for name, description in components
                ]
            )
        )
    )


def array_description(count: int, element: TypeDescription) -> TypeDescription:
    return TypeDescription(
        array=ArrayTypeDescription(
            number_of_elements=count, element_type=TypeSpecification(type_description=element)
        )
    )


def structure(items: list[Data]) -> Data:
    return Data(structure=DataList(data=items))


def array(items: list[Data]) -> Data:
    return Data(array=DataList(data=items))


__all__ = [
    "BIT_SIZES",
    "PyValue",
    "Scalar",
    "ValueMismatch",
    "array",
    "array_description",
    "binary_time",
    "boolean",
    "check_text",
    "data_to_python",
    "data_to_scalar",
    "default_value",
    "is_true",
    "leaf_type_description",
    "parse_text",
    "scalar_to_data",
    "structure",
    "structure_description",
    "timestamp_of",
    "utc_time",
]
