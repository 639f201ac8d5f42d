"""The 8-2 handlers' matchers match exactly the stanzas slixmpp's StanzaPath matches.

Stanzas are built as slixmpp builds what arrives (from XML, the 8-2 plugin registered):
iq of every type and message, with the payload, without it, with it beside or after other
children, with the payload's tag in another namespace or under another name, and presence.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from slixmpp import Iq, Message, Presence
from slixmpp.xmlstream.matcher import StanzaPath

from gen61850.generated.scsm_8_2.codec import NAMESPACE
from gen61850.generated.scsm_8_2.stanza import register
from gen61850.runtime.xmpp.matchers import PayloadPath

CLIENT = "jabber:client"
CHILDREN = (
    (),
    (f"{{{NAMESPACE}}}AssociationContext",),
    ("{urn:other}AssociationContext",),
    (f"{{{NAMESPACE}}}Other",),
    ("{urn:xmpp:ping}ping", f"{{{NAMESPACE}}}AssociationContext"),
    (f"{{{NAMESPACE}}}AssociationContext", "{urn:ietf:params:xml:ns:xmpp-stanzas}error"),
)
TYPES = (None, "get", "set", "result", "error", "normal", "chat", "")


def stanzas() -> list[Any]:
    register()
    built: list[Any] = []
    kinds: tuple[Any, ...] = (Iq, Message, Presence)
    for kind, children, type_ in itertools.product(kinds, CHILDREN, TYPES):
        xml = ET.Element(f"{{{CLIENT}}}{kind.name}", id="x1")
        if type_ is not None:
            xml.set("type", type_)
        for tag in children:
            ET.SubElement(xml, tag)
        built.append(kind(xml=xml))
    return built


MATCHERS = [
    PayloadPath("iq", "result"),
    PayloadPath("iq", "error", payload=False),
    PayloadPath("iq", "get"),
    PayloadPath("iq", "set"),
    PayloadPath("message"),
]


@pytest.mark.parametrize("matcher", MATCHERS, ids=lambda m: m.path())
def test_payload_path_matches_what_stanza_path_matches(matcher: PayloadPath) -> None:
    reference = StanzaPath(matcher.path())
    hits = 0
    for stanza in stanzas():
        expected = reference.match(stanza)
        assert matcher.match(stanza) == expected, str(stanza)
        hits += expected
    assert hits  # each path matches some of the stanzas, and misses others
    assert hits < len(stanzas())
