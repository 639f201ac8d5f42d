"""Fetch the shared SCL sections (Communication, DataTypeTemplates) before the streaming pass.

IED sections come before DataTypeTemplates in an SCL file, so resolving IEDs while streaming
needs the templates first. Instead of a whole extra parse, a byte scan (``bytes.find`` on
4 MB chunks, no XML work) locates the two sections; each is parsed on its own, wrapped in
the file's own prolog and root start tag and padded with newlines, so its elements carry
their real line numbers. The guess is only trusted once the streaming pass has met the real
sections at the same lines with the same number of children (``matches``); anything
unusual (an encoding that is not ASCII-compatible, a section name inside a comment, a
fragment that does not parse) makes ``fetch_shared`` return None or the check fail, and the
caller reads the sections with a first streaming pass instead.

The streaming pass then need not parse the fetched sections a second time: ``cuts`` gives,
for each, its byte range and what the stream reads instead, the section's own start tag made
empty followed by the line breaks of its content (so every later element keeps its line).
The empty section the stream meets at the fetched line is the check that the guess was
right (``matches(..., spliced=True)``).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lxml import etree

_CHUNK = 1 << 22
_HEAD = 1 << 16
_SECTIONS = (b"Communication", b"DataTypeTemplates")
_OVERLAP = max(len(t) for t in _SECTIONS) - 1
_NAME_END = b" \t\r\n>/"
_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_SAFE_ENCODINGS = re.compile(r"^(utf-?8|us-ascii|ascii|iso-?8859-\d+|latin-?1|windows-125\d)$")
_START_TAG = re.compile(
    rb"""<([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)"""
    rb"""(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*(/?)>"""
)
_TAG_PREFIX = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?$")
_END_TAG_PREFIX = re.compile(rb"</(?:[A-Za-z_][\w.\-]*:)?$")
_IED_TAGS = (b"<IED ", b"<IED>", b"<IED\n", b"<IED\r", b"<IED\t")


@dataclass(frozen=True)
class SharedSections:
    """The sections as parsed from their byte ranges (None: not in the file)."""

    communication: etree._Element | None
    templates: etree._Element | None
    ied_count: int
    # (start, end, replacement) of each fetched section that the stream need not parse again
    cuts: tuple[tuple[int, int, bytes], ...] = ()
    cut_names: frozenset[str] = frozenset()

    def matches(self, name: str, element: etree._Element, *, spliced: bool = False) -> bool:
        """Whether the streamed section ``name`` is the one fetched ahead (``spliced``: the
        stream read ``cuts`` instead of the sections' bytes, so it meets an empty section
        there)."""
        fetched = self.communication if name == "Communication" else self.templates
        if fetched is None or fetched.sourceline != element.sourceline:
            return False
        if spliced and name in self.cut_names:
            return len(element) == 0
        return len(fetched) == len(element)


@dataclass
class _Hit:
    offset: int  # of the section name
    line: int


def _root_tag(head: bytes) -> tuple[int, bytes] | None:
    """End offset and qualified name of the root start tag, skipping the prolog."""
    encoding = _ENCODING.match(head.removeprefix(b"\xef\xbb\xbf"))
    if encoding is not None and not _SAFE_ENCODINGS.match(encoding.group(1).decode().lower()):
        return None
    position = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    while position < len(head):
        if head[position : position + 1].isspace():
            position += 1
        elif head.startswith(b"<?", position):
            position = head.find(b"?>", position) + 2
        elif head.startswith(b"<!--", position):
            position = head.find(b"-->", position) + 3
        else:
            break
        if position < 2:  # an unterminated PI or comment
            return None
    tag = _START_TAG.match(head, position)
    if tag is None or tag.group(2):
        return None  # no root start tag in the head, or an empty root
    return tag.end(), tag.group(1)


def _scan(path: Path, count_ieds: bool) -> tuple[dict[bytes, list[_Hit]], int]:
    """Every occurrence of the section names (offset, line) and, if asked, of ``<IED``."""
    hits: dict[bytes, list[_Hit]] = {t: [] for t in _SECTIONS}
    ieds = 0
    newlines = 0  # before the current chunk
    offset = 0  # of the current chunk
    tail = b""
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            buffer = tail + chunk
            for token in _SECTIONS:
                found = buffer.find(token)
                while found >= 0:
                    if found + len(token) > len(tail):  # not already seen in the last chunk
                        if found < len(tail):
                            line = newlines - tail.count(b"\n", found)
                        else:
                            line = newlines + chunk.count(b"\n", 0, found - len(tail))
                        hits[token].append(_Hit(offset - len(tail) + found, line + 1))
                    found = buffer.find(token, found + 1)
            if count_ieds:
                ieds += sum(chunk.count(t) for t in _IED_TAGS)
            newlines += chunk.count(b"\n")
            offset += len(chunk)
            tail = buffer[-_OVERLAP:]
    return hits, ieds


def _around(stream: BinaryIO, offset: int, before: int, after: int) -> tuple[bytes, bytes]:
    """The bytes just before and from ``offset`` (a small window read from the file)."""
    start = max(0, offset - before)
    stream.seek(start)
    data: bytes = stream.read(offset - start + after)
    return data[: offset - start], data[offset - start :]


def _section_range(
    stream: BinaryIO, token: bytes, hits: list[_Hit], last: bool
) -> tuple[int, int, int] | None:
    """(start, end, line) of the section's bytes; None when absent; ValueError if unsure."""
    starts: list[tuple[int, _Hit]] = []
    ends: list[int] = []
    for hit in hits:
        before, after = _around(stream, hit.offset, 40, len(token) + 40)
        follow = after[len(token) : len(token) + 1]
        if not follow or follow not in _NAME_END:
            continue
        if (opening := _TAG_PREFIX.search(before)) is not None:
            starts.append((hit.offset - (len(before) - opening.start()), hit))
        elif _END_TAG_PREFIX.search(before) is not None:
            close = after.find(b">", len(token))
            if close < 0 or after[len(token) : close].strip():
                raise ValueError("end tag not understood")
            ends.append(hit.offset + close + 1)
    if not starts:
        if ends:
            raise ValueError("end tag without start tag")
        return None
    start, hit = starts[-1] if last else starts[0]
    _, after = _around(stream, hit.offset, 0, 1 << 12)
    start_tag_end = after.find(b">")
    if start_tag_end > 0 and after[start_tag_end - 1 : start_tag_end] == b"/":
        return start, hit.offset + start_tag_end + 1, hit.line
    end = next((e for e in ends if e > start), None)
    if end is None:
        raise ValueError("start tag without end tag")
    return start, end, hit.line


def fetch_shared(path: Path, *, count_ieds: bool = False) -> SharedSections | None:
    """The shared sections parsed from their byte ranges; None when they cannot be trusted."""
    try:
        with path.open("rb") as stream:
            head = stream.read(_HEAD)
        root = _root_tag(head)
        if root is None:
            return None
        root_end, root_name = root
        prolog = head[:root_end]
        hits, ieds = _scan(path, count_ieds)
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            remove_comments=True,
            remove_pis=True,
        )
        found: list[etree._Element | None] = []
        cuts: list[tuple[int, int, bytes]] = []
        cut_names: set[str] = set()
        with path.open("rb") as stream:
            for token in _SECTIONS:
                located = _section_range(stream, token, hits[token], token == b"DataTypeTemplates")
                if located is None:
                    found.append(None)
                    continue
                start, end, line = located
                padding = line - 1 - prolog.count(b"\n")
                if start < root_end or padding < 0:
                    return None
                stream.seek(start)
                fragment = stream.read(end - start)
                document = prolog + b"\n" * padding + fragment + b"</" + root_name + b">"
                section = etree.fromstring(document, parser)
                if len(section) != 1:
                    return None
                found.append(section[0])
                instead = _emptied(fragment)
                if instead is not None:
                    cuts.append((start, end, instead))
                    cut_names.add(token.decode())
    except (OSError, etree.XMLSyntaxError, ValueError):
        return None
    cuts.sort()
    if any(a[1] > b[0] for a, b in itertools.pairwise(cuts)):
        cuts, cut_names = [], set()
    return SharedSections(found[0], found[1], ieds, tuple(cuts), frozenset(cut_names))


_NOT_LINE_BREAKS = bytes(b for b in range(256) if b not in b"\r\n")


def _emptied(fragment: bytes) -> bytes | None:
    """The fragment's start tag made empty, then every line break of its content (None when
    the fragment is empty already or its start tag is not understood)."""
    tag = _START_TAG.match(fragment)
    if tag is None or tag.group(2):
        return None
    start_tag = fragment[: tag.end()]
    return start_tag[:-1] + b"/>" + fragment[tag.end() :].translate(None, _NOT_LINE_BREAKS)


__all__ = ["SharedSections", "fetch_shared"]
