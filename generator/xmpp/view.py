"""Pass: join the service table with the schema IR into what the xmpp templates render.

Everything the templates need is computed here (names, tags, which class holds which
service), so the templates stay free of logic. Fails with a clear message when the table
names an element the schema does not have.
"""

from __future__ import annotations

from dataclasses import dataclass

from gen61850.generator.naming import safe_identifier, snake_case
from gen61850.generator.xmpp.schema_ir import SchemaIr, SchemaIrError, TypeIr
from gen61850.generator.xmpp.services import (
    CONFIRMED_SERVICES,
    NAMESPACE,
    PDU_STANZAS,
    REQUEST_CHOICE,
    RESPONSE_CHOICE,
    ROOT_ELEMENT,
)


@dataclass(frozen=True)
class ServiceView:
    """One confirmed service as the templates see it."""

    element: str
    function: str  # snake-case stem: get_name_list
    iq_type: str
    acsi: tuple[str, ...]
    request_attribute: str
    request_class: str
    response_attribute: str
    response_class: str


@dataclass(frozen=True)
class PduView:
    """One MMSpdu alternative: attribute on the MMSpdu class and the stanza that carries it."""

    element: str
    attribute: str
    stanza: str
    stanza_type: str


@dataclass(frozen=True)
class TagView:
    constant: str
    xml_name: str


@dataclass(frozen=True)
class XmppView:
    namespace: str
    root_element: str
    root_class: str
    pdu_class: str
    confirmed_request_class: str
    confirmed_response_class: str
    request_choice_class: str
    response_choice_class: str
    types: tuple[TypeIr, ...]
    tags: tuple[TagView, ...]
    services: tuple[ServiceView, ...]
    pdus: tuple[PduView, ...]
    bindings_module: str

    def tag(self, xml_name: str) -> str:
        return tag_constant(xml_name)


def tag_constant(xml_name: str) -> str:
    """Module constant holding the Clark-notation tag of an element: ``_T_invokeID``."""
    return "_T_" + safe_identifier(xml_name)


FILTERS = {"xmpp_tag": tag_constant}
"""The filters the xmpp templates use."""


def build_view(schema: SchemaIr, bindings_module: str) -> XmppView:
    """Check the table against the schema and collect the view."""
    root = schema.by_xml(ROOT_ELEMENT)
    pdu_field = next((f for f in root.fields if f.is_class and f.kind != "str"), None)
    if pdu_field is None:
        raise SchemaIrError(f"{ROOT_ELEMENT} holds no PDU element")
    pdu_type = schema.by_class(pdu_field.kind)
    request_choice = schema.by_xml(REQUEST_CHOICE)
    response_choice = schema.by_xml(RESPONSE_CHOICE)
    services = []
    for service in CONFIRMED_SERVICES:
        request = request_choice.field_by_xml(service.element)
        response = response_choice.field_by_xml(service.element)
        services.append(
            ServiceView(
                element=service.element,
                function=snake_case(service.element),
                iq_type=service.iq_type,
                acsi=service.acsi,
                request_attribute=request.attribute,
                request_class=request.kind,
                response_attribute=response.attribute,
                response_class=response.kind,
            )
        )
    pdus = tuple(
        PduView(p.pdu, pdu_type.field_by_xml(p.pdu).attribute, p.stanza, p.stanza_type)
        for p in PDU_STANZAS
    )
    confirmed_request = schema.by_class(pdu_type.field_by_xml("confirmed-RequestPDU").kind)
    confirmed_response = schema.by_class(pdu_type.field_by_xml("confirmed-ResponsePDU").kind)
    names = sorted({ROOT_ELEMENT} | {f.xml_name for t in schema.types for f in t.fields})
    constants = [tag_constant(n) for n in names]
    if len(set(constants)) != len(constants):
        raise SchemaIrError("two element names map to the same Python constant")
    return XmppView(
        namespace=NAMESPACE,
        root_element=ROOT_ELEMENT,
        root_class=root.class_name,
        pdu_class=pdu_type.class_name,
        confirmed_request_class=confirmed_request.class_name,
        confirmed_response_class=confirmed_response.class_name,
        request_choice_class=request_choice.class_name,
        response_choice_class=response_choice.class_name,
        types=schema.types,
        tags=tuple(TagView(c, n) for c, n in zip(constants, names, strict=True)),
        services=tuple(services),
        pdus=pdus,
        bindings_module=bindings_module,
    )


__all__ = ["PduView", "ServiceView", "TagView", "XmppView", "build_view", "tag_constant"]
