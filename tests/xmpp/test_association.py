"""Association rules: the sans-I/O table, then live: refusals, release, abort on link loss and on
presence unavailable, reconnection with XEP-0198."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

from gen61850.runtime.device import BasicType, Ref
from gen61850.runtime.xmpp import pdus
from gen61850.runtime.xmpp.association import (
    TRANSITIONS,
    Association,
    Event,
    InitiateRefused,
    Negotiated,
    Offer,
    Proposal,
    State,
    TooManyOutstanding,
    negotiate,
)
from gen61850.runtime.xmpp.client import AcsiClient, ClientAssociation
from gen61850.runtime.xmpp.errors import AssociationError, ServiceErrorResponse
from gen61850.runtime.xmpp.server import AcsiServer
from tests.xmpp.conftest import Env, SchemaCheck, live, run, served_model
from tests.xmpp.relay import Relay as Proxy
from tests.xmpp.relay import until as _until

LD = "XIEDLD0"
REFS_SETVAL: Ref[float] = Ref("XIEDLD0", "GGIO1$SP$Setg$setVal", BasicType.FLOAT64)


# ---------------------------------------------------------------- sans-I/O


def test_the_table_covers_the_life_of_an_association() -> None:
    calling = Association("a1", "c@x/IEC", "s@x/IEC")
    with pytest.raises(AssociationError):
        calling.start_request(0.0)
    assert calling.handle(Event.SEND_INITIATE) is State.ASSOCIATING
    assert calling.handle(Event.RECV_INITIATE_RESPONSE) is State.ASSOCIATED
    calling.negotiated = Negotiated(1000, 2, 2, "")
    assert calling.start_request(1.0) == 1
    assert calling.start_request(2.0) == 2
    with pytest.raises(TooManyOutstanding):
        calling.start_request(3.0)
    assert calling.expired(12.5, 10.0) == [1, 2]
    assert calling.finish_request(1) and not calling.finish_request(1)
    assert calling.handle(Event.SEND_CONCLUDE) is State.RELEASING
    with pytest.raises(AssociationError):
        calling.start_request(4.0)
    assert calling.handle(Event.RECV_CONCLUDE_RESPONSE) is State.CLOSED
    with pytest.raises(AssociationError):
        calling.handle(Event.SEND_INITIATE)


def test_abort_is_allowed_from_every_state_and_says_why() -> None:
    for state in State:
        assert TRANSITIONS[(state, Event.ABORT)] is State.CLOSED
    association = Association("a2", "c", "s", state=State.ASSOCIATED)
    association.abort("link lost")
    with pytest.raises(AssociationError, match="link lost"):
        association.start_request(0.0)


def test_invoke_ids_wrap_and_skip_zero() -> None:
    association = Association("a3", "c", "s", state=State.ASSOCIATED, next_invoke_id=0xFFFFFFFF)
    association.negotiated = Negotiated(1000, 5, 5, "")
    assert association.start_request(0.0) == 0xFFFFFFFF
    assert association.start_request(0.0) == 1


# ---------------------------------------------------------------- live


def test_requests_need_an_association_the_server_knows(xmpp_env: Env, own_scl: Path) -> None:
    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            forged = Association(
                "not-associated",
                str(t.client.boundjid),
                xmpp_env.jid("xied"),
                state=State.ASSOCIATED,
                negotiated=Negotiated(65000, 5, 5, ""),
            )
            with pytest.raises(ServiceErrorResponse) as error:
                await ClientAssociation(t.client, forged).get_server_directory()
            assert (error.value.error_class, error.value.code) == ("application-reference", 3)
            # nor can it be released: conclude-ErrorPDU, and the client keeps its side
            with pytest.raises(ServiceErrorResponse) as error:
                await ClientAssociation(t.client, forged).release()
            assert (error.value.error_class, error.value.code) == ("application-reference", 3)
            assert forged.state is State.ASSOCIATED
            # the same AssociationID twice with the same peer is refused at Associate
            twice = t.association.state.association_id + "x"
            await t.client.associate(xmpp_env.jid("xied"), association_id=twice)
            with pytest.raises(AssociationError, match="already exists"):
                await t.client.associate(xmpp_env.jid("xied"), association_id=twice)
            t.client.associations.pop(twice)  # forget it locally: now the server must refuse
            with pytest.raises(AssociationError, match="refused the association"):
                await t.client.associate(xmpp_env.jid("xied"), association_id=twice)
            # after release, the client refuses locally and the server no longer knows it
            assert t.association.state.association_id in {k[1] for k in t.server.associations}
            await t.association.release()
            assert t.association.state.state is State.CLOSED
            with pytest.raises(AssociationError):
                await t.association.get_server_directory()
            assert t.association.state.association_id not in {k[1] for k in t.server.associations}
            t.check.assert_clean()

    run(body())


def test_two_clients_get_separate_associations(xmpp_env: Env, own_scl: Path) -> None:
    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            other = AcsiClient(xmpp_env.settings("client2"), inspect=t.check)
            await other.start()
            try:
                mine = await other.associate(
                    xmpp_env.jid("xied"), association_id=t.association.state.association_id
                )
                assert await mine.get_server_directory() == [LD]
                assert len(t.server.associations) == 2
            finally:
                await other.stop()
            t.check.assert_clean()

    run(body())


@contextlib.asynccontextmanager
async def proxied(
    env: Env, scl: Path, *, reconnect: bool
) -> AsyncIterator[tuple[AcsiServer, AcsiClient, Proxy]]:
    proxy = Proxy(env.server.port)
    await proxy.start()
    check = SchemaCheck()
    server = AcsiServer(env.settings("xied"), served_model(scl), inspect=check)
    client = AcsiClient(
        env.settings("client2", port=proxy.port, reconnect=reconnect), inspect=check
    )
    await server.start()
    await client.start()
    try:
        yield server, client, proxy
    finally:
        await client.stop()
        await server.stop()
        await proxy.stop()
        assert check.errors == []


def test_link_loss_aborts_both_sides(xmpp_env: Env, own_scl: Path) -> None:
    async def body() -> None:
        async with proxied(xmpp_env, own_scl, reconnect=False) as (server, client, proxy):
            association = await client.associate(xmpp_env.jid("xied"))
            assert await association.get_server_directory() == [LD]
            proxy.cut()
            assert await _until(lambda: not association.is_open, 5)
            with pytest.raises(AssociationError, match="link lost"):
                await association.get_server_directory()
            # Prosody ends the hibernated session (2 s here) and tells the IED: unavailable
            assert await _until(
                lambda: any(why == "aborted: peer unavailable" for _, _, why in server.closed), 15
            )
            assert not server.associations

    run(body())


def test_a_resumed_link_keeps_the_association_and_what_is_pending(
    xmpp_env: Env, own_scl: Path
) -> None:
    """Associations belong to the XMPP session: a TCP cut that XEP-0198 resumes loses
    nothing (the request in flight is answered after the resumption)."""

    async def body() -> None:
        async with proxied(xmpp_env, own_scl, reconnect=True) as (server, client, proxy):
            resumed: list[object] = []
            client.add_event_handler("session_resumed", resumed.append)
            association = await client.associate(xmpp_env.jid("xied"))
            proxy.swallow(True)  # the request is written, never delivered: unacknowledged
            pending = asyncio.ensure_future(association.get_server_directory())
            await asyncio.sleep(0.2)
            proxy.swallow(False)
            proxy.cut()
            assert await _until(lambda: bool(resumed), 10), "XEP-0198 session not resumed"
            assert await asyncio.wait_for(pending, 10) == [LD]  # resent, answered
            assert association.is_open
            assert await association.get_server_directory() == [LD]
            assert len(server.associations) == 1 and not server.closed

    run(body())


def test_a_session_that_cannot_resume_aborts_then_associate_again(
    xmpp_env: Env, own_scl: Path
) -> None:
    """The relay refuses reconnection longer than the server keeps the session (2 s
    here): resumption fails, the association is aborted on both sides, a new one works."""

    async def body() -> None:
        async with proxied(xmpp_env, own_scl, reconnect=True) as (server, client, proxy):
            started: list[object] = []
            client.add_event_handler("session_start", started.append)
            association = await client.associate(xmpp_env.jid("xied"))
            proxy.refuse(True)
            proxy.cut()
            await asyncio.sleep(3.0)  # past the server's resumption window (2 s)
            proxy.refuse(False)
            assert await _until(lambda: bool(started), 15), "no new session"
            assert await _until(lambda: not association.is_open, 5)
            with pytest.raises(AssociationError, match="link lost"):
                await association.get_server_directory()
            assert await _until(lambda: not server.associations, 10)
            again = await client.associate(xmpp_env.jid("xied"))
            assert await again.get_server_directory() == [LD]

    run(body())


def test_a_request_reported_failed_is_never_run_after_a_resumption(
    xmpp_env: Env, own_scl: Path
) -> None:
    """A write written to a dead link (unacknowledged) times out: the client withdraws it,
    so the resumption that follows does not deliver it and the server never runs it."""
    from gen61850.runtime.xmpp.errors import TimeoutError61850

    reference = f"{LD}/GGIO1$SP$Setg$setVal"

    async def body() -> None:
        async with proxied(xmpp_env, own_scl, reconnect=True) as (server, client, proxy):
            resumed: list[object] = []
            client.add_event_handler("session_resumed", resumed.append)
            association = await client.associate(xmpp_env.jid("xied"))
            client.settings = replace(client.settings, request_timeout=0.5)
            before = server.model.get_value(reference)
            proxy.swallow(True)  # written, never delivered: it awaits an acknowledgement
            with pytest.raises(TimeoutError61850, match="withdrawn"):
                await association.set(REFS_SETVAL, 77.0)
            proxy.swallow(False)
            proxy.cut()
            assert await _until(lambda: bool(resumed), 10), "XEP-0198 session not resumed"
            assert association.is_open
            assert await association.get_server_directory() == [LD]  # after any resent ones
            assert server.model.get_value(reference) == before

    run(body())


def test_withdraw_drops_a_stanza_waiting_for_the_session() -> None:
    """A request sent while disconnected waits in slixmpp's queue; withdrawn, it is gone."""
    from gen61850.runtime.xmpp.transport import Endpoint, XmppSettings

    async def body() -> None:
        endpoint = Endpoint(XmppSettings("c@iec61850.test", "unused"))
        kept, dropped = endpoint.make_iq_get(ito="s@x/IEC"), endpoint.make_iq_get(ito="s@x/IEC")
        endpoint.send(kept)
        endpoint.send(dropped)
        queued = endpoint._XMLStream__queued_stanzas  # type: ignore[attr-defined]
        assert [item[0]["id"] for item in queued] == [kept["id"], dropped["id"]]
        endpoint.withdraw(dropped["id"])
        assert [item[0]["id"] for item in queued] == [kept["id"]]

    run(body())


