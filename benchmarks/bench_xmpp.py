"""IEC 61850-8-2 over a real Prosody with TLS: GetDataValues of one attribute, beside the floor.

The floor is a bare slixmpp IQ between the same two accounts in the same run, carrying the
same XML as our request and answer (copied into a wrapper element of another namespace, so
Prosody handles the same number of elements and bytes) and answered by a plain slixmpp
handler: what is left between the two is our stack (codec, association, model, dispatch).
Sequential round trips (p50, p99) and throughput with 50 requests in flight.
``python -m benchmarks.bench_xmpp --short`` runs fewer requests.
"""

from __future__ import annotations

import asyncio
import copy
import statistics
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

from benchmarks.timing import print_table
from gen61850.generator.scl.model import load_scl
from gen61850.runtime.xmpp.client import AcsiClient
from gen61850.runtime.xmpp.devserver import DevServer
from gen61850.runtime.xmpp.model import ServedModel
from gen61850.runtime.xmpp.server import AcsiServer
from gen61850.runtime.xmpp.transport import XmppSettings

SCL = Path(__file__).resolve().parents[1] / "tests" / "xmpp" / "xmpp_ied.icd"
LD, ITEM = "XIEDLD0", "MMXU1$MX$TotW$mag$f"
IN_FLIGHT = 50


class Bench(ElementBase):
    name = "bench"
    namespace = "urn:gen61850:bench"
    plugin_attrib = "bench"
    interfaces: ClassVar[set[str]] = set()


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _sequential(call: Callable[[], Awaitable[object]], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1e3)
    return samples


async def _pipelined(call: Callable[[], Awaitable[object]], count: int) -> float:
    queue = iter(range(count))

    async def worker() -> None:
        for _ in queue:
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return count / (time.perf_counter() - started)


async def _run(dev: DevServer, sequential: int, pipelined: int) -> list[list[object]]:
    def settings(user: str) -> XmppSettings:
        return XmppSettings(
            jid=f"{user}@{dev.domain}",
            password=f"pw-{user}",
            host=dev.host,
            port=dev.port,
            ca_file=str(dev.ca_file),
        )

    scl = load_scl(SCL)
    server = AcsiServer(settings("benchied"), ServedModel.from_ied(scl.ieds[0]))
    client = AcsiClient(settings("benchclient"))
    register_stanza_plugin(Iq, Bench)
    captured: dict[str, ET.Element] = {}

    def keep(direction: str, element: ET.Element) -> None:
        captured.setdefault(direction, copy.deepcopy(element))

    client.inspect = keep
    await server.start()
    await client.start()
    try:
        association = await client.associate(f"benchied@{dev.domain}")

        async def ours() -> object:
            return await association.get_data_values(LD, ITEM)

        await ours()
        client.inspect = None
        request, answer = captured["sent"], captured["received"]

        def echo(iq: Any) -> None:
            reply = iq.reply(clear=True)
            wrapper = ET.SubElement(reply.xml, "{urn:gen61850:bench}bench")
            wrapper.append(copy.copy(answer))
            reply.send()

        server.register_handler(Callback("bench echo", StanzaPath("iq@type=get/bench"), echo))
        peer = f"benchied@{dev.domain}/IEC"

        async def floor() -> object:
            iq = client.make_iq_get(ito=peer)
            wrapper = ET.SubElement(iq.xml, "{urn:gen61850:bench}bench")
            wrapper.append(copy.copy(request))
            return await iq.send(timeout=10)

        await floor()
        for warm in (ours, floor):
            await _sequential(warm, 50)
        rows: list[list[object]] = []
        size = len(ET.tostring(request)), len(ET.tostring(answer))
        seq_ours = await _sequential(ours, sequential)
        seq_floor = await _sequential(floor, sequential)
        rate_ours = await _pipelined(ours, pipelined)
        rate_floor = await _pipelined(floor, pipelined)
        p50o, p50f = statistics.median(seq_ours), statistics.median(seq_floor)
        p99o, p99f = _percentile(seq_ours, 0.99), _percentile(seq_floor, 0.99)
        rows.append(["round trip p50 (ms)", p50o, p50f, f"{p50o / p50f:.2f}x"])
        rows.append(["round trip p99 (ms)", p99o, p99f, f"{p99o / p99f:.2f}x"])
        rows.append(
            [
                f"{IN_FLIGHT} in flight (req/s)",
                round(rate_ours),
                round(rate_floor),
                f"{rate_ours / rate_floor:.2f}x",
            ]
        )
        rows.append(
            ["payload octets (request/answer)", f"{size[0]}/{size[1]}", f"{size[0]}/{size[1]}", ""]
        )
        await association.release()
        return rows
    finally:
        await client.stop()
        await server.stop()


def main() -> None:
    short = "--short" in sys.argv
    sequential, pipelined = (300, 1000) if short else (2000, 10000)
    with DevServer() as dev:
        for user in ("benchied", "benchclient"):
            dev.register(user, f"pw-{user}")
        rows = asyncio.run(_run(dev, sequential, pipelined))
    print_table(
        f"IEC 61850-8-2 GetDataValues (one FLOAT32) through Prosody with TLS, XEP-0198 on; "
        f"{sequential} sequential, {pipelined} pipelined; ratio = ours / bare slixmpp IQ",
        ["measure", "gen61850", "bare IQ", "ratio"],
        rows,
    )


if __name__ == "__main__":
    main()
