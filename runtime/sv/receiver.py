"""The sans-I/O receive path: frames and times in, decoded frames, counters and events out.

``SvReceiver.feed(frame, time)`` runs the quick parser, the APPID/svID filters, decode-error
counting by field and per-stream supervision, and gives ``DecodedFrame`` records.
``SvReceiver.feed_scaled(frame, time)`` does the same work and gives a ``ScaledFrame``
(smpCnt, physical values and quality as tuples): the fast path. After a few frames of a
stream's route (shape, APPID offset, VLAN tag and reserved1: ``routes``) it runs the
route's emitted function (``scaled.emit_feed``), which supervises a frame that is simply
the stream's next sample in a few comparisons and hands everything else (a new stream, a
gap, a change, a wrap inside a frame) to the ``Supervisor``, so the events are the same
on both paths. Neither raises on bad input: a broken frame costs a counter, not the
receiver. Sockets, rings and files feed it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from gen61850.runtime.errors import DecodeError
from gen61850.runtime.sv.batch import Batch
from gen61850.runtime.sv.dataset import DataSetLayout
from gen61850.runtime.sv.quick import LayoutChanged, QuickParser
from gen61850.runtime.sv.records import DecodedFrame
from gen61850.runtime.sv.routes import Route, RouteTable
from gen61850.runtime.sv.scaled import Emitted, ScaledFrame, emit_feed, scaled_frame, variant_of
from gen61850.runtime.sv.shape import FrameShape
from gen61850.runtime.sv.stream import StreamConfig
from gen61850.runtime.sv.supervision import StreamState, Supervisor, SvEvent

MAX_EVENTS = 10_000
"""Events kept until ``take_events``: a receiver nobody asks for events (or a flood of new
svIDs, each a ``NewStream``) does not grow without end; the oldest go first, counted."""
COMPILE_AFTER = 4
"""Frames of a route decoded the plain way before its function is emitted (a stream that
sends one frame, such as a spoofed svID, never costs a compilation)."""


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
    events_dropped: int = 0
    """Events let go, oldest first, because ``MAX_EVENTS`` waited untaken."""


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
        self.routes = RouteTable(4 * max_streams, self._released)
        self._switching = False
        self._slow = self._scaled_slow
        self.feed_scaled: Callable[[bytes, float], ScaledFrame | None] = self._scaled_slow
        """``feed_scaled(frame, time)``: one frame to physical values, a ``ScaledFrame``
        (None when filtered out or malformed, counted in ``stats`` as by ``feed``), with
        the same supervision and events as ``feed``.

        The fast path: once a shape has been seen ``COMPILE_AFTER`` times, this
        attribute is that shape's emitted function (``scaled.emit_feed``) for as long as
        frames keep matching it; a frame that does not comes back to the receiver. So
        look it up on the receiver for each frame rather than keeping it."""

    @property
    def stats(self) -> ReceiverStats:
        stats = self._stats
        for route in self.routes.compiled_routes():
            self._count_hits(route)
        stats.evicted_streams = self.supervisor.evicted
        stats.evicted_shapes = self.parser.evicted
        return stats

    def _count_hits(self, route: Route) -> None:
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

    def _add_events(self, events: Sequence[SvEvent | LayoutChanged]) -> None:
        queue = self.events
        queue += events
        over = len(queue) - MAX_EVENTS
        if over > 0:
            del queue[:over]
            self._stats.events_dropped += over

    def error(self, error: DecodeError) -> None:
        stats = self._stats
        stats.decode_errors += 1
        stats.errors_by_field[error.path.split("[")[0].split(".")[0]] += 1
        stats.last_error = str(error)

    def _take_layout_changes(self) -> None:
        changes = self.parser.take_events()
        self._stats.layout_changes += len(changes)
        self._add_events(changes)

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
                self._add_events(events)
        stats.delivered_asdus += len(decoded.asdus)
        return decoded

    def _scaled_slow(self, frame: bytes, time: float | None) -> ScaledFrame | None:
        """A frame the current emitted path refused: another compiled route's (which
        then becomes the receiver's ``feed_scaled``), a shape's first frames, or a bad
        frame, handled the plain way."""
        if not self._switching and len(frame) >= 26:
            base = 18 if frame[12:14] == _TPID else 14
            routes = self.routes.candidates(frame, base)
            if routes:
                route = routes[0] if len(routes) == 1 else self._route_of(frame)
                if route is not None and route.base == base and route.feed is not None:
                    self.feed_scaled = route.feed
                    self._switching = True  # a refusal now goes the plain way
                    try:
                        return route.feed(frame, time)
                    finally:
                        self._switching = False
        return self._plain_scaled(frame, 0.0 if time is None else time)

    def _route_of(self, frame: bytes) -> Route | None:
        """The route of a frame whose dispatch key several routes share."""
        try:
            shape, base, _ = self.parser.unpack(frame)
        except DecodeError:
            return None
        return self.routes.find(shape, base, variant_of(frame, base))

    def _keep(self, shape: FrameShape) -> tuple[int, ...] | None:
        """The ASDUs of a shape the filters let through (None: all)."""
        if self.appids is not None and shape.appid not in self.appids:
            return ()
        if self.sv_ids is not None:
            kept = tuple(i for i, s in enumerate(shape.sv_ids) if s in self.sv_ids)
            return None if len(kept) == len(shape.asdus) else kept
        return None

    def _plain_scaled(self, frame: bytes, time: float) -> ScaledFrame | None:
        """``feed_scaled`` without an emitted path: the quick parser, ``scaled_frame``
        and ``Supervisor.feed``; emits the route's function after ``COMPILE_AFTER``
        frames."""
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
        route = self.routes.route(shape, base, variant_of(frame, base), self._keep)
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
            self.routes.compile(route, self._emit)
        if route.feed is not None:
            self.feed_scaled = route.feed
        return out

    def _emit(self, route: Route) -> Emitted:
        return emit_feed(
            route.shape,
            route.base,
            route.variant,
            route,
            route.state,
            self._slow,
            self._supervise,
            in_place=route.single,
        )

    def _released(self, route: Route) -> None:
        """A route's function goes: count what it took, stop using it."""
        self._count_hits(route)
        if self.feed_scaled is route.feed:
            self.feed_scaled = self._slow

    def _forget_dropped(self) -> None:
        """Routes of shapes the parser let go: their frames are learned again."""
        dropped = self.parser.dropped
        assert dropped is not None
        for shape in dropped:
            self.routes.drop_shape(shape)
        dropped.clear()

    def _supervise(self, route: Route, out: ScaledFrame, time: float | None) -> None:
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
                self._add_events(events)
        if route.single and route.keep is None:
            state = self.supervisor.streams.get(route.stream)
            if (
                state is not None
                and state.conf_rev == route.conf_rev
                and state.smp_synch == route.smp_synch
                and not state.timed_out
            ):
                route.own(state)

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
                self._add_events(
                    supervisor.feed_many(
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
                )
                continue
            flags = np.repeat(sims, len(columns))
            for smp, flag, when in zip(
                counts.tolist(), flags.tolist(), stamps.tolist(), strict=True
            ):
                self._add_events(
                    supervisor.feed(
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
                )

    def tick(self, now: float) -> None:
        self._add_events(self.supervisor.tick(now))


_TPID = b"\x81\x00"


__all__ = ["COMPILE_AFTER", "ReceiverStats", "ScaledFrame", "SvReceiver"]
