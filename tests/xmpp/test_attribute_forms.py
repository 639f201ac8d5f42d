"""scopeOfDelete, moreFollows and specificationWithResult as XML attributes (as public 8-2
traces carry them) or as elements (our schema): both accepted, one written by choice."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from gen61850.generated.scsm_8_2 import codec
from gen61850.runtime.xmpp.attribute_forms import to_attributes, to_elements
from gen61850.runtime.xmpp.client import AcsiClient
from gen61850.runtime.xmpp.errors import PayloadError
from gen61850.runtime.xmpp.server import AcsiServer
from gen61850.runtime.xmpp.transport import Endpoint
from tests.xmpp.conftest import Env, SchemaCheck, run, served_model

NS = codec.NAMESPACE
LD = "XIEDLD0"


def payload(body: str, association: str = "a1") -> ET.Element:
    return ET.fromstring(
        f'<AssociationContext xmlns="{NS}"><associationID>{association}</associationID>'
        f"<pdu>{body}</pdu></AssociationContext>"
    )


def shown(element: ET.Element) -> str:
    """The element as text without namespace prefixes (for looking at)."""
    return ET.tostring(element, encoding="unicode").replace("ns0:", "").replace(":ns0", "")


def request(invoke_id: int, service: str) -> str:
    return (
        f"<confirmed-RequestPDU><invokeID>{invoke_id}</invokeID><service>{service}</service>"
        "</confirmed-RequestPDU>"
    )


READ = (
    '<read specificationWithResult="true"><variableAccessSpecification><listOfVariable>'
    "<SEQUENCE><variableSpecification><name><domain-specific><domainID>XIEDLD0</domainID>"
    "<itemID>MMXU1$MX$TotW$mag$f</itemID></domain-specific></name></variableSpecification>"
    "</SEQUENCE></listOfVariable></variableAccessSpecification></read>"
)


def delete(scope: str, name: str = "LLN0$Mine") -> str:
    return (
        f'<deleteNamedVariableList scopeOfDelete="{scope}"><listOfVariableListName>'
        f"<ObjectName><domain-specific><domainID>{LD}</domainID><itemID>{name}</itemID>"
        "</domain-specific></ObjectName></listOfVariableListName></deleteNamedVariableList>"
    )


@pytest.mark.parametrize(
    ("attribute_form", "element_form"),
    [
        (READ, "<specificationWithResult><true /></specificationWithResult>"),
        (delete("specific"), "<scopeOfDelete>0</scopeOfDelete>"),
        (delete("vmd"), "<scopeOfDelete>3</scopeOfDelete>"),
        (delete("2"), "<scopeOfDelete>2</scopeOfDelete>"),
    ],
)
def test_the_attribute_form_reads_as_the_element_and_back(
    attribute_form: str, element_form: str
) -> None:
    element = to_elements(payload(request(1, attribute_form)))
    text = shown(element)
    assert element_form in text and "scopeOfDelete=" not in text
    assert "specificationWithResult=" not in text
    codec.decode(element)  # what the schema has
    written = to_attributes(element)
    assert element_form not in shown(written)
    assert ET.tostring(to_elements(written)) == ET.tostring(
        to_elements(payload(request(1, attribute_form)))
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (delete("bogus"), "one of specific, aa-specific, domain, vmd"),
        (READ.replace('"true"', '"yes"'), "true or false"),
        (delete("12345678901"), "one of"),
    ],
)
def test_a_value_neither_form_allows_is_a_payload_error(body: str, error: str) -> None:
    with pytest.raises(PayloadError, match=error):
        to_elements(payload(request(1, body)))


def test_both_forms_at_once_is_refused_by_the_codec() -> None:
    twice = READ.replace(
        "<variableAccessSpecification>",
        "<specificationWithResult><true/></specificationWithResult><variableAccessSpecification>",
    )
    with pytest.raises(PayloadError, match="more than once"):
        codec.decode(to_elements(payload(request(1, twice))))


def test_a_peer_that_sends_attributes_is_served(xmpp_env: Env, own_scl: Path) -> None:
    """A raw peer sends the public traces' forms; a server set to write attributes answers
    getNameList with moreFollows as an attribute."""

    async def body() -> None:
        check = SchemaCheck()
        server = AcsiServer(
            xmpp_env.settings("xied"), served_model(own_scl), inspect=check, attribute_form=True
        )
        peer = Endpoint(xmpp_env.settings("raw"))
        await server.start()
        await peer.start()

        async def ask(iq_type: str, element: ET.Element) -> Any:
            iq = peer.make_iq(ito=xmpp_env.jid("xied"), itype=iq_type)  # type: ignore[arg-type]
            iq.xml.append(element)
            return await iq.send(timeout=10)

        try:
            initiate = (
                "<initiate-RequestPDU><proposedMaxServOutstandingCalling>2"
                "</proposedMaxServOutstandingCalling><proposedMaxServOutstandingCalled>2"
                "</proposedMaxServOutstandingCalled><initRequestDetail><proposedVersionNumber>1"
                "</proposedVersionNumber><proposedParameterCBB>11110001000</proposedParameterCBB>"
                "<servicesSupportedCalling>1</servicesSupportedCalling></initRequestDetail>"
                "</initiate-RequestPDU>"
            )
            await ask("set", payload(initiate))
            answer = await ask("get", payload(request(1, READ)))
            text = str(answer)
            assert "specificationWithResult" not in text  # a response does not carry it
            assert "<variableAccessSpecification>" in text and "<floating-point>" in text
            names = await ask(
                "get",
                payload(
                    request(
                        2,
                        "<getNameList><objectClass><basicObjectClass>9</basicObjectClass>"
                        "</objectClass><objectScope><vmdSpecific/></objectScope></getNameList>",
                    )
                ),
            )
            assert 'moreFollows="false"' in str(names) and "<moreFollows>" not in str(names)
            server.model.create_data_set(
                LD, "LLN0$Mine", [server.model.member(LD, "XCBR1$ST$Pos")], ("x", "y")
            )
            deleted = await ask("set", payload(request(3, delete("specific"))))
            assert "<numberDeleted>1</numberDeleted>" in str(deleted)
            refused = await ask("set", payload(request(4, delete("vmd"))))
            assert "<service>5</service>" in str(refused)
            with pytest.raises(Exception, match="bad-request"):
                await ask("set", payload(request(5, delete("bogus"))))
            assert check.errors == []
        finally:
            await peer.stop()
            await server.stop()

    run(body())


@pytest.mark.parametrize("who", ["client", "server"])
def test_our_client_and_server_in_either_form(xmpp_env: Env, own_scl: Path, who: str) -> None:
    async def body() -> None:
        check = SchemaCheck()
        server = AcsiServer(
            xmpp_env.settings("xied"),
            served_model(own_scl),
            inspect=check,
            attribute_form=who == "server",
        )
        client = AcsiClient(
            xmpp_env.settings("client1"), inspect=check, attribute_form=who == "client"
        )
        await server.start()
        await client.start()
        try:
            association = await client.associate(xmpp_env.jid("xied"))
            assert await association.get_server_directory() == [LD]
            assert len(await association.name_list(0, LD)) > 10
            await association.create_data_set(LD, "LLN0$Mine", [(LD, "XCBR1$ST$Pos")])
            assert await association.delete_data_set(LD, "LLN0$Mine") is True
            assert await association.read_values([f"{LD}/MMXU1.TotW.mag.f[MX]"]) == [12.5]
            assert check.errors == [] and check.checked > 0
        finally:
            await client.stop()
            await server.stop()

    run(body())
