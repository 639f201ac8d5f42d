"""Supervision state machine: event tables fed with (ASDU fields, time)."""

from __future__ import annotations

from gen61850.runtime.sv.supervision import (
    ConfRevChanged,
    Duplicate,
    NewStream,
    OutOfOrder,
    SimulationChanged,
    SmpCntGap,
    SmpSynchChanged,
    StreamResumed,
    StreamTimeout,
    Supervisor,
)

KEY = (0x4000, "MU01")


def feed(sup: Supervisor, smp: int, t: float, **kw: object) -> list[object]:
    fields: dict[str, object] = {"conf_rev": 1, "smp_synch": 2, "simulated": False}
    fields.update(kw)
    return list(sup.feed(0x4000, "MU01", smp, time=t, **fields))  # type: ignore[arg-type]


def test_in_order_with_known_wrap_gives_no_events() -> None:
    sup = Supervisor(wraps={"MU01": 4000})
    assert feed(sup, 3998, 0.0) == [NewStream(KEY, 0.0, 3998)]
    for i, smp in enumerate([3999, 0, 1, 2]):
        assert feed(sup, smp, 0.001 * (i + 1)) == []
    assert sup.streams[KEY].received == 5


def test_gap_duplicate_out_of_order() -> None:
    sup = Supervisor(wraps={"MU01": 4000})
    feed(sup, 10, 0.0)
    assert feed(sup, 14, 1.0) == [SmpCntGap(KEY, 1.0, 11, 14, 3)]
    assert feed(sup, 14, 2.0) == [Duplicate(KEY, 2.0, 14)]
    assert feed(sup, 12, 3.0) == [OutOfOrder(KEY, 3.0, 15, 12)]
    assert feed(sup, 15, 4.0) == []
    # Gap across the wrap.
    assert feed(sup, 2000, 4.5) == [SmpCntGap(KEY, 4.5, 16, 2000, 1984)]
    assert feed(sup, 3998, 5.0) == [SmpCntGap(KEY, 5.0, 2001, 3998, 1997)]
    assert feed(sup, 1, 6.0) == [SmpCntGap(KEY, 6.0, 3999, 1, 2)]
    state = sup.streams[KEY]
    assert (state.gaps, state.missing, state.duplicates, state.out_of_order) == (4, 3986, 1, 1)


def test_wrap_is_learned_when_smpcnt_returns_to_zero() -> None:
    sup = Supervisor()
    for smp in range(4795, 4800):
        feed(sup, smp, 0.0)
    assert feed(sup, 0, 0.1) == []
    assert sup.streams[KEY].wrap == 4800
    assert feed(sup, 4799, 0.2) == [OutOfOrder(KEY, 0.2, 1, 4799)]


def test_wrap_with_loss_while_wrap_unknown_is_a_gap() -> None:
    sup = Supervisor()
    feed(sup, 4797, 0.0)
    assert feed(sup, 2, 0.1) == [SmpCntGap(KEY, 0.1, 0, 2, 2)]
    assert feed(sup, 3, 0.2) == []


def test_wrap_from_smprate_in_samples_per_second() -> None:
    sup = Supervisor()
    feed(sup, 14399, 0.0, smp_rate=14400, smp_mod=1)
    assert feed(sup, 0, 0.1) == []
    assert sup.streams[KEY].wrap == 14400


def test_confrev_simulation_smpsynch_changes() -> None:
    sup = Supervisor()
    feed(sup, 0, 0.0)
    events = feed(sup, 1, 1.0, conf_rev=2, simulated=True, smp_synch=0)
    assert events == [
        ConfRevChanged(KEY, 1.0, 1, 2),
        SimulationChanged(KEY, 1.0, False, True),
        SmpSynchChanged(KEY, 1.0, 2, 0),
    ]
    assert feed(sup, 2, 2.0, conf_rev=2, simulated=True, smp_synch=0) == []


def test_timeout_once_then_resumed() -> None:
    sup = Supervisor(timeout=0.5)
    feed(sup, 0, 10.0)
    assert sup.tick(10.4) == []
    assert sup.tick(10.6) == [StreamTimeout(KEY, 10.6, 10.0)]
    assert sup.tick(11.0) == []
    assert feed(sup, 1, 12.0) == [StreamResumed(KEY, 12.0, 2.0)]
    assert sup.streams[KEY].timeouts == 1


