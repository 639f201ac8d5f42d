"""COMTRADE out and in: `sv decode --format comtrade|csv` against tshark's decode of the
same capture, read back by the independent `comtrade` package; our reader on files the
package's conventions make; `--channels` round trips; the reader fuzzed."""

from __future__ import annotations

import math
import random
import warnings
from pathlib import Path

import numpy as np
import pytest

from gen61850.runtime.comtrade import (
    Analog,
    ComtradeError,
    Record,
    Status,
    read_record,
    write_record,
)
from gen61850.runtime.pcap import write_capture
from gen61850.runtime.sv.recording import QUALITY_FLAGS
from gen61850.runtime.sv.stream import StreamConfig
from gen61850.runtime.sv.template import FrameTemplate

from ..conftest import fuzz_budget
from .helpers import run_here
from .test_cli import jsonl
from .tshark import tshark_frames

comtrade = pytest.importorskip("comtrade")


def load_peer(cfg: Path) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the package warns about nanosecond dates
        return comtrade.load(str(cfg), str(cfg.with_suffix(".dat")), use_double_precision=True)


CASES = [("2013", None), ("2013", "ASCII"), ("2013", "FLOAT32"), ("1999", "ASCII"), ("1999", None)]


@pytest.fixture(scope="module")
def corpus_rows(sv_capture: Path) -> list[dict[str, list[str]]]:
    """tshark's decode of the corpus capture, once for every case."""
    return tshark_frames(sv_capture)


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize(("revision", "data_format"), CASES)
def test_corpus_to_comtrade_equals_tshark_and_reads_back_in_the_comtrade_package(
    sv_capture: Path,
    corpus_rows: list[dict[str, list[str]]],
    tmp_path: Path,
    revision: str,
    data_format: str | None,
) -> None:
    extra = ["--data-format", data_format] if data_format else []
    run_here(
        "decode",
        str(sv_capture),
        "--format",
        "comtrade",
        "-o",
        str(tmp_path),
        "--revision",
        revision,
        *extra,
    )
    cfg = tmp_path / "4001.cfg"
    peer = load_peer(cfg)
    ours = read_record(cfg)
    rows = corpus_rows
    assert peer.rev_year == revision and peer.total_samples == len(rows) == ours.samples == 10161  # type: ignore[attr-defined]
    assert peer.ft == (data_format or ("BINARY32" if revision == "2013" else "BINARY"))  # type: ignore[attr-defined]
    assert peer.analog_channel_ids == ["Ia", "Ib", "Ic", "In", "Va", "Vb", "Vc", "Vn"]  # type: ignore[attr-defined]
    wire = np.array([[int(v) for v in row["sv.meas_value"]] for row in rows])
    quality = np.array([[int(q, 16) for q in row["sv.meas_quality"]] for row in rows])
    physical = wire / np.array([1000.0] * 4 + [100.0] * 4)
    analog = np.array(peer.analog).T  # type: ignore[attr-defined]
    # Both readers agree exactly; the values are tshark's: exact in 2013 BINARY32 and
    # ASCII, to float32 precision in FLOAT32 (wire values past 2^24), within half a step
    # where 1999's 16-bit BINARY or 5-digit ASCII values had to be scaled.
    assert np.array_equal(analog, np.column_stack([c.values for c in ours.analog]))
    steps = np.array([c.a for c in ours.analog])
    if revision == "1999":
        assert np.all(np.abs(analog - physical) <= steps / 2 + 1e-9)
    elif data_format == "FLOAT32":
        assert np.allclose(analog, physical, rtol=6e-8, atol=0)
    else:
        assert np.allclose(analog, physical, rtol=1e-12, atol=1e-12)
    # Quality words as status channels; times from smpCnt (gapless: one rate).
    status = dict(zip(peer.status_channel_ids, np.array(peer.status), strict=True))  # type: ignore[attr-defined]
    for j, name in enumerate(["Ia", "Ib", "Ic", "In", "Va", "Vb", "Vc", "Vn"]):
        for bit, flag in enumerate(QUALITY_FLAGS):
            assert np.array_equal(status[f"{name} q.{flag}"], (quality[:, j] >> bit) & 1)
    assert not status["simulation"].any()
    assert ours.rate == 4800.0 and peer.cfg.sample_rates == [[4800.0, 10161]]  # type: ignore[attr-defined]
    assert np.allclose(np.array(peer.time), np.arange(10161) / 4800.0, atol=1e-9)  # type: ignore[attr-defined]
    from decimal import Decimal

    first = int(Decimal(rows[0]["frame.time_epoch"][0]) * 10**9)
    assert abs(ours.start_ns - first) <= 1000  # COMTRADE dates: µs


