"""Timing helpers shared by the benchmarks: interleaved repeats, tables, machine load.

Cases compared with each other are timed in interleaved rounds (every case once per round,
the starting case rotating), so that a change of load on a shared machine hits all of them
alike instead of one table or one row; each case reports the minimum (the least disturbed
run, used for ratios) and the median of its rounds. Every table is printed with one line
per row saying what that row does, and with the machine's load.
"""

from __future__ import annotations

import os
import statistics
import time
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
REPEATS = 11
"""Interleaved rounds per comparison (at least 5, as issue 12 asks)."""


@dataclass(frozen=True)
class Timing:
    """Seconds per call of one case, one value per interleaved round."""

    name: str
    samples: tuple[float, ...]

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def per_call_us(function: Callable[[], object], *, repeat: int = 7, budget_s: float = 0.2) -> float:
    """Best observed µs per call of one function alone (for a single case; compare cases
    with ``interleaved``)."""
    timer = timeit.Timer(function)
    number, elapsed = timer.autorange()
    number = max(1, int(number * budget_s / max(elapsed, 1e-9)))
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def cpu_seconds(pid: int) -> float:
    """CPU time of process ``pid`` so far, all its threads (Linux /proc): what a process
    spent, whoever else shared the cores meanwhile. From the scheduler's nanosecond counts
    (``schedstat``) where the kernel keeps them, else user + system time in clock ticks."""
    if os.path.exists(f"/proc/{pid}/schedstat"):
        total = 0
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat") as stat:
                    total += int(stat.read().split()[0])
            except FileNotFoundError:  # a thread that just ended
                continue
        return total / 1e9
    else:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU time of named processes between ``start()`` and ``stop(n)``, in µs per operation,
    collected per case (``per_op[case][process]``, one value per round)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = {name: pid for name, pid in pids.items() if pid}
        self.per_op: dict[str, dict[str, list[float]]] = {}
        self._started: dict[str, float] = {}

    def start(self) -> None:
        self._started = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def stop(self, case: str, operations: int) -> None:
        spent = self.per_op.setdefault(case, {name: [] for name in self.pids})
        for name, pid in self.pids.items():
            used = cpu_seconds(pid) - self._started[name]
            spent[name].append(used / operations * 1e6)

    def medians(self, case: str) -> list[str]:
        return [f"{statistics.median(v):.0f}" for v in self.per_op[case].values()]


def machine_load() -> str:
    """The load averages and CPU count: a shared machine is noisy, so every table says how
    busy it was."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def rotated(names: Sequence[T], index: int) -> list[T]:
    """Round ``index``'s order of ``names``: each starts a round in turn, so that no case
    always runs first (or right after the same other one)."""
    shift = index % len(names)
    return [*names[shift:], *names[:shift]]


def interleaved(
    cases: dict[str, Callable[[], object]], *, repeats: int = REPEATS, round_s: float = 0.1
) -> dict[str, Timing]:
    """Time every case in ``repeats`` interleaved rounds; each round runs each case for
    about ``round_s`` seconds (calibrated once per case). The garbage collector stays on,
    as it is in a user's program (``timeit`` would turn it off)."""
    numbers: dict[str, int] = {}
    for name, function in cases.items():
        number, elapsed = timeit.Timer(function, "gc.enable()").autorange()
        numbers[name] = max(1, int(number * round_s / max(elapsed, 1e-9)))
    names = list(cases)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for index in range(repeats):
        order = rotated(names, index)
        for name in order:
            timer = timeit.Timer(cases[name], "gc.enable()")
            samples[name].append(timer.timeit(numbers[name]) / numbers[name])
    return {name: Timing(name, tuple(values)) for name, values in samples.items()}


def print_table(
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    what: Sequence[tuple[str, str]] = (),
) -> None:
    """A plain fixed-width table, the machine load, then ``what``: per row name, one line
    saying what that row does."""
    cells = [list(map(str, header))] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for index, row in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if index == 0:
            print("  ".join("-" * w for w in widths))
    print(f"  ({machine_load()}, {time.strftime('%H:%M:%S')})")
    for name, line in what:
        print(f"  - {name}: {line}")


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)
