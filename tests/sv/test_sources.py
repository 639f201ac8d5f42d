"""Signal sources and live changes through the publisher, frames decoded by the receiver
(sans-I/O: the publisher's sender collects the frames; tests/sv/test_sources_netns.py
does the same on a veth pair)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from gen61850.runtime.sv.dataset import Channel, ChannelType, DataSetLayout, layout_9_2le
from gen61850.runtime.sv.publisher import Publisher, PublisherError
from gen61850.runtime.sv.receiver import SvReceiver
from gen61850.runtime.sv.source import SineWave, SourceError, default_amplitudes
from gen61850.runtime.sv.sources import (
    ArrayPlayback,
    Block,
    Callback,
    Harmonic,
    Sine,
    State,
    StateSequence,
)
from gen61850.runtime.sv.stream import AsduConfig, StreamConfig


def received(
    config: StreamConfig, frames: list[bytes]
) -> dict[str, tuple[np.ndarray, np.ndarray, list[bool]]]:
    """Per svID: smpCnt per sample, physical values (samples x channels), simulation."""
    receiver = SvReceiver(streams=[config])
    out: dict[str, tuple[list[int], list[tuple[float, ...]], list[bool]]] = {
        sv_id: ([], [], []) for sv_id in config.sv_ids
    }
    for frame in frames:
        got = receiver.feed_scaled(frame, 0.0)
        assert got is not None
        for sv_id, smp, values in zip(got.sv_ids, got.smp_cnt, got.values, strict=True):
            assert values is not None
            out[sv_id][0].append(smp)
            out[sv_id][1].append(values)
            out[sv_id][2].append(got.simulated)
    assert receiver.stats.decode_errors == 0
    return {k: (np.array(c), np.array(v), s) for k, (c, v, s) in out.items()}


def publish(config: StreamConfig, count: int, sources: object, **kw: object) -> list[bytes]:
    frames: list[bytes] = []
    publisher = Publisher(
        [config],
        sender=lambda frame, due: frames.append(bytes(frame)),
        sources=sources,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )
    publisher.run(count=count, paced=False)
    return frames


def test_sine_harmonics_dc_and_phases_by_fft() -> None:
    config = StreamConfig("H1")  # 4000 samples/s, 50 Hz
    sine = Sine(
        [100.0, 50.0, 0, 0, 200, 200, 200, 0],
        [0, -120, 0, 0, 30, 0, 0, 0],
        harmonics=[Harmonic(3, 0.2), Harmonic(5, 0.1, 90)],
        dc=[1.5, 0, 0, 0, 0, 0, 0, -2],
    )
    values = received(config, publish(config, 4000, [sine]))["H1"][1]
    spectrum = np.fft.rfft(values[:4000], axis=0) / 2000  # one second: bin k is k Hz
    assert abs(spectrum[50, 0]) == pytest.approx(100, rel=1e-4)
    assert abs(spectrum[150, 0]) == pytest.approx(20, rel=1e-3)
    assert abs(spectrum[250, 1]) == pytest.approx(5, rel=1e-3)
    assert np.degrees(np.angle(spectrum[50, 4] / spectrum[50, 5])) == pytest.approx(30, abs=0.01)
    assert values[:, 0].mean() == pytest.approx(1.5, abs=1e-3)
    assert values[:, 7].mean() == pytest.approx(-2, abs=1e-2)


def test_callback_gets_the_sample_times_and_ragged_output_is_refused() -> None:
    config = StreamConfig("C1", asdus_per_frame=2)

    def signal(t: np.ndarray) -> np.ndarray:
        return np.column_stack([t * 1000 + k for k in range(8)])

    smp, values, _sim = received(config, publish(config, 300, [Callback(signal)]))["C1"]
    assert smp.tolist() == list(range(600))
    expected = np.arange(600)[:, None] * 0.25 + np.arange(8)  # ms since start, + channel
    assert np.allclose(values, expected, atol=0.01)
    with pytest.raises(SourceError, match=r"shape \(\d+, 3\)"):
        publish(config, 10, [Callback(lambda t: np.zeros((len(t), 3)))])


def test_array_playback_loops_or_plays_once_and_resamples() -> None:
    config = StreamConfig(
        "A1", layout=DataSetLayout("f", (Channel("x", ChannelType.FLOAT32, 1.0, False),))
    )
    data = np.arange(7, dtype=np.float64)
    looped = received(config, publish(config, 20, [ArrayPlayback(data)]))["A1"][1][:, 0]
    assert looped.tolist() == [i % 7 for i in range(20)]
    once = received(config, publish(config, 10, [ArrayPlayback(data, loop=False)]))["A1"][1][:, 0]
    assert once.tolist() == [0, 1, 2, 3, 4, 5, 6, 0, 0, 0]
    # 2000 samples/s played at 4000: every other sample is the midpoint.
    ramp = np.arange(100, dtype=np.float64) * 2
    resampled = received(
        config, publish(config, 100, [ArrayPlayback(ramp, rate=2000.0, loop=False)])
    )
    assert resampled["A1"][1][:100, 0].tolist() == pytest.approx(list(range(100)))


def test_state_sequence_changes_state_at_the_asked_sample() -> None:
    config = StreamConfig("S1")  # 4000 samples/s
    pre = State([1000.0] * 3 + [0] * 5, [0, -120, 120, 0, 0, 0, 0, 0], duration=0.05, name="pre")
    fault = State([9000.0] + [1000.0] * 2 + [0] * 5, [0, -120, 120, 0, 0, 0, 0, 0], duration=0.025)
    post = State([0.0] * 8, [0] * 8, quality=[1] * 8)
    sequence = StateSequence([pre, fault, post])
    values = received(config, publish(config, 600, [sequence]))["S1"][1]
    assert sequence.transitions == [(0, 0), (200, 1), (300, 2)]
    rate = 4000
    for s in (0, 199, 200, 299):
        amplitude = 1000 if s < 200 else 9000
        assert values[s, 0] == pytest.approx(
            amplitude * math.sin(2 * math.pi * 50 * s / rate), abs=0.01
        )
    assert np.all(values[300:] == 0)


def test_state_waiting_for_a_trigger_moves_on_at_the_announced_sample() -> None:
    config = StreamConfig("T1")
    sequence = StateSequence([State([1.0] * 8, [0] * 8), State([5.0] * 8, [90] * 8)])
    frames: list[bytes] = []
    announced = []

    def sender(frame: bytearray, due: int) -> None:
        frames.append(bytes(frame))
        if len(frames) == 100:
            announced.append(publisher.change("T1", trigger=True))

    publisher = Publisher([config], sender=sender, sources=[sequence])
    publisher.run(count=400, paced=False)
    change = announced[0]
    assert change.sample >= 100 and change.smp_cnt == change.sample
    assert sequence.transitions == [(0, 0), (change.sample, 1)]
    values = received(config, frames)["T1"][1][:, 0]
    s = change.sample
    assert values[s - 1] == pytest.approx(math.sin(2 * math.pi * 50 * (s - 1) / 4000), abs=0.01)
    assert values[s] == pytest.approx(5 * math.cos(2 * math.pi * 50 * s / 4000), abs=0.01)


def test_live_changes_land_on_the_announced_sample() -> None:
    config = StreamConfig("L1", asdus_per_frame=2)
    frames: list[bytes] = []
    changes = []

    def sender(frame: bytearray, due: int) -> None:
        frames.append(bytes(frame))
        if len(frames) == 50:
            changes.append(publisher.change("L1", amplitudes=[2.0] * 8, frequency=60.0))
            changes.append(publisher.change("L1", quality=[0x2000] * 8))
            changes.append(publisher.change("L1", simulation=True))
            later = changes[-1].sample + 100
            changes.append(publisher.change("L1", at=later, dc=[3.0] * 8))

    sine = Sine([1.0] * 8, [0] * 8)
    publisher = Publisher([config], sender=sender, sources=[sine])
    publisher.run(count=300, paced=False)
    _smp, values, simulated = received(config, frames)["L1"]
    quality = [SvReceiver(streams=[config]).feed_scaled(f, 0.0).quality[0][0] for f in frames]  # type: ignore[union-attr]
    first = changes[0].sample
    assert first % 2 == 0 and first > 100  # a whole frame, not yet made
    assert all(c.sample == first for c in changes[:3])
    assert values[first - 1, 0] == pytest.approx(
        math.sin(2 * math.pi * 50 * (first - 1) / 4000), abs=1e-2
    )
    # Phase continuous across the frequency change: theta(first) = 2 pi 50 first / 4000.
    theta = 2 * math.pi * 50 * first / 4000
    for s in (first, first + 7):
        want = 2 * math.sin(theta + 2 * math.pi * 60 * (s - first) / 4000)
        assert values[s, 0] == pytest.approx(want, abs=1e-2)
    assert quality[first // 2 - 1] == 0 and quality[first // 2] == 0x2000
    assert not simulated[first - 1] and simulated[first]
    dc_at = changes[3].sample
    assert values[dc_at, 0] - values[dc_at - 1, 0] > 2.5  # the offset arrives at once
    with pytest.raises(PublisherError, match="earliest sample"):
        publisher2 = Publisher([config], sender=lambda f, d: None, sources=[Sine()])
        publisher2.start(count=4000)
        try:
            publisher2.change("L1", at=0, dc=[0.0] * 8)
        finally:
            publisher2.stop()


def test_change_refusals() -> None:
    config = StreamConfig("R1")
    publisher = Publisher([config], sender=lambda f, d: None)
    with pytest.raises(SourceError, match="precomputed sine table"):
        publisher.change("R1", amplitudes=[1.0] * 8)
    with pytest.raises(SourceError, match="one word per channel"):
        publisher.change("R1", quality=[0, 0])
    with pytest.raises(PublisherError, match="no svID"):
        publisher.change("nope", quality=None)
    live = Publisher([config], sender=lambda f, d: None, sources=[Sine()])
    with pytest.raises(SourceError, match="cannot change bogus"):
        live.change("R1", bogus=1)
    with pytest.raises(SourceError, match="3 amplitudes for 8 channels"):
        live.change("R1", amplitudes=[1.0, 2.0, 3.0])
    with pytest.raises(SourceError, match="svID R1: 2 channels to play, the data set has 8"):
        Publisher([config], sender=lambda f, d: None, sources=[ArrayPlayback(np.zeros((5, 2)))])


def test_sequence_asdus_each_with_their_own_source_and_layout() -> None:
    floats = DataSetLayout(
        "F", tuple(Channel(n, ChannelType.FLOAT32, 1.0, True, "current") for n in ("Ia", "Ib"))
    )
    config = StreamConfig(
        "Q1",
        asdus_per_frame=2,
        sequence=(AsduConfig("Q2", floats, "LD/LLN0$F", 5, 1),),
    )
    assert config.asdus_in_frame == 4 and config.sv_ids == ("Q1", "Q2")
    frames = publish(
        config,
        50,
        {"Q2": Callback(lambda t: np.column_stack([t, -t]), quality=[0x800, 0])},
    )
    got = received(config, frames)
    assert got["Q1"][0].tolist() == got["Q2"][0].tolist() == list(range(100))
    assert np.allclose(got["Q2"][1][:, 0], np.arange(100) / 4000)
    table = SineWave.default(config).table(config)
    assert np.allclose(got["Q1"][1][:, 0], [row[0] / 1000 for row in table[:100]])
    from gen61850.runtime.sv.frame import decode_frame

    asdus = decode_frame(frames[0]).pdu.asdu
    assert [(a.svID, a.smpCnt, a.confRev, a.smpSynch, a.datSet) for a in asdus] == [
        ("Q1", 0, 1, 0, None),
        ("Q2", 0, 5, 1, "LD/LLN0$F"),
        ("Q1", 1, 1, 0, None),
        ("Q2", 1, 5, 1, "LD/LLN0$F"),
    ]
    assert floats.decode(asdus[1].sample)[1] == [0x800, 0]


def test_default_amplitudes_follow_phases_and_ratings() -> None:
    layout = DataSetLayout(
        "r",
        (
            Channel("TCTR1.Amp", kind="current", phase="A", rated=1000.0),
            Channel("TCTR2.Amp", kind="current", phase="B", rated=1000.0),
            Channel("TCTR3.Amp", kind="current", phase="C"),
            Channel("TCTR4.Amp", kind="current", phase="N"),
            Channel("TVTR1.Vol", kind="voltage", phase="A", rated=110000.0),
        ),
    )
    amplitudes, phases = default_amplitudes(layout)
    assert phases == [0.0, -120.0, 120.0, 0.0, 0.0]
    assert amplitudes == pytest.approx([1414.2136, 1414.2136, 10.0, 0.0, 89814.623], rel=1e-6)
    assert default_amplitudes(layout_9_2le())[1] == [0, -120, 120, 0, 0, -120, 120, 0]


def test_a_source_may_give_quality_per_sample_and_the_simulation_bit() -> None:
    config = StreamConfig(
        "B1", layout=DataSetLayout("q", (Channel("x", ChannelType.INT32, 1.0, True),))
    )

    class Flags(Callback):
        def block(self, first: int, count: int) -> Block:
            index = np.arange(first, first + count)
            return Block(
                index[:, None].astype(float), (index % 3)[:, None].astype(np.uint32), first >= 8
            )

    frames = publish(config, 160, [Flags(lambda t: t)])  # several blocks, whatever their size
    receiver = SvReceiver(streams=[config])
    rows = [receiver.feed_scaled(f, 0.0) for f in frames]
    assert [r.values[0][0] for r in rows] == list(range(160))  # type: ignore[union-attr,index]
    assert [r.quality[0][0] for r in rows] == [i % 3 for i in range(160)]  # type: ignore[union-attr,index]
    assert not any(r.simulated for r in rows[:8])  # type: ignore[union-attr]
    assert all(r.simulated for r in rows[-8:])  # type: ignore[union-attr]


@pytest.mark.tshark
def test_cli_sequence_asdus_decoded_by_tshark(tmp_path: Path) -> None:
    from .helpers import run_here
    from .tshark import tshark_frames

    capture = tmp_path / "seq.pcap"
    run_here(
        "publish",
        "--write",
        str(capture),
        "--svid",
        "MU01",
        "--count",
        "20",
        "--sequence",
        "MU02;confrev=7;smpsynch=1;iscale=10;vscale=1;quality=0,0x800,0,0,0,0,0,0x2000",
        "--sequence",
        "MU03;datset=LD/LLN0$X;channels=Ia:INT32:1000:q,Ua:INT32:100:q;amplitude=5,230;phase=0,90",
    )
    rows = tshark_frames(capture)
    assert len(rows) == 20
    for k, row in enumerate(rows):
        assert row["sv.svID"] == ["MU01", "MU02", "MU03"]
        assert row["sv.smpCnt"] == [str(k)] * 3
        assert row["sv.confRev"] == ["1", "7", "1"] and row["sv.smpSynch"] == ["0", "1", "0"]
        assert row["sv.datSet"] == ["LD/LLN0$X"]
        values = [int(v) for v in row["sv.meas_value"]]
        quality = [int(q, 16) for q in row["sv.meas_quality"]]
        angle = 2 * math.pi * 50 * k / 4000
        assert values[8 + 1] == round(10 * math.sin(angle - 2 * math.pi / 3) * 10)  # MU02 Ib x10
        assert values[8 + 5] == round(100 * math.sin(angle - 2 * math.pi / 3))  # MU02 Vb x1
        assert values[16:] == [round(5000 * math.sin(angle)), round(23000 * math.cos(angle))]
        assert quality[8:16] == [0, 0x800, 0, 0, 0, 0, 0, 0x2000]
    bad = run_here(
        "publish",
        "--write",
        str(capture),
        "--svid",
        "A",
        "--svid",
        "B",
        "--count",
        "1",
        "--sequence",
        "C",
        check=False,
    )
    assert bad.returncode != 0 and "one --svid" in bad.stderr
    bad = run_here(
        "publish",
        "--write",
        str(capture),
        "--svid",
        "A",
        "--count",
        "1",
        "--sequence",
        "A",
        check=False,
    )
    assert bad.returncode != 0 and "must differ" in bad.stderr and "Traceback" not in bad.stderr


def test_scl_gives_three_phases_zero_neutrals_and_rated_amplitudes(tmp_path: Path) -> None:
    from gen61850.generator.scl.sv_bridge import stream_config_for

    from ..conftest import ROOT

    text = (ROOT / "specs" / "scl" / "sv.scd").read_text()
    rated = '<DOI name="{0}"><SDI name="setMag"><DAI name="f"><Val>{1}</Val></DAI></SDI></DOI>'
    for inst in "1234":
        text = text.replace(
            f'<LN prefix="I" lnClass="TCTR" inst="{inst}" lnType="MU_TCTR"/>',
            f'<LN prefix="I" lnClass="TCTR" inst="{inst}" lnType="MU_TCTR">{rated.format("ARtg", 1000)}</LN>',
        )
        text = text.replace(
            f'<LN prefix="U" lnClass="TVTR" inst="{inst}" lnType="MU_TVTR"/>',
            f'<LN prefix="U" lnClass="TVTR" inst="{inst}" lnType="MU_TVTR">{rated.format("VRtg", 110000)}</LN>',
        )
    text = text.replace(
        '<DO name="Amp" type="MU_SAV_Amp"/>',
        '<DO name="Amp" type="MU_SAV_Amp"/><DO name="ARtg" type="MU_ASG"/>',
    )
    text = text.replace(
        '<DO name="Vol" type="MU_SAV_Vol"/>',
        '<DO name="Vol" type="MU_SAV_Vol"/><DO name="VRtg" type="MU_ASG"/>',
    )
    text = text.replace(
        '<DAType id="MU_AnalogueValue_i">',
        '<DOType id="MU_ASG" cdc="ASG"><DA name="setMag" fc="SP" bType="Struct" type="MU_AnalogueValue_f"/></DOType>'
        '<DAType id="MU_AnalogueValue_f"><BDA name="f" bType="FLOAT32"/></DAType><DAType id="MU_AnalogueValue_i">',
    )
    scl = tmp_path / "rated.scd"
    scl.write_text(text)
    config = stream_config_for(scl, "MU01", "MU01MU/LLN0.MSVCB01")
    assert [c.phase for c in config.layout.channels] == list("ABCNABCN")
    assert [c.rated for c in config.layout.channels] == [1000.0] * 4 + [110000.0] * 4
    frames = publish(config, 24, None)
    values = received(config, frames)[config.sv_id][1]
    peak_i, peak_v = 1000 * math.sqrt(2), 110000 * math.sqrt(2 / 3)
    s = np.arange(48)
    for column, (peak, angle) in enumerate(
        [
            (peak_i, 0),
            (peak_i, -120),
            (peak_i, 120),
            (0, 0),
            (peak_v, 0),
            (peak_v, -120),
            (peak_v, 120),
            (0, 0),
        ]
    ):
        want = peak * np.sin(2 * math.pi * s / 96 + math.radians(angle))  # 4800/s, 50 Hz
        assert np.allclose(values[:, column], want, atol=0.01), column


@pytest.mark.parametrize(("revision", "data_format"), [("2013", None), ("1999", "ASCII")])
def test_comtrade_playback_replays_what_we_recorded(
    tmp_path: Path, revision: str, data_format: str | None
) -> None:
    from gen61850.runtime.comtrade import write_record
    from gen61850.runtime.sv.recording import Recorder
    from gen61850.runtime.sv.sources import ComtradePlayback

    config = StreamConfig("CT1", asdus_per_frame=2)
    harmonics = [Harmonic(5, 0.2, 30.0)]
    frames = publish(config, 200, [Sine.for_layout(config.layout, harmonics=harmonics)])
    receiver = SvReceiver(streams=[config])
    recorder = Recorder({"CT1": config.layout})
    for number, frame in enumerate(frames):
        decoded = receiver.feed(frame, number / 2000)
        assert decoded is not None
        recorder.add(decoded)
    record = recorder.recordings["CT1"].to_comtrade(
        frequency=50.0, revision=revision, data_format=data_format
    )
    cfg, _dat = write_record(tmp_path / "ct1", record)
    first = received(config, frames)["CT1"][1]
    again = received(config, publish(config, 200, [ComtradePlayback(cfg)]))["CT1"][1]
    # 2013 BINARY32 keeps the wire integers; 1999 ASCII (5 digits) may scale by half a step.
    step = 0.0 if revision == "2013" else 2 * max(abs(c.a) for c in record.analog)
    assert np.allclose(again, first, atol=step + 1e-9)


def test_cli_publish_harmonics_dc_and_a_comtrade_playback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gen61850.cli import main
    from gen61850.runtime.comtrade import read_record

    from .test_cli import jsonl
    from .test_comtrade import other_writers_file

    def cli(*args: str) -> tuple[int, str, str]:
        status = main(["sv", *args])
        out, err = capsys.readouterr()
        return status, out, err

    capture = tmp_path / "h.pcap"
    publish = ["publish", "--write", str(capture), "--svid", "H1", "--count", "800"]
    harmonics = ["--harmonic", "3:0.25", "--harmonic", "5:0.1:90", "--dc", "0,0,0,0,7.5,0,0,0"]
    assert cli(*publish, *harmonics)[0] == 0
    decode = ["decode", str(capture), "--format", "jsonl", "--scaled", "--layout", "9-2le"]
    values = np.array([r["values"] for r in jsonl(cli(*decode)[1])])
    spectrum = np.abs(np.fft.rfft(values, axis=0)) / 400  # 0.2 s: bin k = 5k Hz
    assert spectrum[10, [0, 4]] == pytest.approx([10.0, 100.0], rel=1e-3)
    assert spectrum[30, [0, 4]] == pytest.approx([2.5, 25.0], rel=1e-3)
    assert spectrum[50, [0, 4]] == pytest.approx([1.0, 10.0], rel=1e-3)
    assert values[:, 4].mean() == pytest.approx(7.5, abs=0.01)
    # A fault record someone else wrote, played on a custom data set at 4000 samples/s.
    cfg = other_writers_file(tmp_path)
    played = tmp_path / "p.pcap"
    spec = "I:INT32:1000:q,U:FLOAT32:1:q"
    play = ["publish", "--write", str(played), "--svid", "P1", "--channels", spec]
    play += ["--play", str(cfg), "--play-channels", "IL1,UL1", "--quality", "0,0x2000"]
    assert cli(*play, "--count", "800")[0] == 0
    decode = ["decode", str(played), "--format", "jsonl", "--scaled", "--channels", spec]
    records = jsonl(cli(*decode)[1])
    values = np.array([r["values"] for r in records])
    record = read_record(cfg)
    t = np.arange(800) / 4000
    inside = t <= record.times[-1]
    current, voltage = (np.interp(t[inside], record.times, c.values) for c in record.analog)
    assert np.allclose(values[inside, 0], current, atol=1e-3)
    assert np.allclose(values[inside, 1], voltage, rtol=1e-6)
    assert np.all(values[~inside] == 0)  # played once
    assert {tuple(r["quality"]) for r in records} == {(0, 0x2000)}
    status, _out, err = cli(*publish, "--play", str(tmp_path / "nope.cfg"))
    assert status == 1 and "nope.cfg: no such file" in err
    status, _out, err = cli(*publish, "--harmonic", "x")
    assert status == 1 and "ORDER:MAGNITUDE" in err
    status, _out, err = cli(*publish, "--dc", "1,2")
    assert status == 1 and "2 DC offsets for 8 channels" in err


def test_a_looping_state_sequence_remembers_a_bounded_number_of_transitions() -> None:
    from gen61850.runtime.sv.sources import TRANSITIONS_KEPT, SourceContext

    layout = DataSetLayout("one", (Channel("Ia", ChannelType.INT32, 1000.0, True, "current"),))
    sequence = StateSequence(
        [State([1.0], [0.0], duration=2 / 4000), State([2.0], [0.0], duration=2 / 4000)],
        loop=True,
    )
    sequence.bind(SourceContext("L1", layout, 4000.0, 50.0))
    count = 2 * (TRANSITIONS_KEPT + 2000)
    values = sequence.block(0, count).values[:, 0]
    s = np.arange(count)
    amplitude = np.where(s // 2 % 2 == 0, 1.0, 2.0)  # two samples of each state, looped
    assert np.allclose(values, amplitude * np.sin(2 * np.pi * 50 * s / 4000))
    transitions = sequence.transitions
    assert len(transitions) == TRANSITIONS_KEPT  # the latest only
    assert transitions[-1] == (count - 2, 1) and transitions[0] == (count - 2 * TRANSITIONS_KEPT, 0)
