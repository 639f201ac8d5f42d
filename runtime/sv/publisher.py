"""SV publisher: several streams on one interface, each frame sent at start + k x period.

The schedule is absolute (no drift): frame k of a stream is due at
``start + round(k * frame_period)`` on the real-time clock. When any stream has
smpSynch != 0 the start is the top of a second, so smpCnt 0 goes out at each whole second
(smpCnt wraps at smpRate per second). Frames come from a ``FrameTemplate`` patched with
pre-computed sample rows. Optional SCHED_FIFO priority and CPU pinning apply to the
calling thread for the run.

The send path: the frames of every stream due at one instant (a burst) are built and
staged while the publisher waits for that instant (on an interface, written into a
PACKET_TX_RING); at the instant one system call hands the whole burst to the kernel, and
the bookkeeping (statistics, the next due times) comes after. Lateness is the time from
the due instant to that hand-over, for each frame of the burst. A frame that cannot be
sent (the ring or the interface's buffers full, the interface down) is counted as lost,
and the publisher goes on.
"""

from __future__ import annotations

import asyncio
import collections
import ctypes
import errno
import gc
import heapq
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gen61850.runtime.errors import Gen61850Error
from gen61850.runtime.net.mmsg import MmsgSender
from gen61850.runtime.net.packet import NetError, PacketSocket
from gen61850.runtime.net.txring import TxRing
from gen61850.runtime.sv.production import GENERIC_CHANGES, Feed, Production
from gen61850.runtime.sv.quality import Quality
from gen61850.runtime.sv.source import SineWave, SourceError, default_amplitudes
from gen61850.runtime.sv.sources import Source, SourceContext
from gen61850.runtime.sv.stream import StreamConfig
from gen61850.runtime.sv.template import FrameTemplate

NS = 1_000_000_000
TRANSPORTS = ("tx ring", "sendmmsg", "socket")
"""How a publisher's bursts can leave (``Publisher(transport=...)``)."""
LATENESS_SAMPLES = 1 << 22
"""Lateness samples one run keeps by default (32 MiB): the latest ones; ``late`` counts all."""
LATENESS_CHUNK = 1 << 19
"""Samples per chunk of the lateness record (4 MiB)."""
Sender = Callable[[bytearray, int], None]
"""Called with each frame and its due time (ns since the epoch)."""


class PublisherError(Gen61850Error):
    """The publisher cannot run as asked (scheduling, pinning, counts)."""


def utc_time(time_ns: int, synchronized: bool = True) -> bytes:
    """IEC 61850 UtcTime: 4 octets seconds, 3 octets fraction, TimeQuality (accuracy 10
    bits; ClockNotSynchronized when the clock is not synchronised)."""
    seconds, rest = divmod(time_ns, NS)
    fraction = rest * (1 << 24) // NS
    quality = 0x0A | (0 if synchronized else 0x20)
    return seconds.to_bytes(4, "big") + fraction.to_bytes(3, "big") + bytes((quality,))


@dataclass
class PublisherStats:
    """What a run sent and how late each frame went out (ns)."""

    sent: int = 0
    per_stream: dict[str, int] = field(default_factory=dict)
    lost: int = 0
    """Frames that could not be sent (ring or interface buffers full, interface down)."""
    late: int = 0
    late_threshold_ns: int = 0
    lateness_ns: list[int] = field(default_factory=list, repr=False)
    start_ns: int = 0
    underruns: int = 0
    """Blocks a source made on the send path because none was ready (a slow source)."""
    clipped: int = 0
    """INT32 wire values out of range (or NaN) a source gave, clipped."""
    lateness_dropped: int = 0
    """Frames sent whose lateness is no longer in ``lateness_ns``: a run of more frames than
    its ``lateness_samples`` keeps the latest ones (memory stays bounded)."""

    def percentile(self, q: float) -> float:
        if not self.lateness_ns:
            return 0.0
        return float(np.percentile(np.array(self.lateness_ns, dtype=np.int64), q))

    @property
    def p50_ns(self) -> float:
        return self.percentile(50)

    @property
    def p99_ns(self) -> float:
        return self.percentile(99)

    @property
    def max_ns(self) -> int:
        return max(self.lateness_ns, default=0)

    def summary(self) -> str:
        return (
            f"sent {self.sent} frames, lost {self.lost}, "
            f"late {self.late} (> {self.late_threshold_ns / 1000:.0f} µs); "
            f"lateness p50 {self.p50_ns / 1000:.1f} µs, p99 {self.p99_ns / 1000:.1f} µs, "
            f"max {self.max_ns / 1000:.1f} µs"
        )