def test_gaps_become_time_gaps_and_refrtm_gives_the_start(tmp_path: Path) -> None:
    config = StreamConfig("GAP1", refr_tm=True, smp_synch=2, signal_frequency=60)  # 4800/s
    template = FrameTemplate(config)
    start = 1_800_000_000 * 10**9
    from gen61850.runtime.pcap import CapturedFrame
    from gen61850.runtime.sv.publisher import utc_time

    frames = []
    for s in [*range(0, 10), *range(15, 30), *range(4790, 4810)]:  # two gaps, one wrap
        due = start + s * 10**9 // 4800
        data = template.frame_from_values(s % 4800, [[s / 1000.0] * 8], refr_tm=utc_time(due))
        frames.append(CapturedFrame(due + 30_000, bytes(data), len(data)))
    capture = tmp_path / "gaps.pcap"
    write_capture(capture, frames)
    run_here(
        "decode",
        str(capture),
        "--format",
        "comtrade",
        "-o",
        str(tmp_path / "out"),
        "--frequency",
        "60",
    )
    cfg = tmp_path / "out" / "GAP1.cfg"
    peer = load_peer(cfg)
    ours = read_record(cfg)
    samples = [*range(0, 10), *range(15, 30), *range(4790, 4810)]
    assert ours.rate is None and peer.cfg.nrates == 1 and peer.cfg.timestamp_critical  # type: ignore[attr-defined]
    assert np.allclose(np.array(peer.time), np.array(samples) / 4800, atol=1.5e-6)  # type: ignore[attr-defined]
    assert np.allclose(ours.times, np.array(samples) / 4800, atol=1.5e-6)
    assert np.allclose(ours.analog[0].values, np.array(samples) / 1000.0)
    assert abs(ours.start_ns - start) < 1000  # refrTm, not the capture's +30 µs
    assert ours.frequency == 60.0 and ours.time_quality == "0"


def test_csv_equals_the_jsonl_decode(tmp_path: Path) -> None:
    capture = tmp_path / "two.pcap"
    run_here(
        "publish",
        "--write",
        str(capture),
        "--svid",
        "C1",
        "--svid",
        "C2",
        "--count",
        "50",
        "--quality",
        "1,0,0,0,0,0,0,0x800",
    )
    records = jsonl(
        run_here(
            "decode", str(capture), "--format", "jsonl", "--scaled", "--layout", "9-2le"
        ).stdout
    )
    run_here("decode", str(capture), "--format", "csv", "-o", str(tmp_path / "csv"))
    import csv

    for sv_id in ("C1", "C2"):
        with (tmp_path / "csv" / f"{sv_id}.csv").open() as handle:
            rows = list(csv.DictReader(handle))
        mine = [r for r in records if r["svID"] == sv_id]
        assert len(rows) == len(mine) == 50
        for row, record in zip(rows, mine, strict=True):
            assert int(row["smpCnt"]) == record["smpCnt"]
            names = ["Ia", "Ib", "Ic", "In", "Va", "Vb", "Vc", "Vn"]
            assert [float(row[n]) for n in names] == record["values"]
            assert [int(row[f"{n}.q"]) for n in names] == record["quality"]
            assert abs(float(row["time"]) - record["time"]) < 1e-6


def test_cli_channels_round_trip_float32_and_custom_scales(tmp_path: Path) -> None:
    capture = tmp_path / "custom.pcap"
    spec = "P:FLOAT32:1,Ia:INT32:250:q,Va:FLOAT32:0.5:q"
    run_here(
        "publish",
        "--write",
        str(capture),
        "--svid",
        "CU1",
        "--channels",
        spec,
        "--count",
        "40",
        "--amplitude",
        "1.5,20,230",
        "--phase",
        "0,-30,0",
        "--quality",
        "0,0x800,1",
    )
    for command in ("decode",):
        out = run_here(
            command, str(capture), "--format", "jsonl", "--channels", spec, "--scaled"
        ).stdout
        records = jsonl(out)
        assert len(records) == 40
        for record in records:
            t = record["smpCnt"] / 4000
            want = [
                1.5 * math.sin(2 * math.pi * 50 * t),
                20 * math.sin(2 * math.pi * 50 * t - math.pi / 6),
                230 * math.sin(2 * math.pi * 50 * t),
            ]
            assert record["values"][0] == pytest.approx(want[0], abs=1e-6)
            assert record["values"][1] == pytest.approx(want[1], abs=1 / 250)
            assert record["values"][2] == pytest.approx(want[2], rel=1e-6, abs=1e-4)
            assert record["quality"] == [None, 0x800, 1]
    # Per svID, and into COMTRADE (FLOAT32 channels: a FLOAT32 data file).
    run_here(
        "decode",
        str(capture),
        "--format",
        "comtrade",
        "-o",
        str(tmp_path / "ct"),
        "--channels",
        f"CU1={spec}",
    )
    peer = load_peer(tmp_path / "ct" / "CU1.cfg")
    assert peer.ft == "FLOAT32" and peer.analog_channel_ids == ["P", "Ia", "Va"]  # type: ignore[attr-defined]
    assert peer.cfg.analog_channels[1].uu == "A" and peer.cfg.analog_channels[2].uu == "V"  # type: ignore[attr-defined]
    assert np.allclose(np.array(peer.analog[1]), [r["values"][1] for r in records])  # type: ignore[attr-defined]
    bad = run_here("decode", str(capture), "--channels", "P:INT64", check=False)
    assert bad.returncode != 0 and "INT64" in bad.stderr and "Traceback" not in bad.stderr


