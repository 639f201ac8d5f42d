"""Per-stream supervision of received GOOSE: a sans-I/O state machine fed messages and time.

Theory of operation: a stream is (APPID, gocbRef). Each message's (stNum, sqNum) is
compared with the last one accepted, counters wrapping from 2**32 - 1 to 1:

    stNum         sqNum               step              stream moves on
    same          last + 1            REPEAT            yes
    same          last                DUPLICATE         no
    same          > last + 1          SQ_GAP            yes (sqNum - last - 1 lost)
    same          < last              OUT_OF_ORDER      no
    last + 1      0                   NEW_STATE         yes
    last + 1      > 0                 NEW_STATE_LATE    yes (the first sqNum lost)
    > last + 1    any                 ST_GAP            yes (states lost)
    1             0                   RESTART           yes (the publisher started again)
    < last        any                 OUT_OF_ORDER      no

Each message also says how long to wait for the next one (timeAllowedtoLive): ``tick(now)``
reports MessageLost once for a stream silent for longer than that, and the next message
reports StreamResumed. confRev, the simulation flag, ndsCom and the number of data set
entries are compared with the last message (and confRev with an expected value). No
clocks, no sockets: the caller passes the time in seconds. The table of streams is
bounded (``Supervisor``).
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from dataclasses import dataclass, field

from gen61850.runtime.goose.frame import COUNTER_MAX
from gen61850.runtime.stream_table import (
    FORGET_AFTER,
    MAX_STREAMS,
    check_limits,
    silent_for_long,
    to_forget_for_room,
)

StreamKey = tuple[int, str]


class Step(enum.Enum):
    """How a message's counters follow the last accepted ones (the table above)."""

    FIRST = "first"
    REPEAT = "repeat"
    DUPLICATE = "duplicate"
    SQ_GAP = "sqNum gap"
    OUT_OF_ORDER = "out of order"
    NEW_STATE = "new state"
    NEW_STATE_LATE = "new state, first message lost"
    ST_GAP = "stNum gap"
    RESTART = "restart"

    @property
    def advances(self) -> bool:
        """Whether the stream takes the message's counters as the new last ones."""
        return self not in (Step.DUPLICATE, Step.OUT_OF_ORDER)


def _ahead(new: int, old: int) -> int:
    """How many counts ``new`` is after ``old`` on the 1..2**32-1 wheel (0 is not on it)."""
    if new == 0 or old == 0:
        return new - old
    return (new - old) % COUNTER_MAX


def classify(last_st: int, last_sq: int, st: int, sq: int) -> Step:
    """One row of the table: the step from (last_st, last_sq) to (st, sq)."""
    if st == last_st:
        ahead = _ahead(sq, last_sq)
        if ahead == 1:
            return Step.REPEAT
        if sq == last_sq:
            return Step.DUPLICATE
        if 1 < ahead < COUNTER_MAX // 2:
            return Step.SQ_GAP
        return Step.OUT_OF_ORDER
    ahead = _ahead(st, last_st)
    if ahead == 1:
        return Step.NEW_STATE if sq == 0 else Step.NEW_STATE_LATE
    if st == 1 and sq == 0:
        return Step.RESTART
    if 1 < ahead < COUNTER_MAX // 2:
        return Step.ST_GAP
    return Step.OUT_OF_ORDER


@dataclass(frozen=True, slots=True)
class GooseEvent:
    """Base of supervision events: which stream, and when (seconds)."""

    stream: StreamKey
    time: float


@dataclass(frozen=True, slots=True)
class NewStream(GooseEvent):
    st_num: int
    sq_num: int


@dataclass(frozen=True, slots=True)
class StateChanged(GooseEvent):
    """A new stNum: the data set values changed (``late``: its sqNum 0 was lost)."""

    st_num: int
    sq_num: int
    late: bool = False


@dataclass(frozen=True, slots=True)
class MessagesLost(GooseEvent):
    """Repetitions (``sq_num`` gap) or whole states (``st_num`` gap) that never arrived."""

    expected_st: int
    expected_sq: int
    received_st: int
    received_sq: int
    states: int
    repetitions: int


