"""`gen61850 sv ...` end to end: corpus against tshark, our frames against tshark, bad input."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gen61850.runtime.pcap import CapturedFrame, read_capture, write_capture

from .tshark import tshark_frames


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "gen61850", "sv", *args], capture_output=True, text=True
    )
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}: {result.stderr}")
    return result


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def compare_with_tshark(path: Path, records: list[dict[str, Any]]) -> int:
    """Every ASDU of our jsonl equals tshark's decode of the same file; returns ASDUs."""
    frames = tshark_frames(path)
    by_frame: dict[int, list[dict[str, Any]]] = {}
    for record in records:
        by_frame.setdefault(record["frame"], []).append(record)
    assert len(frames) == len(by_frame)
    checked = 0
    for ours, theirs in zip((by_frame[k] for k in sorted(by_frame)), frames, strict=True):
        first = ours[0]
        assert abs(first["time"] - float(theirs["frame.time_epoch"][0])) < 1e-6
        assert first["dst"] == theirs["eth.dst"][0] and first["src"] == theirs["eth.src"][0]
        assert first["appid"] == int(theirs["sv.appid"][0], 16)
        if first["vlan_id"] is None:
            assert theirs["vlan.id"] == []
        else:
            assert [first["vlan_id"], first["vlan_priority"]] == [
                int(theirs["vlan.id"][0]),
                int(theirs["vlan.priority"][0]),
            ]
        assert first["simulated"] == (theirs["sv.reserve1.s_bit"] == ["1"])
        assert [r["svID"] for r in ours] == theirs["sv.svID"]
        assert [r["smpCnt"] for r in ours] == [int(x) for x in theirs["sv.smpCnt"]]
        assert [r["confRev"] for r in ours] == [int(x) for x in theirs["sv.confRev"]]
        assert [r["smpSynch"] for r in ours] == [int(x) for x in theirs["sv.smpSynch"]]
        assert [r["datSet"] for r in ours if r["datSet"]] == theirs["sv.datSet"]
        assert [r["smpRate"] for r in ours if r["smpRate"] is not None] == [
            int(x) for x in theirs["sv.smpRate"]
        ]
        assert [r["smpMod"] for r in ours if r["smpMod"] is not None] == [
            int(x) for x in theirs["sv.smpMod"]
        ]
        assert ["0x" + r["gmIdentity"] for r in ours if r["gmIdentity"]] == theirs["sv.gmidentity"]
        values = [v for r in ours for v in r["values"]]
        quality = [q for r in ours for q in r["quality"]]
        assert values == [int(x) for x in theirs["sv.meas_value"]]
        assert quality == [int(x, 16) for x in theirs["sv.meas_quality"]]
        checked += len(ours)
    return checked


@pytest.mark.tshark
@pytest.mark.corpus
def test_corpus_decodes_gapless_and_agrees_with_tshark(sv_capture: Path) -> None:
    result = run_cli("decode", str(sv_capture), "--format", "jsonl")
    records = jsonl(result.stdout)
    assert len(records) == 10161
    counts = [r["smpCnt"] for r in records]
    assert all((b - a) % 4800 == 1 for a, b in itertools.pairwise(counts))
    assert max(counts) == 4799
    assert {(r["svID"], r["appid"], r["vlan_id"], r["vlan_priority"]) for r in records} == {
        ("4001", 0x4001, 1, 4)
    }
    assert compare_with_tshark(sv_capture, records) == 10161
    assert "gaps 0 (missing 0)" in result.stderr and "decode errors 0" in result.stderr


PUBLISH_CASES = {
    "9-2LE tagged": ["--svid", "MU01", "--vlan-id", "5", "--vlan-priority", "6"],
    "untagged, 8 ASDUs, simulation, all optional fields": [
        "--svid",
        "MU02",
        "--untagged",
        "--asdus",
        "8",
        "--simulate",
        "--datset",
        "MU02LD/LLN0$PhsMeas1",
        "--confrev",
        "70000",
        "--smpsynch",
        "2",
        "--smprate",
        "4000",
        "--smpmod",
        "1",
        "--refrtm",
        "--gmidentity",
        "0011223344556677",
        "--quality",
        "0,1,0x800,0x2000,0x3,0x400,0x1000,0x4",
    ],
    "several streams, 61869-9 profile": [
        "--svid",
        "MU03",
        "--svid",
        "MU04",
        "--profile",
        "F4800S2I4U4",
        "--frequency",
        "60",
        "--amplitude",
        "1,2,3,0.5,10,20,30,5",
    ],
}


