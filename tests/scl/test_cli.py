"""``gen61850 scl check|show|generate``: exit codes, located messages, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from gen61850.cli import main
from gen61850.generator.scl.device import MODULES

from .conftest import SPECS


def test_check_clean_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scl", "check", str(SPECS / "sv.scd")]) == 0
    assert "0 error(s), 0 warning(s), 1 IED(s)" in capsys.readouterr().err


def test_check_reports_located_errors(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus / "scl" / "SCD_WRONG.scd"
    assert main(["scl", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:7786: error: DAType without id" in out
    assert main(["scl", "check", "--no-xsd", "-q", str(corpus / "scl" / "sv.icd")]) == 0
    assert capsys.readouterr().out == ""


def test_malformed_file_never_gives_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.scd"
    bad.write_bytes(b"<SCL><IED name='x'>\x00</SCL>")
    for command in (["check"], ["show"], ["generate", "-o", str(tmp_path / "out")]):
        assert main(["scl", *command, str(bad)]) == 2
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err + captured.out
        assert f"{bad}:1: error:" in captured.out + captured.err


def test_a_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "station.scd"
    for command in (["check"], ["show"], ["generate", "-o", str(tmp_path / "out")]):
        assert main(["scl", *command, str(missing)]) == 2  # nothing usable
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err == f"gen61850: error: {missing}: no such file\n"


def test_show_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scl", "show", str(SPECS / "goose.scd")]) == 0
    out = capsys.readouterr().out
    assert "IED BAY1 (gen61850 BayController)" in out
    assert "GSEControl gcbPos (GOOSE): appID BAY1CTRL/LLN0.gcbPos" in out
    assert "01-0C-CD-01-00-10 APPID 0010 VLAN 0 prio 4 MinTime 4 MaxTime 1000" in out


def test_show_unknown_ied_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scl", "show", "--ied", "NOPE", str(SPECS / "goose.scd")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gen61850: error:") and "no IED 'NOPE' (IEDs: BAY1)" in err


def test_generate_writes_packages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["scl", "generate", str(SPECS / "sv.scd"), "-o", str(out), "--progress"]) == 0
    assert (out / "mu01" / "streams.py").is_file()
    err = capsys.readouterr().err
    files = len(MODULES)  # one file per module of a device package
    assert "reading" in err and f"{files}/{files}" in err and "1 package(s)" in err
    assert main(["scl", "generate", str(SPECS / "sv.scd"), "-o", str(out)]) == 0
    assert "0 written" in capsys.readouterr().err


def test_generate_without_ieds_writes_nothing(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    xsd = str(corpus / "scl-xsd")
    path = str(corpus / "scl" / "invalid2007B.scd")
    code = main(["scl", "generate", path, "-o", str(tmp_path / "out"), "--xsd", xsd])
    assert code == 2
    err = capsys.readouterr().err
    assert ":8: warning: SCL2007B: Element 'Substation': The attribute 'name' is required" in err
    assert "nothing generated (no usable IED)" in err
    assert not (tmp_path / "out").exists()


def test_check_reports_mms_names_over_64_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (SPECS / "reports.scd").read_text().replace("TotW", "T" + "o" * 60 + "W")
    path = tmp_path / "long.scd"
    path.write_text(text)
    assert main(["scl", "check", "--no-xsd", str(path)]) == 1
    out = capsys.readouterr().out
    line = next(n for n, t in enumerate(text.splitlines(), 1) if '<DO name="Too' in t)
    assert f"{path}:{line}: error: PROT1P1: MMS name 'MMXU1$MX$T" in out
    assert "(at most 64)" in out
