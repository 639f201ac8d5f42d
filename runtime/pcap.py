"""Capture files: classic pcap and pcapng, read and written as Ethernet frames with timestamps.

``read_capture`` tells the two formats apart by their first four octets; pcapng files may
hold several sections and interfaces (each with its own time resolution), and only
Ethernet interfaces are read. ``write_capture`` picks the format from the file suffix.
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from gen61850.runtime.errors import Gen61850Error

LINKTYPE_ETHERNET = 1
_MAGIC = {  # magic as read little-endian → (byte order, nanosecond timestamps)
    0xA1B2C3D4: ("<", False),
    0xD4C3B2A1: (">", False),
    0xA1B23C4D: ("<", True),
    0x4D3CB2A1: (">", True),
}


class CaptureFileError(Gen61850Error):
    """A capture file that cannot be read: names the file, the record (1-based; a pcapng
    block) when there is one, and the byte offset where it starts."""

    def __init__(
        self, path: str, offset: int, reason: str, record: int | None = None, kind: str = "record"
    ) -> None:
        self.path = path
        self.offset = offset
        self.reason = reason
        self.record = record
        where = f"offset {offset}" if record is None else f"{kind} {record} at offset {offset}"
        super().__init__(f"{path}: {where}: {reason}")


MAX_CAPTURED = 262_144
"""Largest captured length of one frame: libpcap's and Wireshark's maximum for Ethernet.
A record claiming more is refused before anything is allocated for it."""
MAX_BLOCK = 16 << 20
"""Largest pcapng block read (Wireshark's limit too); larger claims are refused."""


@dataclass(frozen=True, slots=True)
class CapturedFrame:
    """One frame of a capture: timestamp in nanoseconds since the epoch, and its octets."""

    time_ns: int
    data: bytes
    original_length: int

    @property
    def time(self) -> float:
        return self.time_ns / 1e9


def read_pcap(path: Path) -> Iterator[CapturedFrame]:
    """Every frame of a classic pcap file, in order."""
    with path.open("rb") as stream:
        yield from _read(stream, str(path), _file_size(stream))


def _file_size(stream: BinaryIO) -> int | None:
    """The file's size, which no record may run past; None for pipes and devices."""
    status = os.fstat(stream.fileno())
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def _check_captured(
    name: str, offset: int, record: int, captured: int, snaplen: int, kind: str
) -> None:
    """A captured length within the format's limits (before reading that many octets)."""
    if captured > MAX_CAPTURED:
        raise CaptureFileError(
            name, offset, f"captured length {captured} is over {MAX_CAPTURED}", record, kind
        )
    if 0 < snaplen < captured:
        raise CaptureFileError(
            name, offset, f"captured length {captured} is over the snaplen {snaplen}", record, kind
        )


def _read(stream: BinaryIO, name: str, size: int | None) -> Iterator[CapturedFrame]:
    head = stream.read(24)
    if len(head) < 24:
        raise CaptureFileError(name, 0, "truncated pcap header")
    magic = struct.unpack("<I", head[:4])[0]
    if magic not in _MAGIC:
        raise CaptureFileError(name, 0, f"not a pcap file (magic 0x{magic:08x})")
    order, nanos = _MAGIC[magic]
    snaplen, linktype = struct.unpack(order + "II", head[16:24])
    linktype &= 0x0FFFFFFF
    if linktype != LINKTYPE_ETHERNET:
        raise CaptureFileError(name, 20, f"link type {linktype} is not Ethernet (1)")
    record = struct.Struct(order + "IIII")
    scale = 1 if nanos else 1000
    offset = 24
    number = 0
    while True:
        raw = stream.read(16)
        if not raw:
            return
        number += 1
        if len(raw) < 16:
            raise CaptureFileError(name, offset, "truncated record header", number)
        seconds, fraction, captured, original = record.unpack(raw)
        _check_captured(name, offset, number, captured, snaplen, "record")
        left = None if size is None else size - offset - 16
        if left is not None and captured > left:
            raise CaptureFileError(
                name, offset, f"truncated frame: {captured} octets, {left} left in the file", number
            )
        data = stream.read(captured)
        if len(data) < captured:
            raise CaptureFileError(name, offset, "truncated frame", number)
        yield CapturedFrame(seconds * 1_000_000_000 + fraction * scale, data, original)
        offset += 16 + captured


def write_pcap(path: Path, frames: Iterable[CapturedFrame], *, nanoseconds: bool = True) -> int:
    """Write frames to a classic pcap file; returns how many were written."""
    magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
    count = 0
    with path.open("wb") as stream:
        stream.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 262144, LINKTYPE_ETHERNET))
        for frame in frames:
            seconds, rest = divmod(frame.time_ns, 1_000_000_000)
            fraction = rest if nanoseconds else rest // 1000
            length = len(frame.data)
            stream.write(
                struct.pack("<IIII", seconds, fraction, length, max(length, frame.original_length))
            )
            stream.write(frame.data)
            count += 1
    return count


PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_IDB = 0x00000001
PCAPNG_SPB = 0x00000003
PCAPNG_EPB = 0x00000006
PCAPNG_BYTE_ORDER = 0x1A2B3C4D
_OPT_IF_TSRESOL = 9
_MIN_BODY = {PCAPNG_IDB: 8, PCAPNG_SPB: 4, PCAPNG_EPB: 20}  # fixed fields of each block


def read_capture(path: Path) -> Iterator[CapturedFrame]:
    """Every Ethernet frame of a pcap or pcapng file.

    CaptureFileError (file, record or block number, offset) for a file that breaks the
    format; no record is read past the end of the file or beyond the format's limits.
    """
    with path.open("rb") as stream:
        magic = stream.read(4)
        stream.seek(0)
        size = _file_size(stream)
        if len(magic) == 4 and struct.unpack("<I", magic)[0] == PCAPNG_SHB:
            yield from _read_pcapng(stream, str(path), size)
        else:
            yield from _read(stream, str(path), size)


def _tsresol(options: bytes, order: str) -> int:
    """Timestamp units per second from an IDB's options (default: microseconds).

    ``if_tsresol`` is 10^-n, or 2^-n when its top bit is set; units finer than a
    nanosecond are kept exact by converting with integers (ticks x 10^9 // units).
    """
    pos = 0
    while pos + 4 <= len(options):
        code, length = struct.unpack_from(order + "HH", options, pos)
        if code == 0:
            break
        if code == _OPT_IF_TSRESOL and length >= 1:
            value: int = options[pos + 4]
            exponent = value & 0x7F
            return 1 << exponent if value & 0x80 else 10**exponent
        pos += 4 + (length + 3) // 4 * 4
    return 1_000_000


def _block_error(name: str, offset: int, number: int, reason: str) -> CaptureFileError:
    return CaptureFileError(name, offset, reason, number, "block")


