"""The TPACKET_V3 ring's block reader: frames gathered for a whole block of alike frames
are the frames the per-frame reader gives (tags put back, kernel times), on blocks built
as the kernel writes them."""

from __future__ import annotations

import random
import struct

import pytest

from gen61850.runtime.net.packet import TP_STATUS_VLAN_TPID_VALID, TP_STATUS_VLAN_VALID
from gen61850.runtime.net.ring import PacketRing
from gen61850.runtime.sv.stream import StreamConfig

from .helpers import make_frames

_MAC = 48  # tpacket3_hdr and padding before the frame, as Linux lays it out


def _block(frames: list[bytes], tags: list[tuple[int, int] | None]) -> bytes:
    """A ring block's frames area: each frame (tag taken out, as the kernel does) behind
    a tpacket3_hdr, 16-octet aligned, with its TCI and TPID in the header."""
    slots = []
    for k, (frame, tag) in enumerate(zip(frames, tags, strict=True)):
        body = frame if tag is None else frame[:12] + frame[16:]
        stride = _MAC + len(body) + (-(_MAC + len(body))) % 16
        status = 0
        tci = tpid = 0
        if tag is not None:
            tci, tpid = tag
            status = TP_STATUS_VLAN_VALID | (TP_STATUS_VLAN_TPID_VALID if tpid != 0x8100 else 0)
        last = k == len(frames) - 1
        head = struct.pack(
            "IIIIIIH",
            0 if last else stride,
            1_700_000_000 + k,
            999_999_000 + k,
            len(body),
            len(body),
            status,
            _MAC,
        )
        head = head.ljust(32, b"\0") + struct.pack("IH", tci, tpid)
        slots.append((head.ljust(_MAC, b"\0") + body).ljust(stride, b"\0"))
    return b"".join(slots)


class _Block(PacketRing):
    """A ring over one block's bytes (no socket): what ``_collect`` reads."""

    def __init__(self, data: bytes, alike: bool) -> None:
        self._map = data  # type: ignore[assignment]
        self._view = memoryview(data)
        if not alike:
            self._copy_uniform = lambda _pos, _count: None  # type: ignore[method-assign, assignment]


@pytest.mark.parametrize("seed", range(6))
def test_block_gather_gives_the_frames_of_the_per_frame_reader(seed: int) -> None:
    rng = random.Random(seed)
    config = StreamConfig("MU11", asdus_per_frame=rng.choice([1, 2]))
    count = rng.randrange(2, 40)
    kind = seed % 3  # all tagged, all untagged, mixed
    frames = make_frames(config if kind != 1 else config.with_changes(vlan_id=None), count)
    tags: list[tuple[int, int] | None] = []
    for k, frame in enumerate(frames):
        untagged = kind == 1 or (kind == 2 and k % 3 == 0)
        if untagged:
            tags.append(None)
            if frame[12:14] == b"\x81\x00":
                frames[k] = frame[:12] + frame[16:]
            continue
        tci = rng.randrange(1 << 16)
        tpid = rng.choice([0x8100, 0x88A8])
        frames[k] = frame[:12] + struct.pack(">HH", tpid, tci) + frame[16:]
        tags.append((tci, tpid))
    data = _block(frames, tags)
    fast = _Block(data, alike=True)._collect(0, count)
    slow = _Block(data, alike=False)._collect(0, count)
    assert fast == slow
    assert [frame for frame, _ns in fast] == frames
    assert [ns for _f, ns in fast] == [
        (1_700_000_000 + k) * 1_000_000_000 + 999_999_000 + k for k in range(count)
    ]
    gathered = _Block(data, alike=True)._copy_uniform(0, count)
    assert (gathered is None) == (kind == 2)  # a mixed block goes frame by frame


def test_block_of_frames_of_several_lengths_goes_frame_by_frame() -> None:
    frames = make_frames(StreamConfig("MU12", vlan_id=None), 3)
    frames[1] += b"\0\0"
    data = _block(frames, [None] * 3)
    assert _Block(data, alike=True)._copy_uniform(0, 3) is None
    assert [f for f, _ in _Block(data, alike=True)._collect(0, 3)] == frames
