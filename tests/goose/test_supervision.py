"""Stream supervision: the stNum/sqNum table row by row, lost messages, timeAllowedtoLive."""

from __future__ import annotations

import pytest

from gen61850.runtime.goose.frame import COUNTER_MAX
from gen61850.runtime.goose.supervision import (
    ConfRevChanged,
    Duplicate,
    MessageLost,
    MessagesLost,
    NeedsCommissioning,
    NewStream,
    OutOfOrder,
    Restarted,
    SimulationChanged,
    StateChanged,
    Step,
    StreamResumed,
    Supervisor,
    classify,
)

KEY = (1, "IED1LD0/LLN0$GO$gcb1")


@pytest.mark.parametrize(
    ("last", "new", "step"),
    [
        ((5, 3), (5, 4), Step.REPEAT),
        ((5, 3), (5, 3), Step.DUPLICATE),
        ((5, 3), (5, 7), Step.SQ_GAP),
        ((5, 3), (5, 1), Step.OUT_OF_ORDER),
        ((5, 3), (6, 0), Step.NEW_STATE),
        ((5, 3), (6, 2), Step.NEW_STATE_LATE),
        ((5, 3), (9, 0), Step.ST_GAP),
        ((5, 3), (1, 0), Step.RESTART),
        ((5, 3), (4, 9), Step.OUT_OF_ORDER),
        ((5, COUNTER_MAX), (5, 1), Step.REPEAT),  # sqNum wraps to 1
        ((COUNTER_MAX, 8), (1, 0), Step.NEW_STATE),  # stNum wraps to 1: not a restart
        ((5, 0), (5, 1), Step.REPEAT),
    ],
)
def test_classify_rows(last: tuple[int, int], new: tuple[int, int], step: Step) -> None:
    assert classify(*last, *new) is step


def feed(s: Supervisor, st: int, sq: int, time: float, **extra: object) -> list[object]:
    values: dict[str, object] = {"conf_rev": 1, "simulation": False, "nds_com": False, "tal": 100}
    values.update(extra)
    _, events = s.feed(
        KEY,
        st,
        sq,
        values["conf_rev"],
        values["simulation"],
        values["nds_com"],
        values["tal"],
        time,
    )  # type: ignore[arg-type]
    return list(events)


def test_events_of_a_stream() -> None:
    s = Supervisor()
    assert feed(s, 1, 0, 0.0) == [NewStream(KEY, 0.0, 1, 0)]
    assert feed(s, 1, 1, 0.01) == []
    assert feed(s, 1, 4, 0.02) == [MessagesLost(KEY, 0.02, 1, 2, 1, 4, 0, 2)]
    assert feed(s, 1, 4, 0.03) == [Duplicate(KEY, 0.03, 1, 4)]
    assert feed(s, 2, 0, 0.04) == [StateChanged(KEY, 0.04, 2, 0)]
    assert feed(s, 4, 1, 0.05) == [
        MessagesLost(KEY, 0.05, 3, 0, 4, 1, 1, 1),
        StateChanged(KEY, 0.05, 4, 1, late=True),
    ]
    assert feed(s, 3, 5, 0.06) == [OutOfOrder(KEY, 0.06, 4, 1, 3, 5)]
    assert feed(s, 1, 0, 0.07) == [Restarted(KEY, 0.07, 4)]
    assert feed(s, 1, 1, 0.08, conf_rev=2, simulation=True, nds_com=True) == [
        ConfRevChanged(KEY, 0.08, 1, 2),
        SimulationChanged(KEY, 0.08, False, True),
        NeedsCommissioning(KEY, 0.08),
    ]
    state = s.streams[KEY]
    assert (state.received, state.lost_states, state.lost_repetitions) == (9, 1, 3)
    assert (state.duplicates, state.out_of_order, state.restarts) == (1, 1, 1)


def test_message_lost_after_time_allowed_to_live_once_then_resumed() -> None:
    s = Supervisor(margin=0.005)
    feed(s, 1, 0, 10.0, tal=20)
    assert s.next_deadline() == pytest.approx(10.025)
    assert s.tick(10.024) == []
    assert s.tick(10.026) == [MessageLost(KEY, 10.026, 10.0, 20)]
    assert s.tick(11.0) == []  # reported once
    assert s.next_deadline() is None
    assert feed(s, 1, 1, 11.5) == [StreamResumed(KEY, 11.5, 1.5)]
    assert s.streams[KEY].timeouts == 1


def test_the_table_of_streams_is_bounded() -> None:
    """Ever new gocbRefs (a misconfigured network, or an attacker) cannot grow the table:
    at ``max_streams`` the oldest stream not in active use makes room, and streams silent
    for ``forget_after`` (and at least their timeAllowedtoLive) are forgotten."""
    s = Supervisor(max_streams=8, forget_after=5.0)
    live = (0x1000, "IED1LD0/LLN0$GO$live")
    s.feed(live, 1, 0, 1, False, False, 2000, 0.0)
    for n in range(1000):
        now = 0.001 * (n + 1)
        s.feed(live, 1, n + 1, 1, False, False, 2000, now)  # in active use
        s.feed((0x1000, f"spoof{n}"), 1, 0, 1, False, False, 2000, now)
        assert len(s.streams) <= 8
    assert live in s.streams, "the stream in active use kept its place"
    assert s.streams[live].received == 1001
    assert s.evicted == 1000 - 7
    slow = (0x1001, "IED2LD0/LLN0$GO$slow")  # heartbeats of 20 s: lost after 20, not 5
    s.feed(slow, 1, 0, 1, False, False, 20_000, 1.0)
    s.tick(7.0)
    assert set(s.streams) == {slow}
    s.tick(21.5)
    assert (
        s.streams == {} and s.evicted == 1000 + 2
    )  # the spoofs, live, slow and the one slow pushed out
    # A forgotten stream that comes back is new again.
    assert feed(s, 1, 3, 30.0) == [NewStream(KEY, 30.0, 1, 3)]


@pytest.mark.parametrize(
    ("limits", "word"),
    [({"max_streams": 0}, "max_streams"), ({"forget_after": 0.0}, "forget_after")],
)
def test_limits_no_table_can_keep_are_refused(limits: dict[str, float], word: str) -> None:
    with pytest.raises(ValueError, match=word):
        Supervisor(**limits)  # type: ignore[arg-type]
