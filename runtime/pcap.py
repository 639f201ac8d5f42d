"""Classic pcap files (libpcap format): read and write Ethernet frames with timestamps."""

from __future__ import annotations

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
    """A capture file that cannot be read: names the file and the byte offset."""


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
        yield from _read(stream, str(path))


def _read(stream: BinaryIO, name: str) -> Iterator[CapturedFrame]:
    head = stream.read(24)
    if len(head) < 24:
        raise CaptureFileError(f"{name}: offset 0: truncated pcap header")
    magic = struct.unpack("<I", head[:4])[0]
    if magic not in _MAGIC:
        raise CaptureFileError(f"{name}: offset 0: not a pcap file (magic 0x{magic:08x})")
    order, nanos = _MAGIC[magic]
    linktype = struct.unpack(order + "I", head[20:24])[0] & 0x0FFFFFFF
    if linktype != LINKTYPE_ETHERNET:
        raise CaptureFileError(f"{name}: link type {linktype} is not Ethernet (1)")
    record = struct.Struct(order + "IIII")
    scale = 1 if nanos else 1000
    offset = 24
    while True:
        raw = stream.read(16)
        if not raw:
            return
        if len(raw) < 16:
            raise CaptureFileError(f"{name}: offset {offset}: truncated record header")
        seconds, fraction, captured, original = record.unpack(raw)
        data = stream.read(captured)
        if len(data) < captured:
            raise CaptureFileError(f"{name}: offset {offset}: truncated frame")
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