def other_writers_file(folder: Path) -> Path:
    """A 1999 ASCII record as the `comtrade` package's own test files are laid out (not
    written by us): LF line endings, blank ccbm/unit fields, a 1000 Hz rate, a trigger 10
    ms after the start, an offset b, a <SUB> at the end of the data file."""
    cfg = folder / "relay.cfg"
    dat = folder / "relay.dat"
    lines = [
        "Relay station,REL670 1,1999",
        "3,2A,1D",
        "1,IL1,A,,kA,0.01,0.5,0,-32767,32767,2000,1,P",
        "2,UL1,A,,kV,0.1,0,0,-32767,32767,110,0.1,P",
        "1,TRIP,,,0",
        "60",
        "1",
        "1000,200",
        "01/12/2026,10:00:00.000000",
        "01/12/2026,10:00:00.010000",
        "ASCII",
        "1",
    ]
    cfg.write_text("\n".join(lines) + "\n")
    rows = []
    for n in range(1, 201):
        t = (n - 1) / 1000
        current = round(100 * math.sin(2 * math.pi * 60 * t))
        voltage = round(635 * math.cos(2 * math.pi * 60 * t))
        rows.append(f"{n},{(n - 1) * 1000},{current},{voltage},{int(n > 100)}")
    dat.write_text("\n".join(rows) + "\n\x1a")
    return cfg


def test_reading_a_file_we_did_not_write(tmp_path: Path) -> None:
    cfg = other_writers_file(tmp_path)
    peer = load_peer(cfg)
    ours = read_record(cfg)
    assert ours.revision == "1999" and ours.format == "ASCII" and ours.rate == 1000.0
    assert [c.name for c in ours.analog] == peer.analog_channel_ids  # type: ignore[attr-defined]
    for mine, theirs in zip(ours.analog, peer.analog, strict=True):  # type: ignore[attr-defined]
        assert np.array_equal(mine.values, np.array(theirs))
    assert np.array_equal(ours.status[0].bits, np.array(peer.status[0]))  # type: ignore[attr-defined]
    assert np.allclose(ours.times, np.array(peer.time))  # type: ignore[attr-defined]
    assert ours.trigger_ns - ours.start_ns == 10_000_000


@pytest.mark.parametrize(
    ("revision", "data_format"),
    [
        ("2013", "BINARY32"),
        ("2013", "FLOAT32"),
        ("2013", "ASCII"),
        ("2013", "BINARY"),
        ("1999", "ASCII"),
        ("1999", "BINARY"),
    ],
)
def test_every_format_reads_back_the_same_in_both_readers(
    tmp_path: Path, revision: str, data_format: str
) -> None:
    count = 300
    times = np.arange(count, dtype=np.int64) * 250_000
    times[150:] += 5_000_000  # a gap: timestamps critical
    values = np.rint(np.sin(np.arange(count) / 7) * 123456) / 1000
    record = Record(
        "St,ation",  # a comma becomes _
        "dev",
        50.0,
        1_790_000_000_123_456_000,
        times,
        [
            Analog("A1", values, "A", "A", scale=1000.0),
            Analog("F1", np.cos(np.arange(count) / 3) * 1e5),
        ],
        [Status(f"S{i}", (np.arange(count) >> i & 1).astype(np.uint8)) for i in range(17)],
        revision=revision,
        format=data_format,
    )
    cfg, _dat = write_record(tmp_path / "rec", record)
    ours = read_record(cfg)
    peer = load_peer(cfg)
    assert ours.station == "St_ation" and ours.rate is None
    for mine, theirs in zip(ours.analog, peer.analog, strict=True):  # type: ignore[attr-defined]
        assert np.array_equal(mine.values, np.array(theirs))
    assert np.allclose(ours.times, times / 1e9, atol=1e-6)
    assert np.allclose(np.array(peer.time), times / 1e9, atol=1e-6)  # type: ignore[attr-defined]
    for i, status in enumerate(ours.status):
        assert np.array_equal(status.bits, np.arange(count) >> i & 1)
        assert np.array_equal(np.array(peer.status[i]), status.bits)  # type: ignore[attr-defined]
    exact = data_format in ("BINARY32", "ASCII") and not (
        revision == "1999" and data_format == "ASCII"
    )
    if exact:
        assert np.allclose(ours.analog[0].values, values, rtol=1e-12)
    assert ours.start_ns == record.start_ns


