"""Our serializer of 8-2 stanzas writes the octets slixmpp's own serializer writes.

The judge is ``slixmpp.xmlstream.tostring`` called as slixmpp's send queue calls it; the
stanzas are what the endpoints send: answers, reports, CommandTerminations, file chunks,
the attribute forms, payloads with every character XML escapes, and stanzas the fast way
must leave to slixmpp (another child, a tail, a namespaced attribute).
"""

from __future__ import annotations

import copy
import random
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from slixmpp.xmlstream.tostring import tostring

from gen61850.generated.scsm_8_2 import codec
from gen61850.generated.scsm_8_2.bindings import (
    AccessResult,
    ConfirmedResponsePdu,
    ConfirmedServiceResponse,
    Data,
    DataList,
    FileReadResponse,
    GetNameListResponse,
    ListOfAccessResult,
    ListOfIdentifier,
    Mmspdu,
    ReadResponse,
)
from gen61850.runtime.xmpp import pdus
from gen61850.runtime.xmpp.attribute_forms import to_attributes
from gen61850.runtime.xmpp.outputs import IqResult, Message
from gen61850.runtime.xmpp.serialize import serialize
from gen61850.runtime.xmpp.server import AcsiServer
from gen61850.runtime.xmpp.transport import XmppSettings
from gen61850.runtime.xmpp.values import boolean
from tests.conftest import fuzz_budget
from tests.xmpp.conftest import OWN_SCL, served_model
from tests.xmpp.controls_harness import ControlDriver

HOSTILE = "a&b<c>d'e\"f\tg\nh é \U0001f600 ]]> &amp;"


@pytest.fixture(scope="module")
def endpoint() -> AcsiServer:
    """An endpoint as the adapters build it (not connected: only its stream settings)."""
    settings = XmppSettings(
        jid="ied@iec61850.test", password="x", host="127.0.0.1", port=1, ca_file=None
    )
    return AcsiServer(settings, served_model(OWN_SCL))


def _slixmpp(endpoint: AcsiServer, stanza: Any) -> str:
    return tostring(stanza.xml, xmlns=endpoint.default_ns, stream=endpoint, top_level=True)


def _stanzas(endpoint: AcsiServer, payload: ET.Element) -> Iterator[Any]:
    message = endpoint.make_message(mto="client1@iec61850.test/IEC", mtype="normal")
    message.xml.append(copy.deepcopy(payload))
    yield message
    result = endpoint.make_iq_result(id="q&1", ito="client1@iec61850.test/IEC")
    result.xml.append(copy.deepcopy(payload))
    yield result


def _answer(service: ConfirmedServiceResponse) -> ET.Element:
    pdu = Mmspdu(confirmed_response_pdu=ConfirmedResponsePdu(invoke_id=7, service=service))
    return codec.encode(pdus.context("a1", pdu))


def _payloads() -> Iterator[ET.Element]:
    driver = ControlDriver()
    driver.associate()
    for reply in (
        driver.read("XCBR1$ST$Pos"),
        driver.control("XCBR1.Pos", "SBOw", True),
        driver.control("XCBR1.Pos", "Oper", True),
        driver.control("GGIO1.SPCSO1", "Oper", True),
    ):
        for output in reply.outputs:
            if isinstance(output, IqResult | Message):
                yield output.payload
    yield _answer(
        ConfirmedServiceResponse(
            read=ReadResponse(
                list_of_access_result=ListOfAccessResult(
                    access_result=[
                        AccessResult(success=Data(visible_string=HOSTILE)),
                        AccessResult(success=Data(m_msstring=HOSTILE)),
                        AccessResult(success=Data(structure=DataList(data=[]))),
                        AccessResult(failure=10),
                    ]
                )
            )
        )
    )
    yield _answer(
        ConfirmedServiceResponse(
            file_read=FileReadResponse(file_data=bytes(range(256)) * 64, more_follows=boolean(True))
        )
    )
    listed = ConfirmedServiceResponse(
        get_name_list=GetNameListResponse(
            list_of_identifier=ListOfIdentifier(identifier=["LD0", HOSTILE]),
            more_follows=boolean(False),
        )
    )
    yield to_attributes(_answer(listed))  # moreFollows as an attribute
    yield codec.encode(pdus.context(HOSTILE, pdus.conclude_response()))


def test_our_octets_are_slixmpps(endpoint: AcsiServer) -> None:
    count = 0
    for payload in _payloads():
        for stanza in _stanzas(endpoint, payload):
            expected = _slixmpp(endpoint, stanza)
            written = serialize(stanza)
            assert isinstance(written, str)  # the fast way took it
            assert written == expected
            count += 1
    assert count >= 18


@pytest.mark.parametrize("change", ["other child", "tail", "namespaced attribute", "foreign"])
def test_stanzas_it_is_not_sure_of_stay_with_slixmpp(endpoint: AcsiServer, change: str) -> None:
    payload = next(_payloads())
    message = endpoint.make_message(mto="c@iec61850.test/IEC", mtype="normal")
    message.xml.append(copy.deepcopy(payload))
    if change == "other child":
        ET.SubElement(message.xml, "{urn:other}x")
    elif change == "tail":
        message.xml[0].tail = "text"
    elif change == "namespaced attribute":
        message.xml[0][0].set("{urn:other}a", "1")
    else:
        ET.SubElement(message.xml[0][0], "{urn:other}x")
    assert serialize(message) is message


@pytest.mark.fuzz
def test_random_texts_and_shapes_fuzzed(endpoint: AcsiServer, fuzz_rng: random.Random) -> None:
    alphabet = "ab<>&'\" \t\n\r]\u00e9\u20ac\U0001f600"
    for _ in range(fuzz_budget(300)):
        root = ET.Element("{" + codec.NAMESPACE + "}AssociationContext")
        nodes = [root]
        for _ in range(fuzz_rng.randint(0, 30)):
            parent = fuzz_rng.choice(nodes)
            child = ET.SubElement(parent, "{" + codec.NAMESPACE + "}e" + str(len(nodes)))
            if fuzz_rng.random() < 0.6:
                length = fuzz_rng.randint(0, 12)
                child.text = "".join(fuzz_rng.choice(alphabet) for _ in range(length))
            if fuzz_rng.random() < 0.1:
                child.set("moreFollows", "".join(fuzz_rng.choice(alphabet) for _ in range(3)))
            if fuzz_rng.random() < 0.1:
                child.tail = "".join(fuzz_rng.choice(alphabet) for _ in range(3))
            nodes.append(child)
        for stanza in _stanzas(endpoint, root):
            assert serialize(stanza) == _slixmpp(endpoint, stanza)