@dataclass(frozen=True, slots=True)
class Change:
    """Where a change made while publishing lands: the svID, the absolute sample index
    (0 at the run's start), its smpCnt and the time its frame is due (ns since the epoch;
    None when the run has not started)."""

    sv_id: str
    sample: int
    smp_cnt: int
    due_ns: int | None


@dataclass
class _Lane:
    """One stream's send state, with what ``frame()`` needs per frame looked up once."""

    config: StreamConfig
    template: FrameTemplate
    feeds: list[Feed]
    period_ns: float
    k: int = 0
    asdus: int = field(init=False)
    wrap: int = field(init=False)
    refr_tm: bool = field(init=False)
    synchronized: bool = field(init=False)
    parts: list[tuple[bytes | memoryview, int]] = field(init=False)

    def __post_init__(self) -> None:
        self.asdus = self.config.asdus_per_frame
        self.wrap = self.config.smp_cnt_wrap
        self.refr_tm = self.config.refr_tm
        self.synchronized = self.config.smp_synch != 0
        self.parts = [(b"", 0)] * len(self.feeds)


SourceSpec = Source | SineWave | None
"""A source for one svID; None: the balanced three-phase sine table."""


_GIVE_UP = (errno.ENOBUFS, errno.EAGAIN, errno.ENETDOWN, errno.ENXIO, errno.EMSGSIZE)
"""Send errors that lose a frame but leave the socket usable."""


class _Burst:
    """Frames staged for one instant, then released together: ``release`` returns how
    many of the staged frames went out (the first ones, in order) and how many not."""

    def __init__(self, send: Sender) -> None:
        self._send = send
        self._frames: list[bytearray] = []

    def stage(self, frame: bytearray) -> bool:
        self._frames.append(frame)
        return True

    def release(self, due: int) -> tuple[int, int]:
        frames, self._frames = self._frames, []
        send = self._send
        for frame in frames:
            send(frame, due)
        return len(frames), 0


class _SocketBurst(_Burst):
    """One ``send()`` per frame on a packet socket; a failed send loses that frame."""

    def __init__(self, sock: PacketSocket) -> None:
        super().__init__(lambda frame, due: None)
        self._sock = sock.sock
        self._iface = sock.iface

    def release(self, due: int) -> tuple[int, int]:
        frames, self._frames = self._frames, []
        sent = 0
        for frame in frames:
            try:
                self._sock.send(frame)
            except OSError as error:
                if error.errno not in _GIVE_UP:
                    raise NetError(f"{self._iface}: send failed: {error}") from error
                continue
            sent += 1
        return sent, len(frames) - sent


class _BatchBurst(_Burst):
    """Frames staged (in the TX ring, or in sendmmsg's buffers) while waiting; one
    system call sends them."""

    def __init__(self, batch: TxRing | MmsgSender) -> None:
        super().__init__(lambda frame, due: None)
        self._batch = batch

    def stage(self, frame: bytearray) -> bool:
        return self._batch.stage(frame)

    def release(self, due: int) -> tuple[int, int]:
        return self._batch.flush()


