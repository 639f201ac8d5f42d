"""Publisher schedule and smpCnt alignment with an injected clock; BPF program logic."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from gen61850.runtime.net.bpf import run_program, sv_program
from gen61850.runtime.sv.publisher import (
    NS,
    LatenessRecord,
    Publisher,
    PublisherError,
    utc_time,
)
from gen61850.runtime.sv.shape import decode_sv
from gen61850.runtime.sv.stream import StreamConfig

from .helpers import make_frames


class FakeClock:
    """A clock that sleeping advances; ``lag`` ns pass on every reading."""

    def __init__(self, now: int, lag: int = 0) -> None:
        self.now = now
        self.lag = lag

    def __call__(self) -> int:
        self.now += self.lag
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += math.ceil(seconds * NS)  # never short, or a spin would never end


def collect(streams: list[StreamConfig], **run: object) -> tuple[list[tuple[int, bytes]], object]:
    sent: list[tuple[int, bytes]] = []
    publisher = Publisher(streams, sender=lambda frame, due: sent.append((due, bytes(frame))))
    stats = publisher.run(**run)  # type: ignore[arg-type]
    return sent, stats


def test_unsynchronised_stream_starts_at_zero_on_an_absolute_schedule() -> None:
    config = StreamConfig("P1", asdus_per_frame=2)  # 4000 samples/s, 2000 frames/s
    clock = FakeClock(1_700_000_000_123_456_789)
    sent, stats = collect([config], count=2001, clock=clock, sleep=clock.sleep)
    start = sent[0][0]
    assert start == 1_700_000_000_123_456_789 + NS // 100
    for k, (due, frame) in enumerate(sent):
        assert due == start + round(k * 500_000)  # no drift: start + k x period
        smp = [a.smp_cnt for a in decode_sv(frame)[0].asdus]
        assert smp == [(2 * k) % 4000, (2 * k + 1) % 4000]
    assert stats.sent == 2001 and stats.late == 0  # type: ignore[attr-defined]


def test_synchronised_streams_start_at_the_top_of_a_second() -> None:
    a = StreamConfig("S1", smp_synch=2, signal_frequency=60)  # 4800 frames/s
    b = StreamConfig("S2", smp_synch=1, asdus_per_frame=8, appid=0x4001)  # 500 frames/s
    clock = FakeClock(1_700_000_000_990_000_000)  # 10 ms before a second: skip to the next
    sent, _ = collect([a, b], duration=1.01, clock=clock, sleep=clock.sleep)
    first = sent[0][0]
    assert first == 1_700_000_002 * NS
    by_stream: dict[str, list[tuple[int, int]]] = {"S1": [], "S2": []}
    for due, frame in sent:
        asdu = decode_sv(frame)[0].asdus[0]
        by_stream[asdu.sv_id].append((due, asdu.smp_cnt))
    # smpCnt 0 exactly at each whole second, for both rates.
    for sv_id, rate in (("S1", 4800), ("S2", 4000)):
        for due, smp in by_stream[sv_id]:
            assert smp == round((due - first) % NS * rate / NS) % rate, sv_id
        assert [smp for due, smp in by_stream[sv_id] if due % NS == 0] == [0, 0]
    assert len(by_stream["S1"]) == 4848 and len(by_stream["S2"]) == 505


def test_lateness_statistics_and_late_count() -> None:
    config = StreamConfig("L1")
    clock = FakeClock(10 * NS, lag=150_000)  # every clock reading costs 150 µs
    _sent, stats = collect([config], count=50, clock=clock, sleep=clock.sleep)
    assert stats.sent == 50  # type: ignore[attr-defined]
    assert stats.late_threshold_ns == 125_000  # type: ignore[attr-defined]
    assert stats.late == 50 and stats.p50_ns >= 150_000  # type: ignore[attr-defined]
    assert stats.max_ns >= stats.p99_ns >= stats.p50_ns  # type: ignore[attr-defined]
    on_time = FakeClock(10 * NS)
    _sent, stats = collect([config], count=50, clock=on_time, sleep=on_time.sleep)
    assert stats.late == 0 and stats.max_ns <= 1  # type: ignore[attr-defined]
    assert "lateness p50" in stats.summary()  # type: ignore[attr-defined]


def test_lateness_record_keeps_the_latest_in_bounded_memory() -> None:
    record = LatenessRecord(keep=1000, needed=None, margin=8)
    chunks = [record.chunk]
    written = 0
    chunk, filled = record.chunk, 0
    for _burst in range(10_000):  # bursts of 7 frames: 70,000 frames, 70 x what it keeps
        chunk[filled : filled + 7] = np.arange(written, written + 7)
        written += 7
        filled += 7
        if filled > len(chunk) - 8:
            chunk, filled = record.rotate(filled), 0
            chunks.append(chunk)
    kept = record.values(filled)
    assert 1000 <= len(kept) <= 2 * 1000 + 16
    assert kept.tolist() == list(range(written - len(kept), written))  # the latest, in order
    assert record.dropped == written - len(kept)
    assert len({id(c) for c in chunks}) <= 3  # chunks reused, not made anew each time
    with pytest.raises(PublisherError, match="lateness_samples 0"):
        LatenessRecord(keep=0, needed=None, margin=1)


def test_an_open_ended_run_keeps_a_bounded_lateness_record() -> None:
    clock = FakeClock(10 * NS, lag=1)
    publisher = Publisher([StreamConfig("O1"), StreamConfig("O2")], sender=lambda f, d: None)
    publisher.start(clock=clock, sleep=clock.sleep, lateness_samples=500)
    while publisher.stats.sent < 20_000:
        time.sleep(0.01)
    stats = publisher.stop()
    assert stats.sent >= 20_000
    assert 500 <= len(stats.lateness_ns) <= 2 * 500 + 4
    assert stats.lateness_dropped + len(stats.lateness_ns) == stats.sent
    with pytest.raises(PublisherError, match=r"unknown options \['lateness_sample'\]"):
        publisher.start(lateness_sample=500)  # a misspelt option is not ignored


def test_refr_tm_is_the_due_time() -> None:
    config = StreamConfig("R1", refr_tm=True, smp_synch=2)
    clock = FakeClock(5 * NS + 1)
    sent, _ = collect([config], count=3, paced=False, clock=clock, sleep=clock.sleep)
    for due, frame in sent:
        assert decode_sv(frame)[0].asdus[0].refr_tm == utc_time(due, True)
    assert utc_time(1 * NS + NS // 2, False) == bytes.fromhex("000000018000002a")


def test_publisher_bad_use() -> None:
    with pytest.raises(PublisherError, match="no stream"):
        Publisher([], sender=lambda f, d: None)
    with pytest.raises(PublisherError, match="exactly one"):
        Publisher([StreamConfig("X")])
    with pytest.raises(PublisherError, match="count or duration"):
        Publisher([StreamConfig("X")], sender=lambda f, d: None).run()


@pytest.mark.parametrize(
    ("appids", "frame_appid", "tagged", "accepted"),
    [
        (None, 0x4000, True, True),
        (None, 0x4000, False, True),
        ([0x4001, 0x4002], 0x4002, True, True),
        ([0x4001, 0x4002], 0x4002, False, True),
        ([0x4001, 0x4002], 0x4000, True, False),
        ([0x4001], 0x4000, False, False),
    ],
)
def test_bpf_program(
    appids: list[int] | None, frame_appid: int, tagged: bool, accepted: bool
) -> None:
    config = StreamConfig("B1", appid=frame_appid, vlan_id=1 if tagged else None)
    frame = make_frames(config, 1)[0]
    assert (run_program(sv_program(appids), frame) == len(frame)) == accepted
    goose = (
        frame[:12]
        + (b"\x81\x00\x00\x01\x88\xb8" if tagged else b"\x88\xb8")
        + frame[(18 if tagged else 14) :]
    )
    assert run_program(sv_program(appids), goose) == 0
    home = sv_program(appids, outgoing=False)
    assert (run_program(home, frame, pkttype=0) == len(frame)) == accepted
    assert run_program(home, frame, pkttype=4) == 0  # PACKET_OUTGOING


def test_realtime_priority_and_pinning_are_applied_then_restored() -> None:
    import os

    from ..conftest import require_root

    require_root()
    seen: list[tuple[int, set[int]]] = []

    def sender(frame: bytearray, due: int) -> None:
        seen.append((os.sched_getscheduler(0), os.sched_getaffinity(0)))

    before = (os.sched_getscheduler(0), os.sched_getaffinity(0))
    publisher = Publisher([StreamConfig("T1")], sender=sender)
    publisher.run(count=3, realtime_priority=10, cpu=0)
    assert seen == [(os.SCHED_FIFO, {0})] * 3
    assert (os.sched_getscheduler(0), os.sched_getaffinity(0)) == before
    with pytest.raises(PublisherError, match="CPU 4096"):
        publisher.run(count=1, cpu=4096)
    assert (os.sched_getscheduler(0), os.sched_getaffinity(0)) == before
