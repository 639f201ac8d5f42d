"""IEC 61850-8-2 reports through a real XMPP server, beside one-way message stanzas.

Three processes: this one (the coordinator: starts the dev server, tells the others what
to do over their stdin/stdout, computes), an IED (``AcsiServer`` serving
``tests/xmpp/report_ied.icd``, changing ``GGIO1.Cnt.stVal`` to 1, 2, 3, ... with
``set_status``) and a client (``AcsiClient`` with the URCB or BRCB enabled, TrgOps dchg,
BufTm 0: one report per change). The floor is the same two XMPP accounts sending one-way
``message`` stanzas: bare (one small element) and carrying a copy of the report's XML in
another namespace (the same bytes and elements for the XMPP server to route).

Measures, per kind, interleaved (each repeat runs every kind in turn, the order rotated):
throughput = changes (or messages) / (last received - first sent), sent as fast as the IED
can; latency = receive time at the client's report callback - time of the change, for
changes paced at 200/s (CLOCK_MONOTONIC is one clock for every process of the machine).
Both processes settle their heap once set up (``runtime.heap.settle_heap``, as ``serve``
does), for the floor as for the reports.
Each repeat's figure; the table shows min and median over the repeats, and the load
average before and after.

``python -m benchmarks.bench_reports [--short] [--repeats N] [--server prosody|ejabberd]``
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, ClassVar

from slixmpp import Message
from slixmpp.xmlstream import ElementBase, register_stanza_plugin
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

from benchmarks.timing import cpu_seconds, print_table, rotated
from gen61850.runtime.heap import settle_heap

ROOT = Path(__file__).resolve().parents[1]
SCL = ROOT / "tests" / "xmpp" / "report_ied.icd"
COUNTER = "RIEDLD0/GGIO1.Cnt.stVal[ST]"
BENCH_NS = "urn:gen61850:bench"
# what report_ied.icd's RCBs carry: seqNum, timeStamp, dataSet, reasonCode, dataRef, configRef
SCL_OPT_FLDS = 0b0111110010
# brcbMany's: those and entryID (no segmentation: its reports fit the PDU size here)
MANY_OPT_FLDS = 0b0111110110
KINDS = (
    "bare message",
    "message, report's XML",
    "URCB report",
    "URCB report, OptFlds 0",
    "BRCB report",
    "BRCB, BufTm 50 ms, 24 members",
)
# the aggregated kind: brcbMany (data set Many: GGIO1.Ind1..Ind24) with BufTm 50 ms, the
# changes spread over the 24 indications in turn, so one report gathers up to 24 of them
GATHERED = KINDS[-1]
MEMBERS = 24
WHAT = (
    ("bare message", "the IED process sends a one-way message stanza of one small element"),
    ("message, report's XML", "the same, carrying a copy of a URCB report's XML (same bytes)"),
    ("URCB report", "set_status of GGIO1.Cnt.stVal; urcbEv01 (TrgOps dchg, BufTm 0) reports it"),
    ("URCB report, OptFlds 0", "the same with no optional field: the smallest report"),
    ("BRCB report", "the same through brcbEv01 (buffered: each entry kept, then sent)"),
    (
        GATHERED,
        "set_status of GGIO1.Ind1..Ind24 in turn; brcbMany with BufTm 50 ms gathers the "
        "changes of distinct members into one report; per s counts changes (each value "
        "checked); latency includes the BufTm wait, by design",
    ),
)


class Bench(ElementBase):
    name = "bench"
    namespace = BENCH_NS
    plugin_attrib = "bench"
    interfaces: ClassVar[set[str]] = {"n"}


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# ---------------------------------------------------------------- the IED process


async def _ied(options: dict[str, Any]) -> None:
    from gen61850.generator.scl.model import load_scl
    from gen61850.runtime.xmpp.model import ServedModel
    from gen61850.runtime.xmpp.server import AcsiServer

    scl = load_scl(SCL)
    model = ServedModel.from_ied(scl.ieds[0])
    server = AcsiServer(_settings(options, "benchied"), model)
    register_stanza_plugin(Message, Bench)
    captured: list[ET.Element] = []

    def keep_a_report(direction: str, element: ET.Element) -> None:
        if not captured and "informationReport" in ET.tostring(element, encoding="unicode"):
            captured.append(copy.deepcopy(element))

    server.inspect = keep_a_report
    await server.start()
    settle_heap()  # as ``gen61850 xmpp serve`` does once it serves
    client = f"benchclient@{options['domain']}/IEC"
    reader = await _stdin_reader()
    _say({"ready": True})
    value = 0  # the counter's value, and the number of the next spread change (all runs)
    spread = 0
    while True:
        command = json.loads(await reader.readline())
        if command["cmd"] == "quit":
            break
        count, rate = command["n"], command["rate"]
        sent: list[float] = []
        started = time.monotonic()
        for i in range(count):
            if rate:
                delay = started + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            if command["cmd"] == "changes":
                value += 1
                sent.append(time.monotonic())
                model.set_status(COUNTER, value)
            elif command["cmd"] == "spread":  # change n: Ind(n % 24 + 1), toggled each round
                sent.append(time.monotonic())
                model.set_status(_indication(spread), _toggle_value(spread))
                spread += 1
            else:
                message = server.make_message(mto=client, mtype="normal")
                if command["cmd"] == "copy" and captured:
                    wrapper = ET.SubElement(message.xml, f"{{{BENCH_NS}}}bench", n=str(i))
                    wrapper.append(copy.deepcopy(captured[0]))
                else:
                    message["bench"]["n"] = str(i)
                sent.append(time.monotonic())
                message.send()
            await asyncio.sleep(0)
        first = {"changes": value - count + 1, "spread": spread - count}.get(command["cmd"], 0)
        _say({"sent": sent, "first_value": first})
    await server.stop()


# ---------------------------------------------------------------- the client process


async def _client(options: dict[str, Any]) -> None:
    from gen61850.generated.scsm_8_2.bindings import InformationReport
    from gen61850.runtime.xmpp.client import AcsiClient
    from gen61850.runtime.xmpp.reports.codes import TRIGGERS, mask
    from gen61850.runtime.xmpp.reports.pdu import parse_report
    from gen61850.runtime.xmpp.reports.subscription import RcbName, set_rcb_values

    client = AcsiClient(_settings(options, "benchclient"))
    register_stanza_plugin(Message, Bench)
    heard: list[tuple[float, Any]] = []
    counted: list[int] = []  # changes per item heard: 1, or the members a report carries
    spread: dict[str, int] = {}  # per indication: its changes checked so far (all runs)
    gathering = False  # brcbMany enabled: count the changes in each report, not reports

    def on_bench(message: Any) -> None:
        heard.append((time.monotonic(), message))
        counted.append(1)

    client.register_handler(Callback("bench", StanzaPath("message/bench"), on_bench))
    await client.start()
    association = await client.associate(f"benchied@{options['domain']}")

    def on_report(_sender: str, report: InformationReport) -> None:
        heard.append((time.monotonic(), report))
        access = report.list_of_access_result
        if gathering and access is not None:
            counted.append(_members_in(len(access.access_result)))
        else:
            counted.append(1)

    association.report_listeners.append(on_report)
    settle_heap()  # what a long-running client does once connected (docs/xmpp.md)
    reader = await _stdin_reader()
    _say({"ready": True})
    enabled: RcbName | None = None
    while True:
        command = json.loads(await reader.readline())
        if command["cmd"] == "quit":
            break
        if command["cmd"] == "enable":
            if enabled is not None:
                await set_rcb_values(association, enabled, {"RptEna": False})
            fc, name = command["rcb"].split("$")
            enabled = RcbName("RIEDLD0", "LLN0", fc, name)
            if fc == "BR":  # a BRCB enabled once keeps buffering while disabled: start afresh
                await set_rcb_values(association, enabled, {"PurgeBuf": True})
            await set_rcb_values(
                association,
                enabled,
                {
                    "TrgOps": mask(TRIGGERS, ["dchg"]),
                    "BufTm": command.get("buf_tm", 0),
                    "OptFlds": command["opt_flds"],
                    "RptEna": True,
                },
            )
            gathering = name == "brcbMany"
            heard.clear()
            counted.clear()
            _say({"ok": True})
        elif command["cmd"] == "collect":
            deadline = time.monotonic() + command["timeout"]
            while sum(counted) < command["n"] and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            received: list[tuple[int, float]] = []
            for at, item in heard:
                if isinstance(item, InformationReport):
                    report = parse_report(item)
                    if command.get("spread"):
                        received.extend((n, at) for n in _spread_changes(report, spread))
                        continue
                    value = report.members[0].value.success
                    received.append((value.integer if value and value.integer else -1, at))
                else:
                    bench = item.xml.find(f"{{{BENCH_NS}}}bench")
                    received.append((int(bench.get("n")) if bench is not None else -1, at))
            heard.clear()
            counted.clear()
            _say({"received": received})
    await client.stop()


# ---------------------------------------------------------------- the spread changes


def _indication(n: int) -> str:
    """The indication change ``n`` of a spread run toggles."""
    return f"RIEDLD0/GGIO1.Ind{n % MEMBERS + 1}.stVal[ST]"


def _toggle_value(n: int) -> bool:
    """The value change ``n`` gives its indication: True in even rounds, False in odd."""
    return (n // MEMBERS) % 2 == 0


def _members_in(results: int) -> int:
    """The data-set members of a report of ``results`` access results with brcbMany's
    OptFlds (RptID, OptFlds, SeqNum, TimeOfEntry, DatSet, EntryID, ConfRev, inclusion, then
    per member its reference, value and reason): an estimate the client waits on; the
    changes counted are those ``_spread_changes`` checks."""
    return max(0, (results - 8) // 3)


def _spread_changes(report: Any, seen: dict[str, int]) -> list[int]:
    """The change numbers a brcbMany report carries, each value checked against the one
    the IED set (-1 for a member whose value is not the next one expected)."""
    from gen61850.runtime.xmpp.values import is_true

    numbers = []
    for member in report.members:
        k = int(member.reference.rpartition("Ind")[2]) - 1
        value = member.value.success
        stval = value.structure.data[0] if value is not None and value.structure else None
        round_ = seen.get(member.reference, 0)
        seen[member.reference] = round_ + 1
        n = round_ * MEMBERS + k
        ok = stval is not None and is_true(stval.boolean) == _toggle_value(n)
        numbers.append(n if ok else -1)
    return numbers


# ---------------------------------------------------------------- plumbing


def _settings(options: dict[str, Any], user: str) -> Any:
    from gen61850.runtime.xmpp.transport import XmppSettings

    return XmppSettings(
        jid=f"{user}@{options['domain']}",
        password=f"pw-{user}",
        host="127.0.0.1",
        port=options["port"],
        ca_file=options["ca"],
        request_timeout=30.0,
    )


async def _stdin_reader() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class Child:
    """A role in its own process, driven by JSON lines."""

    def __init__(self, role: str, options: dict[str, Any]) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.bench_reports",
                "--child",
                role,
                json.dumps(options),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.ask_nothing()

    def ask_nothing(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("a benchmark process ended early")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def tell(self, **command: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def ask(self, **command: Any) -> dict[str, Any]:
        self.tell(**command)
        return self.ask_nothing()

    def quit(self) -> None:
        try:
            self.tell(cmd="quit")
            self.process.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()


def _run_kind(
    ied: Child, client: Child, kind: str, count: int, rate: float
) -> tuple[float, list[float]]:
    """(throughput per s, latencies in ms) of one run of ``kind``."""
    if kind == GATHERED:
        client.ask(cmd="enable", rcb="BR$brcbMany", opt_flds=MANY_OPT_FLDS, buf_tm=50)
        command = "spread"
    elif "report" in kind and not kind.startswith("message"):
        client.ask(
            cmd="enable",
            rcb="RP$urcbEv01" if kind.startswith("URCB") else "BR$brcbEv01",
            opt_flds=0 if kind.endswith("OptFlds 0") else SCL_OPT_FLDS,
        )
        command = "changes"
    else:
        command = "bare" if kind == "bare message" else "copy"
    sent = ied.ask(cmd=command, n=count, rate=rate)
    received = client.ask(cmd="collect", n=count, timeout=60, spread=command == "spread")[
        "received"
    ]
    first_value = sent["first_value"]
    numbers = sorted(value for value, _ in received)
    if numbers != list(range(first_value, first_value + len(numbers))) or len(numbers) > count:
        raise RuntimeError(f"{kind}: a value arrived twice, or one the IED did not set")
    times = sent["sent"]
    latencies = [
        (at - times[value - first_value]) * 1e3
        for value, at in received
        if 0 <= value - first_value < len(times)
    ]
    if len(received) < count:
        print(f"  {kind}: {len(received)} of {count} arrived", flush=True)
    last = max((at for _, at in received), default=times[-1])
    return len(received) / (last - times[0]), latencies


def main() -> None:
    if "--child" in sys.argv:
        role = sys.argv[sys.argv.index("--child") + 1]
        options = json.loads(sys.argv[sys.argv.index("--child") + 2])
        asyncio.run(_ied(options) if role == "ied" else _client(options))
        return
    from gen61850.runtime.xmpp.devserver import dev_server

    short = "--short" in sys.argv
    repeats = int(sys.argv[sys.argv.index("--repeats") + 1]) if "--repeats" in sys.argv else 5
    kind_of_server = (
        sys.argv[sys.argv.index("--server") + 1] if "--server" in sys.argv else "prosody"
    )
    burst, paced, rate = (1000, 200, 200.0) if short else (4000, 400, 200.0)
    load_before = os.getloadavg()
    with dev_server(kind_of_server) as dev:
        dev.register_many({"benchied": "pw-benchied", "benchclient": "pw-benchclient"})
        options = {"port": dev.port, "ca": str(dev.ca_file), "domain": dev.domain}
        ied = Child("ied", options)
        client = Child("client", options)
        try:
            client.ask(cmd="enable", rcb="RP$urcbEv01", opt_flds=SCL_OPT_FLDS)
            ied.ask(cmd="changes", n=50, rate=0)  # warm up, and the report XML for the copy
            client.ask(cmd="collect", n=50, timeout=30)
            pids = {"IED": ied.process.pid, "client": client.process.pid, "XMPP server": dev.pid}
            cpu: dict[str, dict[str, list[float]]] = {k: {p: [] for p in pids} for k in KINDS}
            throughput: dict[str, list[float]] = {k: [] for k in KINDS}
            p50: dict[str, list[float]] = {k: [] for k in KINDS}
            p99: dict[str, list[float]] = {k: [] for k in KINDS}
            for repeat in range(repeats):
                order = rotated(KINDS, repeat)
                for kind in order:
                    before = {name: cpu_seconds(pid) for name, pid in pids.items() if pid}
                    per_second, _ = _run_kind(ied, client, kind, burst, 0)
                    for name, pid in pids.items():
                        if pid:
                            used = cpu_seconds(pid) - before[name]
                            cpu[kind][name].append(used / burst * 1e6)
                    _, latencies = _run_kind(ied, client, kind, paced, rate)
                    throughput[kind].append(per_second)
                    p50[kind].append(_percentile(latencies, 0.5))
                    p99[kind].append(_percentile(latencies, 0.99))
        finally:
            ied.quit()
            client.quit()
    load_after = os.getloadavg()
    rows: list[list[object]] = []
    floor_rate = statistics.median(throughput["bare message"])
    floor_p50 = statistics.median(p50["bare message"])
    for kind in KINDS:
        rate_median, p50_median = statistics.median(throughput[kind]), statistics.median(p50[kind])
        rows.append(
            [
                kind,
                f"{min(throughput[kind]):,.0f} / {rate_median:,.0f}",
                f"{rate_median / floor_rate:.2f}x",
                f"{min(p50[kind]):.2f} / {p50_median:.2f}",
                f"{p50_median / floor_p50:.2f}x",
                f"{min(p99[kind]):.2f} / {statistics.median(p99[kind]):.2f}",
            ]
        )
    print_table(
        f"8-2 reports through {kind_of_server} with TLS (XEP-0198 on), IED and client in separate "
        f"processes (heaps settled as serve does): {burst} changes as fast as possible "
        f"(throughput), {paced} at {rate:g}/s "
        f"(latency, change -> client callback); {repeats} interleaved repeats, min / median; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after",
        [
            "kind",
            "per s (min / median)",
            "vs bare",
            "p50 ms (min / median)",
            "vs bare",
            "p99 ms (min / median)",
        ],
        rows,
        WHAT,
    )
    print_table(
        "CPU time per report (or message) in the throughput runs, median of the repeats (µs; "
        "the 2 cores are shared by all three)",
        ["kind", *cpu[KINDS[0]]],
        [[k, *(f"{statistics.median(v):.0f}" for v in cpu[k].values())] for k in KINDS],
    )


if __name__ == "__main__":
    main()
