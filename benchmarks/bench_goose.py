"""GOOSE: decode µs per frame to typed values beside open61850, and the latency from a
state change's publish() to the subscriber's callback on a veth pair.

Decode: the cases of one table run interleaved (one timed block of each case per round,
``ROUNDS`` rounds), each round long enough for the clock; min and median per case. Every
case decodes the same frames from the Ethernet header to per-value objects:
gen61850's generated codec (``decode_frame``: header + ``IECGoosePdu`` with one ``Data``
dataclass per value), open61850's pure-Python ``decode_goose_frame`` (``GoosePDU`` with
one ``IECData`` per value), open61850_rt (its Rust decoder, tuples per value). Extra rows:
our receiver's quick parse of a repetition, and our values typed per the data set.

Latency: our ``GoosePublisher.publish`` in one namespace, our ``GooseSubscriber`` in the
other; from just before publish() to the subscriber yielding the message, for
``CHANGES`` state changes 20 ms apart; p50/p99. Needs root (skipped with a note).
``python -m benchmarks goose`` runs it; ``--short`` for fewer rounds and changes.
"""

from __future__ import annotations

import itertools
import os
import statistics
import sys
import threading
import time
import timeit
from collections.abc import Callable
from pathlib import Path

import open61850.goose as open61850_goose
import open61850_rt

from benchmarks.timing import print_table
from gen61850.generated.goose.iec61850_8_1 import DataBoolean
from gen61850.runtime.goose.frame import decode_frame
from gen61850.runtime.goose.receiver import GooseReceiver
from gen61850.runtime.goose.values import MemberType, typed_values
from gen61850.runtime.pcap import read_capture

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "pcap"
SHORT = "--short" in sys.argv or os.environ.get("GEN61850_BENCH_SHORT") == "1"
ROUNDS = 5 if SHORT else 9
ROUND_SECONDS = 0.05 if SHORT else 0.15
CHANGES = 50 if SHORT else 300


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def interleaved(cases: dict[str, Callable[[], object]]) -> dict[str, tuple[float, float]]:
    """µs per call of each case: (min, median) over ROUNDS rounds, cases interleaved."""
    numbers = {}
    for name, function in cases.items():
        number, elapsed = timeit.Timer(function).autorange()
        numbers[name] = max(1, int(number * ROUND_SECONDS / max(elapsed, 1e-9)))
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(ROUNDS):
        for name, function in cases.items():
            total = timeit.timeit(function, number=numbers[name])
            samples[name].append(total / numbers[name] * 1e6)
    return {name: (min(v), statistics.median(v)) for name, v in samples.items()}


def corpus_sets() -> dict[str, list[bytes]]:
    """Frame sets: each corpus capture's GOOSE frames, and our every-alternative frames."""
    sets: dict[str, list[bytes]] = {}
    for name, label in (
        ("GOOSE.pcap", "GE F650, 8 values"),
        ("Sample_File_MMS_and_GOOSE.pcap", "ABB IEDs, 25 values"),
    ):
        path = CORPUS / name
        if path.is_file():
            sets[label] = [f.data for f in read_capture(path) if f.data[12:14] == b"\x88\xb8"]
    sys.path.insert(0, str(ROOT))
    from tests.goose.own_frames import own_frames

    sets["ours, 17 values of every kind"] = [f for _, f in own_frames()]
    return sets


def bench_decode() -> None:
    rows = []
    for label, frames in corpus_sets().items():
        cycle = itertools.cycle(frames)

        def ours(cycle: itertools.cycle[bytes] = cycle) -> object:
            return decode_frame(next(cycle))

        def open61850_python(cycle: itertools.cycle[bytes] = cycle) -> object:
            return open61850_goose.decode_goose_frame(next(cycle))

        def open61850_native(cycle: itertools.cycle[bytes] = cycle) -> object:
            return open61850_rt.decode_goose_frame(next(cycle))

        result = interleaved(
            {
                "gen61850 decode_frame": ours,
                "open61850 decode_goose_frame (Python)": open61850_python,
                "open61850_rt decode_goose_frame (Rust)": open61850_native,
            }
        )
        ours_min, ours_median = result["gen61850 decode_frame"]
        for name, (low, middle) in result.items():
            rows.append(
                [label, name, low, middle, f"{low / ours_min:.2f}", f"{middle / ours_median:.2f}"]
            )
    print_table(
        f"GOOSE decode, frame to one object per value (µs/frame; ratio = case / gen61850; "
        f"{ROUNDS} interleaved rounds; {load()})",
        ["frames", "case", "min µs", "median µs", "min ratio", "median ratio"],
        rows,
    )


