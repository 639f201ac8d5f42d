"""pcap and pcapng: round trips, files written by tshark, bad files with offsets."""

from __future__ import annotations

import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gen61850.runtime.pcap import (
    CapturedFrame,
    CaptureFileError,
    read_capture,
    read_pcap,
    write_capture,
)

from ..conftest import require_program

FRAMES = [
    CapturedFrame(1_700_000_000_123_456_789 + k * 250_000, bytes([k]) * (60 + k), 60 + k)
    for k in range(5)
]


@pytest.mark.parametrize("suffix", [".pcap", ".pcapng"])
def test_round_trip_keeps_nanoseconds(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"frames{suffix}"
    assert write_capture(path, FRAMES) == 5
    assert list(read_capture(path)) == FRAMES


@pytest.mark.tshark
@pytest.mark.parametrize("suffix", [".pcap", ".pcapng"])
def test_tshark_reads_what_we_write_and_we_read_what_it_writes(
    tmp_path: Path, sv_capture: Path, suffix: str
) -> None:
    tshark = require_program("tshark")
    original = list(read_pcap(sv_capture))[:30]
    ours = tmp_path / f"ours{suffix}"
    write_capture(ours, original)
    out = subprocess.run(
        [tshark, "-r", str(ours), "-T", "fields", "-e", "frame.time_epoch", "-e", "sv.smpCnt"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    first_time, first_count = out[0].split("\t")
    assert first_count == "280"
    assert round(float(first_time) * 1e6) == original[0].time_ns // 1000
    theirs = tmp_path / f"theirs{suffix}"
    fmt = "pcapng" if suffix == ".pcapng" else "pcap"
    subprocess.run(
        [tshark, "-r", str(sv_capture), "-c", "30", "-F", fmt, "-w", str(theirs)],
        capture_output=True,
        check=True,
    )
    assert list(read_capture(theirs)) == original


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a", "offset 0"),
        (b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x00\x00\x00\x00" + bytes(16), "byte-order"),
        (b"\xd4\xc3\xb2\xa1" + bytes(10), "truncated pcap header"),
        (b"nope" + bytes(30), "not a pcap file"),
    ],
)
def test_bad_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.cap"
    path.write_bytes(content)
    with pytest.raises(CaptureFileError, match=message):
        list(read_capture(path))


def test_truncated_pcapng_packet(tmp_path: Path) -> None:
    path = tmp_path / "cut.pcapng"
    write_capture(path, FRAMES)
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    with pytest.raises(CaptureFileError, match="offset"):
        list(read_capture(path))


def _big_endian_pcapng(frames: list[CapturedFrame]) -> bytes:
    """A pcapng section written big-endian (as on a SPARC or PowerPC host), ns stamps."""

    def block(kind: int, body: bytes) -> bytes:
        body += bytes(-len(body) % 4)
        return struct.pack(">II", kind, 12 + len(body)) + body + struct.pack(">I", 12 + len(body))

    out = block(0x0A0D0D0A, struct.pack(">IHHq", 0x1A2B3C4D, 1, 0, -1))
    tsresol = struct.pack(">HHB3x", 9, 1, 9) + struct.pack(">HH", 0, 0)
    out += block(1, struct.pack(">HHI", 1, 0, 0) + tsresol)
    for frame in frames:
        stamp = frame.time_ns
        size = len(frame.data)
        head = struct.pack(">IIIII", 0, stamp >> 32, stamp & 0xFFFFFFFF, size, size)
        out += block(6, head + frame.data)
    return out


def test_big_endian_pcapng_section(tmp_path: Path) -> None:
    path = tmp_path / "big.pcapng"
    expected = [CapturedFrame(f.time_ns, f.data, len(f.data)) for f in FRAMES]
    path.write_bytes(_big_endian_pcapng(expected))
    assert list(read_capture(path)) == expected


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        # Section header whose length is below the SHB minimum (28): no read to the end.
        (lambda d: d[:4] + struct.pack("<I", 12) + d[8:], "offset 0: bad or truncated"),
        # EPB too short for its fixed fields: a located error, not a struct error.
        (lambda d: d + struct.pack("<IIII", 6, 16, 0, 16), "bad or truncated"),
    ],
)
def test_bad_pcapng_block_lengths(
    tmp_path: Path, patch: Callable[[bytes], bytes], message: str
) -> None:
    path = tmp_path / "bad.pcapng"
    write_capture(path, FRAMES[:1])
    data = path.read_bytes()
    path.write_bytes(patch(data))
    with pytest.raises(CaptureFileError, match=message):
        list(read_capture(path))


