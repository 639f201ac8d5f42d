"""IEC 61850-8-2 controls and files through a real XMPP server, beside the bare-IQ floor.

Measured, client and IED in separate processes, through Prosody and ejabberd with TLS:

- Operate, direct-with-normal-security: the write of ``$Oper`` to its answer;
- Operate, sbo-with-enhanced-security: SelectWithValue, Operate, to the CommandTermination;
- GetFile of a 10 MB file (fileOpen, fileRead until the end, fileClose; written to disk).

The floor of each is bare slixmpp traffic between the same two accounts through the same
server in the same run, carrying the same XML: the client first runs each case of ours
once and records every payload (requests, answers, the reports between them); the IED
process then answers bare IQs of the same requests with the same answers and sends the
same messages, from a plain slixmpp handler. What is left between the two is our stack
(codec, association, control machines, file store, client bookkeeping).

Honest timing: the cases run interleaved (ours and floor alternate which goes first), in
``REPEATS`` rounds; each round gives p50 and p99 (operates) or MB/s (files); the tables
show min and median over the rounds, and the load average before and after.
``python -m benchmarks.bench_xmpp_acting --short`` runs fewer operations and 2 MB;
``--server prosody`` or ``ejabberd`` runs one server only.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from slixmpp import Iq, Message
from slixmpp.xmlstream import ElementBase, register_stanza_plugin
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

from benchmarks.timing import CpuMeter, print_table

ROOT = Path(__file__).resolve().parents[1]
SCL = ROOT / "tests" / "xmpp" / "control_ied.icd"
LD = "CIEDLD0"
BENCH_NS = "urn:gen61850:bench"
REPEATS = 5


class Bench(ElementBase):
    name = "bench"
    namespace = BENCH_NS
    plugin_attrib = "bench"
    interfaces: ClassVar[set[str]] = {"key", "step"}


def _settings(spec: dict[str, Any], user: str) -> Any:
    from gen61850.runtime.xmpp.transport import XmppSettings

    return XmppSettings(
        jid=f"{user}@{spec['domain']}",
        password=f"pw-{user}",
        host="127.0.0.1",
        port=spec["port"],
        ca_file=spec["ca"],
        request_timeout=60.0,
    )


# ---------------------------------------------------------------- the IED process


def serve(spec: dict[str, Any]) -> None:
    """The IED (controls, setting groups, a file store) and the floor's responder, on one
    account, until SIGTERM."""
    from gen61850.generator.scl.model import load_scl
    from gen61850.runtime.filestore import FileStore
    from gen61850.runtime.xmpp.controls import ControlService
    from gen61850.runtime.xmpp.files import FileService
    from gen61850.runtime.xmpp.model import ServedModel
    from gen61850.runtime.xmpp.server import AcsiServer

    async def body() -> None:
        model = ServedModel.from_ied(load_scl(SCL).ieds[0])
        server = AcsiServer(_settings(spec, "benchied"), model)
        ControlService(server.core)
        FileService(server.core, FileStore(Path(spec["store"])))
        register_stanza_plugin(Iq, Bench)
        register_stanza_plugin(Message, Bench)
        # key → steps: (answer payload, messages before it, messages after it)
        recorded: dict[str, list[tuple[ET.Element, list[ET.Element], list[ET.Element]]]] = {}

        def setup(iq: Any) -> None:
            """One recorded step (a stanza each: a whole GetFile would exceed stanza limits)."""
            wrapper = iq.xml.find(f"{{{BENCH_NS}}}bench")
            step = wrapper.find(f"{{{BENCH_NS}}}step")
            answer = step.find(f"{{{BENCH_NS}}}answer")
            before = step.find(f"{{{BENCH_NS}}}before")
            after = step.find(f"{{{BENCH_NS}}}after")
            steps = recorded.setdefault(wrapper.get("key"), [])
            steps.append((answer[0], list(before), list(after)))
            server.make_iq_result(id=iq["id"], ito=iq["from"]).send()

        def send_message(to: str, payload: ET.Element) -> None:
            message = server.make_message(mto=to, mtype="normal")
            wrapper = ET.SubElement(message.xml, f"{{{BENCH_NS}}}bench")
            wrapper.append(copy.copy(payload))
            message.send()

        def echo(iq: Any) -> None:
            wrapper = iq.xml.find(f"{{{BENCH_NS}}}bench")
            if wrapper.get("setup"):
                setup(iq)
                return
            answer, before, after = recorded[wrapper.get("key")][int(wrapper.get("step"))]
            peer = str(iq["from"])
            for payload in before:
                send_message(peer, payload)
            # a new stanza, as AcsiServer answers (iq.reply() would deep-copy the request)
            reply = server.make_iq_result(id=iq["id"], ito=iq["from"])
            ET.SubElement(reply.xml, f"{{{BENCH_NS}}}bench").append(copy.copy(answer))
            reply.send()
            for payload in after:
                send_message(peer, payload)

        for iq_type in ("get", "set"):
            server.register_handler(
                Callback(f"bench {iq_type}", StanzaPath(f"iq@type={iq_type}/bench"), echo)
            )
        await server.start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print("ready", flush=True)
        await stop.wait()
        await server.stop()

    asyncio.run(body())


# ---------------------------------------------------------------- the client process


@dataclass
class Recording:
    """What one case of ours sent and received, step by step."""

    requests: list[ET.Element] = field(default_factory=list)
    answers: list[ET.Element] = field(default_factory=list)
    before: list[list[ET.Element]] = field(default_factory=list)
    after: list[list[ET.Element]] = field(default_factory=list)
    iq_types: list[str] = field(default_factory=list)


class Recorder:
    """An inspector that files each payload under the request it belongs to."""

    def __init__(self) -> None:
        self.active: Recording | None = None
        self._pending: list[ET.Element] = []

    def __call__(self, direction: str, element: ET.Element) -> None:
        recording = self.active
        if recording is None:
            return
        pdu = element.find(f"{{{_ns()}}}pdu")
        kind = pdu[0].tag.split("}", 1)[1] if pdu is not None and len(pdu) else ""
        element = copy.deepcopy(element)
        if direction == "sent":
            recording.requests.append(element)
            recording.before.append([])
            recording.after.append([])
            recording.iq_types.append("set" if _is_set(element) else "get")
        elif kind == "unconfirmed-PDU":
            target = (
                recording.before
                if len(recording.answers) < len(recording.requests)
                else recording.after
            )
            target[-1].append(element)
        else:
            recording.answers.append(element)


def _ns() -> str:
    from gen61850.generated.scsm_8_2 import codec

    return codec.NAMESPACE


def _is_set(element: ET.Element) -> bool:
    service = element.find(f"{{{_ns()}}}pdu/{{{_ns()}}}confirmed-RequestPDU/{{{_ns()}}}service")
    set_services = {"write", "fileOpen", "fileClose", "fileDelete"}
    return (
        service is not None and len(service) > 0 and service[0].tag.split("}", 1)[1] in set_services
    )


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _timed(call: Callable[[], Awaitable[object]], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1e3)
    return samples


async def _client(
    spec: dict[str, Any], operations: int, file_size: int
) -> tuple[list[list[object]], list[list[object]]]:
    from gen61850.runtime.xmpp.client import AcsiClient
    from gen61850.runtime.xmpp.control_client import ControlClient
    from gen61850.runtime.xmpp.file_client import FileClient

    recorder = Recorder()
    client = AcsiClient(_settings(spec, "benchclient"), inspect=recorder)
    register_stanza_plugin(Iq, Bench)
    register_stanza_plugin(Message, Bench)
    arrived: asyncio.Queue[None] = asyncio.Queue()
    client.register_handler(
        Callback("bench message", StanzaPath("message/bench"), lambda _m: arrived.put_nowait(None))
    )
    await client.start()
    peer = f"benchied@{spec['domain']}/IEC"
    target = Path(spec["store"]).parent / "copy.dat"
    try:
        association = await client.associate(peer)
        control = ControlClient(association)
        files = FileClient(association)

        async def direct() -> object:
            return await control.operate(f"{LD}/GGIO1.SPCSO1", True)

        async def enhanced() -> object:
            await control.select_with_value(f"{LD}/XCBR1.Pos", True)
            result = await control.operate(f"{LD}/XCBR1.Pos", True)
            assert result.terminated, result.describe()
            return result

        async def get_file() -> object:
            return await files.get_file("big.dat", target)

        ours: dict[str, Callable[[], Awaitable[object]]] = {
            "direct": direct,
            "enhanced": enhanced,
            "file": get_file,
        }
        for case in ours.values():  # type descriptions, ctlModel, caches
            await case()
        recordings: dict[str, Recording] = {}
        for key, case in ours.items():
            recorder.active = recordings[key] = Recording()
            await case()
            recorder.active = None
        assert hashlib.sha256(target.read_bytes()).hexdigest() == spec["sha256"]
        for key, recording in recordings.items():
            await _setup(client, peer, key, recording)

        def floor_of(key: str) -> Callable[[], Awaitable[object]]:
            recording = recordings[key]
            expected = sum(len(a) for a in recording.after) + sum(len(b) for b in recording.before)

            async def floor() -> object:
                for step, request in enumerate(recording.requests):
                    iq = client.make_iq(ito=peer, itype=recording.iq_types[step])
                    wrapper = ET.SubElement(iq.xml, f"{{{BENCH_NS}}}bench")
                    wrapper.set("key", key)
                    wrapper.set("step", str(step))
                    wrapper.append(copy.copy(request))
                    await iq.send(timeout=60)
                for _ in range(expected):
                    await asyncio.wait_for(arrived.get(), 60)
                return None

            return floor

        sizes = {
            key: (
                sum(len(ET.tostring(r)) for r in rec.requests),
                sum(len(ET.tostring(a)) for a in rec.answers)
                + sum(len(ET.tostring(m)) for ms in rec.before + rec.after for m in ms),
                len(rec.requests),
            )
            for key, rec in recordings.items()
        }
        for key in ("direct", "enhanced"):  # the same warm-up for both
            await _timed(ours[key], 20)
            await _timed(floor_of(key), 20)
        rounds: dict[str, list[tuple[float, float]]] = {}
        meter = CpuMeter(
            {"IED": spec["ied_pid"], "client": os.getpid(), "XMPP server": spec["xmpp_pid"]}
        )
        for repeat in range(REPEATS):
            for key in ("direct", "enhanced", "file"):
                pair = [("ours", ours[key]), ("floor", floor_of(key))]
                if repeat % 2:
                    pair.reverse()
                for who, call in pair:
                    meter.start()
                    if key == "file":
                        started = time.perf_counter()
                        await call()
                        seconds = time.perf_counter() - started
                        rate = file_size / seconds / 1e6
                        rounds.setdefault(f"{key}:{who}", []).append((rate, rate))
                        meter.stop(f"{key}:{who}", 1)
                    else:
                        samples = await _timed(call, operations)
                        rounds.setdefault(f"{key}:{who}", []).append(
                            (statistics.median(samples), _percentile(samples, 0.99))
                        )
                        meter.stop(f"{key}:{who}", operations)
        await association.release()
        cpu_rows: list[list[object]] = [
            [f"{CASES[case]}: {case.split(':')[1]}", *meter.medians(case)]
            for case in sorted(meter.per_op)
        ]
        return _rows(rounds, sizes), cpu_rows
    finally:
        await client.stop()


async def _setup(client: Any, peer: str, key: str, recording: Recording) -> None:
    """Teach the IED process's responder what to answer, one step per stanza."""
    steps = zip(recording.answers, recording.before, recording.after, strict=True)
    for answer, before, after in steps:
        iq = client.make_iq(ito=peer, itype="set")
        wrapper = ET.SubElement(iq.xml, f"{{{BENCH_NS}}}bench")
        wrapper.set("key", key)
        wrapper.set("setup", "1")
        step = ET.SubElement(wrapper, f"{{{BENCH_NS}}}step")
        ET.SubElement(step, f"{{{BENCH_NS}}}answer").append(copy.copy(answer))
        holder = ET.SubElement(step, f"{{{BENCH_NS}}}before")
        holder.extend(copy.copy(m) for m in before)
        holder = ET.SubElement(step, f"{{{BENCH_NS}}}after")
        holder.extend(copy.copy(m) for m in after)
        await iq.send(timeout=60)


