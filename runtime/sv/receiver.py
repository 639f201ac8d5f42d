"""The sans-I/O receive path: frames and times in, decoded frames, counters and events out.

``SvReceiver.feed(frame, time)`` runs the quick parser, the APPID/svID filters, decode-error
counting by field and per-stream supervision, and gives ``DecodedFrame`` records.
``SvReceiver.feed_scaled(frame, time)`` does the same work and gives a ``ScaledFrame``
(smpCnt, physical values and quality as tuples): the fast path. After a few frames of a
shape it runs that shape's emitted decoder (``scaled.emit_decoder``), and supervises an
ASDU that is simply the next sample of its stream in a few comparisons, handing
everything else (a new stream, a gap, a change, a wrap inside a frame) to the
``Supervisor``, so the events are the same on both paths. Neither raises on bad input:
a broken frame costs a counter, not the receiver. Sockets, rings and files feed it.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from gen61850.runtime.errors import DecodeError
from gen61850.runtime.net.ring import BlockBatch
from gen61850.runtime.sv.batch import Batch, BatchDecoder
from gen61850.runtime.sv.dataset import DataSetLayout, LayoutError
from gen61850.runtime.sv.quick import LayoutChanged, QuickParser
from gen61850.runtime.sv.records import DecodedFrame
from gen61850.runtime.sv.scaled import Emitted, ScaledFrame, emit_feed, scaled_frame
from gen61850.runtime.sv.shape import FrameShape
from gen61850.runtime.sv.stream import StreamConfig
from gen61850.runtime.sv.supervision import StreamState, Supervisor, SvEvent

COMPILE_AFTER = 4
"""Frames of a shape decoded the plain way before its decoder is emitted (a stream that
sends one frame, such as a spoofed svID, never costs a compilation)."""
MAX_DECODERS = 1024
"""Emitted decoders kept; beyond that the oldest is let go (and emitted again if needed)."""


@dataclass
class ReceiverStats:
    """Counters of one receiver (kernel counters are added by the ``Subscriber``)."""

    frames: int = 0
    asdus: int = 0
    delivered_asdus: int = 0
    filtered: int = 0
    decode_errors: int = 0
    errors_by_field: Counter[str] = field(default_factory=Counter)
    last_error: str | None = None
    layout_changes: int = 0
    kernel_packets: int = 0
    """Frames the kernel filter passed, dropped ones included (PACKET_STATISTICS)."""
    kernel_drops: int = 0
    """Of those, frames the kernel dropped because the ring or queue was full."""
    evicted_streams: int = 0
    """Streams supervision forgot (silent for ``forget_after``, or beyond ``max_streams``)."""
    evicted_shapes: int = 0
    """Streams whose learned shape the quick parser let go (beyond its ``max_streams``)."""


def _unowned() -> StreamState:
    """A state no route owns: a route holds it until its stream's real one is known."""
    return StreamState(0, 0, False, 0, 0.0, 1, False)