def test_peer_unavailable_aborts(xmpp_env: Env, own_scl: Path) -> None:
    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            # the client says unavailable to the server: the server drops the association
            t.client.send_presence(pto=xmpp_env.jid("xied"), ptype="unavailable")
            assert await _until(lambda: not t.server.associations, 5)
            assert t.server.closed[-1][2] == "aborted: peer unavailable"
            # the server goes away: the client's association is aborted, requests fail
            again = await t.client.associate(xmpp_env.jid("xied"))
            await t.server.stop()
            assert await _until(lambda: not again.is_open, 5)
            with pytest.raises(AssociationError, match="unavailable"):
                await again.get_server_directory()

    run(body())


def test_outstanding_bound_and_timeouts(xmpp_env: Env, own_scl: Path) -> None:
    from gen61850.runtime.xmpp.errors import TimeoutError61850

    async def body() -> None:
        async with live(xmpp_env, own_scl, client_options={"max_outstanding": 2}) as t:
            assert t.association.state.negotiated is not None
            assert t.association.state.negotiated.max_outstanding_calling == 2
            t.client.settings = type(t.client.settings)(
                **{**t.client.settings.__dict__, "request_timeout": 0.5}
            )
            t.server.remove_handler("8-2 iq get")  # the server stops answering reads
            t.server.register_handler(
                Callback("silent", StanzaPath("iq@type=get/iec61850"), lambda _iq: None)
            )
            first = asyncio.ensure_future(t.association.get_server_directory())
            second = asyncio.ensure_future(t.association.get_server_directory())
            await asyncio.sleep(0.05)
            with pytest.raises(TooManyOutstanding):
                await t.association.get_server_directory()
            for pending in (first, second):
                with pytest.raises(TimeoutError61850, match="no answer"):
                    await pending
            assert t.association.state.outstanding == {}

    run(body())


