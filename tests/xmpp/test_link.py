"""The XMPP link under an 8-2 server: resumption keeps order, a restarted server is rejoined soon.

Real servers only: the IED's own TCP link is cut through a relay while it streams messages
(twice), and its XMPP server is stopped and started again.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from gen61850.generated.scsm_8_2.bindings import (
    AccessResult,
    Data,
    InformationReport,
    ListOfAccessResult,
    Mmspdu,
    ObjectName,
    UnconfirmedPdu,
    UnconfirmedService,
    VariableAccessSpecification,
)
from gen61850.runtime.xmpp.client import AcsiClient
from gen61850.runtime.xmpp.devserver import dev_server
from gen61850.runtime.xmpp.outputs import Message
from gen61850.runtime.xmpp.server import AcsiServer
from tests.xmpp.conftest import Env, password, run, served_model
from tests.xmpp.relay import Relay, until


def numbered(n: int) -> Mmspdu:
    """An informationReport whose only value is ``n`` (as text)."""
    return Mmspdu(
        unconfirmed_pdu=UnconfirmedPdu(
            unconfirmed_service=UnconfirmedService(
                information_report=InformationReport(
                    variable_access_specification=VariableAccessSpecification(
                        variable_list_name=ObjectName(vmd_specific="RPT")
                    ),
                    list_of_access_result=ListOfAccessResult(
                        access_result=[AccessResult(success=Data(visible_string=str(n)))]
                    ),
                )
            )
        )
    )


def test_what_an_ied_sends_across_two_resumed_drops_arrives_once_in_order(
    xmpp_env: Env, own_scl: Path
) -> None:
    """slixmpp 1.17 sent what was queued while disconnected ahead of what it resent after a
    resumption; the IED's link is cut twice mid-stream, each drop resumed (XEP-0198)."""

    async def body() -> None:
        relay = Relay(xmpp_env.server.port)
        await relay.start()
        server = AcsiServer(
            xmpp_env.settings("xied", port=relay.port, reconnect=True), served_model(own_scl)
        )
        client = AcsiClient(xmpp_env.settings("client2"))
        resumed: list[object] = []
        server.add_event_handler("session_resumed", resumed.append)
        await server.start()
        await client.start()
        try:
            association = await client.associate(xmpp_env.jid("xied"))
            heard: list[int] = []
            client.report_listeners.append(
                lambda _sender, report: heard.append(
                    int(report.list_of_access_result.access_result[0].success.visible_string)  # type: ignore[union-attr, arg-type]
                )
            )
            scope_id = association.state.association_id
            total = 240
            for n in range(total):
                payload = server.core.encode(scope_id, numbered(n))
                server.core.post(Message(str(client.boundjid), payload))
                if n in (50, 140):
                    relay.swallow(True)  # these are written but lost: resent on resumption
                elif n in (60, 150):
                    relay.swallow(False)
                    relay.cut()
                    seen = len(resumed)
                    await asyncio.sleep(0.05)  # more sent while the link is down
                elif n in (61, 151):
                    assert await until(lambda: len(resumed) > seen, 10), "not resumed"  # noqa: B023
                await asyncio.sleep(0.004)
            assert await until(lambda: len(heard) >= total, 20), f"{len(heard)} of {total}"
            await asyncio.sleep(0.3)  # nothing more may come
            assert heard == list(range(total))
            assert association.is_open and len(server.associations) == 1
        finally:
            await client.stop()
            await server.stop()
            await relay.stop()

    run(body())


def test_a_served_ied_comes_back_soon_after_its_server_restarts(
    xmpp_env: Env, own_scl: Path
) -> None:
    """The server is down long enough that slixmpp's own back-off (3, 9, 21, 45 ... s)
    would wait some 20 s more; bounded (``max_reconnect_delay``, 5 s), the IED is back
    within 10 s of its server, in a new session."""
    kind = xmpp_env.server.kind

    async def body() -> None:
        dev = dev_server(kind, hibernation=2)
        dev.start()
        try:
            dev.register_many({"xied": password("xied")})
            settings = xmpp_env.settings("xied", port=dev.port, ca_file=str(dev.ca_file))
            server = AcsiServer(settings, served_model(own_scl))
            sessions: list[float] = []
            server.add_event_handler("session_start", lambda _e: sessions.append(time.monotonic()))
            await server.start()
            try:
                await asyncio.get_running_loop().run_in_executor(None, dev.stop_process)
                await asyncio.sleep(13.0)
                await asyncio.get_running_loop().run_in_executor(None, dev.start_process)
                back = time.monotonic()
                assert await until(lambda: len(sessions) >= 2, 30), "the IED did not come back"
                assert sessions[-1] - back <= 10.0, f"back after {sessions[-1] - back:.1f} s"
            finally:
                await server.stop()
        finally:
            dev.stop()

    run(body(), timeout=120)
