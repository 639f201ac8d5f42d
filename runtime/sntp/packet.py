"""The NTP packet (RFC 5905 figure 8) as a sans-I/O codec: bytes in, a typed packet out.

Layout (network byte order): LI (2 bits), VN (3), Mode (3); Stratum; Poll; Precision;
Root Delay and Root Dispersion (NTP short format, 16.16 s); Reference ID (4 octets);
Reference, Origin, Receive and Transmit Timestamps (NTP timestamp format: 32 bits of
seconds since 1900, 32 bits of fraction). 48 octets; extension fields and a MAC may follow
(a multiple of 4 octets, ignored here). Timestamps stay raw 64-bit integers so the origin
check compares exactly what was sent; ``to_unix``/``from_unix`` convert, with the 2036 era
rule of RFC 4330 (seconds with the top bit clear are after 2036-02-07).

Decoding refuses, as ``SntpError(field, offset, reason)``: fewer than 48 octets, more than
``MAX_LENGTH`` or a tail that is not a multiple of 4, version 0. Everything else is the
reader's business (``client``/``server`` check mode, stratum, leap and timestamps).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from gen61850.runtime.errors import Gen61850Error

HEADER = struct.Struct(">BBbbII4sQQQQ")
LENGTH = HEADER.size  # 48
MAX_LENGTH = 1024  # with extension fields and a MAC
NTP_UNIX_OFFSET = 2_208_988_800  # 1900-01-01 to 1970-01-01, in seconds
ERA = 1 << 32
# Where each field starts, for located errors.
OFFSETS = {
    "li_vn_mode": 0,
    "stratum": 1,
    "poll": 2,
    "precision": 3,
    "root_delay": 4,
    "root_dispersion": 8,
    "reference_id": 12,
    "reference": 16,
    "origin": 24,
    "receive": 32,
    "transmit": 40,
}


class SntpError(Gen61850Error, ValueError):
    """A packet that is not an NTP packet: which field, at which octet, why."""

    def __init__(self, field: str, offset: int, reason: str) -> None:
        self.field = field
        self.offset = offset
        self.reason = reason
        super().__init__(f"NTP packet {field} (octet {offset}): {reason}")


class Mode(enum.IntEnum):
    RESERVED = 0
    SYMMETRIC_ACTIVE = 1
    SYMMETRIC_PASSIVE = 2
    CLIENT = 3
    SERVER = 4
    BROADCAST = 5
    CONTROL = 6
    PRIVATE = 7


class Leap(enum.IntEnum):
    """Leap Indicator: a leap second at the end of the day, or the clock is not synchronised."""

    NONE = 0
    ADD_SECOND = 1  # the last minute of the day has 61 seconds
    DELETE_SECOND = 2  # the last minute of the day has 59 seconds
    ALARM = 3  # unknown: the server's clock is not synchronised


@dataclass(frozen=True, slots=True)
class Packet:
    """One NTP packet; timestamps raw (``to_unix`` converts), delays in seconds."""

    leap: int = Leap.NONE
    version: int = 4
    mode: int = Mode.CLIENT
    stratum: int = 0
    poll: int = 0
    precision: int = 0
    root_delay: float = 0.0
    root_dispersion: float = 0.0
    reference_id: bytes = b"\0\0\0\0"
    reference: int = 0
    origin: int = 0
    receive: int = 0
    transmit: int = 0

    @property
    def kiss_code(self) -> str | None:
        """The kiss code of a kiss-of-death (stratum 0): ``DENY``, ``RSTR``, ``RATE``, ..."""
        if self.stratum != 0:
            return None
        return self.reference_id.decode("ascii", "replace").rstrip("\0")


def encode(packet: Packet) -> bytes:
    """48 octets; ValueError for a field outside its width."""
    if not (0 <= packet.leap <= 3 and 0 <= packet.version <= 7 and 0 <= packet.mode <= 7):
        raise ValueError("leap 0..3, version 0..7, mode 0..7")
    if len(packet.reference_id) != 4:
        raise ValueError("reference_id: 4 octets")
    return HEADER.pack(
        packet.leap << 6 | packet.version << 3 | packet.mode,
        packet.stratum,
        packet.poll,
        packet.precision,
        _short(packet.root_delay),
        _short(packet.root_dispersion),
        packet.reference_id,
        packet.reference,
        packet.origin,
        packet.receive,
        packet.transmit,
    )


def decode(data: bytes) -> Packet:
    """The packet in ``data``; SntpError (field, octet) when it cannot be one."""
    if len(data) < LENGTH:
        raise SntpError("packet", len(data), f"{len(data)} octets, an NTP packet has 48")
    if len(data) > MAX_LENGTH or (len(data) - LENGTH) % 4:
        raise SntpError(
            "extension", LENGTH, f"{len(data) - LENGTH} octets after the header (a multiple of 4)"
        )
    (
        first,
        stratum,
        poll,
        precision,
        root_delay,
        root_dispersion,
        reference_id,
        reference,
        origin,
        receive,
        transmit,
    ) = HEADER.unpack_from(data)
    version = first >> 3 & 7
    if version == 0:
        raise SntpError("version", 0, "version 0")
    return Packet(
        leap=first >> 6,
        version=version,
        mode=first & 7,
        stratum=stratum,
        poll=poll,
        precision=precision,
        root_delay=root_delay / 65536.0,
        root_dispersion=root_dispersion / 65536.0,
        reference_id=reference_id,
        reference=reference,
        origin=origin,
        receive=receive,
        transmit=transmit,
    )


def _short(seconds: float) -> int:
    """NTP short format (16.16) of a non-negative duration, saturated."""
    return max(0, min(0xFFFFFFFF, round(seconds * 65536)))


def from_unix(seconds: float) -> int:
    """The NTP timestamp of POSIX ``seconds`` (era-wrapped, 2^-32 s resolution)."""
    whole = int(seconds // 1)
    fraction = int((seconds - whole) * ERA) & 0xFFFFFFFF
    return ((whole + NTP_UNIX_OFFSET) % ERA) << 32 | fraction


def to_unix(timestamp: int) -> float:
    """POSIX seconds of an NTP timestamp (RFC 4330: top bit clear means era 1, after 2036)."""
    seconds, fraction = timestamp >> 32, timestamp & 0xFFFFFFFF
    if not seconds & 0x80000000:
        seconds += ERA
    return seconds - NTP_UNIX_OFFSET + fraction / ERA


__all__ = [
    "LENGTH",
    "MAX_LENGTH",
    "NTP_UNIX_OFFSET",
    "OFFSETS",
    "Leap",
    "Mode",
    "Packet",
    "SntpError",
    "decode",
    "encode",
    "from_unix",
    "to_unix",
]
