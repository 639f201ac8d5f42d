"""Hostile input to the server: each answered per the error mapping, and the server keeps
serving a well-behaved client associated beside the attacker."""

from __future__ import annotations

import asyncio
import logging
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

from gen61850.generated.scsm_8_2 import codec
from gen61850.generated.scsm_8_2.bindings import Data
from gen61850.generated.scsm_8_2.stanza import PLUGIN_ATTRIB
from gen61850.runtime.xmpp import pdus
from gen61850.runtime.xmpp.errors import DataAccessFailure, RejectedError, ServiceErrorResponse
from gen61850.runtime.xmpp.transport import Endpoint
from tests.xmpp.conftest import Env, SchemaCheck, deepest, live, run

NS = codec.NAMESPACE
LD = "XIEDLD0"


class Raw(Endpoint):
    """An XMPP account that sends hand-made payloads and collects every answer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.messages: list[ET.Element] = []
        self.register_handler(
            Callback("raw 8-2 message", StanzaPath(f"message/{PLUGIN_ATTRIB}"), self._message)
        )
        self.lost = asyncio.Event()
        self.add_event_handler("disconnected", lambda _: self.lost.set())

    def _message(self, message: Any) -> None:
        found = message.xml.find(f"{{{NS}}}AssociationContext")
        if found is not None:
            self.messages.append(found)

    async def reject_after(self, seen: int) -> tuple[str, str, str | None]:
        """The reason of the first rejectPDU message after the first ``seen`` messages."""
        for _ in range(100):
            if len(self.messages) > seen:
                return reject_reason(self.messages[seen])
            await asyncio.sleep(0.05)
        raise AssertionError("no rejectPDU message arrived")

    async def ask(self, to: str, payload: str, iq_type: str = "get") -> Any:
        iq = self.make_iq(ito=to, itype=iq_type)  # type: ignore[arg-type]
        iq.xml.append(ET.fromstring(payload))
        try:
            return await iq.send(timeout=10)
        except Exception as error:  # IqError carries the error stanza
            return getattr(error, "iq", error)

    async def ask_raw(self, to: str, payload: str, iq_type: str = "get") -> Any:
        """Send ``payload`` in an iq written as text (slixmpp's own serializer recurses per
        element and could not send a payload thousands of levels deep) and await its answer."""
        iq_id = self.new_id()
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.register_handler(
            Callback(
                f"raw answer {iq_id}",
                StanzaPath(f"iq@id={iq_id}"),
                lambda iq: answer.done() or answer.set_result(iq),
            )
        )
        try:
            self.send_raw(f"<iq type='{iq_type}' id='{iq_id}' to='{to}'>{payload}</iq>")
            return await asyncio.wait_for(answer, 10)
        finally:
            self.remove_handler(f"raw answer {iq_id}")


def ctx(association: str, pdu: str) -> str:
    return (
        f'<AssociationContext xmlns="{NS}"><associationID>{association}</associationID>'
        f"<pdu>{pdu}</pdu></AssociationContext>"
    )


def request(invoke: str, service: str) -> str:
    return (
        f"<confirmed-RequestPDU><invokeID>{invoke}</invokeID><service>{service}</service>"
        "</confirmed-RequestPDU>"
    )


READ_DOMAINS = (
    "<getNameList><objectClass><basicObjectClass>9</basicObjectClass></objectClass>"
    "<objectScope><vmdSpecific/></objectScope></getNameList>"
)


def reject_reason(element: ET.Element) -> tuple[str, str, str | None]:
    reject = element.find(f"{{{NS}}}pdu/{{{NS}}}rejectPDU")
    assert reject is not None, ET.tostring(element)
    reason = reject.find(f"{{{NS}}}rejectReason")
    assert reason is not None and len(reason) == 1
    original = reject.find(f"{{{NS}}}originalInvokeID")
    return (
        reason[0].tag.split("}")[1],
        reason[0].text or "",
        None if original is None else original.text,
    )


def test_hostile_payloads_are_answered_per_the_mapping(xmpp_env: Env, own_scl: Path) -> None:
    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            ied = xmpp_env.jid("xied")
            raw = Raw(xmpp_env.settings("raw"))
            await raw.start()
            check = SchemaCheck()
            try:
                # unknown service: rejectPDU unrecognized-service + iq error
                answer = await raw.ask(ied, ctx("x", request("7", "<fooService/>")))
                assert answer["type"] == "error"
                assert answer["error"]["condition"] == "feature-not-implemented"
                assert await raw.reject_after(0) == ("confirmed-requestPDU", "1", "7")
                check("received", raw.messages[0])
                # schema violation with a readable invokeID: invalid-argument
                answer = await raw.ask(ied, ctx("x", request("8", "<read><bogus/></read>")))
                assert answer["error"]["condition"] == "bad-request"
                assert await raw.reject_after(1) == ("confirmed-requestPDU", "4", "8")
                # no invokeID at all: pdu-error invalid-pdu
                answer = await raw.ask(
                    ied,
                    ctx(
                        "x", "<confirmed-RequestPDU><invokeID>abc</invokeID></confirmed-RequestPDU>"
                    ),
                )
                assert answer["type"] == "error"
                assert await raw.reject_after(2) == ("pdu-error", "1", None)
                # an unknown AssociationID: confirmed-ErrorPDU application-reference-invalid
                answer = await raw.ask(ied, ctx("never-associated", request("9", READ_DOMAINS)))
                element = answer.xml.find(f"{{{NS}}}AssociationContext")
                check("received", element)
                error = element.find(f"{{{NS}}}pdu/{{{NS}}}confirmed-ErrorPDU")
                assert error is not None
                assert error.findtext(f"{{{NS}}}invokeID") == "9"
                assert (
                    error.findtext(
                        f"{{{NS}}}serviceError/{{{NS}}}errorClass/{{{NS}}}application-reference"
                    )
                    == "3"
                )
                # an associationID the schema does not allow is not echoed back: the
                # request is rejected (value-out-of-range) under the associationID "-"
                seen = 3
                for bad_id in ("A" * 100, "tab\there"):
                    answer = await raw.ask(ied, ctx(bad_id, request("12", READ_DOMAINS)))
                    assert answer["type"] == "error"
                    assert await raw.reject_after(seen) == ("confirmed-requestPDU", "9", "12")
                    assert raw.messages[seen].findtext(f"{{{NS}}}associationID") == "-"
                    seen += 1
                # nor accepted at Associate (65 characters: rejected; the reserved "-": refused)
                initiate = pdus.context("B" * 65, pdus.initiate_request(65000, 5))
                answer = await raw.ask(ied, ET.tostring(codec.encode(initiate), "unicode"), "set")
                assert answer["type"] == "error"
                assert await raw.reject_after(seen) == ("pdu-error", "1", None)
                seen += 1
                initiate = pdus.context("-", pdus.initiate_request(65000, 5))
                answer = await raw.ask(ied, ET.tostring(codec.encode(initiate), "unicode"), "set")
                element = answer.xml.find(f"{{{NS}}}AssociationContext")
                check("received", element)
                assert element.find(f"{{{NS}}}pdu/{{{NS}}}initiate-ErrorPDU") is not None
                assert all(key[1] != "-" for key in t.server.associations)
                # 10 MB: answered with service pdu-size, without decoding it
                big = ctx(
                    "x",
                    request(
                        "10",
                        "<read><variableAccessSpecification><listOfVariable>"
                        "<SEQUENCE><variableSpecification><name><vmd-specific>"
                        + "A"
                        * 10_000_000
                        + "</vmd-specific></name></variableSpecification>"
                        "</SEQUENCE></listOfVariable></variableAccessSpecification></read>",
                    ),
                )
                answer = await raw.ask(ied, big)
                error = answer.xml.find(
                    f"{{{NS}}}AssociationContext/{{{NS}}}pdu/{{{NS}}}confirmed-ErrorPDU"
                )
                assert error is not None
                assert (
                    error.findtext(f"{{{NS}}}serviceError/{{{NS}}}errorClass/{{{NS}}}service")
                    == "3"
                )
                # a read carried in iq set (table D.1 says get): rejected, invalid-argument
                answer = await raw.ask(ied, ctx("x", request("11", READ_DOMAINS)), "set")
                assert answer["type"] == "error"
                assert answer["error"]["condition"] == "bad-request"
                assert await raw.reject_after(seen) == ("confirmed-requestPDU", "4", "11")
                # an initiate carried in iq get (table D.1 says set): pdu-error invalid-pdu
                initiate = codec.encode(pdus.context("y", pdus.initiate_request(65000, 5)))
                answer = await raw.ask(ied, ET.tostring(initiate, "unicode"), "get")
                assert answer["error"]["condition"] == "bad-request"
                assert await raw.reject_after(seen + 1) == ("pdu-error", "1", None)
                for message in raw.messages:
                    check("received", message)
                assert check.errors == []
                # names over 64 characters break the schema's Identifier: value-out-of-range
                for domain, item in ((LD, "A" * 65), (LD, "LLN0$" + "B" * 70), ("D" * 65, "LLN0")):
                    with pytest.raises(RejectedError) as rejected:
                        await t.association.get_data_values(domain, item)
                    assert (rejected.value.kind, rejected.value.code) == ("confirmed-requestPDU", 9)
                with pytest.raises(RejectedError):
                    await t.association.get_logical_device_directory("D" * 65)
                # a name of 64 characters that names nothing: object-non-existent per member
                with pytest.raises(DataAccessFailure) as failure:
                    await t.association.get_data_values(LD, "A" * 64)
                assert failure.value.code == 10
                with pytest.raises(ServiceErrorResponse):
                    await t.association.get_logical_device_directory("D" * 64)
                # the well-behaved client is still served
                assert await t.association.get_server_directory() == [LD]
            finally:
                await raw.stop()

    run(body(), timeout=120)


@pytest.mark.parametrize(
    "garbage",
    [
        "<iq type='get' id='m1'><AssociationContext xmlns='" + NS + "'><broken></iq>",
        "<!DOCTYPE lol [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>]>"
        "<iq type='get' id='m2'>&b;</iq>",
    ],
    ids=["malformed-xml", "entity-expansion"],
)
def test_broken_xml_ends_only_the_attackers_stream(
    xmpp_env: Env, own_scl: Path, garbage: str
) -> None:
    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            raw = Raw(xmpp_env.settings("raw", reconnect=False))
            await raw.start()
            raw.send_raw(garbage)
            await asyncio.wait_for(raw.lost.wait(), 10)
            assert await t.association.get_server_directory() == [LD]
            assert await t.association.get_data_values(LD, "GGIO1$SP$Setg$limit") == Data(
                integer=-5
            )
            await raw.stop()

    run(body())


def _nested_write(levels: int) -> str:
    inner = "<integer>1</integer>"
    for _ in range(levels):
        inner = f"<structure><Data>{inner}</Data></structure>"
    return (
        "<write><variableAccessSpecification><listOfVariable><SEQUENCE><variableSpecification>"
        "<name><domain-specific><domainID>XIEDLD0</domainID><itemID>GGIO1$SP$Setg</itemID>"
        "</domain-specific></name></variableSpecification></SEQUENCE></listOfVariable>"
        f"</variableAccessSpecification><listOfData><Data>{inner}</Data></listOfData></write>"
    )


def _nested_initiate(levels: int) -> str:
    junk = "<x>" * levels + "</x>" * levels
    return (
        "<initiate-RequestPDU><localDetailCalling>65000</localDetailCalling>"
        "<proposedMaxServOutstandingCalling>5</proposedMaxServOutstandingCalling>"
        "<proposedMaxServOutstandingCalled>5</proposedMaxServOutstandingCalled>"
        f"<initRequestDetail><proposedVersionNumber>1{junk}</proposedVersionNumber>"
        "<proposedParameterCBB>11110001000</proposedParameterCBB>"
        "<servicesSupportedCalling>0</servicesSupportedCalling></initRequestDetail>"
        "</initiate-RequestPDU>"
    )


def test_deep_and_out_of_range_payloads_get_a_reject_with_its_code(
    xmpp_env: Env, own_scl: Path
) -> None:
    """Payloads nested 500 or 3000 levels deep (a confirmed request and, worse, an initiate,
    whose answer slixmpp's iq.reply() would deep-copy) and invokeIDs outside Unsigned32 are
    each answered with one rejectPDU carrying its ISO 9506 reason and an iq error, and
    nothing is echoed; the well-behaved client is served throughout."""

    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            ied = xmpp_env.jid("xied")
            raw = Raw(xmpp_env.settings("raw"))
            await raw.start()
            try:
                seen = 0
                for levels in (500, deepest(xmpp_env)):
                    payload = ctx("x", request("21", _nested_write(levels)))
                    answer = await raw.ask_raw(ied, payload, "set")
                    assert answer["type"] == "error"
                    assert answer["error"]["condition"] == "not-acceptable"
                    # max-recursion-exceeded, with the request's invokeID
                    assert await raw.reject_after(seen) == ("confirmed-requestPDU", "8", "21")
                    answer = await raw.ask_raw(ied, ctx("y", _nested_initiate(levels)), "set")
                    assert answer["type"] == "error"
                    assert await raw.reject_after(seen + 1) == ("pdu-error", "1", None)
                    seen += 2
                    assert await t.association.get_server_directory() == [LD]
                for invoke in ("-1", str(2**32), str(10**23)):
                    answer = await raw.ask(ied, ctx("x", request(invoke, READ_DOMAINS)))
                    assert answer["type"] == "error"
                    # value-out-of-range, and the invokeID is not echoed
                    assert await raw.reject_after(seen) == ("confirmed-requestPDU", "9", None)
                    seen += 1
                # more digits than Python converts (found by the fuzzer: no answer at all)
                answer = await raw.ask(ied, ctx("x", request("9" * 5000, READ_DOMAINS)))
                assert answer["type"] == "error"
                assert await raw.reject_after(seen) == ("pdu-error", "1", None)
                seen += 1
                check = SchemaCheck()
                for message in raw.messages:
                    check("received", message)
                assert check.errors == []
                assert len(raw.messages) == seen  # one reject per request, no more
                assert not any(a.peer.startswith("raw@") for a in t.server.associations.values())
                assert await t.association.get_data_values(LD, "GGIO1$SP$Setg$limit") == Data(
                    integer=-5
                )
            finally:
                await raw.stop()

    run(body(), timeout=120)


def test_deep_stanzas_do_not_drop_the_link(
    xmpp_env: Env, own_scl: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """slixmpp serializes (debug log) and copies (the error reply to an iq nobody handles)
    stanzas recursively; a stanza 3,000 levels deep used to raise RecursionError there and
    drop the IED's connection, whoever sent it. Now it is answered and dropped first."""

    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            ied = xmpp_env.jid("xied")
            raw = Raw(xmpp_env.settings("raw"))
            await raw.start()
            try:
                levels = deepest(xmpp_env)
                foreign = "<q xmlns='urn:x'>" + "<a>" * levels + "</a>" * levels + "</q>"
                answer = await raw.ask_raw(ied, foreign)
                assert (answer["type"], answer["error"]["condition"]) == ("error", "not-acceptable")
                answer = await raw.ask_raw(
                    ied, ctx("x", request("5", _nested_write(levels))), "set"
                )
                assert answer["type"] == "error"
                assert await raw.reject_after(0) == ("confirmed-requestPDU", "8", "5")
                assert await t.association.get_server_directory() == [LD]
                assert not any("link lost" in why for _, _, why in t.server.closed)
            finally:
                await raw.stop()

    with caplog.at_level(logging.DEBUG, logger="slixmpp"):  # the debug log serializes
        run(body())
