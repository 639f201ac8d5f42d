"""Quick parse: decode frames of known streams with one comparison and one struct unpack.

The first frame of a stream goes through the full walk (``shape.learn_shape``); its shape
is remembered under (APPID, Length). Later frames are checked against the shape with one
masked comparison of every constant octet and unpacked with the shape's pre-compiled
struct. A frame that does not match falls back to the full walk; when the stream (APPID,
svIDs) then has a different structure than before, a ``LayoutChanged`` event is queued.
Sans-I/O: bytes in, values and events out.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from dataclasses import dataclass

from gen61850.runtime.errors import DecodeError
from gen61850.runtime.sv.dataset import DataSetLayout
from gen61850.runtime.sv.frame import ETHERTYPE_SV, MAX_FRAME, VlanTag, decode_frame
from gen61850.runtime.sv.records import DecodedAsdu, DecodedFrame, LinkHeader
from gen61850.runtime.sv.shape import FrameShape, learn_shape

_SV_KEY = struct.Struct(">HHH")  # Ethertype, APPID, Length: what a shape is filed under
_VLAN_TPID = b"\x81\x00"
MAX_SHAPES_PER_KEY = 64
"""Shapes kept per (APPID, Length): merging units often all use the default APPID 0x4000
with svIDs of one length, so many streams share a key (each is one masked comparison)."""
MAX_LINK_HEADERS = 4096
MAX_STREAMS = 4096
"""Streams (APPID, svIDs) whose shape is kept by default."""
MAX_EVENTS = 10_000
"""Layout changes kept until ``take_events`` (the oldest go first)."""


@dataclass(frozen=True, slots=True)
class LayoutChanged:
    """A stream's frame structure changed (fields added/removed, sizes or offsets moved)."""

    appid: int
    sv_ids: tuple[str, ...]
    previous: FrameShape
    current: FrameShape


def _key(shape: FrameShape) -> bytes:
    return _SV_KEY.pack(ETHERTYPE_SV, shape.appid, shape.length)


def _structure(shape: FrameShape) -> tuple[object, ...]:
    return (
        shape.length,
        shape.security,
        tuple(
            (a.smp_cnt_offset, a.refr_tm_offset, a.sample_offset, a.sample_length, a.dat_set)
            for a in shape.asdus
        ),
    )


