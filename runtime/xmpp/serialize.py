"""Stanzas carrying one 8-2 payload, serialized without slixmpp's general serializer.

slixmpp turns every outgoing stanza into text with ``slixmpp.xmlstream.tostring``, which
works element by element and escapes text one character at a time: for a report or an
Operate it was the largest part of what an endpoint spent per stanza. ``serialize`` is an
``out_sync`` filter (it runs after XEP-0198 has counted and kept the stanza for resending)
that writes a stanza whose only child is an ``AssociationContext`` itself and hands slixmpp
the text. The octets are the ones slixmpp would write (``tests/xmpp/test_serialize.py``
holds the two equal over answers, reports, CommandTerminations, file chunks, attribute
forms and hostile text); any stanza it is not sure of (other children, namespaced
attributes other than ``xml:lang``, prefixes, CDATA mode) goes on as it was.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from gen61850.generated.scsm_8_2.codec import NAMESPACE

ROOT_TAG = "{" + NAMESPACE + "}AssociationContext"
_XML_ATTRIBUTE = "{http://www.w3.org/XML/1998/namespace}"  # xml:lang, written with its prefix
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&apos;", '"': "&quot;"})


class _NotSure(Exception):
    """Something slixmpp writes in a way this module does not copy: leave it to slixmpp."""


def serialize(stanza: Any) -> Any:
    """The text of ``stanza`` if it carries one 8-2 payload (see the module doc), else the
    stanza unchanged."""
    xml = stanza.xml
    stream = stanza.stream
    if (
        len(xml) != 1
        or xml[0].tag != ROOT_TAG
        or stream is None
        or stream.use_cdata
        or xml.text
        or xml.tail
        or xml[0].tail
    ):
        return stanza
    parts = xml.tag.split("}", 1)
    envelope_ns = parts[0][1:] if "}" in xml.tag else ""
    if stream.namespace_map.get(envelope_ns) or stream.namespace_map.get(NAMESPACE):
        return stanza
    if envelope_ns and envelope_ns not in (stream.default_ns, stream.stream_ns):
        opening = f'<{parts[-1]} xmlns="{envelope_ns}"'
    else:
        opening = f"<{parts[-1]}"
    pieces = [opening]
    try:
        for key, value in xml.attrib.items():
            if "}" not in key:
                pieces.append(f' {key}="{value.translate(_ESCAPES)}"')
            elif key.startswith(_XML_ATTRIBUTE):
                pieces.append(f' xml:{key[len(_XML_ATTRIBUTE) :]}="{value.translate(_ESCAPES)}"')
            else:
                raise _NotSure(key)
        pieces.append(">")
        _write(xml[0], envelope_ns, pieces)
    except _NotSure:
        return stanza
    pieces.append(f"</{parts[-1]}>")
    return "".join(pieces)


def _write(node: Element, parent_ns: str, pieces: list[str]) -> None:
    """``node`` below an element of namespace ``parent_ns``, as slixmpp's ``tostring``."""
    tag = node.tag
    parts = tag.split("}", 1)
    namespace = parts[0][1:] if "}" in tag else ""
    if namespace != NAMESPACE:  # slixmpp may give another namespace a prefix
        raise _NotSure(namespace)
    name = parts[-1]
    opening = f"<{name}" if namespace == parent_ns else f'<{name} xmlns="{namespace}"'
    if node.attrib:
        for key, value in node.attrib.items():
            if "}" in key:
                raise _NotSure(key)
            opening += f' {key}="{value.translate(_ESCAPES)}"'
    text = node.text
    if len(node):
        pieces.append(f"{opening}>{text.translate(_ESCAPES)}" if text else f"{opening}>")
        for child in node:
            _write(child, namespace, pieces)
        pieces.append(f"</{name}>")
    elif text:
        pieces.append(f"{opening}>{text.translate(_ESCAPES)}</{name}>")
    else:
        pieces.append(f"{opening} />")
    if node.tail:
        pieces.append(node.tail.translate(_ESCAPES))


__all__ = ["serialize"]