@dataclass(frozen=True, slots=True)
class Duplicate(GooseEvent):
    st_num: int
    sq_num: int


@dataclass(frozen=True, slots=True)
class OutOfOrder(GooseEvent):
    last_st: int
    last_sq: int
    received_st: int
    received_sq: int


@dataclass(frozen=True, slots=True)
class Restarted(GooseEvent):
    """stNum 1, sqNum 0 after another state: the publisher started again."""

    last_st: int


@dataclass(frozen=True, slots=True)
class MessageLost(GooseEvent):
    """No message within timeAllowedtoLive (IEC 61850-8-1: the subscription is lost)."""

    last_seen: float
    time_allowed_to_live_ms: int


@dataclass(frozen=True, slots=True)
class StreamResumed(GooseEvent):
    silent_for: float


@dataclass(frozen=True, slots=True)
class ConfRevChanged(GooseEvent):
    old: int
    new: int


@dataclass(frozen=True, slots=True)
class ConfRevMismatch(GooseEvent):
    """confRev differs from the one the subscription expects: values are not used."""

    expected: int
    received: int


@dataclass(frozen=True, slots=True)
class SimulationChanged(GooseEvent):
    old: bool
    new: bool


@dataclass(frozen=True, slots=True)
class NeedsCommissioning(GooseEvent):
    """ndsCom went true: the publisher's control block needs commissioning."""


@dataclass(frozen=True, slots=True)
class DataSetMismatch(GooseEvent):
    """The values do not fit the data set (count, or a member's type): ``reason`` says."""

    reason: str


@dataclass(slots=True)
class StreamState:
    """What supervision remembers of one stream, and its counters."""

    st_num: int
    sq_num: int
    conf_rev: int
    simulation: bool
    nds_com: bool
    last_time: float
    time_allowed_to_live_ms: int
    received: int = 1
    states: int = 1
    lost_states: int = 0
    lost_repetitions: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    restarts: int = 0
    timed_out: bool = False
    timeouts: int = 0


