"""The publisher's sans-I/O core on a virtual clock: the retransmission curve, the stNum and
sqNum rules, timeAllowedtoLive per the curve, flags, fixed-length frames."""

from __future__ import annotations

import pytest

from gen61850.generated.goose.iec61850_8_1 import DataBoolean, DataInteger, DataStructure
from gen61850.runtime.goose.frame import COUNTER_MAX, decode_frame
from gen61850.runtime.goose.publisher import (
    GooseConfig,
    GoosePublisher,
    PublisherCore,
    PublisherError,
    next_counter,
    retransmission_interval_ms,
)

MS = 1_000_000
T0 = 1_700_000_000_000_000_000
CONFIG = GooseConfig("IED1LD0/LLN0$GO$gcb1", "IED1LD0/LLN0$DS1", min_time_ms=4, max_time_ms=100)


def run(core: PublisherCore, until_ns: int) -> list[tuple[int, int, int, int]]:
    """(time offset in ms, stNum, sqNum, TAL) of every repetition until ``until_ns``."""
    sent = []
    while core.due_ns is not None and core.due_ns <= until_ns:
        now = core.due_ns
        for frame in core.poll(now):
            pdu = decode_frame(frame).pdu
            sent.append(((now - T0) // MS, pdu.stNum, pdu.sqNum, pdu.timeAllowedtoLive))
    return sent


def test_the_curve_doubles_from_min_time_to_max_time() -> None:
    assert [retransmission_interval_ms(k, 4, 100) for k in range(8)] == [
        4,
        8,
        16,
        32,
        64,
        100,
        100,
        100,
    ]
    core = PublisherCore(CONFIG, [DataBoolean(False)])
    first = decode_frame(core.start(T0)).pdu
    assert (first.stNum, first.sqNum, first.timeAllowedtoLive) == (1, 0, 8)
    assert run(core, T0 + 500 * MS) == [
        (4, 1, 1, 16),
        (12, 1, 2, 32),
        (28, 1, 3, 64),
        (60, 1, 4, 128),
        (124, 1, 5, 200),
        (224, 1, 6, 200),
        (324, 1, 7, 200),
        (424, 1, 8, 200),
    ]


def test_a_change_starts_a_new_state_and_the_curve_again() -> None:
    core = PublisherCore(CONFIG, [DataBoolean(False)])
    core.start(T0)
    run(core, T0 + 300 * MS)
    frame = core.change([DataBoolean(True)], T0 + 301 * MS)
    pdu = decode_frame(frame).pdu
    assert (pdu.stNum, pdu.sqNum, pdu.allData) == (2, 0, [DataBoolean(True)])
    assert abs(pdu.t.to_ns() - (T0 + 301 * MS)) < 100  # t: the change (2**-24 s steps)
    assert [row[:3] for row in run(core, T0 + 320 * MS)] == [(305, 2, 1), (313, 2, 2)]
    repeated = decode_frame(core.poll(core.due_ns or 0)[0]).pdu
    assert repeated.t == pdu.t  # repetitions keep t


def test_counters_wrap_to_one() -> None:
    assert next_counter(COUNTER_MAX) == 1 and next_counter(0) == 1 and next_counter(5) == 6
    core = PublisherCore(CONFIG, [DataBoolean(False)])
    core.start(T0)
    core.sq_num = COUNTER_MAX
    assert decode_frame(core.poll(core.due_ns or 0)[0]).pdu.sqNum == 1
    core.st_num = COUNTER_MAX
    assert decode_frame(core.change([DataBoolean(True)], T0 + 10**9)).pdu.stNum == 1


def test_a_late_poll_sends_one_frame_and_does_not_catch_up_with_a_burst() -> None:
    core = PublisherCore(CONFIG, [DataBoolean(False)])
    core.start(T0)
    frames = core.poll(T0 + 1000 * MS)  # asleep for a second
    assert len(frames) == 1 and decode_frame(frames[0]).pdu.sqNum == 1
    assert core.due_ns is not None and core.due_ns > T0 + 1000 * MS
    assert core.stats.lateness_ns == [996 * MS]
    assert core.poll(T0 + 1000 * MS) == []


def test_nothing_is_sent_before_start_or_after_stop() -> None:
    core = PublisherCore(CONFIG, [DataBoolean(False)])
    assert core.poll(T0) == []
    core.start(T0)
    core.stop()
    assert core.poll(T0 + 10**10) == []


def test_flags_reach_header_and_pdu() -> None:
    config = GooseConfig("IED1LD0/LLN0$GO$gcb1", "IED1LD0/LLN0$DS1", simulation=True, nds_com=True)
    core = PublisherCore(config, [DataBoolean(False)])
    decoded = decode_frame(core.start(T0))
    assert decoded.header.simulated and decoded.pdu.simulation and decoded.pdu.ndsCom
    core.set_flags(simulation=False, nds_com=False)
    pdu = decode_frame(core.poll(core.due_ns or 0)[0]).pdu
    assert not pdu.simulation and not pdu.ndsCom


def test_fixed_length_frames_keep_their_length_and_offsets() -> None:
    config = GooseConfig("IED1LD0/LLN0$GO$gcb1", "IED1LD0/LLN0$DS1", fixed_length=True)
    values = [DataBoolean(False), DataInteger(3), DataStructure([DataInteger(-1)])]
    core = PublisherCore(config, values)
    frames = [core.start(T0)]
    frames += core.poll(core.due_ns or 0)
    frames.append(
        core.change(
            [DataBoolean(True), DataInteger(-70000), DataStructure([DataInteger(2**31 - 1)])],
            T0 + 10**9,
        )
    )
    assert len({len(f) for f in frames}) == 1
    decoded = [decode_frame(f).pdu for f in frames]
    assert [(p.stNum, p.sqNum) for p in decoded] == [(1, 0), (1, 1), (2, 0)]
    assert decoded[2].allData == [
        DataBoolean(True),
        DataInteger(-70000),
        DataStructure([DataInteger(2**31 - 1)]),
    ]
    assert all(not p.simulation for p in decoded)  # sent although FALSE
    # stNum takes five octets: 85 05 00 00 00 00 01
    assert b"\x85\x05\x00\x00\x00\x00\x01" in frames[0]


def test_fixed_length_grows_when_a_value_outgrows_its_width() -> None:
    config = GooseConfig("IED1LD0/LLN0$GO$gcb1", "IED1LD0/LLN0$DS1", fixed_length=True)
    core = PublisherCore(config, [DataInteger(1)])
    small = core.start(T0)
    big = core.change([DataInteger(2**50)], T0 + 10**9)
    assert len(big) > len(small)
    assert decode_frame(big).pdu.allData == [DataInteger(2**50)]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"min_time_ms": 0}, "need 0 < MinTime <= MaxTime"),
        ({"min_time_ms": 50, "max_time_ms": 10}, "need 0 < MinTime <= MaxTime"),
        ({"gocb_ref": ""}, "gocbRef ''"),
        ({"appid": 70000}, "APPID 70000"),
        ({"dst_mac": "nope"}, "dst_mac"),
        ({"tal_factor": 0.5}, "tal_factor"),
    ],
)
def test_bad_configs_are_refused(fields: dict[str, object], message: str) -> None:
    base = {"gocb_ref": "A/LLN0$GO$g", "dat_set": "A/LLN0$D"}
    with pytest.raises(PublisherError, match=message.replace("$", r"\$")):
        GooseConfig(**{**base, **fields})  # type: ignore[arg-type]


def test_the_io_publisher_sends_through_a_sender_and_stops() -> None:
    sent: list[bytes] = []
    now = [T0]

    def clock() -> int:
        now[0] += MS  # every look at the clock is a millisecond later
        return now[0]

    publisher = GoosePublisher(
        CONFIG, [DataBoolean(False)], sender=lambda f, _t: sent.append(f), clock=clock
    )
    publisher.start()
    publisher.publish([DataBoolean(True)])
    publisher.close()
    assert publisher.error is None
    pairs = [(p.stNum, p.sqNum) for p in (decode_frame(f).pdu for f in sent)]
    # the thread may send repetitions of state 1 before publish() runs (a loaded machine)
    changed = next(i for i, (st, _sq) in enumerate(pairs) if st == 2)
    assert pairs[:changed] == [(1, n) for n in range(changed)] and changed >= 1
    assert pairs[changed:] == [(2, n) for n in range(len(pairs) - changed)]