@pytest.mark.tshark
@pytest.mark.parametrize("name", sorted(PUBLISH_CASES))
def test_published_frames_agree_with_tshark(tmp_path: Path, name: str) -> None:
    path = tmp_path / "out.pcapng"
    run_cli("publish", "--write", str(path), "--count", "25", *PUBLISH_CASES[name])
    records = jsonl(run_cli("decode", str(path), "--format", "jsonl").stdout)
    assert compare_with_tshark(path, records) == len(records) > 0


@pytest.mark.corpus
def test_publish_from_scl_and_decode_with_scl_layout(tmp_path: Path, corpus: Path) -> None:
    scl = corpus / "scl" / "sv.icd"
    path = tmp_path / "scl.pcap"
    run_cli(
        "publish",
        "--write",
        str(path),
        "--count",
        "3",
        "--scl",
        str(scl),
        "--ied",
        "TEMPLATE",
        "--msvcb",
        "MUnn/LLN0.MSVCB01",
    )
    records = jsonl(
        run_cli("decode", str(path), "--format", "jsonl", "--layout", f"scl:{scl}").stdout
    )
    first = records[0]
    assert (first["svID"], first["appid"], first["vlan_id"], first["vlan_priority"]) == (
        "xxxxMUnn01",
        0x1001,
        1,
        4,
    )
    assert first["dst"] == "01:0c:cd:04:00:01"
    assert len(first["values"]) == 8
    text = run_cli("decode", str(path), "--layout", f"scl:{scl}", "--scaled").stdout
    assert "TCTR1.Amp=" in text


