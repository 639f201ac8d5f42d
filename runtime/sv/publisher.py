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

import ctypes
import errno
import gc
import heapq
import itertools
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from gen61850.runtime.errors import Gen61850Error
from gen61850.runtime.net.packet import NetError, PacketSocket
from gen61850.runtime.net.txring import TxRing
from gen61850.runtime.sv.source import SineWave
from gen61850.runtime.sv.stream import StreamConfig
from gen61850.runtime.sv.template import FrameTemplate

NS = 1_000_000_000
LATENESS_SAMPLES = 1 << 22  # lateness samples one run keeps (32 MiB); late frames are all counted
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


@dataclass
class _Lane:
    """One stream's send state, with what ``frame()`` needs per frame looked up once."""

    config: StreamConfig
    template: FrameTemplate
    table: list[tuple[int | float, ...]]
    period_ns: float
    k: int = 0
    asdus: int = field(init=False)
    wrap: int = field(init=False)
    refr_tm: bool = field(init=False)
    synchronized: bool = field(init=False)

    def __post_init__(self) -> None:
        self.asdus = self.config.asdus_per_frame
        self.wrap = self.config.smp_cnt_wrap
        self.refr_tm = self.config.refr_tm
        self.synchronized = self.config.smp_synch != 0


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


class _RingBurst(_Burst):
    """Frames written into the TX ring while waiting; one system call sends them."""

    def __init__(self, ring: TxRing) -> None:
        super().__init__(lambda frame, due: None)
        self._ring = ring

    def stage(self, frame: bytearray) -> bool:
        return self._ring.stage(frame)

    def release(self, due: int) -> tuple[int, int]:
        return self._ring.flush()


class Publisher:
    """Publish ``streams`` on ``iface`` (or through ``sender``, for tests and files).

    ``qdisc_bypass`` sends straight to the driver: a little less latency, but local
    captures (tcpdump, tshark, subscribers on this host) no longer see the frames.
    ``tx_ring`` (default) sends each burst from a PACKET_TX_RING with one system call;
    ``tx_ring=False`` (or a kernel without it) sends frame by frame.
    """

    def __init__(
        self,
        streams: Sequence[StreamConfig],
        *,
        iface: str | None = None,
        sources: Sequence[SineWave | None] | None = None,
        sender: Sender | None = None,
        qdisc_bypass: bool = False,
        tx_ring: bool = True,
    ) -> None:
        if not streams:
            raise PublisherError("no stream to publish")
        if (iface is None) == (sender is None):
            raise PublisherError("give exactly one of iface and sender")
        sources = list(sources) if sources is not None else [None] * len(streams)
        if len(sources) != len(streams):
            raise PublisherError(f"{len(sources)} sources for {len(streams)} streams")
        self.streams = list(streams)
        self._socket: PacketSocket | TxRing | None = None
        self._burst: _Burst
        if iface is not None:
            ring = None
            if tx_ring:
                try:
                    ring = TxRing(iface, qdisc_bypass=qdisc_bypass)
                except NetError:
                    ring = None  # no TX ring here: frame by frame
            if ring is not None:
                self._socket = ring
                self._burst = _RingBurst(ring)
            else:
                sock = PacketSocket(iface, receive=False, qdisc_bypass=qdisc_bypass)
                self._socket = sock
                self._burst = _SocketBurst(sock)
        else:
            assert sender is not None
            self._burst = _Burst(sender)
        self._lanes = [
            _Lane(
                config,
                FrameTemplate(config),
                [tuple(row) for row in (source or SineWave.default(config)).table(config)],
                config.frame_period * NS,
            )
            for config, source in zip(self.streams, sources, strict=True)
        ]

    @property
    def transport(self) -> str:
        """How frames leave: "tx ring", "socket" (frame by frame) or "sender"."""
        if isinstance(self._socket, TxRing):
            return "tx ring"
        return "socket" if self._socket is not None else "sender"

    def frame(self, lane_index: int, k: int, due_ns: int) -> bytearray:
        """Frame ``k`` of a stream (smpCnt counted from the top of the start second)."""
        lane = self._lanes[lane_index]
        n = lane.asdus
        wrap = lane.wrap
        table = lane.table
        smp = (k * n) % wrap
        rows = [table[smp]] if n == 1 else [table[(smp + i) % wrap] for i in range(n)]
        refr = utc_time(due_ns, lane.synchronized) if lane.refr_tm else None
        return lane.template.frame(smp, rows, refr)

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
    ) -> PublisherStats:
        """Send ``count`` frames per stream, or for ``duration`` seconds.

        ``paced=False`` hands every frame to the sender at once with its due time (for
        writing capture files); lateness is then not measured.
        """
        if count is None and duration is None:
            raise PublisherError("give count or duration")
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
        for lane in self._lanes:
            lane.k = 0
        heap = [(start_ns, index) for index in range(len(self._lanes))]
        heapq.heapify(heap)
        spin_ns = int(spin_us * 1000)
        restore = _enter_realtime(realtime_priority, cpu)
        # No collector pauses in the send loop (frames and rows hold no cycles).
        collecting = gc.isenabled()
        gc.disable()
        # Lateness goes into an array sized for the run: a list grown frame by frame
        # would now and then copy itself whole between two bursts.
        if count is not None:
            capacity = count * len(self._lanes)
        else:
            assert duration is not None
            capacity = sum(int(duration * NS / lane.period_ns) + 2 for lane in self._lanes)
        # A run without a near end (a publisher started over 8-2) keeps the first samples
        # only: memory stays bounded; ``late`` still counts every frame.
        capacity = min(capacity, LATENESS_SAMPLES)
        lateness = np.empty(capacity, dtype=np.int64)
        filled = 0
        overflow: list[int] = []
        burst = self._burst
        lanes = self._lanes
        per_stream = stats.per_stream
        try:
            while heap:
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
                    wait = due - clock()
                    if wait > spin_ns:
                        sleep((wait - spin_ns) / NS)
                    while clock() < due:
                        pass
                    handed = clock()
                    sent, failed = burst.release(due)
                    late = handed - due
                    if filled + sent <= capacity:
                        lateness[filled : filled + sent] = late
                        filled += sent
                    elif len(overflow) < LATENESS_SAMPLES:
                        overflow.extend(itertools.repeat(late, sent))
                    if late > threshold:
                        stats.late += sent
                else:
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
        finally:
            if collecting:
                gc.enable()
            restore()
            stats.lateness_ns = lateness[:filled].tolist() + overflow
        return stats

    def close(self) -> None:
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


def _enter_realtime(priority: int | None, cpu: int | None) -> Callable[[], None]:
    """Apply SCHED_FIFO, CPU pinning and a 1 ns timer slack to this thread (the default
    50 µs slack would make every sleep that much late); returns the undo function."""
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
