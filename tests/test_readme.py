"""The README's quick tour, run as written: every line, in order, from a folder that has the
repository's ``specs/``, with ``gen61850`` and ``python3`` of this environment on the PATH.

Commands the tour runs in a terminal of their own are started in the background: those
marked "(Ctrl-C stops it)" are ready when they print "Ctrl-C stops" and get SIGINT at the end;
the one marked "(stops after N s)" is ready when its packet socket is open and must exit 0
by itself, having received what the next terminal sent.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_program, require_root


@dataclass
class Step:
    command: str
    note: str  # the comment lines just above it

    @property
    def until_ctrl_c(self) -> bool:
        return "(Ctrl-C stops it)" in self.note

    @property
    def timed(self) -> bool:
        return bool(re.search(r"\(stops after \d+ s\)", self.note))


def tour() -> list[Step]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## A quick tour", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    steps: list[Step] = []
    note: list[str] = []
    for line in block.splitlines():
        if line.startswith("#"):
            note.append(line)
        elif line.strip():
            steps.append(Step(line, "\n".join(note)))
            note = []
        else:
            note = []
    return steps


def _packet_socket_open(pid: int) -> bool:
    """Whether process ``pid`` holds an AF_PACKET socket (/proc/net/packet lists its inode)."""
    try:
        inodes = {
            os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1]
            for fd in os.listdir(f"/proc/{pid}/fd")
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:[")
        }
    except OSError:
        return False
    rows = Path("/proc/net/packet").read_text().splitlines()[1:]
    return any(row.split()[-1] in inodes for row in rows)


class Background:
    """A tour command running in a terminal of its own."""

    def __init__(self, step: Step, cwd: Path, env: dict[str, str]) -> None:
        self.step = step
        self.log = cwd / f"background-{len(list(cwd.glob('background-*')))}.log"
        self.out = self.log.open("w")
        self.process = subprocess.Popen(
            ["bash", "-c", f"exec {step.command}"],
            cwd=cwd,
            env=env,
            stdout=self.out,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.step.command!r} ended early:\n{self.text()}")
            if self.step.until_ctrl_c and "Ctrl-C stops" in self.text():
                return
            if self.step.timed and _packet_socket_open(self.process.pid):
                return
            time.sleep(0.05)
        pytest.fail(f"{self.step.command!r} not ready within {timeout} s:\n{self.text()}")

    def finish(self) -> int:
        if self.step.until_ctrl_c and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            code = -9
        self.out.close()
        return code


@pytest.fixture
def tour_folder(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    (tmp_path / "specs").symlink_to(ROOT / "specs")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEN61850_XMPP_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    yield tmp_path, env


def test_the_quick_tour_runs_as_written(tour_folder: tuple[Path, dict[str, str]]) -> None:
    require_root()
    for program in ("prosody", "jq", "openssl"):
        require_program(program)
    cwd, env = tour_folder
    steps = tour()
    assert len(steps) >= 12 and all(
        s.command.startswith(("gen61850 ", "PYTHONPATH=")) for s in steps
    )
    running: list[Background] = []
    outputs: dict[str, str] = {}
    messages: dict[str, str] = {}
    try:
        for step in steps:
            if step.until_ctrl_c or step.timed:
                running.append(Background(step, cwd, env))
                running[-1].wait_ready()
                continue
            done = subprocess.run(
                ["bash", "-o", "pipefail", "-c", step.command],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
            assert done.returncode == 0, f"{step.command}\n{done.stdout}\n{done.stderr}"
            assert "Traceback" not in done.stderr, step.command
            outputs[step.command], messages[step.command] = done.stdout, done.stderr
            for timed in [b for b in running if b.step.timed]:
                assert timed.finish() == 0, timed.text()
                outputs[timed.step.command] = timed.text()
                running.remove(timed)
    finally:
        codes = {b.step.command: b.finish() for b in reversed(running)}
    assert all(code == 0 for code in codes.values()), codes

    def output_of(fragment: str) -> str:
        return next(text for command, text in outputs.items() if fragment in command)

    assert output_of("import mu01").strip() == "MU01 ['MU01MU/LLN0.MSVCB01']"
    tops = [json.loads(line) for line in output_of("jq").splitlines()]  # 4800 frames at 4000/s
    assert [t["svID"] for t in tops] == ["MU01", "MU01"]
    assert tops[1]["time"] - tops[0]["time"] == pytest.approx(1.0)
    assert (cwd / "wave.png").stat().st_size > 1000
    received = re.search(
        r"svID MU01MU/LLN0\.MSVCB01: received (\d+), gaps 0", output_of("sv subscribe")
    )
    assert received and int(received[1]) > 0
    assert output_of("xmpp browse").splitlines()[0] == "MU01MU"
    assert re.fullmatch(r"MU01MU/LLN0\.Beh\.stVal\[ST\] = \d\n", output_of("xmpp get"))
    # generated/ was current (the --check line passed), so regenerating rewrote nothing
    written = re.findall(r": \d+ files, (\d+) written", messages["gen61850 generate"])
    assert written and set(written) == {"0"}
