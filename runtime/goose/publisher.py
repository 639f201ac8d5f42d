"""GOOSE publisher: a sans-I/O retransmission core and a thread that sends its frames.

Theory of operation (IEC 61850-8-1 clause 18.1, Figure "GOOSE retransmission"): each
change of the data set values is a new state: stNum + 1, sqNum 0, ``t`` = the time of the
change, sent at once. The same message is then repeated MinTime later, then after twice
that, four times, ... until the wait reaches MaxTime, and every MaxTime from then on;
sqNum counts the repetitions. Each message says how long the subscriber may wait for the
next one: timeAllowedtoLive = ``tal_factor`` x the wait until the next message. Counters
wrap from 2**32 - 1 to 1 (0 marks the first message of a state, or a restart).

    event           stNum       sqNum       next message after
    start           1           0           MinTime
    change          stNum + 1   0           MinTime
    repetition k    same        sqNum + 1   min(MinTime x 2**k, MaxTime)

``PublisherCore`` is that table with the clock passed in: ``change(values, now)`` and
``poll(now)`` return the frames to send. ``GoosePublisher`` runs it on a raw socket (or
any sender) from a thread, and sends a change from the caller's thread at once.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gen61850.generated.goose.iec61850_8_1 import Data
from gen61850.runtime.asn1types import UtcTime
from gen61850.runtime.errors import Gen61850Error
from gen61850.runtime.goose.frame import COUNTER_MAX
from gen61850.runtime.goose.template import Addressing, FrameBuilder, PublisherState
from gen61850.runtime.goose.values import MemberType
from gen61850.runtime.link import VlanTag, format_mac, parse_mac
from gen61850.runtime.net.packet import PacketSocket

NS_PER_MS = 1_000_000
DEFAULT_MIN_TIME_MS = 4
DEFAULT_MAX_TIME_MS = 1000
LATENESS_SAMPLES = 1 << 20  # repetition lateness samples kept (a long run stays bounded)
Sender = Callable[[bytes, int], None]
"""Called with each frame and the time it is for (ns since the epoch)."""


class PublisherError(Gen61850Error, ValueError):
    """A GOOSE control block that cannot be published as described."""


@dataclass(frozen=True, slots=True)
class GooseConfig:
    """One GOOSE control block as a publisher needs it (GSEControl + GSE address).

    ``simulation`` sets both the frame's simulation bit and the PDU's simulation field
    (Ed. 2). ``members`` are the data set's member types (widths for fixed-length mode).
    """

    gocb_ref: str
    dat_set: str
    go_id: str | None = None
    conf_rev: int = 1
    appid: int = 0
    dst_mac: str = "01:0c:cd:01:00:00"
    src_mac: str = "02:00:00:00:00:01"
    vlan_id: int | None = 0
    vlan_priority: int = 4
    min_time_ms: int = DEFAULT_MIN_TIME_MS
    max_time_ms: int = DEFAULT_MAX_TIME_MS
    tal_factor: float = 2.0
    simulation: bool = False
    nds_com: bool = False
    fixed_length: bool = False
    members: tuple[MemberType, ...] | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.gocb_ref) <= 129 or not self.gocb_ref.isascii():
            raise PublisherError(f"gocbRef {self.gocb_ref!r}: 1..129 ASCII characters")
        if not 1 <= len(self.dat_set) <= 129 or not self.dat_set.isascii():
            raise PublisherError(f"datSet {self.dat_set!r}: 1..129 ASCII characters")
        if not 0 <= self.conf_rev <= COUNTER_MAX:
            raise PublisherError(f"confRev {self.conf_rev}: expected 0..{COUNTER_MAX}")
        if not 0 <= self.appid <= 0xFFFF:
            raise PublisherError(f"APPID {self.appid}: expected 0..65535")
        if not 0 < self.min_time_ms <= self.max_time_ms:
            raise PublisherError(
                f"MinTime {self.min_time_ms} ms, MaxTime {self.max_time_ms} ms: "
                "need 0 < MinTime <= MaxTime"
            )
        if not (math.isfinite(self.tal_factor) and self.tal_factor >= 1):
            raise PublisherError(f"tal_factor {self.tal_factor}: at least 1")
        if self.vlan_id is not None and not 0 <= self.vlan_id <= 4095:
            raise PublisherError(f"VLAN id {self.vlan_id}: expected 0..4095")
        if not 0 <= self.vlan_priority <= 7:
            raise PublisherError(f"VLAN priority {self.vlan_priority}: expected 0..7")
        for what in ("dst_mac", "src_mac"):
            try:
                object.__setattr__(self, what, format_mac(parse_mac(getattr(self, what))))
            except ValueError as error:
                raise PublisherError(f"{what}: {error}") from None

    @property
    def addressing(self) -> Addressing:
        vlan = None if self.vlan_id is None else VlanTag(self.vlan_priority, self.vlan_id)
        return Addressing(
            self.gocb_ref,
            self.dat_set,
            self.go_id,
            self.conf_rev,
            parse_mac(self.dst_mac),
            parse_mac(self.src_mac),
            self.appid,
            vlan,
        )


def retransmission_interval_ms(repetition: int, min_time_ms: int, max_time_ms: int) -> int:
    """The wait after the message ``repetition`` of a state (0: the first one)."""
    if repetition >= 40:  # MinTime x 2**40 is past any MaxTime
        return max_time_ms
    return min(min_time_ms << repetition, max_time_ms)


def next_counter(value: int) -> int:
    """stNum/sqNum + 1, wrapping from 2**32 - 1 to 1."""
    return 1 if value >= COUNTER_MAX else value + 1


@dataclass
class PublisherStats:
    """Frames sent, by reason, and how late the repetitions went out (ns; the first
    ``LATENESS_SAMPLES`` of them)."""

    changes: int = 0
    repetitions: int = 0
    lateness_ns: list[int] = field(default_factory=list, repr=False)

    @property
    def sent(self) -> int:
        return self.changes + self.repetitions


class PublisherCore:
    """The retransmission state machine of one control block (sans-I/O, clock passed in).

    Nothing is sent before ``start(now)``. Times are nanoseconds since the epoch (``t``
    is taken from them), so pass the real-time clock.
    """

    def __init__(self, config: GooseConfig, values: Sequence[Data]) -> None:
        self.config = config
        self.builder = FrameBuilder(
            config.addressing, fixed_length=config.fixed_length, members=config.members
        )
        self.values = list(values)
        self.st_num = 0
        self.sq_num = 0
        self.t = UtcTime(0, 0, 0)
        self.repetition = 0
        self.due_ns: int | None = None
        self.simulation = config.simulation
        self.nds_com = config.nds_com
        self.stats = PublisherStats()

    @property
    def started(self) -> bool:
        return self.due_ns is not None

    def start(self, now_ns: int) -> bytes:
        """The first message (stNum 1, sqNum 0); repetitions follow from ``poll``."""
        self.st_num = 0
        return self.change(self.values, now_ns)

    def stop(self) -> None:
        """No more messages until ``start``."""
        self.due_ns = None

    def change(self, values: Sequence[Data], now_ns: int, quality: int = 0x0A) -> bytes:
        """A new state: the frame to send now (stNum + 1, sqNum 0, ``t`` = now)."""
        self.values = list(values)
        self.st_num = next_counter(self.st_num)
        self.sq_num = 0
        self.t = UtcTime.from_ns(now_ns, quality)
        self.repetition = 0
        frame = self._frame(now_ns)
        self.stats.changes += 1
        return frame

    def set_flags(self, *, simulation: bool | None = None, nds_com: bool | None = None) -> None:
        """Change the simulation and needs-commissioning flags of the next messages."""
        if simulation is not None:
            self.simulation = simulation
        if nds_com is not None:
            self.nds_com = nds_com

    def poll(self, now_ns: int) -> list[bytes]:
        """The repetition due by ``now_ns``, if any (one at most: a late publisher does not
        send a backlog; it picks up the curve from now)."""
        due = self.due_ns
        if due is None or now_ns < due:
            return []
        if len(self.stats.lateness_ns) < LATENESS_SAMPLES:
            self.stats.lateness_ns.append(now_ns - due)
        self.sq_num = next_counter(self.sq_num)
        frame = self._frame(due)  # the curve runs on the due times: no drift
        self.stats.repetitions += 1
        if self.due_ns is not None and self.due_ns <= now_ns:  # fell a whole wait behind
            self.due_ns = now_ns + (self.due_ns - due)
        return [frame]

    def _interval_ns(self) -> int:
        c = self.config
        return retransmission_interval_ms(self.repetition, c.min_time_ms, c.max_time_ms) * NS_PER_MS

    def _frame(self, sent_ns: int) -> bytes:
        """The message of the current counters; schedules the next one after it."""
        interval = self._interval_ns()
        tal_ms = math.ceil(self.config.tal_factor * interval / NS_PER_MS)
        state = PublisherState(
            self.st_num,
            self.sq_num,
            self.t,
            tal_ms,
            self.values,
            self.simulation,
            self.nds_com,
        )
        frame = self.builder.frame(state)
        self.due_ns = sent_ns + interval
        self.repetition += 1
        return frame


class GoosePublisher:
    """Publish one control block on ``iface`` (root or CAP_NET_RAW), or through ``sender``.

    ``start()`` sends the first message and runs the repetitions from a thread;
    ``publish(values)`` sends a new state from the calling thread at once (no wait for
    the thread) and restarts the curve. ``clock`` gives ns since the epoch.
    """

    def __init__(
        self,
        config: GooseConfig,
        values: Sequence[Data],
        *,
        iface: str | None = None,
        sender: Sender | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        if (iface is None) == (sender is None):
            raise PublisherError("give exactly one of iface and sender")
        self.core = PublisherCore(config, values)
        self._clock = clock
        self._socket: PacketSocket | None = None
        if iface is not None:
            sock = self._socket = PacketSocket(iface, receive=False)

            def sender(frame: bytes, _time_ns: int) -> None:
                sock.send(frame)

        assert sender is not None
        self._send: Sender = sender
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._running = False
        self.error: BaseException | None = None

    @property
    def stats(self) -> PublisherStats:
        return self.core.stats

    def start(self) -> None:
        """Send the first message now, then keep repeating until ``stop``."""
        with self._lock:
            if self._running:
                return
            now = self._clock()
            frame = self.core.start(now)
            self._send(frame, now)
            self._running = True
        self._thread = threading.Thread(target=self._run, name="goose-publisher", daemon=True)
        self._thread.start()

    def publish(self, values: Sequence[Data]) -> None:
        """A new state, sent now; the repetitions start again from MinTime."""
        with self._lock:
            now = self._clock()
            frame = self.core.change(values, now)
            self._send(frame, now)
            self._wake.notify()

    def set_flags(self, *, simulation: bool | None = None, nds_com: bool | None = None) -> None:
        with self._lock:
            self.core.set_flags(simulation=simulation, nds_com=nds_com)

    def _run(self) -> None:
        try:
            with self._lock:
                while self._running:
                    due = self.core.due_ns
                    now = self._clock()
                    if due is None:
                        self._wake.wait(0.1)
                        continue
                    if now < due:
                        self._wake.wait((due - now) / 1e9)
                        continue
                    for frame in self.core.poll(now):
                        self._send(frame, now)
        except BaseException as error:  # a send that fails ends the thread; say why
            self.error = error
            self._running = False

    def stop(self) -> None:
        with self._lock:
            self._running = False
            self.core.stop()
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def close(self) -> None:
        self.stop()
        if self._socket is not None:
            self._socket.close()

    def __enter__(self) -> GoosePublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "DEFAULT_MAX_TIME_MS",
    "DEFAULT_MIN_TIME_MS",
    "GooseConfig",
    "GoosePublisher",
    "PublisherCore",
    "PublisherError",
    "PublisherStats",
    "next_counter",
    "retransmission_interval_ms",
]