def _read_pcapng(stream: BinaryIO, name: str, size: int | None) -> Iterator[CapturedFrame]:
    order = "<"
    interfaces: list[tuple[int, int, int]] = []  # (linktype, units per second, snaplen)
    offset = 0
    number = 0
    while True:
        head = stream.read(8)
        if not head:
            return
        number += 1
        where = (name, offset, number)
        if len(head) < 8:
            raise _block_error(*where, "truncated block header")
        # The SHB type reads the same in both byte orders; every other block type is
        # in the byte order of its section (a big-endian EPB is 00 00 00 06).
        if head[:4] == b"\x0a\x0d\x0d\x0a":
            block_type = PCAPNG_SHB
            magic = stream.read(4)
            if len(magic) < 4:
                raise _block_error(*where, "truncated section header")
            if struct.unpack("<I", magic)[0] == PCAPNG_BYTE_ORDER:
                order = "<"
            elif struct.unpack(">I", magic)[0] == PCAPNG_BYTE_ORDER:
                order = ">"
            else:
                raise CaptureFileError(name, offset + 8, "bad byte-order magic", number, "block")
            length = struct.unpack_from(order + "I", head, 4)[0]
            interfaces = []
            minimum = 28
            already = 12
        else:
            block_type, length = struct.unpack_from(order + "II", head)
            minimum = 12 + _MIN_BODY.get(block_type, 0)
            magic = b""
            already = 8
        if length < minimum or length % 4:
            raise _block_error(*where, f"bad or truncated block (length {length})")
        if length > MAX_BLOCK:
            raise _block_error(*where, f"block length {length} is over {MAX_BLOCK}")
        if size is not None and length > size - offset:
            raise _block_error(
                *where,
                f"bad or truncated block: length {length}, {size - offset} octets left in the file",
            )
        body = magic + stream.read(length - already - 4)
        if len(body) < length - 12:
            raise _block_error(*where, "bad or truncated block")
        trailer = stream.read(4)
        if len(trailer) < 4 or struct.unpack(order + "I", trailer)[0] != length:
            raise _block_error(*where, "block length trailer mismatch")
        if block_type == PCAPNG_IDB:
            linktype, _reserved, snaplen = struct.unpack_from(order + "HHI", body, 0)
            interfaces.append((linktype, _tsresol(body[8:], order), snaplen))
        elif block_type == PCAPNG_EPB:
            iface, high, low, captured, original = struct.unpack_from(order + "IIIII", body)
            if iface >= len(interfaces):
                raise _block_error(*where, f"unknown interface {iface}")
            linktype, per_second, snaplen = interfaces[iface]
            if linktype == LINKTYPE_ETHERNET:
                _check_captured(name, offset, number, captured, snaplen, "block")
                if 20 + captured > len(body):
                    raise _block_error(*where, "truncated packet")
                stamp = (high << 32 | low) * 1_000_000_000 // per_second
                yield CapturedFrame(stamp, body[20 : 20 + captured], original)
        elif block_type == PCAPNG_SPB and interfaces and interfaces[0][0] == LINKTYPE_ETHERNET:
            # No timestamp in a simple packet block (time 0); captured = what the block holds.
            original = struct.unpack_from(order + "I", body)[0]
            snaplen = interfaces[0][2]
            captured = min(original, len(body) - 4, snaplen or MAX_CAPTURED, MAX_CAPTURED)
            yield CapturedFrame(0, body[4 : 4 + captured], original)
        offset += length


def write_pcapng(path: Path, frames: Iterable[CapturedFrame]) -> int:
    """Write frames to a pcapng file (one section, one Ethernet interface, ns stamps)."""

    def block(kind: int, body: bytes) -> bytes:
        body = body + bytes(-len(body) % 4)
        length = 12 + len(body)
        return struct.pack("<II", kind, length) + body + struct.pack("<I", length)

    count = 0
    with path.open("wb") as stream:
        stream.write(block(PCAPNG_SHB, struct.pack("<IHHq", PCAPNG_BYTE_ORDER, 1, 0, -1)))
        options = struct.pack("<HHB3x", _OPT_IF_TSRESOL, 1, 9) + struct.pack("<HH", 0, 0)
        stream.write(block(PCAPNG_IDB, struct.pack("<HHI", LINKTYPE_ETHERNET, 0, 0) + options))
        for frame in frames:
            length = len(frame.data)
            head = struct.pack(
                "<IIIII",
                0,
                frame.time_ns >> 32,
                frame.time_ns & 0xFFFFFFFF,
                length,
                max(length, frame.original_length),
            )
            stream.write(block(PCAPNG_EPB, head + frame.data))
            count += 1
    return count


def write_capture(path: Path, frames: Iterable[CapturedFrame]) -> int:
    """pcapng when the name ends in ``.pcapng``, classic pcap (ns stamps) otherwise."""
    if path.suffix.lower() == ".pcapng":
        return write_pcapng(path, frames)
    return write_pcap(path, frames)