def test_oldest_association_of_a_peer_gives_way(xmpp_env: Env, own_scl: Path) -> None:
    async def body() -> None:
        async with live(xmpp_env, own_scl, server_options={"max_associations_per_peer": 2}) as t:
            second = await t.client.associate(xmpp_env.jid("xied"))
            third = await t.client.associate(xmpp_env.jid("xied"))
            assert t.server.closed[-1][2] == "aborted: superseded"
            with pytest.raises(ServiceErrorResponse) as error:
                await t.association.get_server_directory()
            assert error.value.error_class == "application-reference"
            assert await second.get_server_directory() == await third.get_server_directory()

    run(body())


def test_the_servers_link_loss_aborts_its_associations(xmpp_env: Env, own_scl: Path) -> None:
    async def body() -> None:
        proxy = Proxy(xmpp_env.server.port)
        await proxy.start()
        server = AcsiServer(
            xmpp_env.settings("xied", port=proxy.port, reconnect=False), served_model(own_scl)
        )
        client = AcsiClient(xmpp_env.settings("client2"))
        await server.start()
        await client.start()
        try:
            association = await client.associate(xmpp_env.jid("xied"))
            assert await association.get_server_directory() == [LD]
            proxy.cut()
            assert await _until(lambda: not server.associations, 5)
            assert server.closed[-1][2] == "aborted: link lost"
            # and the client hears the IED go unavailable once Prosody ends its session
            assert await _until(lambda: not association.is_open, 15)
        finally:
            await client.stop()
            await server.stop()
            await proxy.stop()

    run(body())


