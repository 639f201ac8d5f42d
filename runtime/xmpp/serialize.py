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
    opening, closing, empty = _NAMES.get(node.tag) or _names(node.tag)
    if parent_ns != NAMESPACE:
        opening += f' xmlns="{NAMESPACE}"'
        empty = opening + " />"
    _node(node, opening, closing, empty, pieces)


def _node(node: Element, opening: str, closing: str, empty: str, pieces: list[str]) -> None:
    """``node`` (of ``NAMESPACE``, as its parent) with the strings of its tag given."""
    if node.attrib:
        opening += _attributes(node.attrib)
        empty = opening + " />"
    text = node.text
    if len(node):
        pieces.append(f"{opening}>{_escaped(text)}" if text else opening + ">")
        names = _NAMES
        for child in node:
            child_opening, child_closing, child_empty = names.get(child.tag) or _names(child.tag)
            _node(child, child_opening, child_closing, child_empty, pieces)
        pieces.append(closing)
    elif text:
        pieces.append(f"{opening}>{_escaped(text)}{closing}")
    else:
        pieces.append(empty)
    if node.tail:
        pieces.append(_escaped(node.tail))


_NAMES: dict[str, tuple[str, str, str]] = {}
"""Per tag of ``NAMESPACE``: its opening (without ``>``), its closing and its empty form."""
_NAMES_KEPT = 4096
"""Tags kept at most (the payloads' tags are the schema's, a few hundred)."""
_PREFIX = "{" + NAMESPACE + "}"


def _names(tag: str) -> tuple[str, str, str]:
    """The strings of ``tag``; ``_NotSure`` when it is not of ``NAMESPACE`` (slixmpp may
    give another namespace a prefix)."""
    if not tag.startswith(_PREFIX) or "}" in tag[len(_PREFIX) :]:
        raise _NotSure(tag)
    name = tag[len(_PREFIX) :]
    names = (f"<{name}", f"</{name}>", f"<{name} />")
    if len(_NAMES) < _NAMES_KEPT:
        _NAMES[tag] = names
    return names


def _attributes(attributes: dict[str, str]) -> str:
    written = []
    for key, value in attributes.items():
        if "}" in key:
            raise _NotSure(key)
        written.append(f' {key}="{_escaped(value)}"')
    return "".join(written)


def _escaped(text: str) -> str:
    """``text`` with the characters slixmpp escapes escaped (most texts have none)."""
    if "&" in text or "<" in text or ">" in text or "'" in text or '"' in text:
        return text.translate(_ESCAPES)
    return text


__all__ = ["serialize"]