CASES = {
    "direct:ours": "Operate direct-normal",
    "direct:floor": "Operate direct-normal",
    "enhanced:ours": "SBOw+Operate+CmdTerm",
    "enhanced:floor": "SBOw+Operate+CmdTerm",
    "file:ours": "GetFile (per file)",
    "file:floor": "GetFile (per file)",
}


def _rows(
    rounds: dict[str, list[tuple[float, float]]], sizes: dict[str, tuple[int, int, int]]
) -> list[list[object]]:
    rows: list[list[object]] = []
    names = {
        "direct": "Operate direct-normal (ms)",
        "enhanced": "SBOw+Operate+CmdTerm enhanced (ms)",
    }
    for key, title in names.items():
        ours, floor = rounds[f"{key}:ours"], rounds[f"{key}:floor"]
        for index, label in ((0, "p50"), (1, "p99")):
            o = [r[index] for r in ours]
            f = [r[index] for r in floor]
            rows.append(
                [
                    f"{title} {label}",
                    f"{min(o):.2f} / {statistics.median(o):.2f}",
                    f"{min(f):.2f} / {statistics.median(f):.2f}",
                    f"{statistics.median(o) / statistics.median(f):.2f}x",
                ]
            )
    o = [r[0] for r in rounds["file:ours"]]
    f = [r[0] for r in rounds["file:floor"]]
    rows.append(
        [
            "GetFile MB/s (max / median)",
            f"{max(o):.2f} / {statistics.median(o):.2f}",
            f"{max(f):.2f} / {statistics.median(f):.2f}",
            f"{statistics.median(f) / statistics.median(o):.2f}x time",
        ]
    )
    for key, (sent, received, stanzas) in sizes.items():
        rows.append(
            [
                f"payload octets {key} (sent/received, stanzas)",
                f"{sent}/{received}",
                f"{stanzas} iq",
                "",
            ]
        )
    return rows


