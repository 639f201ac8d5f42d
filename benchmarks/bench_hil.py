"""SV for HIL and test sets (issue 8): what a live signal source costs, and COMTRADE export.

- Publisher lateness with a live callback source (each block computed with numpy while
  the publisher waits between bursts) beside the precomputed sine table and beside
  open61850's native engine: 8 streams x 4800 frames/s, all three at SCHED_FIFO 50 on the
  same CPU without busy-waiting, lateness from a receiver's kernel timestamps against the
  common schedule (the receiver of bench_sv), in interleaved rounds (the order rotates);
  beside it each of our publishers' own p99 (from the due instant to the hand-over to the
  kernel, without the network path and the receiver). Target: the callback source's p99
  at the receiver at most 10 % above the table's, on the minimum and on the median.
- COMTRADE export: channel samples written per second by ``write_record`` (one svID,
  10 s of 9-2LE at 4800 samples/s, received through ``SvReceiver`` + ``Recorder``: 8
  analog channels and 113 status channels), by ``Recording.to_comtrade`` +
  ``write_record`` (from the recorded samples), and by the whole
  ``sv decode CAPTURE --format comtrade`` on the corpus capture (read, decode, record,
  write). Target: >= 1 M analog channel samples per second.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_sv import (
    CAPTURE,
    DISTURBED,
    ROOT,
    SHORT,
    Target,
    _live_ready,
    _print_disturbed,
    _print_wakeups,
    _publisher_run,
    print_undecided,
    record_wakeups,
    wakeup_note,
)
from benchmarks.timing import interleaved, machine_load, print_table, rotated
from gen61850.runtime.comtrade import write_record
from gen61850.runtime.net.netns import VethPair
from gen61850.runtime.sv.publisher import Publisher
from gen61850.runtime.sv.receiver import SvReceiver
from gen61850.runtime.sv.recording import Recorder, Recording
from gen61850.runtime.sv.stream import StreamConfig

TARGETS: list[Target] = []
ENGINES = {
    "gen61850 table": (
        "gen61850",
        "Publisher with the precomputed one-second sine table (SineWave, the default)",
    ),
    "gen61850 callback": (
        "gen61850-callback",
        "Publisher with a Callback source: numpy computes each block of 8 channels (sin of the sample times) between bursts",
    ),
    "open61850 native": (
        "native",
        "open61850 Publisher, native engine (sendmmsg), its own three_phase signal",
    ),
}


def bench_publisher() -> None:
    note = _live_ready()
    if note:
        print(f"\nSV publisher with a live source: skipped ({note})")
        return
    seconds = 3.0 if SHORT else 10.0
    rounds = 2 if SHORT else 5
    names = list(ENGINES)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    wakeups: list[float] = []
    with VethPair("g61hil") as pair:
        for index in range(rounds):
            record_wakeups(wakeups)
            order = rotated(names, index)
            for name in order:
                results[name].append(_publisher_run(pair, ENGINES[name][0], seconds))
    rows: list[list[object]] = []
    p99: dict[str, list[float]] = {}
    for name, runs in results.items():
        good = [r for r in runs if "error" not in r]
        if not good:
            rows.append(
                [
                    name,
                    len(runs),
                    "failed",
                    runs[0].get("error", "") if runs else "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                ]
            )
            continue
        p99[name] = [r["p99"] / 1000 for r in good]
        sender = [r["p99_sender"] / 1000 for r in good if r.get("p99_sender") is not None]
        lost = [r["lost"] for r in good]
        rows.append(
            [
                name,
                len(good),
                f"{min(r['p50'] for r in good) / 1000:.1f} / {statistics.median(r['p50'] for r in good) / 1000:.1f}",
                f"{min(p99[name]):.1f} / {statistics.median(p99[name]):.1f}",
                " ".join(f"{v:.0f}" for v in p99[name]),
                f"{min(sender):.1f} / {statistics.median(sender):.1f}" if sender else "-",
                f"{min(r['max'] for r in good) / 1000:.1f}",
                f"{min(lost)} / {max(lost)}",
                ", ".join(str(r.get("underruns", "-")) for r in good),
                f"{min(r['frames'] for r in good)} / {good[0]['expected']}",
            ]
        )
    print_table(
        f"SV publisher with a live source: 8 streams x 4800 frames/s for {seconds:g} s, lateness "
        f"at a receiver (kernel timestamps), {rounds} interleaved rounds, all SCHED_FIFO 50 on "
        "the last CPU, none busy-waiting",
        [
            "publisher",
            "runs",
            "p50 µs min / median",
            "p99 µs min / median",
            "p99 µs, each round",
            "sender's own p99 µs min / median",
            "max µs (min)",
            "lost at receiver min/max",
            "underruns",
            "received (min) / scheduled",
        ],
        rows,
        [(name, line) for name, (_engine, line) in ENGINES.items()],
    )
    for runs in results.values():
        for run in runs:
            DISTURBED.update(run.get("disturbed", ()))
    _print_disturbed()
    _print_wakeups(wakeups)
    table, callback = p99.get("gen61850 table"), p99.get("gen61850 callback")
    if table and callback:
        ratio_min = min(callback) / min(table)
        ratio_median = statistics.median(callback) / statistics.median(table)
        native = p99.get("open61850 native")
        TARGETS.append(
            Target(
                "callback source p99 <= 1.10 x the table's (min; median)",
                f"{min(callback):.1f}; {statistics.median(callback):.1f} µs",
                f"table {min(table):.1f}; {statistics.median(table):.1f} µs"
                + (
                    f" (native {min(native):.1f}; {statistics.median(native):.1f})"
                    if native
                    else ""
                ),
                f"{ratio_min:.2f}x; {ratio_median:.2f}x",
                ratio_min <= 1.10 and ratio_median <= 1.10,
                wakeup_note(wakeups),
            )
        )


def _recording(seconds: float = 10.0) -> Recording:
    """One svID of 9-2LE at 4800 samples/s as the documented path keeps it: frames made by
    the publisher (a three-phase sine, 60 Hz), decoded by ``SvReceiver.feed`` and added to
    a ``Recorder`` (physical values, quality words, capture times)."""
    config = StreamConfig("MU01", signal_frequency=60.0)
    frames: list[tuple[int, bytes]] = []
    publisher = Publisher([config], sender=lambda frame, due: frames.append((due, bytes(frame))))
    publisher.run(count=int(seconds * 4800), paced=False, start_ns=1_800_000_000 * 10**9)
    receiver = SvReceiver(streams=[config])
    recorder = Recorder({"MU01": config.layout})
    for due, frame in frames:
        decoded = receiver.feed(frame, due / 1e9)
        assert decoded is not None
        recorder.add(decoded)
    return recorder.recordings["MU01"]


def bench_comtrade() -> None:
    recording = _recording()
    samples = recording.samples
    record = recording.to_comtrade(frequency=60.0)
    folder = Path(tempfile.mkdtemp(prefix="g61ct"))

    def writer(revision: str, form: str) -> Any:
        def run() -> None:
            record.revision, record.format = revision, form
            write_record(folder / f"w_{revision}_{form}", record)

        return run

    def from_samples() -> None:
        write_record(folder / "rec", recording.to_comtrade(frequency=60.0))

    cases = {
        "write_record 2013 BINARY32": writer("2013", "BINARY32"),
        "write_record 2013 FLOAT32": writer("2013", "FLOAT32"),
        "write_record 1999 BINARY": writer("1999", "BINARY"),
        "write_record 2013 ASCII": writer("2013", "ASCII"),
        "to_comtrade + write_record (BINARY32)": from_samples,
    }
    times = interleaved(cases, repeats=5, round_s=0.5)
    rows = []
    analog = samples * 8
    every = samples * (8 + 113)
    for name, timing in times.items():
        rows.append(
            [
                name,
                f"{timing.best * 1000:.1f} / {timing.median * 1000:.1f}",
                f"{analog / timing.best / 1e6:.2f} / {analog / timing.median / 1e6:.2f}",
                f"{every / timing.best / 1e6:.1f}",
            ]
        )
    # The whole command on the corpus capture (decode, record, write), fresh processes.
    command_rates: list[float] = []
    if CAPTURE.is_file():
        for _ in range(5):
            out = folder / "cli"
            began = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "gen61850",
                    "sv",
                    "decode",
                    str(CAPTURE),
                    "--format",
                    "comtrade",
                    "-o",
                    str(out),
                ],
                check=True,
                capture_output=True,
                cwd=ROOT,
            )
            command_rates.append(time.perf_counter() - began)
        corpus_samples = 10161 * 8
        best, median = min(command_rates), statistics.median(command_rates)
        rows.append(
            [
                "sv decode corpus --format comtrade (process)",
                f"{best * 1000:.0f} / {median * 1000:.0f}",
                f"{corpus_samples / best / 1e6:.2f} / {corpus_samples / median / 1e6:.2f}",
                f"{10161 * 121 / best / 1e6:.2f}",
            ]
        )
    print_table(
        f"COMTRADE export: one svID, {samples} samples (10 s of 9-2LE at 4800/s), "
        "8 analog + 113 status channels, 5 interleaved rounds",
        [
            "case",
            "ms min / median",
            "M analog samples/s min / median",
            "M all channel samples/s (best)",
        ],
        rows,
        [
            (
                "write_record",
                "the Record (numpy arrays) to .cfg + .dat, this revision and data format",
            ),
            (
                "to_comtrade + write_record",
                "received samples (the recorder's lists) to a Record (quality bits to status channels), then written",
            ),
            (
                "sv decode ... --format comtrade",
                "a fresh process: start-up, read the corpus capture (10,161 frames), decode, record, write",
            ),
        ],
    )
    best_binary = analog / times["write_record 2013 BINARY32"].best
    best_path = analog / times["to_comtrade + write_record (BINARY32)"].best
    TARGETS.append(
        Target(
            "COMTRADE export >= 1 M channel samples/s (BINARY32 write; from samples)",
            f"{best_binary / 1e6:.1f}; {best_path / 1e6:.2f} M/s",
            "-",
            "-",
            best_binary >= 1e6 and best_path >= 1e6,
        )
    )
    for path in folder.rglob("*"):
        if path.is_file():
            path.unlink()


def main() -> None:
    print(
        f"SV for HIL benchmarks ({machine_load()}; the machine may be shared: prefer the minimum)"
    )
    bench_comtrade()
    bench_publisher()
    print_table(
        "Issue 8 targets measured in this run",
        ["target", "gen61850", "reference, same run", "ratio", "verdict"],
        [[t.what, t.ours, t.peer, t.ratio, t.verdict] for t in TARGETS],
    )
    print_undecided(TARGETS)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
