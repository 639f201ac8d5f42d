"""Instructions per operation, counted by valgrind's callgrind: CPU work without the clock.

Times on a shared VM move with the host (2026-12-02: the same code's figures moved by a
half between runs minutes apart, its own wake-ups by milliseconds); the number of
instructions a piece of work executes does not, so it tells whether a change made a CPU
path lighter. It is not time (cache misses and branch mispredictions cost cycles the count
does not show), and it is not what a target of an issue is stated in: those stay in the
other benchmarks. Each case runs in a fresh process under ``valgrind --tool=callgrind``
twice, once set up without the work and once with it repeated ``n`` times; the difference
divided by ``n`` is one operation's instructions (set-up and start-up cancel out; the hash
seed is fixed so that both runs take the same paths). Cases beside a peer (lxml's parse,
the open61850_rt loop) print the ratio of the two counts.

``python -m benchmarks instructions`` (also in ``nox -s bench``; needs valgrind, which the
bench session installs on Debian).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.bench_scl import BCU, CORPUS
from benchmarks.timing import machine_load, print_table

ROOT = Path(__file__).resolve().parents[1]
CONTROL_SCL = ROOT / "tests" / "xmpp" / "control_ied.icd"
REPORT_SCL = ROOT / "tests" / "xmpp" / "report_ied.icd"
CAPTURE = CORPUS / "pcap" / "SV_Normal_Traffic.cap"
"""bench_sv's capture, not imported from it: every child would then carry its modules
(open61850, scapy), and a larger heap costs more instructions in the collector."""
LD = "CIEDLD0"
PEER = "client@iec61850.test/IEC"
MOST = 200
"""Operations a controls case repeats at most."""
ROUNDS = int(os.environ.get("GEN61850_BENCH_REPEAT", "1"))
"""Counts per case (``GEN61850_BENCH_REPEAT``): one is enough where counts repeat (the same
code's counts agreed within 0.5 % over four runs, 2026-12-02); more print min and median."""
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


# ---------------------------------------------------------------- the work, in a child


def _served(scl: Path, now: list[float]) -> tuple[Any, Any]:
    """The first IED of ``scl`` served by a sans-I/O core on the clock ``now[0]``, with the
    report and log engines ``AcsiServer`` attaches (every change reaches them), and one
    association (``a1``) of ``PEER``: (the served model, the core)."""
    from gen61850.generated.scsm_8_2 import codec
    from gen61850.generator.scl.model import load_scl
    from gen61850.runtime.xmpp import pdus
    from gen61850.runtime.xmpp.core import ServerCore
    from gen61850.runtime.xmpp.logs.engine import LogEngine
    from gen61850.runtime.xmpp.model import ServedModel
    from gen61850.runtime.xmpp.reports.engine import ReportEngine

    model = ServedModel.from_ied(load_scl(scl).ieds[0], clock=lambda: now[0])
    core = ServerCore(model, local_jid="ied@iec61850.test/IEC")
    reports = ReportEngine(core, None)
    LogEngine(core, reports.journal, None)
    initiate = codec.encode(pdus.context("a1", pdus.initiate_request(65_000, 8)))
    core.receive(PEER, "set", "i", initiate, now[0])
    return model, core


def _settled() -> None:
    """Once set up, the heap settled as ``gen61850 xmpp serve`` settles it (``settle_heap``):
    what the collector walks per operation then no longer depends on what the set-up left."""
    from gen61850.runtime.heap import settle_heap

    settle_heap()


def _controls(which: str, repeat: int) -> None:
    """An IED's sans-I/O core serving control_ied.icd with its control service and, as
    ``AcsiServer`` has them, its report and log engines; one association; ``repeat`` times
    a direct Operate of GGIO1.SPCSO1 (``direct``), or a SelectWithValue + Operate of
    XCBR1.Pos with its CommandTermination (``sbo``): the requests' payloads as a client
    encodes them, made before the count starts to matter (both runs make them)."""
    from gen61850.generated.scsm_8_2 import codec, services
    from gen61850.generated.scsm_8_2.bindings import DataList, WriteRequest
    from gen61850.runtime.device.control import Origin
    from gen61850.runtime.xmpp import pdus
    from gen61850.runtime.xmpp.client import variables
    from gen61850.runtime.xmpp.control_client import request_data
    from gen61850.runtime.xmpp.controls import ControlService

    now = [1_800_000_000.0]
    model, core = _served(CONTROL_SCL, now)
    ControlService(core)
    do, steps = (
        ("GGIO1$CO$SPCSO1", ("Oper",)) if which == "direct" else ("XCBR1$CO$Pos", ("SBOw", "Oper"))
    )

    def payload(which_write: str, ctl_num: int) -> Any:
        item = f"{do}${which_write}"
        values = {
            "ctlVal": True,
            "operTm": None,
            "origin": Origin(3, b"op1"),
            "ctlNum": ctl_num,
            "T": now[0],
            "Test": False,
            "Check": None,
        }
        data = request_data(model.stored_type(LD, item), values, item)
        request = WriteRequest(
            variable_access_specification=variables([(LD, item)]),
            list_of_data=DataList(data=[data]),
        )
        return codec.encode(pdus.context("a1", services.write_request(9, request)))

    warm = 50
    assert repeat <= MOST, repeat
    # as many payloads in both runs, so that making them cancels out
    payloads = [[payload(step, i % 256) for step in steps] for i in range(warm + MOST)]
    _settled()

    def operation(index: int) -> None:
        for element in payloads[index]:
            now[0] += 0.001
            outputs = core.receive(PEER, "set", "q", element, now[0])
            outputs += core.handle_timer(now[0])
            assert outputs, "no answer"
        now[0] += 0.01
        core.handle_timer(now[0])

    for index in range(warm):
        operation(index)
    for index in range(warm, warm + repeat):
        operation(index)


def _reports(_which: str, repeat: int) -> None:
    """report_ied.icd served by a sans-I/O core with its report and log engines, brcbMany
    (data set Many: GGIO1.Ind1..Ind24) enabled with BufTm 50 ms; one operation is 24
    changes (``ServedModel.set_status`` of each indication in turn) and the report that
    gathers them when BufTm runs out (built and encoded)."""
    from gen61850.generated.scsm_8_2 import codec, services
    from gen61850.generated.scsm_8_2.bindings import DataList, WriteRequest
    from gen61850.runtime.device.types import BasicType
    from gen61850.runtime.xmpp import pdus
    from gen61850.runtime.xmpp.client import variables
    from gen61850.runtime.xmpp.outputs import Message
    from gen61850.runtime.xmpp.values import scalar_to_data

    now = [1_800_000_000.0]
    model, core = _served(REPORT_SCL, now)
    rcb = "LLN0$BR$brcbMany"
    for item, btype, value in (
        (f"{rcb}$BufTm", BasicType.INT32U, 50),
        (f"{rcb}$RptEna", BasicType.BOOLEAN, True),
    ):
        request = WriteRequest(
            variable_access_specification=variables([("RIEDLD0", item)]),
            list_of_data=DataList(data=[scalar_to_data(btype, value)]),
        )
        element = codec.encode(pdus.context("a1", services.write_request(1, request)))
        core.receive(PEER, "set", "w", element, now[0])
    changes = [0]

    def operation() -> None:
        for _ in range(24):
            n = changes[0]
            model.set_status(f"RIEDLD0/GGIO1.Ind{n % 24 + 1}.stVal[ST]", (n // 24) % 2 == 0)
            changes[0] += 1
        now[0] += 0.051
        outputs = core.handle_timer(now[0])
        assert any(isinstance(o, Message) for o in outputs), "no report"

    _settled()
    for _ in range(20):
        operation()
    for _ in range(repeat):
        operation()


def _batch(which: str, repeat: int) -> None:
    """The corpus capture's 10,161 frames (a list of bytes) to smpCnt and scaled values:
    ``decode_frames`` + ``Batch.scaled()`` (``ours``), or open61850_rt's decode of each
    frame and one numpy division (``peer``), as ``bench_sv`` compares them."""
    import numpy as np

    from benchmarks.bench_sv import LAYOUT, SCALES, open61850_rt_scaled
    from gen61850.runtime.pcap import read_capture
    from gen61850.runtime.sv.batch import decode_frames
    from gen61850.runtime.sv.receiver import SvReceiver

    frames = [f.data for f in read_capture(CAPTURE)]
    shape = SvReceiver(layouts={"4001": LAYOUT}).unpack(frames[0])[0]
    scales = np.array(SCALES)

    def ours() -> object:
        batch = decode_frames(shape, frames)
        return batch.smp_cnt, batch.scaled()

    def peer() -> object:
        return open61850_rt_scaled(frames, scales)

    work = ours if which == "ours" else peer
    for _ in range(3):
        work()
    for _ in range(repeat):
        work()


def _scl(which: str, repeat: int) -> None:
    """``load_scl`` of BCU_402T (``load``), or lxml's parse of the same file (``lxml``)."""
    path = BCU
    work: Callable[[], object]
    if which == "lxml":
        from lxml import etree

        def work() -> object:
            return etree.parse(str(path))

    else:
        from gen61850.generator.scl.model import load_scl

        def work() -> object:
            return load_scl(path)

    work()  # what the first call does once (imports, caches) is not the operation
    for _ in range(repeat):
        work()


@dataclass(frozen=True)
class Case:
    """One count: ``work(which, n)`` in a child; ``per``: the count is also shown per
    (unit, units in one operation); ``peer``: the case it is compared with (peer / this)."""

    work: Callable[[str, int], None]
    which: str
    repeat: int
    what: str
    needs: Path | None = None
    per: tuple[str, int] | None = None
    peer: str | None = None


FRAMES = 10_161  # in the corpus capture
CASES: dict[str, Case] = {
    "8-2 direct Operate": Case(
        _controls,
        "direct",
        200,
        "ServerCore.receive of a direct-with-normal-security Operate (decode, control, store, answer encoded)",
    ),
    "8-2 SBOw + Operate + CmdTerm": Case(
        _controls,
        "sbo",
        200,
        "ServerCore.receive of SelectWithValue then Operate of an sbo-with-enhanced-security DPC, with its CommandTermination",
    ),
    "8-2 BRCB report of 24 changes": Case(
        _reports,
        "",
        40,
        "24 set_status of GGIO1.Ind1..24 and brcbMany's report gathering them (BufTm 50 ms), built and encoded by the core",
        per=("change", 24),
    ),
    "SV open61850_rt loop + scaling (10,161 frames)": Case(
        _batch,
        "peer",
        3,
        "open61850_rt.decode_sv_frame of each frame, the samples joined and divided by the scales in numpy (bench_sv's peer)",
        needs=CAPTURE,
        per=("frame", FRAMES),
    ),
    "SV decode_frames + scaled (10,161 frames)": Case(
        _batch,
        "ours",
        20,
        "decode_frames of the corpus capture's frames (a list), smpCnt and Batch.scaled() of every frame",
        needs=CAPTURE,
        per=("frame", FRAMES),
        peer="SV open61850_rt loop + scaling (10,161 frames)",
    ),
    "SCL lxml parse (BCU_402T)": Case(
        _scl,
        "lxml",
        10,
        "lxml.etree.parse of BCU_402T.scd (the peer of the load below)",
        needs=BCU,
    ),
    "SCL load_scl(BCU_402T)": Case(
        _scl,
        "load",
        3,
        "load_scl of the corpus's BCU_402T.scd (865 KB, 4 IEDs): the whole reader",
        needs=BCU,
        peer="SCL lxml parse (BCU_402T)",
    ),
}


def _child(name: str, repeat: int) -> None:
    case = CASES[name]
    case.work(case.which, repeat)


# ---------------------------------------------------------------- counting


def _count(name: str, repeat: int) -> int:
    """Instructions of a fresh child process doing case ``name`` ``repeat`` times."""
    with tempfile.TemporaryDirectory(prefix="gen61850-callgrind-") as folder:
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={folder}/out",
                sys.executable,
                "-m",
                "benchmarks.bench_instructions",
                "--child",
                json.dumps([name, repeat]),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
    found = _REFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{name}: callgrind failed: {done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    if shutil.which("valgrind") is None:
        print("\ninstructions: skipped (valgrind is not installed)")
        return
    started = time.monotonic()
    cases = {name: case for name, case in CASES.items() if not case.needs or case.needs.is_file()}
    for name in CASES.keys() - cases.keys():
        print(f"  {name}: skipped ({CASES[name].needs} is not here)")
    counts: dict[str, list[float]] = {name: [] for name in cases}
    for _round in range(ROUNDS):  # the cases in turn, round after round
        for name, case in cases.items():
            without, with_work = _count(name, 0), _count(name, case.repeat)
            counts[name].append((with_work - without) / case.repeat)
    rows: list[list[object]] = []
    for name, case in cases.items():
        least, median = min(counts[name]), statistics.median(counts[name])
        shown = f"{least:,.0f} / {median:,.0f}"
        if case.per is not None:
            unit, units = case.per
            shown += f" ({least / units:,.0f} per {unit})"
        ratio = ""
        if case.peer in counts:
            peer = min(counts[case.peer])
            ratio = (
                f"{peer / least:.1f}x fewer" if least < peer else f"{least / peer:.2f}x the peer's"
            )
        rows.append([name, shown, ratio])
    print_table(
        f"Instructions per operation (valgrind callgrind, fresh processes, hash seed 0, "
        f"{ROUNDS} round(s); {machine_load()}; {time.monotonic() - started:.0f} s)",
        ["case", "instructions per operation, min / median", "ratio (min)"],
        rows,
        [(name, case.what) for name, case in cases.items()],
    )


if __name__ == "__main__":
    if "--child" in sys.argv:
        case, count = json.loads(sys.argv[sys.argv.index("--child") + 1])
        _child(case, count)
    else:
        main()
