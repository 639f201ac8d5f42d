"""Scale-out: a two-node ejabberd cluster on one machine, the IED on one node, the client on
the other; IEC 61850-8-2 works across the cluster as within one server."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from gen61850.runtime.xmpp.client import AcsiClient
from gen61850.runtime.xmpp.ejabberd import EjabberdCluster, EjabberdServer
from gen61850.runtime.xmpp.server import AcsiServer
from gen61850.runtime.xmpp.tools import get_values
from gen61850.runtime.xmpp.transport import XmppSettings
from tests.conftest import require_program
from tests.xmpp.conftest import password, run, served_model


@pytest.fixture(scope="module")
def cluster() -> Iterator[EjabberdCluster]:
    require_program("ejabberdctl")
    require_program("epmd")
    with EjabberdCluster(2, hibernation=2) as nodes:
        yield nodes


def settings(node: EjabberdServer, user: str) -> XmppSettings:
    return XmppSettings(
        f"{user}@{node.domain}",
        password(user),
        host=node.host,
        port=node.port,
        ca_file=str(node.ca_file),
        reconnect=False,
    )


def test_accounts_made_on_one_node_exist_on_the_other(cluster: EjabberdCluster) -> None:
    first, second = cluster.nodes
    first.register_many({"ied1": password("ied1"), "client1": password("client1")})
    users = second.control("registered_users", first.domain).stdout.split()
    assert {"ied1", "client1"} <= set(users)
    members = second.control("list_cluster").stdout.split()
    assert sorted(members) == sorted(n.node for n in cluster.nodes)


def test_an_ied_on_one_node_serves_a_client_on_the_other(
    cluster: EjabberdCluster, own_scl: Path
) -> None:
    first, second = cluster.nodes
    first.register_many({"ied2": password("ied2"), "client2": password("client2")})

    async def body() -> tuple[str, list[str], list[str]]:
        server = AcsiServer(settings(first, "ied2"), served_model(own_scl))
        client = AcsiClient(settings(second, "client2"))
        await server.start()
        try:
            await client.start()
            try:
                association = await client.associate(f"ied2@{first.domain}/IEC")
                directory = await association.get_server_directory()
                sessions = second.control("connected_users").stdout.split()
                values = await get_values(association, ["XIEDLD0/MMXU1.TotW.mag.f[MX]"])
                await association.release()
                return str(client.boundjid), directory + values, sessions
            finally:
                await client.stop()
        finally:
            await server.stop()

    bound, answers, sessions = run(body())
    assert bound == "client2@iec61850.test/IEC"
    assert answers == ["XIEDLD0", "XIEDLD0/MMXU1.TotW.mag.f[MX] = 12.5"]
    # each node lists the sessions of both: the IED's (on the first) and the client's
    assert {"ied2@iec61850.test/IEC", "client2@iec61850.test/IEC"} <= set(sessions)


def test_a_fleet_on_one_node_is_polled_from_the_other(
    cluster: EjabberdCluster, own_scl: Path
) -> None:
    """Scale-out as a deployment has it: the IEDs' sessions on one node, the head-end's on
    another; every read crosses the cluster and none is lost."""
    from gen61850.generator.scl.model import load_scl
    from gen61850.runtime.xmpp.fleet import Fleet, expand_pattern, instances, members
    from gen61850.runtime.xmpp.fleet_client import FleetClient, PollSummary, poll
    from gen61850.runtime.xmpp.model import ServedModel

    first, second = cluster.nodes
    jids = expand_pattern(f"cder{{n}}@{first.domain}", count=10)
    first.register_many({jid.split("@")[0]: password("cder") for jid in jids})
    first.register_many({"head": password("head")})
    ied = load_scl(own_scl).ieds[0]
    models = instances(ied, jids, ServedModel.from_ied)

    async def body() -> PollSummary:
        frozen = gc.get_freeze_count()
        fleet = Fleet(
            members(
                [(jid, model, ied.name) for jid, model in zip(jids, models, strict=True)],
                passwords=lambda _: password("cder"),
                template=settings(first, "cder"),
            )
        )
        await fleet.start()
        try:
            assert gc.get_freeze_count() > frozen  # the fleet's objects left the cyclic GC
            gc.unfreeze()  # (not the rest of the test session's)
            client = AcsiClient(settings(second, "head"))
            await client.start()
            try:
                reader = FleetClient(client, per_ied=1, total=4)
                return await poll(reader, jids, ["XIEDLD0/MMXU1.TotW.mag.f[MX]"], rounds=2)
            finally:
                await client.stop()
        finally:
            await fleet.stop()

    summary = run(body())
    counts = summary.as_dict()
    assert (counts["associated"], counts["requests"], counts["answered"]) == (10, 20, 20)
    assert counts["errors"] == {} and counts["unanswered"] == 0
    assert counts["most_outstanding"]["total"] <= 4