def test_streams_are_separate() -> None:
    sup = Supervisor()
    sup.feed(0x4000, "A", 5, 1, 0, False, 0.0)
    sup.feed(0x4000, "B", 9, 1, 0, False, 0.0)
    assert sup.feed(0x4000, "A", 6, 1, 0, False, 0.1) == []
    assert sup.feed(0x4001, "A", 100, 1, 0, False, 0.1) == [NewStream((0x4001, "A"), 0.1, 100)]


def test_feed_many_gives_the_same_events_and_counters_as_feed() -> None:
    import random

    import numpy as np

    rng = random.Random(7)
    for trial in range(40):
        counts: list[int] = []
        smp = rng.randrange(4000)
        for _ in range(300):
            r = rng.random()
            smp = (smp + (1 if r < 0.9 else rng.choice([0, 2, 5, -3]))) % 4000
            counts.append(smp)
        times = [i * 0.00025 for i in range(len(counts))]
        one = Supervisor(wraps={"MU01": 4000})
        many = Supervisor(wraps={"MU01": 4000})
        events_one: list[object] = []
        events_many: list[object] = []
        for start in range(0, len(counts), 50):
            chunk = counts[start : start + 50]
            when = times[start : start + 50]
            for c, t in zip(chunk, when, strict=True):
                events_one += one.feed(0x4000, "MU01", c, 1, 2, False, t)
            events_many += many.feed_many(
                0x4000, "MU01", np.array(chunk), 1, 2, False, np.array(when)
            )
        assert events_many == events_one, trial
        assert many.streams[KEY] == one.streams[KEY]


def test_wrap_learned_after_a_loss_before_the_wrap_is_corrected() -> None:
    # smpCnt 3998 and 3999 are lost just before the first wrap: the wrap seems to be
    # 3998. When 3998 and 3999 do come a second later, the learned wrap must grow to
    # 4000 instead of turning the next second's counts into duplicates/out of order.
    sup = Supervisor()
    for smp in range(3990, 3998):
        feed(sup, smp, 0.0)
    assert feed(sup, 0, 0.1) == []
    assert sup.streams[KEY].wrap == 3998
    events = []
    for smp in [*range(1, 4000), 0, 1, 2]:
        events += feed(sup, smp, 0.2)
    assert events == []
    state = sup.streams[KEY]
    assert (state.wrap, state.last_smp_cnt, state.out_of_order, state.duplicates) == (
        4000,
        2,
        0,
        0,
    )


def test_feed_many_with_a_learned_wrap_that_grows() -> None:
    import numpy as np

    counts = [*range(3990, 3998), *range(0, 4000), 0, 1]
    one = Supervisor()
    many = Supervisor()
    events_one: list[object] = []
    events_many: list[object] = []
    for start in range(0, len(counts), 500):
        chunk = counts[start : start + 500]
        for c in chunk:
            events_one += one.feed(0x4000, "MU01", c, 1, 2, False, 0.0)
        events_many += many.feed_many(
            0x4000, "MU01", np.array(chunk), 1, 2, False, np.zeros(len(chunk))
        )
    assert events_many == events_one == [NewStream(KEY, 0.0, 3990)]
    assert many.streams[KEY] == one.streams[KEY]
    assert one.streams[KEY].wrap == 4000


def test_configured_wrap_smaller_than_the_stream_grows() -> None:
    # Configured for 50 Hz x 80 (4000) but the stream is 60 Hz x 80 (wraps at 4800).
    sup = Supervisor(wraps={"MU01": 4000})
    events: list[object] = []
    for smp in [*range(3990, 4800), *range(0, 4800), 0, 1]:
        events += feed(sup, smp, 0.0)
    assert events == [NewStream(KEY, 0.0, 3990)]
    state = sup.streams[KEY]
    assert (state.wrap, state.out_of_order, state.gaps) == (4800, 0, 0)


def test_a_lone_jump_past_the_wrap_does_not_move_it() -> None:
    sup = Supervisor(wraps={"MU01": 4000})
    feed(sup, 10, 0.0)
    assert feed(sup, 60000, 0.1) == [OutOfOrder(KEY, 0.1, 11, 60000)]
    assert feed(sup, 11, 0.2) == []
    assert sup.streams[KEY].wrap == 4000