class QuickParser:
    """Remembers frame shapes per (APPID, svIDs) and decodes matching frames fast.

    ``layouts`` maps svID to a data set layout; streams without one give raw sample octets.
    """

    def __init__(
        self, layouts: dict[str, DataSetLayout] | None = None, *, max_streams: int = MAX_STREAMS
    ) -> None:
        if max_streams < 1:
            raise ValueError(f"max_streams {max_streams}: at least one stream")
        self.layouts = dict(layouts or {})
        self.max_streams = max_streams
        self._shapes: dict[bytes, tuple[int, list[FrameShape]]] = {}
        self._by_stream: OrderedDict[tuple[int, tuple[str, ...]], FrameShape] = OrderedDict()
        self.events: list[LayoutChanged] = []
        self._links: dict[bytes, LinkHeader] = {}
        self.slow = 0
        """Frames that took the full walk (first of a stream, or a changed one)."""
        self.evicted = 0
        """Streams whose shape was let go to stay within ``max_streams``."""
        self.dropped: list[FrameShape] | None = None
        """Set it to a list to be told of shapes let go (replaced by a new layout, pushed
        out of a full (APPID, Length) bucket, or evicted); the owner empties it."""

    def take_events(self) -> list[LayoutChanged]:
        events, self.events = self.events, []
        return events

    def unpack(self, frame: bytes) -> tuple[FrameShape, int, tuple[object, ...]]:
        """Shape, APPID offset and struct items: reserved1, then per ASDU smpCnt,
        [refrTm], values (and quality words) or raw sample octets.

        Raises DecodeError for frames that are not well-formed SV.
        """
        if type(frame) is not bytes:
            frame = bytes(frame)  # slices of bytes are hashable keys
        size = len(frame)
        if 26 <= size <= MAX_FRAME:
            base = 18 if frame[12:14] == _VLAN_TPID else 14
            # One lookup checks the Ethertype and finds the shapes for (APPID, Length).
            entry = self._shapes.get(frame[base - 2 : base + 4])
            if entry is not None and size >= base + entry[0]:
                region = int.from_bytes(frame[base : base + entry[0]], "big")
                for shape in entry[1]:
                    if region & shape.mask == shape.constant:
                        return shape, base, shape.unpacker.unpack_from(frame, base)
        return self._learn(frame)

    def _learn(self, frame: bytes) -> tuple[FrameShape, int, tuple[object, ...]]:
        # The generated codec is the judge of well-formedness (its errors name the field
        # path and offset); the walk then records where the variable fields are.
        decode_frame(bytes(frame))
        shape, decoded = learn_shape(frame, self.layouts)
        self.slow += 1
        stream = (shape.appid, shape.sv_ids)
        previous = self._by_stream.pop(stream, None)
        if previous is not None:
            if _structure(previous) != _structure(shape):
                self.events.append(LayoutChanged(shape.appid, shape.sv_ids, previous, shape))
                if len(self.events) > MAX_EVENTS:  # nobody takes them: keep the latest
                    del self.events[0]
            self._unfile(previous)
        elif len(self._by_stream) >= self.max_streams:
            _, oldest = self._by_stream.popitem(last=False)
            self._unfile(oldest)
            self.evicted += 1
        self._by_stream[stream] = shape
        bucket = self._shapes.setdefault(_key(shape), (shape.length, []))[1]
        bucket.insert(0, shape)
        if self.dropped is not None:
            self.dropped += bucket[MAX_SHAPES_PER_KEY:]
        del bucket[MAX_SHAPES_PER_KEY:]
        base = decoded.link.base
        return shape, base, shape.unpacker.unpack_from(frame, base)

    def _unfile(self, shape: FrameShape) -> None:
        """Take ``shape`` out of its (APPID, Length) bucket, and the bucket when empty."""
        key = _key(shape)
        entry = self._shapes.get(key)
        if entry is not None:
            bucket = entry[1]
            for index, kept in enumerate(bucket):
                if kept is shape:
                    del bucket[index]
                    break
            if not bucket:
                del self._shapes[key]
        if self.dropped is not None:
            self.dropped.append(shape)

    def decode(self, frame: bytes, time: float | None = None) -> DecodedFrame:
        """The frame as records (through the fast path when its shape is known)."""
        shape, base, items = self.unpack(frame)
        # Link headers repeat frame after frame: reuse the (frozen) object.
        key = bytes(frame[: base + 8])
        link = self._links.get(key)
        if link is None:
            reserved1 = items[0]
            assert isinstance(reserved1, int)
            link = link_header(frame, base, shape, reserved1)
            if len(self._links) >= MAX_LINK_HEADERS:
                self._links.clear()
            self._links[key] = link
        return records(frame, shape, base, items, time, link)


def link_header(frame: bytes, base: int, shape: FrameShape, reserved1: int) -> LinkHeader:
    """The link header of a frame that already matched ``shape``."""
    vlan: VlanTag | None = None
    if base == 18:
        tci = frame[14] << 8 | frame[15]
        vlan = VlanTag(tci >> 13, tci & 0x0FFF, bool(tci & 0x1000))
    reserved2 = frame[base + 6] << 8 | frame[base + 7]
    return LinkHeader(
        bytes(frame[0:6]), bytes(frame[6:12]), vlan, shape.appid, shape.length, reserved1, reserved2
    )


def records(
    frame: bytes,
    shape: FrameShape,
    base: int,
    items: tuple[object, ...],
    time: float | None,
    link: LinkHeader | None = None,
) -> DecodedFrame:
    """Turn a shape and its struct items back into a ``DecodedFrame``."""
    if link is None:
        reserved1 = items[0]
        assert isinstance(reserved1, int)
        link = link_header(frame, base, shape, reserved1)
    if type(frame) is not bytes:
        frame = bytes(frame)
    asdus: list[DecodedAsdu] = []
    for (
        sv_id,
        conf_rev,
        smp_synch,
        start,
        stop,
        smp_at,
        refr_at,
        dat_set,
        smp_rate,
        smp_mod,
        gm_identity,
    ) in shape.plan:
        # Positional arguments: keywords cost twice as much on this per-frame path.
        asdus.append(
            DecodedAsdu(
                sv_id,
                items[smp_at],  # type: ignore[arg-type]
                conf_rev,
                smp_synch,
                frame[base + start : base + stop],
                dat_set,
                items[refr_at] if refr_at else None,  # type: ignore[arg-type]
                smp_rate,
                smp_mod,
                gm_identity,
            )
        )
    span = shape.security
    security = None if span is None else frame[base + span[0] : base + span[1]]
    return DecodedFrame(link, asdus, time, security, frame)


__all__ = ["DecodeError", "LayoutChanged", "QuickParser", "link_header", "records"]
