"""A fleet of IEDs served from one process, swept by one client: beside the bare IQ floor.

Issue 11: 1,000 IEDs (one IED model instantiated 1,000 times, ``fleet.Fleet`` with model
twins and one TLS context) served by one process; one client process (one XMPP session,
``FleetClient``: one association per IED, one request per IED outstanding, 64 in all) reads
one value (GetDataValues of a FLOAT32) from every IED: a sweep. The floor is a bare slixmpp
IQ from the same client to the same 1,000 JIDs through the same server, carrying the same
request XML and answered with the same answer XML by a plain handler on each IED's own
connection, scheduled by the same fair queue. Sweeps of ours and of the floor alternate,
``REPEATS`` rounds each; every request's round trip is kept for p50/p99. The IED process
reports its RSS before the fleet and after all its sessions are up. Both processes freeze
their long-lived objects out of the cyclic GC once set up (``fleet.settle_heap``, as
``Fleet.start`` and ``xmpp poll`` do), so neither case meets full-heap collections. Both on
Prosody and on ejabberd. ``python -m benchmarks.bench_fleet --short`` serves 200 IEDs;
``--server prosody|ejabberd`` runs one server only.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

from slixmpp import Iq
from slixmpp.xmlstream import ElementBase, register_stanza_plugin
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

from benchmarks.timing import print_table, verdict

ROOT = Path(__file__).resolve().parents[1]
SCL = ROOT / "tests" / "xmpp" / "xmpp_ied.icd"
LD, ITEM = "XIEDLD0", "MMXU1$MX$TotW$mag$f"
REPEATS = 5
IN_FLIGHT = 64
PASSWORD = "pw-fleet-bench"


class Bench(ElementBase):
    name = "bench"
    namespace = "urn:gen61850:bench"
    plugin_attrib = "bench"
    interfaces: ClassVar[set[str]] = set()


def _jid(number: int, domain: str) -> str:
    return f"der{number}@{domain}"


# ---------------------------------------------------------------- the IED process


async def _serve(spec: dict[str, Any]) -> None:
    """Child process: the fleet; then the echo of the floor once the parent sends the
    answer to echo; stop when stdin closes."""
    from gen61850.generator.scl.model import load_scl
    from gen61850.runtime.xmpp.fleet import Fleet, instances, members, rss_kib
    from gen61850.runtime.xmpp.model import ServedModel
    from gen61850.runtime.xmpp.transport import XmppSettings

    register_stanza_plugin(Iq, Bench)
    ied = load_scl(SCL).ieds[0]
    before = rss_kib()
    started = time.perf_counter()
    jids = [_jid(n, spec["domain"]) for n in range(1, spec["count"] + 1)]
    template = XmppSettings(
        jid=jids[0], password=PASSWORD, host="127.0.0.1", port=spec["port"], ca_file=spec["ca"]
    )
    models = instances(ied, jids, ServedModel.from_ied)
    entries = [(jid, model, ied.name) for jid, model in zip(jids, models, strict=True)]
    fleet = Fleet(members(entries, passwords=lambda _: PASSWORD, template=template), logins=32)
    built = rss_kib()
    await fleet.start()
    up = rss_kib()
    print(
        json.dumps(
            {"before": before, "built": built, "up": up, "start_s": time.perf_counter() - started}
        ),
        flush=True,
    )
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, sys.stdin.readline)
    answer = ET.fromstring(base64.b64decode(line))

    def echo_on(server: Any) -> Callable[[Any], None]:
        def echo(iq: Any) -> None:
            reply = server.make_iq_result(id=iq["id"], ito=iq["from"])
            wrapper = ET.SubElement(reply.xml, "{urn:gen61850:bench}bench")
            wrapper.append(copy.copy(answer))
            reply.send()

        return echo

    for server in fleet.servers:
        server.register_handler(
            Callback("bench echo", StanzaPath("iq@type=get/bench"), echo_on(server))
        )
    print("echo", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes it
    print(json.dumps({"end": rss_kib()}), flush=True)
    await fleet.stop()


# ---------------------------------------------------------------- the client (this process)


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _sweep(
    fleet: Any, jids: list[str], one: Callable[[str], Awaitable[object]]
) -> tuple[float, list[float], int]:
    """One request to every IED through the fleet's fair queue: wall time, round trips
    (ms), and how many failed."""
    latencies: list[float] = []
    failed = 0

    async def timed(jid: str) -> None:
        nonlocal failed

        async def work() -> None:
            began = time.perf_counter()
            await one(jid)
            latencies.append((time.perf_counter() - began) * 1e3)

        try:
            await fleet.submit(jid, work)
        except Exception:
            failed += 1

    started = time.perf_counter()
    await asyncio.gather(*(timed(jid) for jid in jids))
    return time.perf_counter() - started, latencies, failed


async def _client(
    spec: dict[str, Any], child: subprocess.Popen[str], rounds: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    from gen61850.runtime.xmpp.client import AcsiClient
    from gen61850.runtime.xmpp.fleet import settle_heap
    from gen61850.runtime.xmpp.fleet_client import FleetClient
    from gen61850.runtime.xmpp.transport import XmppSettings

    assert child.stdout is not None and child.stdin is not None
    loop = asyncio.get_running_loop()
    rss = json.loads(await loop.run_in_executor(None, child.stdout.readline))
    jids = [_jid(n, spec["domain"]) for n in range(1, spec["count"] + 1)]
    register_stanza_plugin(Iq, Bench)
    client = AcsiClient(
        XmppSettings(
            jid=f"fleetclient@{spec['domain']}",
            password=PASSWORD,
            host="127.0.0.1",
            port=spec["port"],
            ca_file=spec["ca"],
        )
    )
    captured: dict[str, ET.Element] = {}
    client.inspect = lambda direction, element: captured.setdefault(
        direction, copy.deepcopy(element)
    )
    await client.start()
    results: dict[str, Any] = {"ours": [], "floor": [], "lat_ours": [], "lat_floor": []}
    try:
        fleet = FleetClient(client, per_ied=1, total=IN_FLIGHT)
        began = time.perf_counter()
        refused = await fleet.associate(jids)
        results["associate_s"] = time.perf_counter() - began
        results["refused"] = len(refused)
        settle_heap()  # as xmpp poll does once associated (the IED process: Fleet.start)

        async def ours(jid: str) -> object:
            return await fleet.associations[jid].get_data_values(LD, ITEM)

        await ours(jids[0])
        client.inspect = None
        request, answer = captured["sent"], captured["received"]
        child.stdin.write(base64.b64encode(ET.tostring(answer)).decode() + "\n")
        child.stdin.flush()
        ready = await loop.run_in_executor(None, child.stdout.readline)
        assert ready.strip() == "echo", ready

        async def floor(jid: str) -> object:
            iq = client.make_iq_get(ito=f"{jid}/IEC")
            wrapper = ET.SubElement(iq.xml, "{urn:gen61850:bench}bench")
            wrapper.append(copy.copy(request))
            return await iq.send(timeout=10)

        await _sweep(fleet, jids[:100], floor)  # warm both paths
        await _sweep(fleet, jids[:100], ours)
        results["load_before"] = os.getloadavg()[0]
        lost = {"ours": 0, "floor": 0}
        cases = {"ours": ours, "floor": floor}
        for index in range(rounds):  # alternating, so that load changes hit both
            order = ["ours", "floor"] if index % 2 == 0 else ["floor", "ours"]
            for name in order:
                wall, latencies, failed = await _sweep(fleet, jids, cases[name])
                results[name].append(wall)
                results[f"lat_{name}"] += latencies
                lost[name] += failed
        results["load_after"] = os.getloadavg()[0]
        results["lost"] = lost
        results["sizes"] = (len(ET.tostring(request)), len(ET.tostring(answer)))
        await fleet.release()
    finally:
        await client.stop()
    return results, rss


def _run_server(kind: str, count: int, rounds: int) -> dict[str, Any]:
    from gen61850.runtime.xmpp.devserver import dev_server

    dev = dev_server(kind)
    dev.start()
    child: subprocess.Popen[str] | None = None
    try:
        began = time.perf_counter()
        users = [f"der{n}" for n in range(1, count + 1)] + ["fleetclient"]
        dev.register_many(dict.fromkeys(users, PASSWORD))
        provisioned = time.perf_counter() - began
        spec = {"domain": dev.domain, "port": dev.port, "ca": str(dev.ca_file), "count": count}
        child = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.bench_fleet", "--serve", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        results, rss = asyncio.run(_client(spec, child, rounds))
        assert child.stdin is not None and child.stdout is not None
        child.stdin.close()
        end = json.loads(child.stdout.readline())
        rss["end"] = end["end"]
        results["rss"] = rss
        results["provision_s"] = provisioned
        return results
    finally:
        if child is not None:
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.send_signal(signal.SIGTERM)
                child.wait(timeout=30)
        dev.stop()


def _report(kind: str, count: int, rounds: int, results: dict[str, Any]) -> None:
    ours, floor = results["ours"], results["floor"]
    lat_o, lat_f = results["lat_ours"], results["lat_floor"]
    rss = results["rss"]
    per_ied_up = (rss["up"] - rss["before"]) / count
    per_ied_end = (rss["end"] - rss["before"]) / count
    rows: list[list[object]] = [
        [
            f"sweep of {count} IEDs, min / median (s)",
            f"{min(ours):.3f} / {statistics.median(ours):.3f}",
            f"{min(floor):.3f} / {statistics.median(floor):.3f}",
            f"{min(ours) / min(floor):.2f}x / "
            f"{statistics.median(ours) / statistics.median(floor):.2f}x",
        ],
        [
            "requests per second (best sweep)",
            round(count / min(ours)),
            round(count / min(floor)),
            f"{min(floor) / min(ours):.2f}x",
        ],
        [
            "round trip p50 (ms)",
            statistics.median(lat_o),
            statistics.median(lat_f),
            f"{statistics.median(lat_o) / statistics.median(lat_f):.2f}x",
        ],
        [
            "round trip p99 (ms)",
            _percentile(lat_o, 0.99),
            _percentile(lat_f, 0.99),
            f"{_percentile(lat_o, 0.99) / _percentile(lat_f, 0.99):.2f}x",
        ],
        ["lost or failed requests", results["lost"]["ours"], results["lost"]["floor"], ""],
        [
            "payload octets (request/answer)",
            "{}/{}".format(*results["sizes"]),
            "{}/{}".format(*results["sizes"]),
            "",
        ],
    ]
    print_table(
        f"8-2 fleet through {kind} with TLS: {count} IEDs served by one process, one client "
        f"process sweeping them (one GetDataValues each, {IN_FLIGHT} in flight, 1 per IED); "
        f"{rounds} interleaved sweeps each; load average {results['load_before']:.2f} before, "
        f"{results['load_after']:.2f} after ({os.cpu_count()} CPUs)",
        ["measure", "gen61850", "bare IQ floor", "ratio"],
        rows,
        [
            ("gen61850", "FleetClient -> association.get_data_values -> AcsiServer of the fleet"),
            (
                "bare IQ floor",
                "a slixmpp IQ with the same request XML to the same JIDs, answered with the "
                "same answer XML by a plain handler on each IED's connection, same scheduler",
            ),
        ],
    )
    sweep_ratio = min(ours) / min(floor)
    lost = results["lost"]["ours"] + results["refused"]
    print(
        f"  IED process RSS: {rss['before'] / 1024:.1f} MiB after imports; "
        f"+{(rss['built'] - rss['before']) / 1024:.1f} MiB with {count} models and servers "
        f"built; {per_ied_up:.0f} KiB per IED with every session up "
        f"({rss['start_s']:.1f} s to start), {per_ied_end:.0f} KiB per IED after the sweeps"
    )
    print(
        f"  set-up: {count + 1} accounts provisioned in {results['provision_s']:.1f} s "
        f"(register_many), {count} associations in {results['associate_s']:.1f} s"
    )
    worst = max(per_ied_up, per_ied_end)
    print(
        f"  targets of issue 11: sweep <= 1.2x the floor's: {sweep_ratio:.2f}x, "
        f"{verdict(sweep_ratio <= 1.2)}; <= 1 MB per served IED: {worst:.0f} KiB, "
        f"{verdict(worst <= 1024)}; zero lost or unanswered: {lost}, {verdict(lost == 0)}"
    )


def main() -> None:
    if "--serve" in sys.argv:
        asyncio.run(_serve(json.loads(sys.argv[sys.argv.index("--serve") + 1])))
        return
    count = 200 if "--short" in sys.argv else 1000
    kinds = ["prosody", "ejabberd"]
    if "--server" in sys.argv:
        kinds = [sys.argv[sys.argv.index("--server") + 1]]
    for kind in kinds:
        results = _run_server(kind, count, REPEATS)
        _report(kind, count, REPEATS, results)


if __name__ == "__main__":
    main()
