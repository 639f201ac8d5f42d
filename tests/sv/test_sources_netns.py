"""Signal sources, live changes and several svIDs per frame over a veth pair between two
namespaces made by the test: values checked at the receiver, tshark and open61850 as
independent decoders of the mixed-svID frames."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from gen61850.runtime.net.netns import VethPair, inside
from gen61850.runtime.sv.dataset import Channel, ChannelType, DataSetLayout, layout_9_2le
from gen61850.runtime.sv.publisher import Change, Publisher
from gen61850.runtime.sv.sources import (
    ArrayPlayback,
    Callback,
    Harmonic,
    Sine,
    Source,
    State,
    StateSequence,
)
from gen61850.runtime.sv.stream import AsduConfig, StreamConfig
from gen61850.runtime.sv.subscriber import Subscriber

from ..conftest import require_program, veth_pair
from .helpers import reap

pytestmark = pytest.mark.netns

RATE = 4000  # 50 Hz x 80


@pytest.fixture(scope="module")
def veth() -> Iterator[VethPair]:
    with veth_pair("g61so") as pair:
        yield pair


Received = dict[
    str, tuple[list[int], list[tuple[float, ...]], list[tuple[int | None, ...]], list[bool]]
]


def collect(
    subscriber: Subscriber, config: StreamConfig, samples: int
) -> tuple[threading.Thread, Received]:
    """A thread taking ``samples`` samples of every svID of ``config`` as physical values."""
    got: Received = {sv_id: ([], [], [], []) for sv_id in config.sv_ids}

    def run() -> None:
        for frame in subscriber.scaled_frames(duration=20.0):
            for sv_id, smp, values, quality in zip(
                frame.sv_ids, frame.smp_cnt, frame.values, frame.quality, strict=True
            ):
                assert values is not None and quality is not None
                smps, vals, quals, sims = got[sv_id]
                smps.append(smp)
                vals.append(values)
                quals.append(quality)
                sims.append(frame.simulated)
            if min(len(v[0]) for v in got.values()) >= samples:
                return

    thread = threading.Thread(target=run)
    thread.start()
    return thread, got


def over_the_wire(veth: VethPair, config: StreamConfig, sources: object, frames: int) -> Received:
    with inside(veth.ns_b):
        subscriber = Subscriber(veth.if_b, streams=[config])
    with inside(veth.ns_a):
        publisher = Publisher([config], iface=veth.if_a, sources=sources)  # type: ignore[arg-type]
    thread, got = collect(subscriber, config, frames * config.asdus_per_frame)
    try:
        stats = publisher.run(count=frames)
    finally:
        thread.join(30)
        publisher.close()
    assert stats.sent == frames and stats.underruns == 0
    for sv_id in config.sv_ids:
        state = subscriber.receiver.streams[(config.appid, sv_id)]
        assert (state.gaps, state.duplicates) == (0, 0)
        assert got[sv_id][0] == [
            s % config.smp_cnt_wrap for s in range(frames * config.asdus_per_frame)
        ]
    subscriber.close()
    return got


def sine(amplitude: float, phase: float, s: np.ndarray, freq: float = 50.0) -> np.ndarray:
    return amplitude * np.sin(2 * math.pi * freq * s / RATE + math.radians(phase))


def test_sine_with_harmonics_and_dc_measured_by_fft(veth: VethPair) -> None:
    config = StreamConfig("G61H1", appid=0x4101)
    source = Sine(
        harmonics=[Harmonic(3, 0.25), Harmonic(7, 0.05)],
        dc=[0.0] * 4 + [5.0] * 3 + [0.0],
        noise=[0.0] * 7 + [2.0],  # the neutral voltage: Gaussian noise only
    )
    values = np.array(over_the_wire(veth, config, [source], 4000)[config.sv_id][1])
    spectrum = np.abs(np.fft.rfft(values, axis=0)) / 2000  # one second: bin k = k Hz
    assert spectrum[50, :3] == pytest.approx([10.0] * 3, rel=1e-3)  # 9-2LE defaults: 10 A
    assert spectrum[150, :3] == pytest.approx([2.5] * 3, rel=1e-3)
    assert spectrum[350, 4:7] == pytest.approx([5.0] * 3, rel=1e-2)
    assert values[:, 4].mean() == pytest.approx(5.0, abs=0.01)
    assert np.abs(values[:, 3]).max() == 0  # neutral current
    assert values[:, 7].std() == pytest.approx(2.0, rel=0.1)  # 4000 samples of noise
    assert abs(values[:, 7].mean()) < 0.2 and spectrum[50, 7] < 0.2


def test_callback_array_and_state_sequence_sources(veth: VethPair) -> None:
    layout = DataSetLayout(
        "three",
        tuple(Channel(n, ChannelType.INT32, 1000.0, True, "current") for n in ("Ia", "Ib", "Ic")),
    )
    config = StreamConfig("G61K1", appid=0x4102, layout=layout, asdus_per_frame=2)
    s = np.arange(1200)

    def ramp(t: np.ndarray) -> np.ndarray:
        return np.column_stack([t * 10, -t * 10, np.sin(2 * math.pi * 50 * t)])

    data = np.column_stack([s[:333] * 0.01, s[:333] * -0.02, np.ones(333)])
    fault = StateSequence(
        [
            State([1.0, 1.0, 1.0], [0, -120, 120], duration=0.03),
            State([20.0, 1.0, 1.0], [-80, -120, 120], duration=0.04),
            State([1.0, 1.0, 1.0], [0, -120, 120]),
        ]
    )
    for source, expected in (
        (Callback(ramp), ramp(s / RATE)),
        (ArrayPlayback(data), data[s % 333]),
    ):
        got = np.array(over_the_wire(veth, config, [source], 600)[config.sv_id][1])
        assert np.allclose(got, expected, atol=6e-4)
    got = np.array(over_the_wire(veth, config, [fault], 600)[config.sv_id][1])
    assert fault.transitions == [(0, 0), (120, 1), (280, 2)]  # 30 ms and 40 ms at 4000/s
    amplitude = np.where((s >= 120) & (s < 280), 20.0, 1.0)
    angle = np.where((s >= 120) & (s < 280), -80.0, 0.0)
    expected_a = amplitude * np.sin(2 * math.pi * 50 * s / RATE + np.radians(angle))
    assert np.allclose(got[:, 0], expected_a, atol=6e-4)


def expected_after(change: Change, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return np.where(np.arange(len(before)) < change.sample, before, after)


def check_change_on_the_wire(
    got: Received, config: StreamConfig, change: Change, quality: Change
) -> None:
    _smp, values, qualities, _sim = got[config.sv_id]
    s = np.arange(len(values))
    a = np.array(values)[:, 0]
    want = np.where(s < change.sample, sine(10.0, 0, s), sine(3.0, 45.0, s))
    assert np.allclose(a, want, atol=1e-3)
    q = [row[0] for row in qualities]
    assert q[: quality.sample] == [0] * quality.sample
    assert set(q[quality.sample :]) == {0x0803}


def test_live_change_from_another_thread_lands_on_the_announced_smpcnt(veth: VethPair) -> None:
    config = StreamConfig("G61V1", appid=0x4103)
    source = Sine.for_layout(config.layout)
    with inside(veth.ns_b):
        subscriber = Subscriber(veth.if_b, streams=[config])
    with inside(veth.ns_a):
        publisher = Publisher([config], iface=veth.if_a, sources=[source])
    thread, got = collect(subscriber, config, 4000)
    publisher.start(count=4000)  # one second, in the publisher's own thread
    try:
        time.sleep(0.3)
        change = publisher.change(
            config.sv_id,
            amplitudes=[3.0, 10, 10, 0, 100, 100, 100, 0],
            phases=[45, -120, 120, 0, 0, -120, 120, 0],
        )
        quality = publisher.change(config.sv_id, quality=[0x0803] * 8)
        time.sleep(0.1)
        simulation = publisher.change(config.sv_id, simulation=True)
        stats = publisher.wait(10)
    finally:
        thread.join(30)
        publisher.close()
    assert stats is not None and stats.sent == 4000
    assert 1000 < change.sample < 2000 and change.smp_cnt == change.sample
    assert change.due_ns is not None and change.due_ns > time.time_ns() - 2_000_000_000
    check_change_on_the_wire(got, config, change, quality)
    simulated = got[config.sv_id][3]
    assert simulation.sample > quality.sample
    assert not any(simulated[: simulation.sample]) and all(simulated[simulation.sample :])
    subscriber.close()


def test_live_change_from_an_asyncio_task(veth: VethPair) -> None:
    config = StreamConfig("G61Y1", appid=0x4104, smp_synch=2)  # starts at a whole second
    source: Source = Sine.for_layout(config.layout)
    with inside(veth.ns_b):
        subscriber = Subscriber(veth.if_b, streams=[config])
    with inside(veth.ns_a):
        publisher = Publisher([config], iface=veth.if_a, sources=[source])
    thread, got = collect(subscriber, config, 6000)
    announced: list[Change] = []

    async def main() -> None:
        task = asyncio.create_task(publisher.run_async(count=6000))
        while publisher.start_ns is None or time.time_ns() < publisher.start_ns + 200_000_000:
            await asyncio.sleep(0.01)
        change = publisher.change(
            config.sv_id,
            amplitudes=[3.0, 10, 10, 0, 100, 100, 100, 0],
            phases=[45, -120, 120, 0, 0, -120, 120, 0],
        )
        announced.append(change)
        await publisher.reached(change)
        announced.append(publisher.change(config.sv_id, quality=[0x0803] * 8))
        stats = await task
        assert stats.sent == 6000

    try:
        asyncio.run(main())
    finally:
        thread.join(30)
        publisher.close()
    change, quality = announced
    assert quality.sample > change.sample
    check_change_on_the_wire(got, config, change, quality)
    subscriber.close()


MIXED = StreamConfig(
    "G61M1",
    appid=0x4105,
    vlan_id=3,
    sequence=(
        AsduConfig(
            "G61M2",
            DataSetLayout(
                "floats",
                (
                    Channel("Ia", ChannelType.FLOAT32, 1.0, True, "current"),
                    Channel("Ib", ChannelType.FLOAT32, 1.0, True, "current"),
                    Channel("Va", ChannelType.INT32, 10.0, True, "voltage"),
                ),
            ),
            "G61LD/LLN0$Floats",
            7,
            1,
        ),
        AsduConfig("G61M3", layout_9_2le("Other"), conf_rev=9, smp_synch=0),
    ),
)


def mixed_sources() -> dict[str, Source]:
    return {
        "G61M2": Callback(
            lambda t: np.column_stack([np.sin(t * 300), t, 230 * np.cos(t * 314)]),
            quality=[0, 0x800, 3],
        ),
        "G61M3": Sine([1.0] * 8, [0] * 8, quality=[1] * 8),
    }


def test_several_svids_per_frame_arrive_with_their_own_values(veth: VethPair) -> None:
    got = over_the_wire(veth, MIXED, mixed_sources(), 400)
    t = np.arange(400) / RATE
    floats = np.array(got["G61M2"][1])
    assert np.allclose(floats[:, 0], np.sin(t * 300), atol=1e-6)
    assert np.allclose(floats[:, 2], np.round(2300 * np.cos(t * 314)) / 10)
    assert set(got["G61M2"][2]) == {(0, 0x800, 3)}
    assert set(got["G61M3"][2]) == {(1,) * 8}
    assert np.allclose(np.array(got["G61M3"][1])[:, 0], sine(1.0, 0, np.arange(400)), atol=1e-3)


@pytest.mark.tshark
def test_mixed_svid_frames_decode_in_tshark_and_open61850(veth: VethPair, tmp_path: Path) -> None:
    import open61850.sv as o61

    from gen61850.runtime.pcap import read_capture
    from gen61850.runtime.sv.receiver import SvReceiver

    from .tshark import tshark_frames

    tshark = require_program("tshark")
    path = tmp_path / "mixed.pcapng"
    capture = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            veth.ns_b,
            tshark,
            "-q",
            "-i",
            veth.if_b,
            "-f",
            "ether proto 0x88ba or vlan",
            "-c",
            "50",
            "-a",
            "duration:20",
            "-w",
            str(path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert capture.stderr is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until it really captures (slow when loaded)
            line = capture.stderr.readline()
            if "Capturing on" in line or capture.poll() is not None:
                break
        assert capture.poll() is None, "tshark did not start capturing"
        with inside(veth.ns_a):
            publisher = Publisher([MIXED], iface=veth.if_a, sources=mixed_sources())
        publisher.run(count=400)
        publisher.close()
        capture.wait(timeout=30)
    finally:
        reap(capture)
    frames = [f.data for f in read_capture(path)]
    rows = tshark_frames(path)
    assert len(frames) == len(rows) == 50
    receiver = SvReceiver(streams=[MIXED])
    groups = MIXED.groups
    for data, row in zip(frames, rows, strict=True):
        ours = receiver.feed(data, 0.0)
        assert ours is not None
        assert row["sv.svID"] == ["G61M1", "G61M2", "G61M3"]
        assert row["sv.confRev"] == ["1", "7", "9"] and row["sv.smpSynch"] == ["0", "1", "0"]
        assert row["sv.datSet"] == ["G61LD/LLN0$Floats"]
        assert len(set(row["sv.smpCnt"])) == 1
        # tshark reads every sample as value + quality pairs: compare the wire words.
        words = []
        for asdu, group in zip(ours.asdus, groups, strict=True):
            wire, quality = group.layout.decode(asdu.sample, scaled=False)
            for value, q in zip(wire, quality, strict=True):
                raw = np.array([value], dtype=">f4" if isinstance(value, float) else ">i4").view(
                    ">i4"
                )[0]
                words.append((int(raw), q))
        assert words == [
            (int(v), int(q, 16))
            for v, q in zip(row["sv.meas_value"], row["sv.meas_quality"], strict=True)
        ]
        decoded = o61.decode_sv_frame(data)
        assert decoded is not None
        peer = decoded[1].asdus
        assert [
            (a.sv_id, a.smp_cnt, a.conf_rev, a.smp_synch, a.dat_set, a.sample) for a in peer
        ] == [
            (a.sv_id, a.smp_cnt, a.conf_rev, a.smp_synch, a.dat_set, a.sample) for a in ours.asdus
        ]


def test_comtrade_playback_of_a_file_we_did_not_write(veth: VethPair, tmp_path: Path) -> None:
    from gen61850.runtime.comtrade import read_record
    from gen61850.runtime.sv.sources import ComtradePlayback

    from .test_comtrade import other_writers_file

    cfg = other_writers_file(tmp_path)  # 1000 samples/s, 0.2 s, IL1 and UL1
    layout = DataSetLayout(
        "relay",
        (
            Channel("I", ChannelType.INT32, 1000.0, True, "current"),
            Channel("U", ChannelType.FLOAT32, 1.0, True, "voltage"),
        ),
    )
    config = StreamConfig("G61P1", appid=0x4106, layout=layout)
    got = over_the_wire(veth, config, [ComtradePlayback(cfg, channels=["IL1", "UL1"])], 1000)
    values = np.array(got[config.sv_id][1])
    record = read_record(cfg)
    t = np.arange(1000) / RATE
    inside = t <= record.times[-1]
    for j, channel in enumerate(record.analog):
        want = np.interp(t[inside], record.times, channel.values)
        tolerance = 1e-3 if j == 0 else 1e-4 * np.abs(want).max()
        assert np.allclose(values[inside, j], want, atol=tolerance)
    assert np.all(values[~inside] == 0)  # played once


def test_cli_record_writes_comtrade_of_what_crossed_the_wire(
    veth: VethPair, tmp_path: Path
) -> None:
    import sys

    import comtrade

    cli = [sys.executable, "-m", "gen61850", "sv"]
    spec = "Ia:FLOAT32:1:q,Va:INT32:100:q"
    recorder = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            veth.ns_b,
            *cli,
            "record",
            "--iface",
            veth.if_b,
            "--comtrade",
            str(tmp_path / "ct"),
            "--csv",
            str(tmp_path / "csv"),
            "--channels",
            spec,
            "--count",
            "400",
            "--duration",
            "20",
            "--svid",
            "G61R1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # ``sv subscribe`` with the same custom layout, beside the recorder.
    subscriber = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            veth.ns_b,
            *cli,
            "subscribe",
            "--iface",
            veth.if_b,
            "--format",
            "jsonl",
            "--scaled",
            "--channels",
            spec,
            "--count",
            "400",
            "--duration",
            "20",
            "--svid",
            "G61R1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)
        publisher = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                veth.ns_a,
                *cli,
                "publish",
                "--iface",
                veth.if_a,
                "--svid",
                "G61R1",
                "--channels",
                spec,
                "--amplitude",
                "5,230",
                "--phase",
                "0,90",
                "--quality",
                "0,0x2000",
                "--count",
                "800",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        out, err = recorder.communicate(timeout=60)
        live, live_err = subscriber.communicate(timeout=60)
    finally:
        reap(recorder)
        reap(subscriber)
    assert publisher.returncode == 0, publisher.stderr
    assert recorder.returncode == 0, err
    assert "wrote" in out and "G61R1" in out
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = comtrade.load(
            str(tmp_path / "ct" / "G61R1.cfg"),
            str(tmp_path / "ct" / "G61R1.dat"),
            use_double_precision=True,
        )
    assert peer.total_samples == 400 and peer.ft == "FLOAT32"
    smp = np.array(
        [
            int(line.split(",")[1])
            for line in (tmp_path / "csv" / "G61R1.csv").read_text().splitlines()[1:]
        ]
    )
    ia = 5 * np.sin(2 * math.pi * 50 * smp / RATE)
    va = np.round(23000 * np.cos(2 * math.pi * 50 * smp / RATE)) / 100
    assert np.allclose(np.array(peer.analog[0]), ia, atol=1e-6)
    assert np.allclose(np.array(peer.analog[1]), va, atol=1e-9)
    status = dict(zip(peer.status_channel_ids, peer.status, strict=True))
    assert set(status["Va q.derived"]) == {1} and set(status["Ia q.derived"]) == {0}
    assert np.allclose(np.array(peer.time), np.arange(400) / RATE, atol=1e-9)
    assert subscriber.returncode == 0, live_err
    records = [json.loads(line) for line in live.splitlines()]
    assert len(records) == 400 and [r["svID"] for r in records] == ["G61R1"] * 400
    smp = np.array([r["smpCnt"] for r in records])
    values = np.array([r["values"] for r in records])
    assert np.allclose(values[:, 0], 5 * np.sin(2 * math.pi * 50 * smp / RATE), atol=1e-6)
    va_live = np.round(23000 * np.cos(2 * math.pi * 50 * smp / RATE)) / 100
    assert np.allclose(values[:, 1], va_live, atol=1e-9)
    assert {tuple(r["quality"]) for r in records} == {(0, 0x2000)}
