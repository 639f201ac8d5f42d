"""Per-stream supervision of received SV: a sans-I/O state machine fed with ASDUs and time.

Theory of operation: a stream is (APPID, svID). For each ASDU, ``feed`` compares smpCnt
with the last one seen, modulo the wrap (smpRate per second, from the stream description
or learned when smpCnt returns to 0), and classifies the step ``d = (got - last) % wrap``:

    d == 1            in order
    d == 0            Duplicate
    1 < d <= wrap/2   SmpCntGap (d - 1 samples missing); the stream moves on to ``got``
    d > wrap/2        OutOfOrder (an older sample arrived late); the stream stays put

While the wrap is unknown, a step back of more than 64 counts is taken as a wrap with
at least ``got`` samples lost (a gap), not as 60,000 samples out of order. A wrap is a
lower bound that the stream itself can correct: a learned one may miss the last samples
before the wrap, a configured one may be for another frequency (4000 for a 60 Hz stream
that counts to 4799). A smpCnt that continues in order past the wrap (last + 1) raises it
to smpCnt + 1, rather than making every sample between the two wraps out of order; a
lone jump past it is reported as usual and does not move the wrap.

confRev, the simulation bit and smpSynch are compared with the last ASDU and reported
when they change. ``tick(now)`` reports StreamTimeout once for a stream silent longer
than its timeout, and the next ASDU of that stream reports StreamResumed. No clocks, no
sockets: the caller passes the time.

The table of streams is bounded as GOOSE's is (``runtime.stream_table``): a stream
silent for ``forget_after`` seconds is forgotten at the next ``tick``, and when
``max_streams`` are followed a new stream takes the place of the oldest one not in
active use (received more than once and heard from within ``timeout``). ``evicted``
counts both. A forgotten stream that comes back is a ``NewStream`` again.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from gen61850.runtime.stream_table import (
    FORGET_AFTER,
    MAX_STREAMS,
    check_limits,
    silent_for_long,
    to_forget_for_room,
)

StreamKey = tuple[int, str]
UNKNOWN_WRAP = 65536


@dataclass(frozen=True, slots=True)
class SvEvent:
    """Base of supervision events: which stream and when (seconds)."""

    stream: StreamKey
    time: float


@dataclass(frozen=True, slots=True)
class NewStream(SvEvent):
    smp_cnt: int


@dataclass(frozen=True, slots=True)
class SmpCntGap(SvEvent):
    expected: int
    received: int
    missing: int


@dataclass(frozen=True, slots=True)
class Duplicate(SvEvent):
    smp_cnt: int


@dataclass(frozen=True, slots=True)
class OutOfOrder(SvEvent):
    expected: int
    received: int


@dataclass(frozen=True, slots=True)
class StreamTimeout(SvEvent):
    last_seen: float


@dataclass(frozen=True, slots=True)
class StreamResumed(SvEvent):
    silent_for: float


@dataclass(frozen=True, slots=True)
class ConfRevChanged(SvEvent):
    old: int
    new: int


@dataclass(frozen=True, slots=True)
class SimulationChanged(SvEvent):
    old: bool
    new: bool


@dataclass(frozen=True, slots=True)
class SmpSynchChanged(SvEvent):
    old: int
    new: int


@dataclass(slots=True)
class StreamState:
    """What supervision remembers of one stream, and its counters."""

    last_smp_cnt: int
    conf_rev: int
    simulated: bool
    smp_synch: int
    last_time: float
    wrap: int
    wrap_known: bool
    wrap_learned: bool = False
    """The wrap was learned from smpCnt returning to 0 (a lower bound), not given."""
    received: int = 1
    missing: int = 0
    gaps: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    timed_out: bool = False
    timeouts: int = 0
    events: int = 0
    owner: object | None = field(default=None, repr=False, compare=False)
    """Who may advance this state on its own while the stream stays in order (a
    receiver's fast path); cleared whenever the ``Supervisor`` handles the stream, so
    that only the owner changes an owned state."""


@dataclass
class Supervisor:
    """Supervises every stream it is fed; ``wraps`` gives known smpCnt wraps by svID."""

    timeout: float = 0.5
    wraps: dict[str, int] = field(default_factory=dict)
    streams: OrderedDict[StreamKey, StreamState] = field(default_factory=OrderedDict)
    max_streams: int = MAX_STREAMS
    forget_after: float | None = FORGET_AFTER
    evicted: int = 0
    """Streams forgotten so far (silent for ``forget_after``, or pushed out at
    ``max_streams``)."""

    def __post_init__(self) -> None:
        check_limits(self.max_streams, self.forget_after)
        if not isinstance(self.streams, OrderedDict):
            self.streams = OrderedDict(self.streams)

    def _make_room(self, now: float) -> None:
        """Forget one stream to make room for a new one: the oldest not in active use
        (heard from within ``timeout``)."""
        self._forget(
            to_forget_for_room(self.streams, lambda _k, s: now - s.last_time <= self.timeout)
        )

    def _forget(self, key: StreamKey) -> None:
        state = self.streams.pop(key)
        # A forgotten state may still be held by a receiver's fast path: timed_out makes
        # that path hand the next ASDU back here, where it starts a new stream.
        state.timed_out = True
        state.owner = None
        self.evicted += 1

    def feed(
        self,
        appid: int,
        sv_id: str,
        smp_cnt: int,
        conf_rev: int,
        smp_synch: int,
        simulated: bool,
        time: float,
        smp_rate: int | None = None,
        smp_mod: int | None = None,
    ) -> list[SvEvent]:
        """One received ASDU; returns the events it causes (usually none)."""
        key = (appid, sv_id)
        state = self.streams.get(key)
        if state is None:
            wrap = self.wraps.get(sv_id)
            if wrap is None and smp_rate and smp_mod == 1:
                wrap = smp_rate  # smpRate counts samples per second
            if len(self.streams) >= self.max_streams:
                self._make_room(time)
            self.streams[key] = StreamState(
                smp_cnt,
                conf_rev,
                simulated,
                smp_synch,
                time,
                wrap or UNKNOWN_WRAP,
                wrap is not None,
            )
            return [NewStream(key, time, smp_cnt)]
        events: list[SvEvent] = []
        state.owner = None
        if state.timed_out:
            state.timed_out = False
            events.append(StreamResumed(key, time, time - state.last_time))
        state.received += 1
        last = state.last_smp_cnt
        if not state.wrap_known and smp_cnt == 0 and last > 0 and last + 1 < state.wrap:
            # smpCnt went back to 0: it wraps at last + 1 (samples per second).
            state.wrap = last + 1
            state.wrap_known = state.wrap_learned = True
        elif smp_cnt >= state.wrap and smp_cnt == last + 1:
            # The wrap is larger than learned (samples lost just before it) or configured.
            state.wrap = smp_cnt + 1
        step = (smp_cnt - last) % state.wrap
        expected = (last + 1) % state.wrap
        if not state.wrap_known and smp_cnt < last and last - smp_cnt > 64:
            # Unknown wrap and a big step back: the counter wrapped with samples lost
            # around the wrap; at least ``smp_cnt`` of them are missing.
            step, expected = smp_cnt + 1, 0
        if step == 1:
            state.last_smp_cnt = smp_cnt
        elif step == 0:
            state.duplicates += 1
            events.append(Duplicate(key, time, smp_cnt))
        elif step <= state.wrap // 2:
            state.gaps += 1
            state.missing += step - 1
            state.last_smp_cnt = smp_cnt
            events.append(SmpCntGap(key, time, expected, smp_cnt, step - 1))
        else:
            state.out_of_order += 1
            events.append(OutOfOrder(key, time, expected, smp_cnt))
        if conf_rev != state.conf_rev:
            events.append(ConfRevChanged(key, time, state.conf_rev, conf_rev))
            state.conf_rev = conf_rev
        if simulated != state.simulated:
            events.append(SimulationChanged(key, time, state.simulated, simulated))
            state.simulated = simulated
        if smp_synch != state.smp_synch:
            events.append(SmpSynchChanged(key, time, state.smp_synch, smp_synch))
            state.smp_synch = smp_synch
        state.last_time = time
        state.events += len(events)
        return events

    def feed_many(
        self,
        appid: int,
        sv_id: str,
        smp_cnts: npt.NDArray[np.integer[Any]],
        conf_rev: int,
        smp_synch: int,
        simulated: bool,
        times: npt.NDArray[np.floating[Any]],
        smp_rate: int | None = None,
        smp_mod: int | None = None,
    ) -> list[SvEvent]:
        """Many consecutive ASDUs of one stream (a batch), with the same events as
        ``feed`` one by one: runs of in-order ASDUs are taken in one step, the others
        (a gap, a wrap being learned, a change) one by one."""
        count = len(smp_cnts)
        if count == 0:
            return []
        key = (appid, sv_id)
        counts = np.asarray(smp_cnts, dtype=np.int64)
        values: list[int] = counts.tolist()
        stamps: list[float] = np.asarray(times, dtype=np.float64).tolist()
        events: list[SvEvent] = []
        breaks: npt.NDArray[np.intp] | None = None
        breaks_for: tuple[int, bool] | None = None
        i = 0
        first = self.streams.get(key)
        if first is not None:
            first.owner = None  # handled here now: a fast path must ask again
        while i < count:
            state = self.streams.get(key)
            smp = values[i]
            if (
                state is not None
                and not state.timed_out
                and smp == (state.last_smp_cnt + 1) % state.wrap
                and (state.wrap_known or smp != 0)
                and (state.conf_rev, state.smp_synch, state.simulated)
                == (conf_rev, smp_synch, simulated)
            ):
                if breaks_for != (state.wrap, state.wrap_known):
                    # Pair j is ASDU j -> j + 1; it breaks a run when it is not the next
                    # sample (or, while the wrap is unknown, returns to 0: learned there).
                    after = counts[1:]
                    fine = ((after - counts[:-1]) % state.wrap == 1) & (after < state.wrap)
                    if not state.wrap_known:
                        fine &= after != 0
                    breaks = np.flatnonzero(~fine)
                    breaks_for = (state.wrap, state.wrap_known)
                assert breaks is not None
                k = int(np.searchsorted(breaks, i))
                end = int(breaks[k]) + 1 if k < len(breaks) else count
                state.received += end - i
                state.last_smp_cnt = values[end - 1]
                state.last_time = stamps[end - 1]
                i = end
                continue
            events += self.feed(
                appid, sv_id, smp, conf_rev, smp_synch, simulated, stamps[i], smp_rate, smp_mod
            )
            i += 1
        return events

    def tick(self, now: float) -> list[SvEvent]:
        """Report streams silent for longer than ``timeout`` (once per silence), and
        forget those silent for longer than ``forget_after``."""
        events: list[SvEvent] = []
        for key, state in self.streams.items():
            if not state.timed_out and now - state.last_time > self.timeout:
                state.timed_out = True
                state.owner = None
                state.timeouts += 1
                events.append(StreamTimeout(key, now, state.last_time))
        limit = self.forget_after
        for key in silent_for_long(self.streams, now, lambda _k, _s: limit):
            self._forget(key)
        return events
