"""Fixtures of the SCL tests: our own example files, a helper to write SCL snippets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs" / "scl"
KNOWN_BAD = ("invalid2007B.scd", "SCD_WRONG.scd")

SCL_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<SCL xmlns="http://www.iec.ch/61850/2003/SCL" version="2007" revision="B" release="4">\n'
    '<Header id="t"/>\n'
)


@pytest.fixture
def write_scl(tmp_path: Path) -> Callable[[str], Path]:
    """Write ``body`` (what goes inside <SCL>) as a complete SCL file; returns its path."""

    def write(body: str, name: str = "test.scd") -> Path:
        path = tmp_path / name
        path.write_text(SCL_HEAD + body + "\n</SCL>\n", encoding="utf-8")
        return path

    return write
