"""Stanza matchers for the 8-2 handlers, cheaper than slixmpp's ``StanzaPath``.

slixmpp tries every registered handler's matcher on every stanza that arrives. A
``StanzaPath`` walks the stanza's interfaces and plugins (and, when it does not match,
walks again with the raw path): the 8-2 handlers' paths were a large part of what a client
spent on each report. ``PayloadPath`` answers what ``StanzaPath("name[@type=T][/iec61850]")``
answers (``tests/xmpp/test_matchers.py`` holds the two equal) by looking at the stanza's
name, its ``type`` attribute and its children's tags.
"""

from __future__ import annotations

from typing import Any

from slixmpp.xmlstream.matcher.base import MatcherBase

from gen61850.generated.scsm_8_2.stanza import AssociationContextStanza

PAYLOAD_TAG = AssociationContextStanza.tag_name()


class PayloadPath(MatcherBase):
    """Stanzas named ``name`` (``iq``, ``message``), of ``type`` when given, that carry an
    8-2 ``AssociationContext`` child when ``payload``."""

    def __init__(self, name: str, type_: str | None = None, payload: bool = True) -> None:
        super().__init__((name, type_, payload))
        self.name = name
        self.type = type_
        self.payload = payload

    def match(self, stanza: Any) -> bool:
        if stanza.name != self.name:
            return False
        xml = stanza.xml
        if self.type is not None and xml.get("type", "") != self.type:
            return False
        if not self.payload:
            return True
        return any(child.tag == PAYLOAD_TAG for child in xml)

    def path(self) -> str:
        """The ``StanzaPath`` this matcher stands for."""
        text = self.name + (f"@type={self.type}" if self.type is not None else "")
        return text + (f"/{AssociationContextStanza.plugin_attrib}" if self.payload else "")


__all__ = ["PAYLOAD_TAG", "PayloadPath"]