def test_decode_counts_and_reports_bad_frames(tmp_path: Path) -> None:
    good = tmp_path / "good.pcap"
    run_cli("publish", "--write", str(good), "--count", "3", "--svid", "MU09")
    frames = [f.data for f in read_capture(good)]
    bad = [
        frames[0][:40],
        frames[0][:20] + b"\x00\x10" + frames[0][22:],
        frames[0][:26] + b"\x61" + frames[0][27:],
        frames[0] + bytes(1600),
    ]
    not_sv = frames[0][:16] + b"\x08\x00" + frames[0][18:]
    mixed = tmp_path / "mixed.pcapng"
    write_capture(
        mixed,
        [
            CapturedFrame(k * 1000, data, len(data))
            for k, data in enumerate([frames[0], *bad, not_sv, frames[1], frames[2]])
        ],
    )
    result = run_cli("decode", str(mixed), "--format", "jsonl")
    assert [r["smpCnt"] for r in jsonl(result.stdout)] == [0, 1, 2]
    assert "decode errors 4" in result.stderr
    assert "skipped 1 frames that are not SV" in result.stderr
    for number in (2, 3, 4, 5):
        assert f"frame {number}:" in result.stderr
    assert "offset" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["decode", "/nonexistent/file.pcap"], "no such file"),
        (["decode", "{tmp}/notpcap.pcap"], "not a pcap file"),
        (["decode", "{tmp}/notpcap.pcap", "--layout", "weird"], "--layout"),
        (["publish", "--write", "{tmp}/x.pcap"], "--count or --duration"),
        (["publish", "--write", "{tmp}/x.pcap", "--count", "1", "--asdus", "9"], "ASDUs per frame"),
        (["publish", "--write", "{tmp}/x.pcap", "--count", "1", "--channels", "Ia:INT64"], "INT64"),
        (
            ["publish", "--write", "{tmp}/x.pcap", "--count", "1", "--amplitude", "1,2"],
            "2 amplitudes",
        ),
        (["publish", "--write", "{tmp}/x.pcap", "--count", "1", "--ied", "X"], "--scl"),
        (["publish", "--write", "{tmp}/x.pcap", "--count", "1", "--dst", "zz"], "dst MAC"),
        (["plot", "{tmp}/empty.pcap", "-o", "{tmp}/w.png"], "no SV stream"),
    ],
)
def test_bad_arguments_give_one_line_errors(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "notpcap.pcap").write_bytes(b"hello world, not a capture file at all")
    write_capture(tmp_path / "empty.pcap", [])
    result = run_cli(*[a.replace("{tmp}", str(tmp_path)) for a in args], check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("gen61850: error:") and message in result.stderr
    assert "Traceback" not in result.stderr


def test_plot_writes_a_png(tmp_path: Path) -> None:
    path = tmp_path / "s.pcap"
    run_cli("publish", "--write", str(path), "--count", "80", "--svid", "A", "--svid", "B")
    image = tmp_path / "wave.png"
    result = run_cli("plot", str(path), "-o", str(image), "--layout", "9-2le")
    assert "2 stream(s), 4 panel(s)" in result.stdout
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_decode_reports_supervision_events(tmp_path: Path) -> None:
    path = tmp_path / "gap.pcap"
    run_cli("publish", "--write", str(path), "--count", "5", "--svid", "MU10")
    frames = list(read_capture(path))
    del frames[2]  # smpCnt 2 never arrives
    write_capture(path, frames)
    result = run_cli("decode", str(path), "--format", "jsonl")
    assert [r["smpCnt"] for r in jsonl(result.stdout)] == [0, 1, 3, 4]
    events = [line for line in result.stderr.splitlines() if line.startswith("event ")]
    assert [e.split()[1] for e in events] == ["NewStream", "SmpCntGap"]
    assert "svID=MU10" in events[1] and "expected=2 received=3 missing=1" in events[1]


@pytest.mark.parametrize("fmt", ["text", "jsonl"])
def test_decoded_strings_never_reach_the_terminal_raw(tmp_path: Path, fmt: str) -> None:
    # An svID holding an ESC sequence (clear screen) and a datSet with a newline: the
    # decoder refuses both (VisibleString is 0x20..0x7E) and reports them escaped.
    path = tmp_path / "s.pcap"
    run_cli("publish", "--write", str(path), "--count", "3", "--svid", "MU11", "--datset", "DS")
    frames = [f.data for f in read_capture(path)]
    hostile = [
        frames[0].replace(b"MU11", b"\x1b[2J"),
        frames[1].replace(b"\x81\x02DS", b"\x81\x02\n\x07"),
        frames[2],
    ]
    write_capture(path, [CapturedFrame(k, d, len(d)) for k, d in enumerate(hostile)])
    result = run_cli("decode", str(path), "--format", fmt)
    out = result.stdout + result.stderr
    assert all(chr(c) not in out.replace("\n", "") for c in (0x1B, 0x07))
    assert "\n\n" not in out.strip()
    assert "frame 1: ASDU[0].svID at offset" in out and "octet 0x1b" in out
    assert "frame 2: ASDU[0].datSet at offset" in out and "octet 0x0a" in out
    assert "decode errors 2" in out


def test_text_output_escapes_control_characters() -> None:
    from gen61850.cli.sv import _print_event
    from gen61850.runtime.sv.quick import QuickParser
    from gen61850.runtime.sv.report import LayoutChoice, asdu_records, text_line
    from gen61850.runtime.sv.stream import StreamConfig
    from gen61850.runtime.sv.supervision import NewStream
    from gen61850.runtime.text import printable

    from .helpers import make_frames

    assert printable("MU01 LD/LLN0$DS") == "MU01 LD/LLN0$DS"
    assert printable("a\x1b[2Jb\n\x7f\u202ec") == "a\\x1b[2Jb\\x0a\\x7f\\u202ec"
    # Names from an SCL file are not decoded by the SV codec: escaped on output too.
    frame = QuickParser().decode(make_frames(StreamConfig("MU12"), 1)[0])
    record = asdu_records(1, frame, LayoutChoice())[0]
    names = ["I\x1b[31ma", *(f"c{i}" for i in range(7))]
    line = text_line(record, names)
    assert "\x1b" not in line and "I\\x1b[31ma=" in line
    import io

    out = io.StringIO()
    _print_event(NewStream((0x4000, "X\x1b]0;owned\x07"), 0.0, 5), out)
    assert (
        out.getvalue()
        == "event NewStream appid=16384 svID=X\\x1b]0;owned\\x07 time=0.0 smp_cnt=5\n"
    )


def test_a_broken_capture_gives_the_statistics_of_what_was_read_then_the_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cut.pcap"
    run_cli("publish", "--write", str(path), "--count", "6", "--svid", "MU13")
    path.write_bytes(path.read_bytes()[:-30])  # the last record is cut short
    result = run_cli("decode", str(path), check=False)
    assert result.returncode == 1
    assert [line.split()[2] for line in result.stdout.splitlines() if line.startswith("#")] == [
        "appid=0x4000"
    ] * 5
    assert "frames 5, ASDUs 5" in result.stdout
    assert result.stderr.startswith(f"gen61850: error: {path}: record 6")
    assert "Traceback" not in result.stderr


def test_error_messages_are_escaped_for_the_terminal(tmp_path: Path) -> None:
    hostile = tmp_path / "a\x1b[2Jb.pcap"
    result = run_cli("decode", str(hostile), check=False)
    assert result.returncode == 1 and "\x1b" not in result.stderr
    assert result.stderr == f"gen61850: error: {tmp_path}/a\\x1b[2Jb.pcap: no such file\n"