class LatenessRecord:
    """The lateness of the latest ``keep`` frames (at least), in chunks made ahead.

    A run of a known length whose frames fit gets one chunk of that size; a longer or
    open-ended run gets chunks of ``LATENESS_CHUNK``, and once ``keep`` samples are held the
    oldest chunk is reused for the newest, so memory stays bounded however long the run.
    The send loop writes ``chunk[filled:filled + n]`` itself and calls ``rotate`` (between
    bursts) when fewer than ``margin`` places are left.
    """

    def __init__(self, keep: int, needed: int | None, margin: int) -> None:
        if keep < 1:
            raise PublisherError(f"lateness_samples {keep!r}: keep at least one")
        size = LATENESS_CHUNK if needed is None else min(needed, LATENESS_CHUNK)
        self.size = max(min(size, keep), 1) + margin
        self.keep = keep
        self.chunk: np.ndarray[Any, np.dtype[np.int64]] = np.empty(self.size, dtype=np.int64)
        self._full: collections.deque[np.ndarray[Any, np.dtype[np.int64]]] = collections.deque()
        self._held = 0
        self.dropped = 0

    def rotate(self, filled: int) -> np.ndarray[Any, np.dtype[np.int64]]:
        """Keep the current chunk's ``filled`` samples; a chunk to write next."""
        self._full.append(self.chunk[:filled])
        self._held += filled
        reuse = None
        while self._full and self._held - len(self._full[0]) >= self.keep:
            oldest = self._full.popleft()
            self._held -= len(oldest)
            self.dropped += len(oldest)
            reuse = oldest.base if oldest.base is not None else oldest
        self.chunk = reuse if reuse is not None else np.empty(self.size, dtype=np.int64)
        return self.chunk

    def values(self, filled: int) -> np.ndarray[Any, np.dtype[np.int64]]:
        """The samples kept, oldest first (the current chunk's ``filled`` last)."""
        return np.concatenate([*self._full, self.chunk[:filled]])