def test_an_answer_from_another_jid_is_not_taken(xmpp_env: Env, own_scl: Path) -> None:
    """A third account that learns an iq id cannot answer in the server's place."""
    from gen61850.generated.scsm_8_2 import codec
    from gen61850.generated.scsm_8_2.bindings import (
        Boolean,
        ConfirmedResponsePdu,
        ConfirmedServiceResponse,
        GetNameListResponse,
        ListOfIdentifier,
        Mmspdu,
        Null,
    )
    from gen61850.runtime.xmpp import pdus
    from gen61850.runtime.xmpp.errors import TimeoutError61850
    from gen61850.runtime.xmpp.transport import Endpoint

    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            sent: list[tuple[str, int]] = []

            def spy(stanza: Any) -> Any:
                context = stanza.xml.find(f"{{{codec.NAMESPACE}}}AssociationContext")
                if context is not None:
                    request = codec.decode(context).pdu.confirmed_request_pdu
                    if request is not None:
                        sent.append((stanza["id"], request.invoke_id))
                return stanza

            t.client.add_filter("out", spy)
            t.client.settings = type(t.client.settings)(
                **{**t.client.settings.__dict__, "request_timeout": 1.0}
            )
            t.server.remove_handler("8-2 iq get")  # the real server stays silent
            t.server.register_handler(
                Callback("silent", StanzaPath("iq@type=get/iec61850"), lambda _iq: None)
            )
            forger = Endpoint(xmpp_env.settings("raw"))
            await forger.start()
            try:
                pending = asyncio.ensure_future(t.association.get_server_directory())
                assert await _until(lambda: bool(sent), 5)
                iq_id, invoke_id = sent[0]
                answer = Mmspdu(
                    confirmed_response_pdu=ConfirmedResponsePdu(
                        invoke_id=invoke_id,
                        service=ConfirmedServiceResponse(
                            get_name_list=GetNameListResponse(
                                list_of_identifier=ListOfIdentifier(identifier=["FORGED"]),
                                more_follows=Boolean(false=Null()),
                            )
                        ),
                    )
                )
                forged = forger.make_iq_result(id=iq_id, ito=str(t.client.boundjid))
                forged.xml.append(
                    codec.encode(pdus.context(t.association.state.association_id, answer))
                )
                forged.send()
                with pytest.raises(TimeoutError61850):
                    await pending
            finally:
                await forger.stop()

    run(body())


def test_a_failure_of_ours_during_associate_is_answered(xmpp_env: Env, own_scl: Path) -> None:
    """initiate carries no invokeID: the iq still gets an error, the client no timeout."""
    from gen61850.runtime.xmpp.errors import PeerError

    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            t.client.settings = type(t.client.settings)(
                **{**t.client.settings.__dict__, "request_timeout": 5.0}
            )

            def broken(**_: Any) -> None:
                raise RuntimeError("a bug")

            t.server.send_presence = broken  # type: ignore[method-assign]
            with pytest.raises(PeerError, match="internal-server-error"):
                await t.client.associate(xmpp_env.jid("xied"))
            assert await t.association.get_server_directory() == [LD]

    run(body())


