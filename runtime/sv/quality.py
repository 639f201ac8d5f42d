"""IEC 61850-7-2 Quality as a typed value, with the 32-bit encoding SV data sets carry.

9-2 (and 9-2LE / IEC 61869-9) send each measured value followed by its quality as a
big-endian 32-bit word; bit 0 is the least significant bit:
bits 0-1 validity, 2 overflow, 3 outOfRange, 4 badReference, 5 oscillatory, 6 failure,
7 oldData, 8 inconsistent, 9 inaccurate, 10 source, 11 test, 12 operatorBlocked,
13 derived. The remaining bits are reserved; they are kept, not dropped, on decode.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gen61850.runtime.errors import DecodeError


class Validity(enum.IntEnum):
    """Two-bit validity code."""

    GOOD = 0
    INVALID = 1
    RESERVED = 2
    QUESTIONABLE = 3


class Source(enum.IntEnum):
    """Where the value comes from."""

    PROCESS = 0
    SUBSTITUTED = 1


# Detail-quality flag name -> bit number.
DETAIL_BITS: dict[str, int] = {
    "overflow": 2,
    "out_of_range": 3,
    "bad_reference": 4,
    "oscillatory": 5,
    "failure": 6,
    "old_data": 7,
    "inconsistent": 8,
    "inaccurate": 9,
}
SOURCE_BIT = 10
TEST_BIT = 11
OPERATOR_BLOCKED_BIT = 12
DERIVED_BIT = 13
KNOWN_MASK = (1 << 14) - 1


@dataclass(frozen=True, slots=True)
class Quality:
    """One quality word; ``Quality()`` is good, process, not test."""

    validity: Validity = Validity.GOOD
    overflow: bool = False
    out_of_range: bool = False
    bad_reference: bool = False
    oscillatory: bool = False
    failure: bool = False
    old_data: bool = False
    inconsistent: bool = False
    inaccurate: bool = False
    source: Source = Source.PROCESS
    test: bool = False
    operator_blocked: bool = False
    derived: bool = False
    reserved: int = 0
    """Bits 14-31 as received (they should be zero); kept so that decode/encode round-trips."""

    def to_int(self) -> int:
        """The 32-bit word."""
        word = int(self.validity) | (self.reserved << 14)
        for name, bit in DETAIL_BITS.items():
            if getattr(self, name):
                word |= 1 << bit
        word |= int(self.source) << SOURCE_BIT
        word |= int(self.test) << TEST_BIT
        word |= int(self.operator_blocked) << OPERATOR_BLOCKED_BIT
        word |= int(self.derived) << DERIVED_BIT
        return word

    @classmethod
    def from_int(cls, word: int) -> Quality:
        """Decode a 32-bit word (0 <= word < 2**32)."""
        if not 0 <= word <= 0xFFFFFFFF:
            raise DecodeError("quality", 0, f"{word} is not a 32-bit unsigned value")
        flags = {name: bool(word >> bit & 1) for name, bit in DETAIL_BITS.items()}
        return cls(
            validity=Validity(word & 3),
            source=Source(word >> SOURCE_BIT & 1),
            test=bool(word >> TEST_BIT & 1),
            operator_blocked=bool(word >> OPERATOR_BLOCKED_BIT & 1),
            derived=bool(word >> DERIVED_BIT & 1),
            reserved=word >> 14,
            **flags,
        )

    def to_bytes(self) -> bytes:
        """Four octets, network byte order."""
        return self.to_int().to_bytes(4, "big")

    @classmethod
    def from_bytes(cls, data: bytes, offset: int = 0) -> Quality:
        """Decode four octets at ``offset``."""
        if len(data) < offset + 4:
            raise DecodeError("quality", offset, f"needs 4 octets, {len(data) - offset} left")
        return cls.from_int(int.from_bytes(data[offset : offset + 4], "big"))

    def describe(self) -> str:
        """A short text: ``good``, ``invalid,failure,test`` ..."""
        parts = [self.validity.name.lower()]
        parts += [name for name in DETAIL_BITS if getattr(self, name)]
        if self.source is Source.SUBSTITUTED:
            parts.append("substituted")
        parts += [n for n in ("test", "operator_blocked", "derived") if getattr(self, n)]
        if self.reserved:
            parts.append(f"reserved=0x{self.reserved:x}")
        return ",".join(parts)


GOOD = Quality()
