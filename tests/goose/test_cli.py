"""`gen61850 goose ...` end to end: jsonl keys, skipped frames, escaping, publish to a file."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gen61850.generated.goose.iec61850_8_1 import DataVisibleString
from gen61850.runtime.goose.frame import decode_frame, encode_frame
from gen61850.runtime.goose.report import KEYS
from gen61850.runtime.pcap import CapturedFrame, read_capture, write_capture

from .test_data_tables import PDU
from .tshark import first, tshark_goose


def run_cli(
    *args: str, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "gen61850", "goose", *args],
        capture_output=True,
        text=True,
        input=stdin,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}: {result.stderr}")
    return result


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.corpus
def test_decode_jsonl_has_exactly_the_keys_and_counts_what_it_skips(corpus: Path) -> None:
    path = corpus / "pcap" / "Sample_File_MMS_and_GOOSE.pcap"
    result = run_cli("decode", str(path), "--format", "jsonl")
    records = jsonl(result.stdout)
    assert len(records) == 34
    assert all(tuple(r) == KEYS for r in records)
    assert "skipped 267 frames that are not GOOSE" in result.stderr
    frames = list(read_capture(path))
    for record in records:
        decoded = decode_frame(frames[record["frame"] - 1].data)
        assert record["gocbRef"] == decoded.pdu.gocbRef
        assert record["stNum"] == decoded.pdu.stNum and record["sqNum"] == decoded.pdu.sqNum
        assert record["t"] == decoded.pdu.t.isoformat()
        assert record["vlan_id"] is None and record["appid"] == decoded.header.appid
        assert len(record["values"]) == record["numDatSetEntries"] == 25
        assert all(isinstance(v, bool) or set(v) <= {"0", "1"} for v in record["values"])
    theirs = tshark_goose(path)  # the t tshark shows, in ISO form, is ours
    for record in records:
        shown = first(first(theirs[record["frame"]], "goose.goosePdu_element"), "goose.t")
        stamp = time.strptime(shown[:-14], "%b %d, %Y %H:%M:%S")
        assert record["t"] == time.strftime("%Y-%m-%dT%H:%M:%S", stamp) + shown[-14:-4] + "Z"


def test_control_characters_never_reach_the_terminal(tmp_path: Path) -> None:
    """VisibleStrings allow 0x20..0x7E only (as for SV): a gocbRef holding an ESC sequence
    and a visible-string value holding a newline and DEL are located decode errors, and
    neither the errors nor anything else prints the raw characters."""
    from dataclasses import replace

    clean = replace(PDU, gocbRef="AAAAAA/LLN0$GO$g", allData=[DataVisibleString("QQQQ")])
    frame = encode_frame(clean, dst=bytes(6), src=bytes(6), appid=1)
    hostile = [frame.replace(b"AAAAAA", b"A\x1b[2J\x07"), frame.replace(b"QQQQ", b"x\ny\x7f")]
    path = tmp_path / "hostile.pcap"
    write_capture(path, [CapturedFrame(0, f, len(f)) for f in hostile])
    for fmt in ("text", "jsonl"):
        result = run_cli("decode", str(path), "--format", fmt)
        out = result.stdout + result.stderr
        assert all(chr(c) not in out.replace("\n", "") for c in (0x1B, 0x07, 0x7F)), out
        assert f"{path}: frame 1: IECGoosePdu.gocbRef at offset" in result.stderr
        assert "octet 0x1b" in result.stderr
        assert f"{path}: frame 2: IECGoosePdu.allData" in result.stderr
        assert "2 could not be decoded" in out


def test_bad_frames_are_reported_with_their_number_and_location(tmp_path: Path) -> None:
    good = encode_frame(PDU, dst=bytes(6), src=bytes(6), appid=1)
    bad = good[:30] + b"\xff" + good[31:]
    path = tmp_path / "bad.pcap"
    write_capture(path, [CapturedFrame(0, f, len(f)) for f in (good, bad, good[:25])])
    result = run_cli("decode", str(path), "--format", "jsonl")
    assert [r["frame"] for r in jsonl(result.stdout)] == [1]
    assert f"{path}: frame 2: IECGoosePdu.gocbRef at offset 28:" in result.stderr
    assert f"{path}: frame 3: GOOSE.header at offset 18: truncated: 7 of 8" in result.stderr
    assert "3 GOOSE frames, 1 shown, 2 could not be decoded" in result.stderr


def test_publish_to_a_file_follows_the_curve_and_decodes(tmp_path: Path) -> None:
    path = tmp_path / "published.pcapng"
    run_cli(
        "publish",
        "--write",
        str(path),
        "--duration",
        "0.5",
        "--min-time",
        "10",
        "--max-time",
        "80",
        "--appid",
        "0x0102",
        "--untagged",
        "--values",
        '[true, {"bit-string": "0000000000000"}, 3]',
        "--change",
        '[false, {"bit-string": "0100000000000"}, 4]',
        "--change-after",
        "0.2",
    )
    records = jsonl(run_cli("decode", str(path), "--format", "jsonl").stdout)
    steps = [(r["stNum"], r["sqNum"], r["timeAllowedtoLive"]) for r in records]
    assert steps[:6] == [(1, 0, 20), (1, 1, 40), (1, 2, 80), (1, 3, 160), (1, 4, 160), (2, 0, 20)]
    assert records[0]["values"] == [True, "0000000000000", 3] and records[0]["vlan_id"] is None
    assert records[5]["values"] == [False, "0100000000000", 4]
    assert {r["appid"] for r in records} == {0x0102}
    times = [f.time_ns for f in read_capture(path)]
    gaps_ms = [round((b - a) / 1e6) for a, b in itertools.pairwise(times[:4])]
    assert gaps_ms == [10, 20, 40]  # frames stamped with their due times


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("decode", "/nonexistent.pcap"), "gen61850: error: /nonexistent.pcap: no such file"),
        (
            ("publish", "--write", "x.pcap", "--duration", "1", "--values", "[1"),
            "--values: not JSON",
        ),
        (
            ("publish", "--write", "x.pcap", "--duration", "1", "--values", '[{"nope": 1}]'),
            "is not a Data alternative",
        ),
        (
            ("publish", "--write", "x.pcap", "--duration", "1", "--ied", "X"),
            "--ied and --gocb need --scl",
        ),
        (
            ("publish", "--write", "x.pcap", "--duration", "1", "--min-time", "0"),
            "need 0 < MinTime <= MaxTime",
        ),
    ],
)
def test_bad_input_is_one_line(args: tuple[str, ...], message: str) -> None:
    result = run_cli(*args, check=False)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