@dataclass
class Supervisor:
    """Supervises every stream it is fed. ``margin`` (seconds) is added to each
    timeAllowedtoLive before a stream counts as lost (scheduling jitter here).

    The table of streams is bounded (``runtime.stream_table``, as SV's): a stream silent
    for ``forget_after`` seconds, and at least its timeAllowedtoLive, is forgotten at the
    next ``tick``; when ``max_streams`` are followed, a new stream takes the place of the
    oldest one not in active use (heard from within its timeAllowedtoLive). ``evicted``
    counts both; a forgotten stream that comes back is a ``NewStream`` again.
    """

    margin: float = 0.0
    streams: OrderedDict[StreamKey, StreamState] = field(default_factory=OrderedDict)
    max_streams: int = MAX_STREAMS
    forget_after: float | None = FORGET_AFTER
    evicted: int = 0
    """Streams forgotten so far."""

    def __post_init__(self) -> None:
        check_limits(self.max_streams, self.forget_after)
        if not isinstance(self.streams, OrderedDict):
            self.streams = OrderedDict(self.streams)

    def _limit(self, state: StreamState) -> float:
        """Seconds of silence after which the stream counts as lost."""
        return state.time_allowed_to_live_ms / 1000 + self.margin

    def _forget(self, key: StreamKey) -> None:
        del self.streams[key]
        self.evicted += 1

    def feed(
        self,
        key: StreamKey,
        st_num: int,
        sq_num: int,
        conf_rev: int,
        simulation: bool,
        nds_com: bool,
        time_allowed_to_live_ms: int,
        time: float,
    ) -> tuple[Step, list[GooseEvent]]:
        """One message; returns its step and the events it causes."""
        state = self.streams.get(key)
        if state is None:
            if len(self.streams) >= self.max_streams:
                self._forget(
                    to_forget_for_room(
                        self.streams, lambda _k, s: time - s.last_time <= self._limit(s)
                    )
                )
            self.streams[key] = StreamState(
                st_num, sq_num, conf_rev, simulation, nds_com, time, time_allowed_to_live_ms
            )
            events: list[GooseEvent] = [NewStream(key, time, st_num, sq_num)]
            if nds_com:
                events.append(NeedsCommissioning(key, time))
            return Step.FIRST, events
        events = []
        if state.timed_out:
            state.timed_out = False
            events.append(StreamResumed(key, time, time - state.last_time))
        state.received += 1
        step = classify(state.st_num, state.sq_num, st_num, sq_num)
        if step is Step.DUPLICATE:
            state.duplicates += 1
            events.append(Duplicate(key, time, st_num, sq_num))
        elif step is Step.OUT_OF_ORDER:
            state.out_of_order += 1
            events.append(OutOfOrder(key, time, state.st_num, state.sq_num, st_num, sq_num))
        elif step is Step.RESTART:
            state.restarts += 1
            state.states += 1
            events.append(Restarted(key, time, state.st_num))
        elif step in (Step.NEW_STATE, Step.NEW_STATE_LATE, Step.ST_GAP):
            state.states += 1
            lost_states = _ahead(st_num, state.st_num) - 1
            if lost_states or sq_num:
                state.lost_states += lost_states
                state.lost_repetitions += sq_num
                events.append(
                    MessagesLost(
                        key, time, _next(state.st_num), 0, st_num, sq_num, lost_states, sq_num
                    )
                )
            events.append(StateChanged(key, time, st_num, sq_num, late=sq_num != 0))
        elif step is Step.SQ_GAP:
            missing = _ahead(sq_num, state.sq_num) - 1
            state.lost_repetitions += missing
            events.append(
                MessagesLost(key, time, st_num, _next(state.sq_num), st_num, sq_num, 0, missing)
            )
        if step.advances:
            state.st_num, state.sq_num = st_num, sq_num
        if conf_rev != state.conf_rev:
            events.append(ConfRevChanged(key, time, state.conf_rev, conf_rev))
            state.conf_rev = conf_rev
        if simulation != state.simulation:
            events.append(SimulationChanged(key, time, state.simulation, simulation))
            state.simulation = simulation
        if nds_com and not state.nds_com:
            events.append(NeedsCommissioning(key, time))
        state.nds_com = nds_com
        state.last_time = time
        state.time_allowed_to_live_ms = time_allowed_to_live_ms
        return step, events

    def tick(self, now: float) -> list[GooseEvent]:
        """MessageLost for each stream silent for longer than its last timeAllowedtoLive."""
        events: list[GooseEvent] = []
        for key, state in self.streams.items():
            if not state.timed_out and now - state.last_time > self._limit(state):
                state.timed_out = True
                state.timeouts += 1
                events.append(MessageLost(key, now, state.last_time, state.time_allowed_to_live_ms))
        forget_after = self.forget_after
        if forget_after is not None:
            for key in silent_for_long(
                self.streams, now, lambda _k, s: max(forget_after, self._limit(s))
            ):
                self._forget(key)
        return events

    def next_deadline(self) -> float | None:
        """When the earliest live stream will count as lost (for a receive loop's wait)."""
        deadlines = [
            s.last_time + s.time_allowed_to_live_ms / 1000 + self.margin
            for s in self.streams.values()
            if not s.timed_out
        ]
        return min(deadlines, default=None)


def _next(counter: int) -> int:
    return 1 if counter >= COUNTER_MAX else counter + 1


__all__ = [
    "ConfRevChanged",
    "ConfRevMismatch",
    "DataSetMismatch",
    "Duplicate",
    "GooseEvent",
    "MessageLost",
    "MessagesLost",
    "NeedsCommissioning",
    "NewStream",
    "OutOfOrder",
    "Restarted",
    "SimulationChanged",
    "StateChanged",
    "Step",
    "StreamKey",
    "StreamResumed",
    "StreamState",
    "Supervisor",
    "classify",
]
