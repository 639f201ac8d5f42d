"""Generated code is current: regenerating from specs/ changes nothing, and drift is caught."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gen61850 import resource_path
from gen61850.generator import output
from gen61850.generator.targets import TARGETS


def test_regenerating_changes_nothing(tmp_path: Path) -> None:
    for target in TARGETS:
        files = target.build()
        output.write(files, tmp_path / target.name)
        drift = output.compare(files, resource_path("generated"))
        assert drift.clean, f"{target.name}: " + "; ".join(drift.lines())


def test_generation_is_deterministic() -> None:
    for target in TARGETS:
        assert target.build() == target.build(), target.name


def test_check_command_reports_drift(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "gen61850", "generate", "--target", "asn1-codecs"]
    subprocess.run([*command, "--output", str(tmp_path)], check=True, capture_output=True)
    clean = subprocess.run(
        [*command, "--check", "--output", str(tmp_path)], capture_output=True, text=True
    )
    assert clean.returncode == 0, clean.stderr
    assert clean.stderr == f"{tmp_path} is current with specs/ (asn1-codecs)\n"  # says so
    codec = tmp_path / "sv" / "iec61850_9_2.py"
    codec.write_text(codec.read_text() + "# edited by hand\n")
    stale = subprocess.run(
        [*command, "--check", "--output", str(tmp_path)], capture_output=True, text=True
    )
    assert stale.returncode == 1
    assert "changed: sv/iec61850_9_2.py" in stale.stderr