def bench_receive_paths() -> None:
    """Our receive paths on the ABB frames: full decode, quick parse of a repetition,
    and values typed per the data set (25 members: 7 BOOLEAN, 9 Dbpos + 9 Quality)."""
    frames = corpus_sets().get("ABB IEDs, 25 values")
    if not frames:
        print("\n(no corpus: receive paths skipped)")
        return
    frame = frames[0]
    repetition = GooseReceiver()
    repetition.feed(frame, 0.0)
    full = GooseReceiver(quick=False)
    members = [MemberType.basic("BOOLEAN")] * 7 + [
        MemberType.basic(kind) for _ in range(9) for kind in ("Dbpos", "Quality")
    ]
    pdu = decode_frame(frame).pdu

    result = interleaved(
        {
            "GooseReceiver.feed, full decode + supervision": lambda: full.feed(frame, 1.0),
            "GooseReceiver.feed, a repetition (quick parse)": lambda: repetition.feed(frame, 1.0),
            "typed_values of the 25 decoded values": lambda: typed_values(pdu.allData, members),
        }
    )
    print_table(
        f"GOOSE receive paths, ABB frame of 25 values (µs; {ROUNDS} interleaved rounds; {load()})",
        ["case", "min µs", "median µs"],
        [[name, low, middle] for name, (low, middle) in result.items()],
    )


def bench_latency() -> None:
    if os.geteuid() != 0:
        print("\n(not root: publish-to-callback latency on a veth pair skipped)")
        return
    from gen61850.runtime.goose.publisher import GooseConfig, GoosePublisher
    from gen61850.runtime.goose.subscriber import GooseSubscriber
    from gen61850.runtime.net.netns import VethPair, inside

    config = GooseConfig(
        "G61BENCHLD0/LLN0$GO$gcb1", "G61BENCHLD0/LLN0$DS1", appid=0x3F01, min_time_ms=4
    )
    latencies: list[float] = []
    with VethPair(f"g61gb{os.getpid() % 4096:03x}") as veth:
        with inside(veth.ns_b):
            subscriber = GooseSubscriber(veth.if_b, appids=[0x3F01], quick=True)
        with inside(veth.ns_a):
            publisher = GoosePublisher(config, [DataBoolean(False)], iface=veth.if_a)
        sent_at: dict[int, int] = {}
        done = threading.Event()

        def receive() -> None:
            for message in subscriber.messages(duration=CHANGES * 0.03 + 5):
                if message.pdu.sqNum == 0 and message.pdu.stNum in sent_at:
                    latencies.append((time.perf_counter_ns() - sent_at[message.pdu.stNum]) / 1e3)
                    if len(latencies) >= CHANGES:
                        break
            done.set()

        thread = threading.Thread(target=receive)
        thread.start()
        publisher.start()
        time.sleep(0.1)
        for change in range(CHANGES):
            sent_at[change + 2] = time.perf_counter_ns()
            publisher.publish([DataBoolean(change % 2 == 0)])
            time.sleep(0.02)
        done.wait(10)
        publisher.close()
        thread.join(10)
        subscriber.close()
    if not latencies:
        print("\n(no state change arrived: latency not measured)")
        return
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    print_table(
        f"GOOSE state change, publish() to the subscriber's message on a veth pair "
        f"(µs; {len(latencies)} changes 20 ms apart; {load()})",
        ["path", "p50 µs", "p99 µs", "max µs"],
        [
            [
                "gen61850 GoosePublisher.publish -> GooseSubscriber.messages",
                statistics.median(latencies),
                p99,
                max(latencies),
            ]
        ],
    )


def main() -> None:
    print("machine:", load())
    bench_decode()
    bench_receive_paths()
    bench_latency()


if __name__ == "__main__":
    main()