class _Route:
    """One shape at one APPID offset as the receiver sees it: the filter decision, its
    emitted decoder once compiled, and the supervision state of its single stream."""

    __slots__ = (
        "appid",
        "base",
        "batch",
        "conf_rev",
        "count",
        "emitted",
        "keep",
        "key",
        "seen",
        "shape",
        "single",
        "smp_synch",
        "state",
        "stream",
    )

    def __init__(self, shape: FrameShape, base: int, keep: tuple[int, ...] | None) -> None:
        self.shape = shape
        self.base = base
        self.key = shape_key(shape)
        self.keep = keep
        """Indices of the ASDUs delivered (None: all; empty: the frame is filtered)."""
        self.count = len(shape.asdus)
        self.seen = 0
        """Frames decoded the plain way (until the decoder is emitted)."""
        self.emitted: Emitted | None = None
        """The emitted path (``scaled.emit_feed``) once compiled."""
        first = shape.asdus[0]
        self.single = len(set(shape.sv_ids)) == 1 and all(
            (a.conf_rev, a.smp_synch) == (first.conf_rev, first.smp_synch) for a in shape.asdus
        )
        """Every ASDU belongs to one stream: an in-order frame is supervised in place."""
        self.appid = shape.appid
        self.stream = (shape.appid, first.sv_id)
        self.conf_rev = first.conf_rev
        self.smp_synch = first.smp_synch
        self.state = _unowned()
        self.batch: dict[int, BatchDecoder | None] = {}
        """The block path's decoders by the APPID offset in the block (None: the shape
        has no single known layout of 4-octet words)."""

    def batch_decoder(self, base: int) -> BatchDecoder | None:
        if base not in self.batch:
            try:
                self.batch[base] = BatchDecoder(self.shape, base)
            except LayoutError:
                self.batch[base] = None
        return self.batch[base]

    @property
    def compiled(self) -> bool:
        return self.emitted is not None

    @property
    def feed(self) -> Callable[[bytes, float | None], ScaledFrame | None] | None:
        return None if self.emitted is None else self.emitted.feed

    def own(self, state: StreamState) -> None:
        """Advance ``state`` in place from now on (until the Supervisor takes it back)."""
        state.owner = self
        self.state = state
        if self.emitted is not None:
            self.emitted.bind(state)


def shape_key(shape: FrameShape) -> bytes:
    """Ethertype, APPID and Length: the octets that sort frames into shapes."""
    return b"\x88\xba" + shape.appid.to_bytes(2, "big") + shape.length.to_bytes(2, "big")