class Publisher:
    """Publish ``streams`` on ``iface`` (or through ``sender``, for tests and files).

    ``qdisc_bypass`` sends straight to the driver: a little less latency, but local
    captures (tcpdump, tshark, subscribers on this host) no longer see the frames.
    ``transport`` says how a burst leaves: "tx ring" (default: one system call, from a
    PACKET_TX_RING), "sendmmsg" (one system call, from buffers of ours) or "socket" (a
    ``send()`` per frame); where the first two cannot be set up, frame by frame.
    """

    def __init__(
        self,
        streams: Sequence[StreamConfig],
        *,
        iface: str | None = None,
        sources: Sequence[SourceSpec | Sequence[SourceSpec]]
        | Mapping[str, SourceSpec]
        | None = None,
        sender: Sender | None = None,
        qdisc_bypass: bool = False,
        transport: str = "tx ring",
        lead: float = 0.02,
    ) -> None:
        if not streams:
            raise PublisherError("no stream to publish")
        if (iface is None) == (sender is None):
            raise PublisherError("give exactly one of iface and sender")
        if not 0 < lead <= 10:
            raise PublisherError(f"lead {lead!r}: seconds ahead, more than 0 and at most 10")
        self.streams = list(streams)
        per_svid = _sources_by_svid(self.streams, sources)
        self.lead = lead
        if transport not in TRANSPORTS:
            raise PublisherError(f"transport {transport!r}: one of {', '.join(TRANSPORTS)}")
        self._socket: PacketSocket | TxRing | MmsgSender | None = None
        self._burst: _Burst
        if iface is not None:
            batch: TxRing | MmsgSender | None = None
            try:
                if transport == "tx ring":
                    batch = TxRing(iface, qdisc_bypass=qdisc_bypass)
                elif transport == "sendmmsg":
                    batch = MmsgSender(iface, qdisc_bypass=qdisc_bypass)
            except NetError:
                batch = None  # not here: frame by frame
            if batch is not None:
                self._socket = batch
                self._burst = _BatchBurst(batch)
            else:
                sock = PacketSocket(iface, receive=False, qdisc_bypass=qdisc_bypass)
                self._socket = sock
                self._burst = _SocketBurst(sock)
        else:
            assert sender is not None
            self._burst = _Burst(sender)
        self._lanes: list[_Lane] = []
        self._feeds: dict[str, tuple[_Lane, Feed]] = {}
        for config in self.streams:
            feeds = []
            for group in config.groups:
                source = per_svid.get(group.sv_id)
                if source is None:
                    amplitudes, phases = default_amplitudes(group.layout)
                    source = SineWave(tuple(amplitudes), tuple(phases), (0,) * len(amplitudes))
                context = SourceContext(
                    group.sv_id, group.layout, config.samples_per_second, config.signal_frequency
                )
                try:
                    feeds.append(
                        Feed(
                            source,
                            context,
                            config.asdus_per_frame,
                            config.smp_cnt_wrap,
                            config.simulation,
                            config,
                        )
                    )
                except SourceError as error:
                    raise SourceError(f"svID {group.sv_id}: {error}") from None
            lane = _Lane(config, FrameTemplate(config), feeds, config.frame_period * NS)
            self._lanes.append(lane)
            for feed in feeds:
                self._feeds[feed.context.sv_id] = (lane, feed)
        self._production = Production(
            [
                (feed, 0, NS / lane.config.samples_per_second)
                for lane in self._lanes
                for feed in lane.feeds
            ],
            int(lead * NS),
            time.time_ns,
        )
        self._running = False
        self._stop_requested = False
        self._start_ns: int | None = None
        self._thread: threading.Thread | None = None
        self._thread_result: PublisherStats | BaseException | None = None
        self._started = threading.Event()
        self.stats = PublisherStats()
        """The statistics of the current (or last) run, filled in as it goes."""

    @property
    def transport(self) -> str:
        """How frames leave: "sendmmsg", "tx ring", "socket" (frame by frame) or "sender"."""
        if isinstance(self._socket, TxRing):
            return "tx ring"
        if isinstance(self._socket, MmsgSender):
            return "sendmmsg"
        return "socket" if self._socket is not None else "sender"

    def frame(self, lane_index: int, k: int, due_ns: int) -> bytearray:
        """Frame ``k`` of a stream (smpCnt counted from the top of the start second)."""
        lane = self._lanes[lane_index]
        sample = k * lane.asdus
        parts = lane.parts
        for index, feed in enumerate(lane.feeds):
            if sample >= feed.end:
                feed.advance(sample, self._production.lock)
            parts[index] = (feed.data, feed.offset + (sample - feed.first) * feed.size)
        refr = utc_time(due_ns, lane.synchronized) if lane.refr_tm else None
        return lane.template.frame_from_octets(
            sample, parts, refr, lane.feeds[0].sending_simulation
        )

    def run(
        self,
        *,
        count: int | None = None,
        duration: float | None = None,
        start_ns: int | None = None,
        realtime_priority: int | None = None,
        cpu: int | None = None,
        spin_us: float = 0.0,
        late_threshold_ns: int | None = None,
        paced: bool = True,
        clock: Callable[[], int] = time.time_ns,
        sleep: Callable[[float], None] = time.sleep,
        lateness_samples: int = LATENESS_SAMPLES,
    ) -> PublisherStats:
        """Send ``count`` frames per stream, or for ``duration`` seconds, in this thread.

        ``paced=False`` hands every frame to the sender at once with its due time (for
        writing capture files); lateness is then not measured. The lateness record keeps
        the latest ``lateness_samples`` frames (memory stays bounded in long runs). ``start()`` runs the same
        in a thread of its own (and may run until ``stop()``).
        """
        if count is None and duration is None:
            raise PublisherError("give count or duration")
        return self._run(
            count=count,
            duration=duration,
            start_ns=start_ns,
            realtime_priority=realtime_priority,
            cpu=cpu,
            spin_us=spin_us,
            late_threshold_ns=late_threshold_ns,
            paced=paced,
            clock=clock,
            sleep=sleep,
            lateness_samples=lateness_samples,
        )

    def _run(
        self,
        *,
        count: int | None,
        duration: float | None,
        start_ns: int | None,
        realtime_priority: int | None,
        cpu: int | None,
        spin_us: float,
        late_threshold_ns: int | None,
        paced: bool,
        clock: Callable[[], int],
        sleep: Callable[[float], None],
        lateness_samples: int,
    ) -> PublisherStats:
        if self._running:
            raise PublisherError("this publisher is running already")
        now = clock()
        if start_ns is None:
            if any(lane.config.smp_synch for lane in self._lanes):
                start_ns = (now // NS + 1) * NS  # top of the next second
                if start_ns - now < NS // 50:
                    start_ns += NS
            else:
                start_ns = now + NS // 100
        end_ns = None if duration is None else start_ns + int(duration * NS)
        min_period = min(lane.period_ns for lane in self._lanes)
        threshold = int(min_period / 2) if late_threshold_ns is None else late_threshold_ns
        stats = PublisherStats(late_threshold_ns=threshold, start_ns=start_ns)
        stats.per_stream = {lane.config.sv_id: 0 for lane in self._lanes}
        self.stats = stats
        for lane in self._lanes:
            lane.k = 0
        # Lateness goes into arrays sized ahead (a list grown frame by frame would now
        # and then copy itself whole between two bursts). The record is bounded: a run of
        # more frames than ``lateness_samples`` (an open-ended one started over 8-2, hours
        # or days) keeps the latest ones, reusing the oldest chunk's memory; ``late`` and
        # ``sent`` still count every frame.
        if count is not None:
            needed = count * len(self._lanes)
        elif duration is not None:
            needed = sum(int(duration * NS / lane.period_ns) + 2 for lane in self._lanes)
        else:
            needed = None
        record = LatenessRecord(lateness_samples, needed, len(self._lanes))
        lateness, filled = record.chunk, 0
        room = len(lateness) - len(self._lanes)  # a whole burst always fits
        production = self._production
        production.clock = clock
        self._stop_requested = False
        self._running = True
        try:
            production.start(start_ns)
        except BaseException:
            self._running = False
            raise
        self._start_ns = start_ns
        self._started.set()
        heap = [(start_ns, index) for index in range(len(self._lanes))]
        heapq.heapify(heap)
        spin_ns = int(spin_us * 1000)
        try:
            restore = enter_realtime(realtime_priority, cpu)
        except BaseException:
            self._running = False
            raise
        # No collector pauses in the send loop (frames and rows hold no cycles).
        collecting = gc.isenabled()
        gc.disable()
        burst = self._burst
        lanes = self._lanes
        per_stream = stats.per_stream
        fill = production.fill
        try:
            while heap and not self._stop_requested:
                # Every stream due at the same instant is built and staged first, then
                # handed over at once when that instant comes; the bookkeeping follows.
                due, index = heapq.heappop(heap)
                group = [index]
                while heap and heap[0][0] == due:
                    group.append(heapq.heappop(heap)[1])
                if end_ns is not None and due >= end_ns:
                    continue
                staged = [i for i in group if burst.stage(self.frame(i, lanes[i].k, due))]
                if paced:
                    # Samples for later bursts are made while there is time to wait.
                    fill(due)
                    wait = due - clock()
                    if wait > spin_ns:
                        sleep((wait - spin_ns) / NS)
                    while clock() < due:
                        pass
                    handed = clock()
                    sent, failed = burst.release(due)
                    late = handed - due
                    lateness[filled : filled + sent] = late
                    filled += sent
                    if late > threshold:
                        stats.late += sent
                else:
                    fill(due)
                    sent, failed = burst.release(due)
                stats.sent += sent
                stats.lost += len(group) - len(staged) + failed
                for i in staged[:sent]:
                    per_stream[lanes[i].config.sv_id] += 1
                for i in group:
                    lane = lanes[i]
                    lane.k += 1
                    if count is None or lane.k < count:
                        heapq.heappush(heap, (start_ns + round(lane.k * lane.period_ns), i))
                if filled > room:
                    lateness, filled = record.rotate(filled), 0
        finally:
            if collecting:
                gc.enable()
            restore()
            stats.lateness_ns = record.values(filled).tolist()
            stats.lateness_dropped = record.dropped
            stats.underruns = production.underruns
            stats.clipped = production.clipped
            with production.lock:
                self._running = False
                self._start_ns = None
                for _lane, feed in self._feeds.values():
                    feed.pending.clear()
        return stats

    # ------------------------------------------------------------ while running

    def change(self, sv_id: str, *, at: int | None = None, **changes: object) -> Change:
        """Change an svID's signal while publishing (from any thread or asyncio task):
        ``quality`` (a word per channel, None to go back to the source's), ``simulation``
        (the frame's simulation bit, for every svID of the stream) and whatever the
        source can change (``Sine``: amplitudes, phases, frequency, dc, harmonics, noise;
        ``StateSequence``: trigger). It takes effect at sample ``at`` (an absolute sample
        index, a whole frame) or at the first sample not made yet, which is returned with
        its smpCnt and due time. Before a run, changes wait for its first sample."""
        found = self._feeds.get(sv_id)
        if found is None:
            raise PublisherError(f"no svID {sv_id!r} here (svIDs: {', '.join(self._feeds)})")
        lane, feed = found
        if "quality" in changes and changes["quality"] is not None:
            words = changes["quality"]
            if not isinstance(words, Sequence) or len(words) != len(feed.layout.channels):
                raise SourceError(
                    f"{sv_id}: quality needs one word per channel ({len(feed.layout.channels)})"
                )
            changes["quality"] = [w.to_int() if isinstance(w, Quality) else int(w) for w in words]
        own = {k: v for k, v in changes.items() if k not in GENERIC_CHANGES}
        if own:
            if feed.source is None:
                raise SourceError(
                    f"{sv_id}: a precomputed sine table cannot change {', '.join(own)} "
                    "(publish a Sine source to change it while running)"
                )
            feed.source.check(own)
        target = feed
        if "simulation" in changes:
            target = lane.feeds[0]
            if len(changes) > 1:
                raise PublisherError("change simulation on its own (it is the frame's bit)")
        n = lane.asdus
        with self._production.lock:
            earliest = target.produced if self._running else 0
            earliest = -(-earliest // n) * n
            if at is None:
                at = earliest
            elif at < earliest:
                raise PublisherError(
                    f"{sv_id}: samples up to {earliest - 1} are made already; the earliest "
                    f"sample a change can take is {earliest}"
                )
            elif at % n:
                raise PublisherError(
                    f"{sv_id}: sample {at} is not the first of a frame ({n} per frame)"
                )
            position = sum(1 for sample, _c in target.pending if sample <= at)
            target.pending.insert(position, (at, dict(changes)))
            start = self._start_ns
        due = None if start is None else start + round(at // n * lane.period_ns)
        return Change(sv_id, at, at % lane.wrap, due)

    def start(
        self,
        *,
        count: int | None = None,
        duration: float | None = None,
        **options: Any,
    ) -> None:
        """Run in a thread of its own (``run``'s options; without ``count`` or
        ``duration`` until ``stop()``); returns once the schedule's start is known.
        Real-time priority and CPU pinning apply to that thread."""
        if self._thread is not None:
            raise PublisherError("this publisher is started already")
        chosen: dict[str, Any] = {
            "start_ns": None,
            "realtime_priority": None,
            "cpu": None,
            "spin_us": 0.0,
            "late_threshold_ns": None,
            "paced": True,
            "clock": time.time_ns,
            "sleep": time.sleep,
            "lateness_samples": LATENESS_SAMPLES,
        }
        unknown = sorted(set(options) - set(chosen))
        if unknown:
            raise PublisherError(f"unknown options {unknown} (known: {', '.join(chosen)})")
        chosen.update(options)
        self._started.clear()
        self._thread_result = None

        def body() -> None:
            try:
                self._thread_result = self._run(count=count, duration=duration, **chosen)
            except BaseException as error:  # handed to stop()/wait()
                self._thread_result = error
            finally:
                self._started.set()

        thread = threading.Thread(target=body, name="gen61850-sv-publisher", daemon=True)
        self._thread = thread
        thread.start()
        self._started.wait()

    @property
    def running(self) -> bool:
        return self._running

    @property
    def start_ns(self) -> int | None:
        """When the current run's first frame is due (ns since the epoch)."""
        return self._start_ns

    def wait(self, timeout: float | None = None) -> PublisherStats | None:
        """Wait for a started run to end by itself; its statistics (None on timeout)."""
        thread = self._thread
        if thread is None:
            raise PublisherError("not started")
        thread.join(timeout)
        if thread.is_alive():
            return None
        return self._finish()

    def stop(self, timeout: float | None = 10.0) -> PublisherStats:
        """End a started run after the burst being sent; its statistics."""
        thread = self._thread
        if thread is None:
            raise PublisherError("not started")
        self._stop_requested = True
        thread.join(timeout)
        if thread.is_alive():
            raise PublisherError(f"the publisher thread did not end within {timeout} s")
        return self._finish()

    def _finish(self) -> PublisherStats:
        self._thread = None
        result = self._thread_result
        if isinstance(result, BaseException):
            raise result
        assert result is not None
        return result

    async def run_async(self, **options: Any) -> PublisherStats:
        """``start()`` then wait without blocking the event loop; cancelling stops the
        run. Other tasks meanwhile call ``change`` (or ``stop``)."""
        self.start(**options)
        try:
            while True:
                thread = self._thread
                if thread is None or not thread.is_alive():
                    break
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            if self._thread is not None:
                self.stop()
            raise
        if self._thread is None:  # stopped by another task, which took the result
            return self.stats
        return self._finish()

    async def reached(self, change: Change) -> None:
        """Sleep (asyncio) until the frame of ``change`` is due."""
        if change.due_ns is not None:
            await asyncio.sleep(max(0.0, (change.due_ns - time.time_ns()) / NS))

    def close(self) -> None:
        """Stop a started run (its error, if any, raises here) and close the socket."""
        try:
            if self._thread is not None:
                self.stop()
        finally:
            if self._socket is not None:
                self._socket.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


PR_SET_TIMERSLACK = 29
PR_GET_TIMERSLACK = 30


def _timer_slack(value: int | None) -> int | None:
    """Set this thread's timer slack (ns) so that sleeps end on time; returns the old one."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        zero = ctypes.c_ulong(0)
        old = int(libc.prctl(PR_GET_TIMERSLACK, zero, zero, zero, zero))
        if value is not None:
            libc.prctl(PR_SET_TIMERSLACK, ctypes.c_ulong(value), zero, zero, zero)
        return old
    except (OSError, AttributeError):
        return None


def enter_realtime(priority: int | None, cpu: int | None) -> Callable[[], None]:
    """Apply SCHED_FIFO, CPU pinning and a 1 ns timer slack to this thread (the default
    50 µs slack would make every sleep that much late), as ``Publisher.run`` does with
    ``realtime_priority`` and ``cpu``; returns the undo function."""
    old_slack = _timer_slack(1)
    old_affinity = os.sched_getaffinity(0)
    old_policy = os.sched_getscheduler(0)
    old_param = os.sched_getparam(0)
    try:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        if priority is not None:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (OSError, ValueError) as error:
        os.sched_setaffinity(0, old_affinity)
        if old_slack is not None and old_slack > 0:
            _timer_slack(old_slack)
        raise PublisherError(f"cannot apply SCHED_FIFO {priority} / CPU {cpu}: {error}") from error

    def restore() -> None:
        if old_slack is not None and old_slack > 0:
            _timer_slack(old_slack)
        if priority is not None:
            os.sched_setscheduler(0, old_policy, old_param)
        if cpu is not None:
            os.sched_setaffinity(0, old_affinity)

    return restore


def _sources_by_svid(
    streams: Sequence[StreamConfig],
    sources: Sequence[SourceSpec | Sequence[SourceSpec]] | Mapping[str, SourceSpec] | None,
) -> dict[str, SourceSpec]:
    """Sources by svID from a mapping, or from a list with one entry per stream (a source,
    None, or a sequence of them, one per svID of the stream)."""
    if sources is None:
        return {}
    known = [sv_id for config in streams for sv_id in config.sv_ids]
    if isinstance(sources, Mapping):
        unknown = sorted(set(sources) - set(known))
        if unknown:
            raise PublisherError(f"sources for unknown svIDs {unknown} (svIDs: {known})")
        return dict(sources)
    entries = list(sources)
    if len(entries) != len(streams):
        raise PublisherError(f"{len(entries)} sources for {len(streams)} streams")
    found: dict[str, SourceSpec] = {}
    for config, entry in zip(streams, entries, strict=True):
        if entry is None or isinstance(entry, Source | SineWave):
            found[config.sv_id] = entry
            continue
        group = list(entry)
        if len(group) != len(config.sv_ids):
            raise PublisherError(
                f"{config.sv_id}: {len(group)} sources for {len(config.sv_ids)} svIDs"
            )
        found.update(zip(config.sv_ids, group, strict=True))
    return found
