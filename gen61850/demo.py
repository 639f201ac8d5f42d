"""The main job on an embedded default, end to end: SCL → device stack → SV → 8-2 over XMPP.

1. generate the device stack of the bundled merging unit (``specs/scl/sv.scd``) and import it;
2. publish its SV stream on a local interface and subscribe to it, printing statistics;
3. start a local Prosody with TLS and a test CA (the dev server);
4. serve the IED from the generated package over IEC 61850-8-2, browse it, read a value;
then stop everything it started. Each step says what it does; errors name the step.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TextIO

from gen61850 import resource_path
from gen61850.generator.output import write
from gen61850.generator.scl.device import device_packages
from gen61850.generator.scl.model import load_scl
from gen61850.runtime.errors import Gen61850Error
from gen61850.runtime.sv.publisher import Publisher, PublisherStats
from gen61850.runtime.sv.stream import StreamConfig
from gen61850.runtime.sv.subscriber import ReceiverStats, Subscriber
from gen61850.runtime.sv.supervision import StreamState

DEFAULT_SCL = ("scl", "sv.scd")
DEMO_PASSWORD = "gen61850-demo"


class DemoError(Gen61850Error):
    """A demo step that failed: names the step."""


@dataclass
class DemoOptions:
    """What the demo runs on; the defaults need nothing but root and the Debian packages."""

    scl: Path = field(default_factory=lambda: resource_path("specs", *DEFAULT_SCL))
    iface: str = "lo"
    duration: float = 1.0
    xmpp: bool = True
    out: TextIO = sys.stdout


def run_demo(options: DemoOptions) -> int:
    """Run every step; returns 0 when each one did what it should."""
    say = _printer(options.out)
    with tempfile.TemporaryDirectory(prefix="gen61850-demo-") as folder:
        package = _generate(options.scl, Path(folder), say)
        ok = _sampled_values(package, options, say)
        if options.xmpp:
            ok = _serve_and_browse(package, say) and ok
    say("demo finished: " + ("every step succeeded" if ok else "some step FAILED"))
    return 0 if ok else 1


def _printer(out: TextIO) -> Callable[[str], None]:
    def say(line: str) -> None:
        print(line, file=out, flush=True)

    return say


def _generate(scl: Path, folder: Path, say: Callable[[str], None]) -> ModuleType:
    say(f"[1/4] generating the device stack of {scl.name}")
    model = load_scl(scl)
    model.raise_on_errors()
    files = device_packages(model)
    write(files, folder)
    packages = sorted({path.split("/", 1)[0] for path in files})
    say(f"      {len(files)} files in package(s) {', '.join(packages)}")
    sys.path.insert(0, str(folder))
    try:
        package = importlib.import_module(packages[0])
    finally:
        sys.path.remove(str(folder))
    ied = package.IED
    lds = ", ".join(ld.name for ld in ied.logical_devices)
    say(f"      IED {ied.name}: logical devices {lds}; SV streams: {', '.join(package.STREAMS)}")
    return package


def _sampled_values(package: ModuleType, options: DemoOptions, say: Callable[[str], None]) -> bool:
    streams: list[StreamConfig] = list(package.STREAMS.values())
    if not streams:
        say("[2/4] the IED publishes no SV stream: nothing to send")
        return True
    say(
        f"[2/4] publishing {len(streams)} SV stream(s) on {options.iface} for "
        f"{options.duration:g} s and subscribing to them"
    )
    if os.geteuid() != 0:
        say("      skipped: raw Ethernet needs root (or CAP_NET_RAW)")
        return False
    subscriber = Subscriber(options.iface, appids=[s.appid for s in streams], streams=streams)
    received: list[int] = [0]

    def receive() -> None:
        for _ in subscriber.frames(duration=options.duration + 0.5):
            received[0] += 1

    listener = threading.Thread(target=receive, name="demo-subscriber")
    listener.start()
    try:
        with Publisher(streams, iface=options.iface) as publisher:
            sent = publisher.run(duration=options.duration, spin_us=100)
    finally:
        listener.join()
        stats = subscriber.stats
        subscriber.close()
    return _report_sv(sent, stats, subscriber.receiver.streams, received[0], say)


def _report_sv(
    sent: PublisherStats,
    stats: ReceiverStats,
    states: dict[tuple[int, str], StreamState],
    received: int,
    say: Callable[[str], None],
) -> bool:
    say(f"      publisher: {sent.summary()}")
    say(
        f"      subscriber: {received} frames, {stats.asdus} ASDUs, {stats.decode_errors} "
        f"decode errors, {stats.kernel_drops} kernel drops"
    )
    for (appid, sv_id), state in sorted(states.items()):
        say(
            f"      stream 0x{appid:04x} {sv_id}: {state.received} ASDUs, {state.gaps} gaps, "
            f"{state.duplicates} duplicates, {state.out_of_order} out of order"
        )
    return received == sent.sent and stats.decode_errors == 0


def _serve_and_browse(package: ModuleType, say: Callable[[str], None]) -> bool:
    from gen61850.runtime.xmpp.devserver import DevServer

    say("[3/4] starting a local XMPP server (Prosody, TLS, test CA)")
    server = DevServer().start()
    try:
        ied_jid = server.register(package.IED_NAME.lower(), DEMO_PASSWORD)
        client_jid = server.register("demo-client", DEMO_PASSWORD)
        say(f"      Prosody on 127.0.0.1:{server.port}, domain {server.domain}")
        say(
            f"[4/4] serving IED {package.IED_NAME} as {ied_jid}/IEC over IEC 61850-8-2; "
            f"browsing it as {client_jid}"
        )
        lines = asyncio.run(_browse(package, server, ied_jid, client_jid))
        for line in lines:
            say("      " + line)
    finally:
        server.stop()
        say("      XMPP server stopped")
    return bool(lines) and " = " in lines[-1]


async def _browse(package: ModuleType, dev: object, ied_jid: str, client_jid: str) -> list[str]:
    from gen61850.runtime.xmpp.client import AcsiClient
    from gen61850.runtime.xmpp.devserver import DevServer
    from gen61850.runtime.xmpp.model import ServedModel
    from gen61850.runtime.xmpp.server import AcsiServer
    from gen61850.runtime.xmpp.tools import browse, get_values
    from gen61850.runtime.xmpp.transport import XmppSettings

    assert isinstance(dev, DevServer)

    def settings(jid: str) -> XmppSettings:
        return XmppSettings(
            jid,
            DEMO_PASSWORD,
            host=dev.host,
            port=dev.port,
            ca_file=str(dev.ca_file),
            reconnect=False,
        )

    served = AcsiServer(settings(ied_jid), ServedModel.from_ied(package.IED))
    client = AcsiClient(settings(client_jid))
    await served.start()
    try:
        await client.start()
        try:
            association = await client.associate(ied_jid)
            lines = await browse(association)
            lines += await get_values(association, [_status_reference(package)])
            await association.release()
            return lines
        finally:
            await client.stop()
    finally:
        await served.stop()


def _status_reference(package: ModuleType) -> str:
    """The first ``stVal`` of the IED, from the generated MMS names (``LD/LN$ST$DO$stVal``)."""
    for ld, names in package.MMS_NAMES.items():
        for name, _fc in names:
            if "$ST$" in name and name.endswith("$stVal"):
                return f"{ld}/{name}"
    raise DemoError(f"IED {package.IED_NAME} has no status value (stVal) to read")