class SvReceiver:
    """Sans-I/O receive path: ``feed(frame, time)`` returns the frame, or None when it
    is filtered out or malformed (counted in ``stats``); events collect in ``events``.
    ``feed_scaled`` is the same with physical values (``ScaledFrame``).

    ``max_streams`` bounds what is kept per stream (supervision and learned shapes);
    ``forget_after`` is how long a silent stream is remembered (see ``Supervisor``).
    """

    def __init__(
        self,
        *,
        appids: Iterable[int] | None = None,
        sv_ids: Iterable[str] | None = None,
        layouts: dict[str, DataSetLayout] | None = None,
        streams: Iterable[StreamConfig] = (),
        timeout: float = 0.5,
        max_streams: int = 4096,
        forget_after: float | None = 60.0,
    ) -> None:
        streams = list(streams)
        all_layouts = {s.sv_id: s.layout for s in streams}
        all_layouts.update(layouts or {})
        self.appids = set(appids) if appids is not None else None
        self.sv_ids = set(sv_ids) if sv_ids is not None else None
        self.parser = QuickParser(all_layouts, max_streams=max_streams)
        self.parser.dropped = []
        self.supervisor = Supervisor(
            timeout,
            {s.sv_id: s.smp_cnt_wrap for s in streams},
            max_streams=max_streams,
            forget_after=forget_after,
        )
        self._stats = ReceiverStats()
        self.events: list[SvEvent | LayoutChanged] = []
        self._routes: OrderedDict[tuple[int, int], _Route] = OrderedDict()
        self._compiled: dict[bytes, list[_Route]] = {}
        self._switching = False
        self._slow = self._scaled_slow

    @property
    def stats(self) -> ReceiverStats:
        stats = self._stats
        for route in self._compiled_routes():
            self._count_hits(route)
        stats.evicted_streams = self.supervisor.evicted
        stats.evicted_shapes = self.parser.evicted
        return stats

    def _compiled_routes(self) -> list[_Route]:
        return [route for bucket in self._compiled.values() for route in bucket]

    def _count_hits(self, route: _Route) -> None:
        """Move the frames an emitted path took into the receiver's counters."""
        if route.emitted is None:
            return
        hits = route.emitted.take_hits()
        stats = self._stats
        stats.frames += hits
        stats.asdus += hits * route.count
        stats.delivered_asdus += hits * route.count

    @property
    def streams(self) -> dict[tuple[int, str], StreamState]:
        return self.supervisor.streams

    def take_events(self) -> list[SvEvent | LayoutChanged]:
        events, self.events = self.events, []
        return events

    def error(self, error: DecodeError) -> None:
        stats = self._stats
        stats.decode_errors += 1
        stats.errors_by_field[error.path.split("[")[0].split(".")[0]] += 1
        stats.last_error = str(error)

    def _take_layout_changes(self) -> None:
        changes = self.parser.take_events()
        self._stats.layout_changes += len(changes)
        self.events += changes

    def unpack(self, frame: bytes) -> tuple[FrameShape, int, tuple[object, ...]]:
        """``QuickParser.unpack`` with the receiver's bookkeeping (layout changes become
        events, shapes the parser lets go are forgotten here too)."""
        try:
            return self.parser.unpack(frame)
        finally:
            if self.parser.events:
                self._take_layout_changes()
            if self.parser.dropped:
                self._forget_dropped()

    def feed(self, frame: bytes, time: float) -> DecodedFrame | None:
        stats = self._stats
        stats.frames += 1
        try:
            decoded = self.parser.decode(frame, time)
        except DecodeError as error:
            self.error(error)
            return None
        if self.parser.events:
            self._take_layout_changes()
        if self.parser.dropped:
            self._forget_dropped()
        link = decoded.link
        stats.asdus += len(decoded.asdus)
        if self.appids is not None and link.appid not in self.appids:
            stats.filtered += 1
            return None
        if self.sv_ids is not None:
            decoded.asdus = [a for a in decoded.asdus if a.sv_id in self.sv_ids]
            if not decoded.asdus:
                stats.filtered += 1
                return None
        simulated = link.simulated
        feed = self.supervisor.feed
        for asdu in decoded.asdus:
            events = feed(
                link.appid,
                asdu.sv_id,
                asdu.smp_cnt,
                asdu.conf_rev,
                asdu.smp_synch,
                simulated,
                time,
                asdu.smp_rate,
                asdu.smp_mod,
            )
            if events:
                self.events += events
        stats.delivered_asdus += len(decoded.asdus)
        return decoded

    def feed_scaled(self, frame: bytes, time: float) -> ScaledFrame | None:
        """One frame to physical values (None when filtered out or malformed, counted
        in ``stats`` as by ``feed``); the same supervision and events as ``feed``.

        The fast path: once a shape has been seen ``COMPILE_AFTER`` times, this
        attribute of the receiver is that shape's emitted function (``scaled.emit_feed``)
        for as long as frames keep matching it; a frame that does not comes back here.
        So look it up on the receiver for each frame rather than keeping it.
        """
        return self._scaled_slow(frame, time)

    def _scaled_slow(self, frame: bytes, time: float | None) -> ScaledFrame | None:
        """A frame the current emitted path refused: another compiled route's (which
        then becomes the receiver's ``feed_scaled``), a shape's first frames, or a bad
        frame, handled the plain way."""
        if not self._switching and len(frame) >= 26:
            base = 18 if frame[12:14] == _TPID else 14
            routes = self._compiled.get(bytes(frame[base - 2 : base + 4]))
            if routes:
                route = routes[0] if len(routes) == 1 else self._route_of(frame)
                if route is not None and route.base == base and route.feed is not None:
                    self.__dict__["feed_scaled"] = route.feed
                    self._switching = True  # a refusal now goes the plain way
                    try:
                        return route.feed(frame, time)
                    finally:
                        self._switching = False
        return self._plain_scaled(frame, 0.0 if time is None else time)

    def _route_of(self, frame: bytes) -> _Route | None:
        """The route of a frame whose (APPID, Length) several shapes share."""
        try:
            shape, base, _ = self.parser.unpack(frame)
        except DecodeError:
            return None
        return self._routes.get((id(shape), base))

    def _plain_scaled(self, frame: bytes, time: float) -> ScaledFrame | None:
        """``feed_scaled`` without an emitted path: the quick parser, ``scaled_frame``
        and ``Supervisor.feed``; compiles the route after ``COMPILE_AFTER`` frames."""
        stats = self._stats
        stats.frames += 1
        try:
            shape, base, items = self.parser.unpack(frame)
        except DecodeError as error:
            self.error(error)
            return None
        if self.parser.events:
            self._take_layout_changes()
        if self.parser.dropped:
            self._forget_dropped()
        route = self._route(shape, base)
        stats.asdus += route.count
        keep = route.keep
        if keep == ():
            stats.filtered += 1
            return None
        out = scaled_frame(frame, shape, items, time)
        self._supervise(route, out, time)
        if keep is not None:
            stats.delivered_asdus += len(keep)
            return out._replace(
                smp_cnt=tuple(out.smp_cnt[i] for i in keep),
                values=tuple(out.values[i] for i in keep),
                quality=tuple(out.quality[i] for i in keep),
                kept=keep,
            )
        stats.delivered_asdus += route.count
        route.seen += 1
        if route.seen >= COMPILE_AFTER and not route.compiled:
            self._compile(route)
        if route.feed is not None:
            self.__dict__["feed_scaled"] = route.feed
        return out

    def _route(self, shape: FrameShape, base: int) -> _Route:
        key = (id(shape), base)
        route = self._routes.get(key)
        if route is None:
            keep: tuple[int, ...] | None = None
            if self.appids is not None and shape.appid not in self.appids:
                keep = ()
            elif self.sv_ids is not None:
                kept = tuple(i for i, s in enumerate(shape.sv_ids) if s in self.sv_ids)
                keep = None if len(kept) == len(shape.asdus) else kept
            route = self._routes[key] = _Route(shape, base, keep)
            if len(self._routes) > 4 * self.parser.max_streams:
                self._drop_route(next(iter(self._routes.values())))
        return route

    def _compile(self, route: _Route) -> None:
        if len(self._compiled_routes()) >= MAX_DECODERS:
            for oldest in self._routes.values():
                if oldest.compiled:
                    self._uncompile(oldest)
                    break
        route.emitted = emit_feed(
            route.shape,
            route.base,
            route,
            route.state,
            self._slow,
            self._supervise,
            in_place=route.single,
        )
        self._compiled.setdefault(route.key, []).append(route)

    def _uncompile(self, route: _Route) -> None:
        if route.feed is None:
            return
        self._count_hits(route)
        if self.__dict__.get("feed_scaled") is route.feed:
            del self.__dict__["feed_scaled"]
        route.emitted = None
        route.seen = 0
        bucket = self._compiled.get(route.key, [])
        if route in bucket:
            bucket.remove(route)
            if not bucket:
                del self._compiled[route.key]

    def _drop_route(self, route: _Route) -> None:
        self._uncompile(route)
        self._routes.pop((id(route.shape), route.base), None)
        if route.state.owner is route:
            route.state.owner = None

    def _forget_dropped(self) -> None:
        """Routes of shapes the parser let go: their frames are learned again."""
        dropped = self.parser.dropped
        assert dropped is not None
        for shape in dropped:
            for base in (14, 18):
                route = self._routes.get((id(shape), base))
                if route is not None and route.shape is shape:
                    self._drop_route(route)
        dropped.clear()

    def _supervise(self, route: _Route, out: ScaledFrame, time: float | None) -> None:
        """Supervisor.feed for each ASDU, then let the route advance its stream's state
        on its own while the stream stays in order."""
        shape = route.shape
        feed = self.supervisor.feed
        simulated = out.simulated
        counts = out.smp_cnt
        when = 0.0 if time is None else time
        for index in range(route.count) if route.keep is None else route.keep:
            asdu = shape.asdus[index]
            events = feed(
                route.appid,
                asdu.sv_id,
                counts[index],
                asdu.conf_rev,
                asdu.smp_synch,
                simulated,
                when,
                asdu.smp_rate,
                asdu.smp_mod,
            )
            if events:
                self.events += events
        if route.single and route.keep is None:
            state = self.supervisor.streams.get(route.stream)
            if (
                state is not None
                and state.conf_rev == route.conf_rev
                and state.smp_synch == route.smp_synch
                and not state.timed_out
            ):
                route.own(state)

    def feed_block(
        self, block: BlockBatch, times: Sequence[float] | None = None
    ) -> list[ScaledFrame | None]:
        """A ring block (or any frames of one length at a fixed stride, their 802.1Q tag
        taken out as the kernel does, ``vlan_tci`` -1 where there was none) to one
        ``ScaledFrame`` per frame, None where ``feed_scaled`` gives None: the same
        records, counters and events, most of the work done once per shape with numpy.

        The first frame of each shape in the block goes through ``feed_scaled``; the
        rest of that shape's frames are checked and decoded together (``BatchDecoder``:
        every constant octet, the length) and supervised together
        (``Supervisor.feed_many``). Frames that match no decoded shape go one by one.
        So each stream's events come in order, but the events of different streams of
        one block come stream by stream. ``times`` (seconds) replaces the block's
        ``time_ns`` when given.
        """
        count = block.count
        out: list[ScaledFrame | None] = [None] * count
        if not count:
            return out
        length = block.length
        stride = block.stride
        span = (count - 1) * stride + length
        blob = bytes(block.buffer[block.offset : block.offset + span])
        tags = block.vlan_tci
        times = (block.time_ns / 1e9).tolist() if times is None else list(times)
        tagged = bool((tags >= 0).any())
        tag_list = tags.tolist() if tagged else None
        remaining = np.ones(count, dtype=np.bool_)
        start = 0
        while True:
            left = np.flatnonzero(remaining[start:])
            if not left.size:
                return out
            first = start + int(left[0])
            start = first + 1
            remaining[first] = False
            raw = _raw(blob, first * stride, length, tag_list[first] if tag_list else -1)
            out[first] = result = self.feed_scaled(raw, times[first])
            if result is None:
                continue
            route = self._routes.get((id(result.shape), 18 if raw[12:14] == _TPID else 14))
            if route is None or route.keep is not None:
                continue
            at = first * stride
            decoder = route.batch_decoder(18 if blob[at + 12 : at + 14] == _TPID else 14)
            if decoder is None or length < decoder.frame_size:
                continue
            batch = decoder.decode(blob, count, stride, 0, length)
            chosen = batch.valid & remaining
            rows = np.flatnonzero(chosen)
            if not rows.size:
                continue
            remaining[rows] = False
            self._block_records(route, batch, rows, blob, stride, length, tag_list, times, out)

    def _block_records(
        self,
        route: _Route,
        batch: Batch,
        rows: npt.NDArray[np.intp],
        blob: bytes,
        stride: int,
        length: int,
        tag_list: list[int] | None,
        times: list[float],
        out: list[ScaledFrame | None],
    ) -> None:
        """The records of a shape's rows of a block, supervised and counted."""
        shape = route.shape
        selected = batch.rows(rows)
        picked = rows.tolist()
        stamps = [times[r] for r in picked]
        self.supervise_batch(shape, selected, np.array(stamps, dtype=np.float64))
        stats = self._stats
        n = len(picked)
        stats.frames += n
        stats.asdus += n * route.count
        stats.delivered_asdus += n * route.count
        counts = selected.smp_cnt.tolist()
        values = selected.scaled().tolist()
        layout = shape.layouts[0]
        assert layout is not None
        if layout.has_quality and all(c.quality for c in layout.channels):
            qualities: list[tuple[tuple[int | None, ...], ...]] = [
                tuple(map(tuple, q)) for q in selected.quality.tolist()
            ]
        else:
            words = selected.quality.tolist()
            flags = [c.quality for c in layout.channels]
            qualities = [
                tuple(tuple(w if f else None for w, f in zip(q, flags, strict=True)) for q in row)
                for row in words
            ]
        sims = selected.simulated.tolist()
        new = tuple.__new__
        for k, r in enumerate(picked):
            at = r * stride
            raw = (
                blob[at : at + length]
                if tag_list is None or tag_list[r] < 0
                else _raw(blob, at, length, tag_list[r])
            )
            out[r] = new(
                ScaledFrame,
                (
                    shape,
                    stamps[k],
                    tuple(counts[k]),
                    tuple(map(tuple, values[k])),
                    qualities[k],
                    sims[k],
                    raw,
                    None,
                ),
            )

    def feed_scaled_many(
        self, frames: Sequence[bytes], times: Sequence[float]
    ) -> list[ScaledFrame | None]:
        """``feed_scaled`` for each frame, in order (frames of one length go through
        ``feed_block``): one ``ScaledFrame`` or None per frame."""
        count = len(frames)
        if count > 1 and all(len(f) == len(frames[0]) for f in frames):
            length = len(frames[0])
            block = BlockBatch(
                memoryview(b"".join(frames)),
                0,
                length,
                count,
                length,
                np.zeros(count, dtype=np.int64),
                np.full(count, -1, dtype=np.int64),
            )
            return self.feed_block(block, times)
        return [self.feed_scaled(f, t) for f, t in zip(frames, times, strict=True)]

    def supervise_batch(
        self, shape: FrameShape, batch: Batch, times: npt.NDArray[np.float64]
    ) -> None:
        """Feed a batch's smpCnt columns to supervision, stream by stream (the ASDUs of
        wanted svIDs only); ``times`` in seconds, one per row."""
        appid = shape.appid
        supervisor = self.supervisor
        for sv_id in dict.fromkeys(shape.sv_ids):
            if self.sv_ids is not None and sv_id not in self.sv_ids:
                continue
            columns = [i for i, s in enumerate(shape.sv_ids) if s == sv_id]
            counts = batch.smp_cnt[:, columns].ravel()
            stamps = np.repeat(times, len(columns))
            first = shape.asdus[columns[0]]
            sims = batch.simulated
            if sims.all() or not sims.any():
                self.events += supervisor.feed_many(
                    appid,
                    sv_id,
                    counts,
                    first.conf_rev,
                    first.smp_synch,
                    bool(sims.any()),
                    stamps,
                    first.smp_rate,
                    first.smp_mod,
                )
                continue
            flags = np.repeat(sims, len(columns))
            for smp, flag, when in zip(
                counts.tolist(), flags.tolist(), stamps.tolist(), strict=True
            ):
                self.events += supervisor.feed(
                    appid,
                    sv_id,
                    smp,
                    first.conf_rev,
                    first.smp_synch,
                    flag,
                    when,
                    first.smp_rate,
                    first.smp_mod,
                )

    def tick(self, now: float) -> None:
        self.events += self.supervisor.tick(now)


_TPID = b"\x81\x00"
_TAGS: dict[int, bytes] = {}


def _raw(blob: bytes, at: int, length: int, tci: int) -> bytes:
    """The frame at ``at`` in ``blob`` as it was on the wire: its 802.1Q tag put back
    when the kernel took it out (``tci`` >= 0)."""
    if tci < 0:
        return blob[at : at + length]
    tag = _TAGS.get(tci)
    if tag is None:
        tag = _TAGS[tci] = b"\x81\x00" + (tci & 0xFFFF).to_bytes(2, "big")
    return b"".join((blob[at : at + 12], tag, blob[at + 12 : at + length]))


__all__ = ["COMPILE_AFTER", "ReceiverStats", "ScaledFrame", "SvReceiver"]