def test_writer_refusals(tmp_path: Path) -> None:
    record = Record("s", "d", 50.0, 0, np.arange(3, dtype=np.int64), [Analog("a", np.zeros(2))])
    with pytest.raises(ComtradeError, match="2 values for 3 samples"):
        write_record(tmp_path / "x", record)
    record.analog = []
    record.revision, record.format = "1999", "FLOAT32"
    with pytest.raises(ComtradeError, match="2013 addition"):
        write_record(tmp_path / "x", record)


# ---------------------------------------------------------------- fuzzing the reader


def _seed_files(folder: Path) -> list[tuple[bytes, bytes, str]]:
    seeds = []
    cfg = other_writers_file(folder)
    seeds.append((cfg.read_bytes(), cfg.with_suffix(".dat").read_bytes(), "relay"))
    for revision, form in (
        ("2013", "BINARY32"),
        ("2013", "ASCII"),
        ("2013", "FLOAT32"),
        ("1999", "BINARY"),
    ):
        count = 20
        record = Record(
            "st",
            "dev",
            50.0,
            1_790_000_000 * 10**9,
            np.arange(count, dtype=np.int64) * 250_000,
            [Analog("A", np.arange(count) / 8.0, scale=8.0), Analog("B", -np.arange(count) * 1.5)],
            [Status("S", (np.arange(count) % 2).astype(np.uint8))],
            rate=4000.0,
            revision=revision,
            format=form,
        )
        cfg, dat = write_record(folder / f"seed_{revision}_{form}", record)
        seeds.append((cfg.read_bytes(), dat.read_bytes(), f"{revision} {form}"))
    return seeds


def _mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        choice = rng.randrange(7)
        if not out:
            out += bytes([rng.randrange(256)])
        at = rng.randrange(len(out))
        if choice == 0:
            out[at] ^= 1 << rng.randrange(8)
        elif choice == 1:  # a lying number: huge counts, rates, sample numbers
            lie = rng.choice(
                [
                    b"999999999",
                    b"-1",
                    b"1e308",
                    b"nan",
                    b"0",
                    b"4294967295",
                    b"99999999999999999999",
                ]
            )
            out[at:at] = lie
        elif choice == 2:
            del out[at : at + rng.randint(1, 40)]
        elif choice == 3:
            out[at:at] = out[at : at + rng.randint(1, 40)]
        elif choice == 4:
            out[at:at] = bytes(rng.choice(b",\r\n\x1a\x00:/.") for _ in range(rng.randint(1, 4)))
        elif choice == 5:
            del out[at:]
        else:
            out[at] = rng.randrange(256)
    return bytes(out)


@pytest.mark.fuzz
def test_fuzzed_comtrade_files_give_only_located_errors(
    tmp_path: Path, fuzz_rng: random.Random
) -> None:
    import resource
    import signal

    seeds = _seed_files(tmp_path)
    cfg, dat = tmp_path / "fuzz.cfg", tmp_path / "fuzz.dat"

    def timeout(_signum: int, _frame: object) -> None:
        raise TimeoutError("the reader hangs")

    previous = signal.signal(signal.SIGALRM, timeout)
    read_ok = 0
    try:
        for case in range(fuzz_budget(600)):
            cfg_bytes, dat_bytes, name = fuzz_rng.choice(seeds)
            which = fuzz_rng.randrange(3)
            if which != 1:
                cfg_bytes = _mutate(fuzz_rng, cfg_bytes)
            if which != 0:
                dat_bytes = _mutate(fuzz_rng, dat_bytes)
            cfg.write_bytes(cfg_bytes)
            dat.write_bytes(dat_bytes)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            signal.setitimer(signal.ITIMER_REAL, 5.0)
            try:
                record = read_record(cfg)
            except ComtradeError as error:
                message = str(error)
                assert message.startswith(str(cfg)) or message.startswith(str(dat)), (
                    case,
                    name,
                    message,
                )
                assert (
                    error.line is not None
                    or error.offset is not None
                    or "octets" in message
                    or "cannot read" in message
                ), (case, message)
                continue
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
            assert grown < 200_000, (
                case,
                name,
                "KiB grown",
                grown,
            )  # no allocation a header asks for
            assert record.samples <= len(dat_bytes)
            for channel in record.analog:
                assert len(channel.values) == record.samples
            read_ok += 1
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert read_ok > fuzz_budget(600) // 20  # the mutations leave some files readable