def _run_server(kind: str, short: bool) -> None:
    from gen61850.runtime.xmpp.devserver import dev_server

    operations, file_size = (50, 2 * 1024 * 1024) if short else (200, 10 * 1024 * 1024)
    with tempfile.TemporaryDirectory(prefix="gen61850-bench-") as folder:
        store = Path(folder) / "store"
        store.mkdir()
        big = store / "big.dat"
        with big.open("wb") as out:
            seed = hashlib.sha256(b"bench")
            for _ in range(file_size // 65536):
                seed.update(b".")
                out.write(seed.digest() * 2048)
        digest = hashlib.sha256(big.read_bytes()).hexdigest()
        dev = dev_server(kind)
        dev.start()
        ied: subprocess.Popen[str] | None = None
        try:
            dev.register_many({u: f"pw-{u}" for u in ("benchied", "benchclient")})
            spec = {
                "domain": dev.domain,
                "port": dev.port,
                "ca": str(dev.ca_file),
                "store": str(store),
                "sha256": digest,
            }
            ied = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.bench_xmpp_acting", "--serve", json.dumps(spec)],
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            assert ied.stdout is not None
            if ied.stdout.readline().strip() != "ready":
                raise RuntimeError("the IED process did not start")
            load = os.getloadavg()
            spec["ied_pid"], spec["xmpp_pid"] = ied.pid, dev.pid
            rows, cpu_rows = asyncio.run(_client(spec, operations, file_size))
            after = os.getloadavg()
        finally:
            if ied is not None:
                ied.send_signal(signal.SIGTERM)
                ied.wait(timeout=30)
            dev.stop()
    print_table(
        f"8-2 controls and GetFile through {kind} with TLS, IED and client in separate "
        f"processes; {REPEATS} interleaved rounds of {operations} operations and one "
        f"{file_size >> 20} MB file; cells: min / median over rounds (MB/s: max / median); "
        f"load average {load[0]:.2f} before, {after[0]:.2f} after ({os.cpu_count()} CPUs)",
        ["measure", "gen61850", "bare IQ floor", "ratio (median)"],
        rows,
    )
    print_table(
        f"CPU time per operation through {kind}, median of the rounds (µs; GetFile: per "
        f"{file_size >> 20} MB file; the cores are shared by all three)",
        ["case: ours or floor", "IED", "client", "XMPP server"],
        cpu_rows,
    )


def main() -> None:
    if "--serve" in sys.argv:
        serve(json.loads(sys.argv[sys.argv.index("--serve") + 1]))
        return
    short = "--short" in sys.argv
    kinds = ["prosody", "ejabberd"]
    if "--server" in sys.argv:
        kinds = [sys.argv[sys.argv.index("--server") + 1]]
    for kind in kinds:
        _run_server(kind, short)


if __name__ == "__main__":
    main()