def test_reports_only_from_the_associated_peer_in_an_open_association(
    xmpp_env: Env, own_scl: Path
) -> None:
    from gen61850.generated.scsm_8_2 import codec
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
    from gen61850.runtime.xmpp import pdus
    from gen61850.runtime.xmpp.transport import Endpoint

    def report(association_id: str, rpt_id: str) -> Any:
        pdu = Mmspdu(
            unconfirmed_pdu=UnconfirmedPdu(
                unconfirmed_service=UnconfirmedService(
                    information_report=InformationReport(
                        variable_access_specification=VariableAccessSpecification(
                            variable_list_name=ObjectName(vmd_specific="RPT")
                        ),
                        list_of_access_result=ListOfAccessResult(
                            access_result=[AccessResult(success=Data(visible_string=rpt_id))]
                        ),
                    )
                )
            )
        )
        return codec.encode(pdus.context(association_id, pdu))

    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            heard: list[tuple[str, str | None]] = []
            t.client.report_listeners.append(
                lambda sender, r: heard.append(
                    (sender, r.list_of_access_result.access_result[0].success.visible_string)  # type: ignore[union-attr]
                )
            )
            seen = 0

            def counting(direction: str, element: Any) -> None:
                nonlocal seen
                t.check(direction, element)
                seen += direction == "received"

            t.client.inspect = counting
            ours = t.association.state.association_id
            forger = Endpoint(xmpp_env.settings("raw"))
            await forger.start()
            try:
                for sender, association_id, rpt_id in (
                    (forger, ours, "forged"),
                    (t.server, "not-ours", "unknown association"),
                    (t.server, ours, "genuine"),
                ):
                    message = sender.make_message(mto=str(t.client.boundjid), mtype="normal")
                    message.xml.append(report(association_id, rpt_id))
                    message.send()
                assert await _until(lambda: seen >= 3, 5)
            finally:
                await forger.stop()
            assert heard == [(xmpp_env.jid("xied"), "genuine")]

    run(body())


OFFER = Offer(
    version=1,
    max_pdu_size=65_000,
    min_pdu_size=1_024,
    max_outstanding=64,
    max_nesting_level=16,
    min_nesting_level=5,
    parameter_cbb="11110001000",
    services="1",
)
GOOD = Proposal(
    version=1,
    max_pdu_size=100_000,
    max_outstanding_calling=500,
    max_outstanding_called=2,
    nesting_level=None,
    parameter_cbb="11110001000",
)


def test_negotiation_stays_within_both_sides() -> None:
    negotiated = negotiate(GOOD, OFFER)
    assert negotiated == Negotiated(65_000, 64, 2, "1", 16)
    assert negotiate(replace(GOOD, max_pdu_size=None, nesting_level=7), OFFER) == Negotiated(
        65_000, 64, 2, "1", 7
    )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"version": 2}, 1),  # version-incompatible
        ({"max_pdu_size": -5}, 2),  # max-segment-insufficient
        ({"max_pdu_size": 0}, 2),
        ({"max_pdu_size": 1_023}, 2),
        ({"max_outstanding_calling": 0}, 3),  # max-services-outstanding-calling-insufficient
        ({"max_outstanding_called": -1}, 4),  # ...-called-insufficient
        ({"parameter_cbb": "1111"}, 6),  # parameter-CBB-insufficient (vlis missing)
        ({"parameter_cbb": ""}, 6),
        ({"nesting_level": 4}, 7),  # nesting-level-insufficient (the data nests 5)
        ({"nesting_level": -128}, 7),
    ],
)
def test_proposals_out_of_range_are_refused_with_their_initiate_error(
    change: dict[str, Any], code: int
) -> None:
    with pytest.raises(InitiateRefused) as refused:
        negotiate(replace(GOOD, **change), OFFER)
    assert refused.value.error == ("initiate", code)


def test_an_initiate_out_of_range_is_refused_on_the_wire(xmpp_env: Env, own_scl: Path) -> None:
    """localDetailCalling=-5 used to be accepted, and then every request failed."""

    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            for options, code in (
                ({"max_pdu_size": -5}, 2),
                ({"max_pdu_size": 100}, 2),
                ({"max_outstanding": 0}, 3),
            ):
                client = AcsiClient(xmpp_env.settings("client2"), **options)
                await client.start()
                try:
                    with pytest.raises(AssociationError, match=rf"initiate={code}\b"):
                        await client.associate(xmpp_env.jid("xied"))
                finally:
                    await client.stop()
            assert len(t.server.associations) == 1
            # a nesting level below what the data needs (xmpp_ied.icd nests 5 levels)
            assert t.server.model.nesting_level == 5
            initiate = pdus.initiate_request(65_000, 5, nesting_level=4)
            fresh = Association("fresh", str(t.client.boundjid), xmpp_env.jid("xied"))
            handle = ClientAssociation(t.client, fresh)
            answer = await t.client._exchange(handle, None, initiate, "set")
            assert answer.pdu.initiate_error_pdu is not None
            assert pdus.error_of(answer.pdu.initiate_error_pdu).code == 7
            # and what was negotiated is what the server enforces
            negotiated = t.association.state.negotiated
            assert negotiated is not None and negotiated.nesting_level == 16
            assert await t.association.get_server_directory() == [LD]

    run(body())
