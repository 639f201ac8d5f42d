"""Shared test helpers for the SV area: reading the corpus capture, making streams."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

from gen61850.runtime.pcap import read_pcap
from gen61850.runtime.sv.stream import StreamConfig
from gen61850.runtime.sv.template import FrameTemplate


def corpus_frames(path: Path) -> list[bytes]:
    return [frame.data for frame in read_pcap(path)]


def sine_items(config: StreamConfig, smp_cnt: int) -> list[int]:
    """Deterministic wire items for one sample: a different value per channel and count."""
    items: list[int] = []
    for index, channel in enumerate(config.layout.channels):
        value = round(1000 * math.sin(2 * math.pi * smp_cnt / 80 + index)) * (index + 1)
        items.append(value)
        if channel.quality:
            items.append((smp_cnt + index) % 4 << 11 if index % 3 == 0 else 0)
    return items


def make_frames(config: StreamConfig, count: int, first: int = 0) -> list[bytes]:
    """``count`` frames of the stream starting at smpCnt ``first``."""
    template = FrameTemplate(config)
    n = config.asdus_per_frame
    frames = []
    for k in range(count):
        smp = first + k * n
        frames.append(bytes(template.frame(smp, [sine_items(config, smp + i) for i in range(n)])))
    return frames


def reap(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """End a test's child process if it still runs (a failed assertion or a timeout must
    not leave it behind, holding its network namespace alive)."""
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def run_here(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``gen61850 sv ARGS`` in this process, as ``run_cli`` gives it (these tests would
    otherwise spend most of their time starting the CLI; ``test_cli.py`` and the live
    tests run it as a process)."""
    from contextlib import redirect_stderr, redirect_stdout
    from io import StringIO

    from gen61850.cli import main

    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(["sv", *args])
    if check and status != 0:
        raise AssertionError(f"exit {status}: {err.getvalue()}")
    return subprocess.CompletedProcess(
        ["gen61850", "sv", *args], status, out.getvalue(), err.getvalue()
    )
