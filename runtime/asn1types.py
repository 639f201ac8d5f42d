"""Python values for the ASN.1 types that have no built-in equivalent, and their octets.

``BitString`` (BIT STRING: octets and a bit count), ``UtcTime`` (IEC 61850-8-1 8.1.3.6:
seconds, a 24-bit fraction, TimeQuality) and ``MmsFloat`` (ISO 9506-2 FloatingPoint as
IEC 61850 uses it: IEEE 754 single or double). Generated codecs read and write them with
the helpers here. They are slotted dataclasses that compare by value (a decoder makes one
per value, so they are built the cheapest way Python has).
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

from gen61850.runtime.errors import DecodeError, EncodeError

NS = 1_000_000_000
FRACTION = 1 << 24
"""UtcTime's fraction counts units of 2**-24 s."""
_UTC = struct.Struct(">IHBB")  # seconds, fraction's high 16 bits, its low 8 bits, quality
_SINGLE = struct.Struct(">Bf")
_DOUBLE = struct.Struct(">Bd")


@dataclass(slots=True)
class BitString:
    """A BIT STRING: ``length`` bits, first bit in the top bit of ``octets[0]``.

    Bits past ``length`` in the last octet (padding) are ignored by ``bits`` and written as
    zeros by the encoder.
    """

    octets: bytes
    length: int

    @classmethod
    def from_bits(cls, bits: str) -> BitString:
        """``BitString.from_bits("0110")``: one character per bit, ``0`` or ``1``."""
        if any(c not in "01" for c in bits):
            raise ValueError(f"{bits!r}: a bit string is written with 0 and 1 only")
        padded = bits + "0" * (-len(bits) % 8)
        octets = bytes(int(padded[i : i + 8], 2) for i in range(0, len(padded), 8))
        return cls(octets, len(bits))

    @property
    def bits(self) -> str:
        """The bits as ``0``/``1`` characters, first bit first (``"0110"``)."""
        text = "".join(f"{octet:08b}" for octet in self.octets)
        return text[: self.length]

    def bit(self, index: int) -> bool:
        """Bit ``index`` (0 is the first, the top bit of the first octet)."""
        if not 0 <= index < self.length:
            raise IndexError(f"bit {index} of a {self.length}-bit string")
        return bool(self.octets[index >> 3] & (0x80 >> (index & 7)))


@dataclass(slots=True)
class UtcTime:
    """IEC 61850 UtcTime / TimeStamp: seconds since 1970 (UTC), fraction of a second in
    units of 2**-24 s, and the TimeQuality octet (leap second known 0x80, clock failure
    0x40, clock not synchronised 0x20, accuracy in the low five bits)."""

    seconds: int
    fraction: int
    quality: int = 0

    @classmethod
    def from_ns(cls, time_ns: int, quality: int = 0x0A) -> UtcTime:
        """From nanoseconds since the epoch (quality default: 10 bits of accuracy)."""
        seconds, rest = divmod(time_ns, NS)
        return cls(seconds, rest * FRACTION // NS, quality)

    @classmethod
    def now(cls, quality: int = 0x0A) -> UtcTime:
        return cls.from_ns(time.time_ns(), quality)

    def to_ns(self) -> int:
        """Nanoseconds since the epoch (the fraction rounded down to a nanosecond)."""
        return self.seconds * NS + self.fraction * NS // FRACTION

    def isoformat(self) -> str:
        """``2000-01-02T02:46:11.258165836Z``: UTC, nanoseconds."""
        stamp = time.gmtime(self.seconds)
        nanos = self.fraction * NS // FRACTION
        return time.strftime("%Y-%m-%dT%H:%M:%S", stamp) + f".{nanos:09d}Z"


@dataclass(slots=True)
class MmsFloat:
    """An MMS FloatingPoint: the value, and whether it travels as a double (else single)."""

    value: float
    double: bool = False


def read_utc_time(data: bytes, pos: int) -> UtcTime:
    """The 8 octets at ``pos`` as a UtcTime (the caller checked there are 8)."""
    seconds, high, low, quality = _UTC.unpack_from(data, pos)
    return UtcTime(seconds, high << 8 | low, quality)


def encode_utc_time(value: UtcTime, path: str) -> bytes:
    """The 8 octets of a UtcTime; EncodeError when a part does not fit."""
    seconds, fraction, quality = value.seconds, value.fraction, value.quality
    if not 0 <= seconds <= 0xFFFFFFFF:
        raise EncodeError(path, f"seconds {seconds} do not fit in 4 octets")
    if not 0 <= fraction < FRACTION:
        raise EncodeError(path, f"fraction {fraction} does not fit in 3 octets")
    if not 0 <= quality <= 0xFF:
        raise EncodeError(path, f"quality {quality} does not fit in 1 octet")
    return _UTC.pack(seconds, fraction >> 8, fraction & 0xFF, quality)


def read_mms_float(data: bytes, pos: int, stop: int, path: str, at: int) -> MmsFloat:
    """FloatingPoint contents ``data[pos:stop]``: width 8 + 4 octets, or 11 + 8 octets."""
    length = stop - pos
    if length == 5 and data[pos] == 8:
        return MmsFloat(_SINGLE.unpack_from(data, pos)[1])
    if length == 9 and data[pos] == 11:
        return MmsFloat(_DOUBLE.unpack_from(data, pos)[1], True)
    width = data[pos] if length else None
    raise DecodeError(
        path,
        at,
        f"FloatingPoint of {length} octets with exponent width {width}: expected "
        "5 octets with width 8 (single) or 9 with width 11 (double)",
    )


def encode_mms_float(value: MmsFloat, path: str) -> bytes:
    """FloatingPoint contents; a single that overflows is an EncodeError."""
    number, double = value.value, value.double
    try:
        return _DOUBLE.pack(11, number) if double else _SINGLE.pack(8, number)
    except (OverflowError, struct.error) as error:
        kind = "double" if double else "single"
        raise EncodeError(path, f"{number!r} does not fit an IEEE 754 {kind}: {error}") from None


def encode_bit_string(value: BitString, path: str) -> bytes:
    """BIT STRING contents: the unused-bit count, then the octets (padding zeroed)."""
    octets, length = value.octets, value.length
    if length < 0 or len(octets) != (length + 7) // 8:
        raise EncodeError(path, f"{len(octets)} octets cannot hold exactly {length} bits")
    unused = -length % 8
    if unused:
        octets = octets[:-1] + bytes((octets[-1] & (0xFF << unused) & 0xFF,))
    return bytes((unused,)) + octets


__all__ = [
    "BitString",
    "MmsFloat",
    "UtcTime",
    "encode_bit_string",
    "encode_mms_float",
    "encode_utc_time",
    "read_mms_float",
    "read_utc_time",
]
