"""The README's first command: the whole main job on the embedded default."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

from tests.conftest import require_program, require_root


def test_demo_runs_every_step_and_stops_what_it_started() -> None:
    require_root()
    require_program("prosody")
    done = subprocess.run(
        [sys.executable, "-m", "gen61850", "demo", "--duration", "0.5"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    sent = int(re.search(r"publisher: sent (\d+) frames", out)[1])  # type: ignore[index]
    received = int(re.search(r"subscriber: (\d+) frames", out)[1])  # type: ignore[index]
    assert sent == received > 0
    assert "0 gaps, 0 duplicates, 0 out of order" in out
    read = re.search(r"MU01MU/LLN0\$ST\$Beh\$stVal = \d", out)
    assert read and "XMPP server stopped" in out[read.end() :]  # listing first, then the stop
    assert "          data set PhsMeas1" in out
    assert out.rstrip().endswith("every step succeeded")
    port = int(re.search(r"Prosody on 127\.0\.0\.1:(\d+)", out)[1])  # type: ignore[index]
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the demo left Prosody running"


def test_demo_reports_a_bad_scl_file_in_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "broken.scd"
    broken.write_text("<SCL><IED name='x'>")
    done = subprocess.run(
        [sys.executable, "-m", "gen61850", "demo", "--scl", str(broken), "--no-xmpp"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "broken.scd:1" in done.stderr
