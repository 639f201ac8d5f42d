"""Phasors (one-cycle DFT) in the subscriber and in `sv plot`, frequency estimates."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np
import pytest

from gen61850.runtime.net.netns import inside
from gen61850.runtime.sv.phasor import PhasorTracker, estimate_frequency, one_cycle_dft
from gen61850.runtime.sv.publisher import Publisher
from gen61850.runtime.sv.receiver import SvReceiver
from gen61850.runtime.sv.sources import Sine
from gen61850.runtime.sv.stream import StreamConfig

from ..conftest import veth_pair
from .helpers import run_here


def test_one_cycle_dft_gives_rms_and_the_cosine_angle() -> None:
    n = 80
    s = np.arange(200, 200 + n)
    window = np.column_stack(
        [
            10 * math.sqrt(2) * np.cos(2 * math.pi * s / n + math.radians(30)),
            5 * np.sin(2 * math.pi * s / n),  # a sine: -90 degrees on the cosine
            np.full(n, 3.0),  # DC: no fundamental
        ]
    )
    phasors = one_cycle_dft(window, 200)
    assert abs(phasors[0]) == pytest.approx(10) and np.degrees(
        np.angle(phasors[0])
    ) == pytest.approx(30)
    assert abs(phasors[1]) == pytest.approx(5 / math.sqrt(2))
    assert np.degrees(np.angle(phasors[1])) == pytest.approx(-90)
    assert abs(phasors[2]) == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize("frequency", [16.7, 50.0, 60.0, 53.3])
def test_frequency_estimate(frequency: float) -> None:
    t = np.arange(4800) / 4800
    values = np.column_stack([0.1 * np.sin(t), 100 * np.sin(2 * math.pi * frequency * t + 1)])
    assert estimate_frequency(values, 4800.0) == pytest.approx(frequency, abs=0.05)


def frames_of(config: StreamConfig, source: Sine, count: int) -> list[bytes]:
    frames: list[bytes] = []
    Publisher([config], sender=lambda f, d: frames.append(bytes(f)), sources=[source]).run(
        count=count, paced=False
    )
    return frames


def test_tracker_gives_magnitude_angle_rms_and_frequency_every_cycle() -> None:
    config = StreamConfig("PH1", asdus_per_frame=2)
    source = Sine([10.0] * 8, [0, -120, 120, 0, 30, -90, 150, 0], frequency=51.0)
    receiver = SvReceiver(streams=[config])
    tracker = PhasorTracker(wrap={"PH1": 4000})
    estimates = []
    frames = frames_of(config, source, 400)
    del frames[150]  # a gap: the window starts again
    for frame in frames:
        got = receiver.feed_scaled(frame, 0.0)
        assert got is not None
        estimates += tracker.feed(got)
    assert len(estimates) == 9  # 300 samples before the gap, 498 after: 3 + 6 whole cycles
    last = estimates[-1]
    assert last.magnitude[:3] == pytest.approx([10 / math.sqrt(2)] * 3, rel=0.02)
    assert last.rms[:3] == pytest.approx([10 / math.sqrt(2)] * 3, rel=0.02)
    differences = (last.angle[[1, 2, 5, 6]] - last.angle[[0, 0, 4, 4]] + 180) % 360 - 180
    assert differences == pytest.approx([-120, 120, -120, 120], abs=1.5)
    assert last.frequency == pytest.approx(51.0, abs=0.05)
    assert estimates[3].frequency is None  # the first estimate after the gap
    assert tracker.latest("PH1") is last


def test_subscriber_phasors_on_a_veth_pair() -> None:
    config = StreamConfig("G61F1", appid=0x4120, signal_frequency=60.0)
    with veth_pair("g61ph") as pair:
        with inside(pair.ns_b):
            from gen61850.runtime.sv.subscriber import Subscriber

            subscriber = Subscriber(pair.if_b, streams=[config])
        with inside(pair.ns_a):
            publisher = Publisher(
                [config], iface=pair.if_a, sources=[Sine.for_layout(config.layout)]
            )
        got = []

        def collect() -> None:
            got.extend(subscriber.phasors(count=20, duration=10.0, frequency=60.0))

        thread = threading.Thread(target=collect)
        thread.start()
        publisher.run(count=2400)
        thread.join(20)
        publisher.close()
        subscriber.close()
    assert len(got) == 20 and {p.sv_id for p in got} == {"G61F1"}
    for estimate in got:
        assert estimate.magnitude[:3] == pytest.approx([10 / math.sqrt(2)] * 3, rel=1e-3)
        assert estimate.magnitude[4:7] == pytest.approx([100 / math.sqrt(2)] * 3, rel=1e-3)
        assert estimate.angle[0] == pytest.approx(-90, abs=0.1)  # sine, phase 0
    assert all(p.frequency == pytest.approx(60.0, abs=1e-3) for p in got[1:])


def test_plot_draws_the_last_cycles_and_the_phasors(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    capture = tmp_path / "p.pcap"
    run_here(
        "publish",
        "--write",
        str(capture),
        "--svid",
        "PL1",
        "--frequency",
        "60",
        "--count",
        "960",
        "--channels",
        "Ia:FLOAT32:1:q,Ib:FLOAT32:1:q,Ua:INT32:100,P:FLOAT32:1",
    )
    out = run_here(
        "plot",
        str(capture),
        "-o",
        str(tmp_path / "w.png"),
        "--channels",
        "Ia:FLOAT32:1:q,Ib:FLOAT32:1:q,Ua:INT32:100,P:FLOAT32:1",
    ).stdout
    assert "1 stream(s), 3 panel(s)" in out  # currents, voltages, other
    assert (tmp_path / "w.png").stat().st_size > 0 and (
        tmp_path / "w-phasors.png"
    ).stat().st_size > 0
    bad = run_here(
        "plot", str(capture), "-o", str(tmp_path / "x.png"), "--cycles", "0", check=False
    )
    assert bad.returncode != 0 and "positive" in bad.stderr
