"""The command line builds only the parser of the area it names: ``gen61850 sv ...`` does
not import the SCL reader or the XMPP stack (a second of start-up on every command)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
from gen61850.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
loaded = sorted(m for m in sys.modules if m.startswith(("gen61850.generator", "slixmpp")))
print("LOADED", ",".join(loaded))
"""


def _loaded(*argv: str) -> tuple[str, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True
    )
    line = done.stdout.strip().splitlines()[-1]
    assert line.startswith("LOADED"), done.stdout
    return done.stdout, set(filter(None, line.removeprefix("LOADED").strip().split(",")))


@pytest.mark.parametrize("area", ["sv", "goose", "sntp"])
def test_an_area_loads_neither_the_scl_reader_nor_xmpp(area: str) -> None:
    out, loaded = _loaded(area, "--help")
    assert f"usage: gen61850 {area}" in out
    assert loaded == set()


def test_the_whole_help_still_names_every_area() -> None:
    out, loaded = _loaded("--help")
    for area in ("generate", "sv", "goose", "scl", "xmpp", "sntp", "demo"):
        assert f"    {area}" in out
    assert loaded  # every area's parser: their modules are loaded


def test_an_unknown_area_is_refused_with_every_choice() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gen61850", "svv"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "invalid choice: 'svv'" in done.stderr and "'xmpp'" in done.stderr