@pytest.mark.parametrize(
    ("tsresol", "ticks", "expected_ns"),
    [
        (6, 1_700_000_000_123_456, 1_700_000_000_123_456_000),  # microseconds
        (9, 1_700_000_000_123_456_789, 1_700_000_000_123_456_789),  # nanoseconds
        (12, 10_000_000_123_456_789_012, 10_000_000_123_456_789),  # picoseconds
        (0x80 | 20, 5 << 20 | 1 << 19, 5_500_000_000),  # 2^-20 s: 5.5 s
    ],
)
def test_pcapng_timestamp_resolutions(
    tmp_path: Path, tsresol: int, ticks: int, expected_ns: int
) -> None:
    def block(kind: int, body: bytes) -> bytes:
        body += bytes(-len(body) % 4)
        return struct.pack("<II", kind, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))

    data = bytes(range(60))
    options = struct.pack("<HHB3x", 9, 1, tsresol) + struct.pack("<HH", 0, 0)
    content = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    content += block(1, struct.pack("<HHI", 1, 0, 0) + options)
    head = struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, len(data), len(data))
    content += block(6, head + data)
    path = tmp_path / "res.pcapng"
    path.write_bytes(content)
    assert list(read_capture(path)) == [CapturedFrame(expected_ns, data, len(data))]


def _pcap(records: list[tuple[int, bytes]], snaplen: int = 262144) -> bytes:
    """A classic pcap: each record's claimed captured length and its octets."""
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1)
    for claimed, data in records:
        out += struct.pack("<IIII", 1, 2, claimed, len(data)) + data
    return out


def _pcapng(*blocks: bytes) -> bytes:
    def block(kind: int, body: bytes) -> bytes:
        return struct.pack("<II", kind, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))

    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = block(1, struct.pack("<HHI", 1, 0, 1500))  # Ethernet, snaplen 1500
    return shb + idb + b"".join(blocks)


def _epb(captured: int, data: bytes, total: int | None = None) -> bytes:
    body = struct.pack("<IIIII", 0, 0, 0, captured, len(data)) + data + bytes(-len(data) % 4)
    length = 12 + len(body) if total is None else total
    return struct.pack("<II", 6, length) + body + struct.pack("<I", length)


FRAME = bytes(range(60))
# Files whose records claim more than they hold or than the format allows: each gives a
# CaptureFileError naming the file, the record (block) number and its offset, before
# anything of the claimed size is allocated.
LYING_FILES = {
    "pcap record claims 0xFFFFFFF0 octets": (
        _pcap([(60, FRAME), (0xFFFFFFF0, FRAME)]),
        "record 2 at offset 100: captured length 4294967280 is over 262144",
    ),
    "pcap record runs past the end of the file": (
        _pcap([(1000, FRAME)]),
        "record 1 at offset 24: truncated frame: 1000 octets, 60 left in the file",
    ),
    "pcap record over the file's snaplen": (
        _pcap([(60, FRAME)], snaplen=40),
        "record 1 at offset 24: captured length 60 is over the snaplen 40",
    ),
    "pcapng block claims 0xFFFFFFF0 octets": (
        _pcapng(_epb(60, FRAME, total=0xFFFFFFF0)),
        "block 3 at offset 48: block length 4294967280 is over 16777216",
    ),
    "pcapng block runs past the end of the file": (
        _pcapng(_epb(60, FRAME, total=4000)),
        "block 3 at offset 48: bad or truncated block: length 4000, 92 octets left in the file",
    ),
    "pcapng packet claims more than its block": (
        _pcapng(_epb(0xFFFFFFF0, FRAME)),
        "block 3 at offset 48: captured length 4294967280 is over 262144",
    ),
    "pcapng packet over the interface's snaplen": (
        _pcapng(_epb(1600, bytes(1600))),
        "block 3 at offset 48: captured length 1600 is over the snaplen 1500",
    ),
    "pcapng section header claims 0xFFFFFFF0 octets": (
        _pcapng()[:4] + struct.pack("<I", 0xFFFFFFF0) + _pcapng()[8:],
        "block 1 at offset 0: block length 4294967280 is over 16777216",
    ),
}


@pytest.mark.parametrize("name", sorted(LYING_FILES))
def test_lying_lengths_give_located_errors_within_a_memory_limit(tmp_path: Path, name: str) -> None:
    content, message = LYING_FILES[name]
    path = tmp_path / "lying.pcap"
    path.write_bytes(content)
    with pytest.raises(CaptureFileError) as caught:
        list(read_capture(path))
    assert str(caught.value) == f"{path}: {message}"
    assert caught.value.path == str(path) and caught.value.record is not None
    # In a process limited to 512 MiB of address space: an error, not a MemoryError.
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))\n"
        "from pathlib import Path\n"
        "from gen61850.runtime.pcap import CaptureFileError, read_capture\n"
        "try:\n"
        "    list(read_capture(Path(sys.argv[1])))\n"
        "except CaptureFileError as error:\n"
        "    print(error)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=False
    )
    assert (run.returncode, run.stdout.strip(), run.stderr) == (0, f"{path}: {message}", "")
