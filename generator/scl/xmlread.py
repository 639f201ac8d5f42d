"""Read an SCL file safely and incrementally, keeping only the sections the generator uses.

Namespaces: SCL of every edition uses ``http://www.iec.ch/61850/2003/SCL``. A file whose
root ``SCL`` element is in another namespace (the 2006 draft ``.../2006/SCL``, an unknown
one) is read as the closest edition with a warning: its elements in that namespace are
renamed into the SCL namespace as each section is read (``adopt``). A root without any
namespace is read the same way (elements without a namespace count as SCL elements).

XML attacks are refused before lxml sees the document: any ``<!DOCTYPE`` (SCL never needs
one; it is how entity expansion and external entities get in) stops the read with a located
error; lxml itself runs with entity resolution, DTD loading and network access off.
The file is streamed twice with ``iterparse`` (events filtered in C, so only top-level
sections reach Python): pass 1 keeps Header, Communication and DataTypeTemplates and drops
everything else as soon as it ends; pass 2 hands over one IED at a time and frees it once it
is resolved. Memory is bounded by the shared sections plus the largest IED, not the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from gen61850.generator.scl.diagnostics import Diagnostics

SCL_NS = "http://www.iec.ch/61850/2003/SCL"
_TOP_LEVEL = ("Header", "Substation", "Communication", "IED", "DataTypeTemplates", "Private")
_PROLOG_LIMIT = 1 << 16
_ROOT_START = re.compile(rb"<[A-Za-z_]")


@dataclass(frozen=True)
class SclContext:
    """What pass 1 keeps: the root's version attributes and the small shared sections.

    IED sections are not kept here: pass 2 (``iter_ieds``) hands them over one at a time.
    """

    root_line: int
    version: str
    revision: str
    release: str
    header: etree._Element | None
    communication: etree._Element | None
    templates: etree._Element | None
    ied_count: int
    namespace: str = SCL_NS
    assumed_edition: str = ""  # set when the namespace, not the version, decides it

    @property
    def edition(self) -> str:
        """``1`` (2003), ``2`` (2007 revision B, release < 2) or ``2.1`` (release ≥ 2)."""
        if self.assumed_edition and not self.version:
            return self.assumed_edition
        if not self.version:
            return "1"
        if self.release.isdigit() and int(self.release) >= 2:
            return "2.1"
        return "2"


_NS_PREFIX = "{" + SCL_NS + "}"
_NS_LENGTH = len(_NS_PREFIX)


def local_name(element: etree._Element) -> str | None:
    """The SCL local name, or None for a foreign-namespace element, comment or PI."""
    tag = element.tag
    if not isinstance(tag, str):
        return None
    if tag.startswith(_NS_PREFIX):
        return tag[_NS_LENGTH:]
    return None if tag.startswith("{") else tag


def line_of(element: etree._Element) -> int:
    """The element's line in the file (0 when lxml does not know it)."""
    line = element.sourceline
    return line if isinstance(line, int) else 0


def scl_children(element: etree._Element, name: str) -> list[etree._Element]:
    """Direct children called ``name`` in the SCL namespace (or in none, leniently)."""
    return list(element.iterchildren(_NS_PREFIX + name, name))


def scl_children_named(
    element: etree._Element, names: tuple[str, ...]
) -> dict[str, list[etree._Element]]:
    """Direct children called one of ``names``, by local name (one filtered walk in C)."""
    found: dict[str, list[etree._Element]] = {}
    tags = _TAGS.get(names)
    if tags is None:
        tags = _TAGS[names] = tuple(t for name in names for t in (_NS_PREFIX + name, name))
    for child in element.iterchildren(*tags):
        name = _LOCAL.get(child.tag)
        if name is None:
            name = _LOCAL[child.tag] = local_name(child) or ""
        found.setdefault(name, []).append(child)
    return found


_TAGS: dict[tuple[str, ...], tuple[str, ...]] = {}
_LOCAL: dict[str, str] = {}  # tag → local name, for the tags of ``_TAGS``


def scl_child(element: etree._Element, name: str) -> etree._Element | None:
    return next(element.iterchildren(_NS_PREFIX + name, name), None)


def _refuse_doctype(path: Path, diagnostics: Diagnostics) -> bool:
    """Look at the prolog: True (and an error) when it declares a document type."""
    with path.open("rb") as stream:
        head = stream.read(_PROLOG_LIMIT)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="replace").encode()
    doctype = head.find(b"<!DOCTYPE")
    if doctype < 0:
        return False
    root = _ROOT_START.search(head)
    if root is not None and root.start() < doctype:
        return False
    line = head.count(b"\n", 0, doctype) + 1
    diagnostics.error(
        line,
        "document type declaration refused (entities and external DTDs are not allowed)",
        cost="file",
        rule="syntax",
    )
    return True


def adopt(element: etree._Element | None, namespace: str) -> None:
    """Rename ``element``'s descendants in ``namespace`` into the SCL namespace (in place)."""
    if element is None or namespace in (SCL_NS, ""):
        return
    prefix = "{" + namespace + "}"
    for node in element.iter(prefix + "*"):
        node.tag = _NS_PREFIX + str(node.tag)[len(prefix) :]


Cuts = tuple[tuple[int, int, bytes], ...]  # (start, end, what is read instead), ascending


class _Spliced:
    """A file read with some byte ranges replaced (``cuts``): what ``iterparse`` reads when
    sections parsed ahead need not be parsed again."""

    def __init__(self, stream: BinaryIO, cuts: Cuts) -> None:
        self.stream = stream
        self.cuts = list(cuts)
        self.position = 0  # in the file

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = 1 << 62
        if self.cuts and self.position == self.cuts[0][0]:
            _, end, instead = self.cuts.pop(0)
            self.stream.seek(end)
            self.position = end
            return instead or self.read(size)
        if self.cuts:
            size = min(size, self.cuts[0][0] - self.position)
        data: bytes = self.stream.read(size)
        self.position += len(data)
        return data


def _iterparse(
    path: Path, tags: tuple[str, ...], namespace: str = SCL_NS, cuts: Cuts = ()
) -> Iterator[tuple[str, etree._Element]]:
    """lxml iterparse with the safe settings, reporting only ``tags`` (filtered in C);
    ``cuts``: byte ranges read as something else (see ``_Spliced``)."""
    spaces = (_NS_PREFIX, "") if namespace in (SCL_NS, "") else (_NS_PREFIX, "", f"{{{namespace}}}")
    names = tuple(space + name for name in tags for space in spaces)
    with path.open("rb") as stream:  # closed even when the caller stops early
        yield from etree.iterparse(
            _Spliced(stream, cuts) if cuts else stream,
            events=("end",),
            tag=names,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )


def _drop(element: etree._Element, kept: tuple[etree._Element, ...] = ()) -> None:
    """Free a finished top-level section: its content now, the element itself (with the
    sections and text before it, but not ``kept``) once the parser has moved past them.

    The text after the section is not touched: the parser may still be adding to it.
    libxml2 appends to the last text node it made in place, by the length it remembers;
    were that node freed under it (``clear()`` without ``keep_tail``, or ``remove()``,
    which takes the tail along), the next characters would be written past the end of
    whichever text node came before (a chunk boundary in the white space after an end tag
    is enough).
    """
    element.clear(keep_tail=True)  # type: ignore[call-arg]  # (missing from lxml-stubs)
    parent = element.getparent()
    if parent is None:
        return
    for previous in list(element.itersiblings(preceding=True)):
        if not any(previous is k for k in kept):
            parent.remove(previous)


def _drop_all(root: etree._Element | None, kept: tuple[etree._Element, ...]) -> None:
    """Once the whole file is parsed: free every top-level section but ``kept``."""
    if root is not None:
        for child in list(root):
            if not any(child is k for k in kept):
                root.remove(child)


def _first_element(path: Path) -> etree._Element | None:
    """The root element, read from the start of the file only."""
    with path.open("rb") as stream:
        events = etree.iterparse(
            stream, events=("start",), resolve_entities=False, no_network=True, load_dtd=False
        )
        for _, element in events:
            found: etree._Element = element
            return found
    return None


def scan(path: Path, diagnostics: Diagnostics) -> SclContext | None:
    """Pass 1: check the document and keep Header, Communication, DataTypeTemplates.

    Returns None (with located errors) when ``path`` is not a readable SCL document.
    """
    root = read_root(path, diagnostics)
    if root is None:
        return None
    try:
        kept: dict[str, etree._Element] = {}
        ied_count = 0
        top: etree._Element | None = None
        for _, element in _iterparse(path, _TOP_LEVEL, root.namespace):
            adopt(element, root.namespace)
            parent = element.getparent()
            if parent is None or parent.getparent() is not None:
                continue  # the root itself, or a nested element with a top-level name
            top = parent
            name = local_name(element) or ""
            if name in ("Header", "Communication", "DataTypeTemplates") and name not in kept:
                kept[name] = element
                continue
            ied_count += name == "IED"
            _drop(element, tuple(kept.values()))
        _drop_all(top, tuple(kept.values()))
    except etree.XMLSyntaxError as error:
        report_syntax_error(path, error, diagnostics)
        return None
    except OSError as error:
        diagnostics.error(0, f"cannot read: {error.strerror or error}", cost="file")
        return None
    return replace(
        root,
        header=kept.get("Header"),
        communication=kept.get("Communication"),
        templates=kept.get("DataTypeTemplates"),
        ied_count=ied_count,
    )


def syntax_error_line(error: etree.XMLSyntaxError) -> int:
    """The line lxml gives for a syntax error (0 when it gives none)."""
    line = error.lineno or (error.position[0] if error.position else 0)
    return line if isinstance(line, int) else 0


_VALUE_LIMIT = 10_000_000  # libxml2's limit for one value or text without XML_PARSE_HUGE


def report_syntax_error(path: Path, error: etree.XMLSyntaxError, diagnostics: Diagnostics) -> None:
    """One located error for a file the parser gave up on.

    A value longer than the parser's limit is reported where the parser stopped reading,
    often far below it (a streaming parser reads ahead): it is located at the element that
    holds it instead.
    """
    if getattr(error, "code", None) == etree.ErrorTypes.ERR_RESOURCE_LIMIT:
        line = _oversized_at(path)
        if line:
            diagnostics.error(
                line,
                f"malformed XML: a value of this element is longer than {_VALUE_LIMIT:,} "
                "characters (the parser's limit)",
                cost="file",
                rule="syntax",
            )
            return
    diagnostics.error(
        syntax_error_line(error), f"malformed XML: {error.msg}", cost="file", rule="syntax"
    )


def _oversized_at(path: Path) -> int:
    """The line of the ``<`` before the first run of ``_VALUE_LIMIT`` bytes without one."""
    line = 1  # of the stream position
    last_open = (0, 1)  # offset and line of the last "<"
    offset = 0
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 22):
                start = 0
                while True:
                    found = chunk.find(b"<", start)
                    end = found if found >= 0 else len(chunk)
                    if offset + end - last_open[0] >= _VALUE_LIMIT:
                        return last_open[1]
                    line += chunk.count(b"\n", start, end)
                    if found < 0:
                        break
                    last_open = (offset + found, line)
                    start = found + 1
                offset += len(chunk)
    except OSError:
        return 0
    return 0


def iter_ieds(path: Path, namespace: str = SCL_NS) -> Iterator[etree._Element]:
    """Pass 2: each top-level IED element in turn, freed once the caller has moved on."""
    for _, element in iter_sections(path, ("IED",), namespace):
        yield element


def iter_sections(
    path: Path, names: tuple[str, ...] = _TOP_LEVEL, namespace: str = SCL_NS, cuts: Cuts = ()
) -> Iterator[tuple[str, etree._Element]]:
    """The top-level sections called ``names`` in turn (others are not reported), each
    freed once the caller has moved on: memory holds one section at a time. Sections of a
    file in another namespace are renamed into the SCL namespace (``adopt``). ``cuts``:
    byte ranges the parser reads as something else (sections parsed ahead)."""
    for _, element in _iterparse(path, names, namespace, cuts):
        parent = element.getparent()
        if parent is None or parent.getparent() is not None:
            continue
        adopt(element, namespace)
        yield local_name(element) or "", element
        _drop(element)


def read_root(path: Path, diagnostics: Diagnostics) -> SclContext | None:
    """The root element's attributes only (no section is read); None with located errors
    when ``path`` is not an SCL document that may be read safely."""
    try:
        if _refuse_doctype(path, diagnostics):
            return None
        first = _first_element(path)
    except etree.XMLSyntaxError as error:
        report_syntax_error(path, error, diagnostics)
        return None
    except OSError as error:
        diagnostics.error(0, f"cannot read: {error.strerror or error}", cost="file")
        return None
    if first is None:
        diagnostics.error(1, "empty document", cost="file", rule="syntax")
        return None
    if first.getroottree().docinfo.internalDTD is not None:
        diagnostics.error(1, "document type declaration refused", cost="file", rule="syntax")
        return None
    tag = str(first.tag)
    namespace = tag[1:].partition("}")[0] if tag.startswith("{") else ""
    if tag.rpartition("}")[2] != "SCL":
        diagnostics.error(
            line_of(first),
            f"root element is {tag[:80]!r}, expected SCL",
            cost="file",
            rule="structure",
        )
        return None
    context = SclContext(
        line_of(first),
        (first.get("version") or "").strip(),
        (first.get("revision") or "").strip(),
        (first.get("release") or "").strip(),
        None,
        None,
        None,
        0,
        namespace=namespace,
        assumed_edition=_closest_edition(namespace) if namespace not in ("", SCL_NS) else "",
    )
    if not namespace:
        diagnostics.warning(
            line_of(first),
            f"SCL element without the namespace {SCL_NS}: read as SCL, not validated against "
            "an official schema",
            rule="namespace",
            tag="SCL",
        )
    elif namespace != SCL_NS:
        diagnostics.warning(
            line_of(first),
            f"SCL namespace {namespace[:80]!r} is not {SCL_NS}: read as Edition "
            f"{context.edition}, the closest, and not validated against an official schema",
            rule="namespace",
            tag="SCL",
        )
    return context


_YEAR = re.compile(r"(?<!\d)(19|20)\d\d(?!\d)")


def _closest_edition(namespace: str) -> str:
    """The edition a namespace's year points to (2006 draft and later: 2; earlier: 1)."""
    year = _YEAR.search(namespace)
    if year is None:
        return "2"
    return "1" if int(year.group(0)) < 2006 else "2"


__all__ = [
    "SCL_NS",
    "SclContext",
    "adopt",
    "iter_ieds",
    "iter_sections",
    "line_of",
    "local_name",
    "read_root",
    "report_syntax_error",
    "scan",
    "scl_child",
    "scl_children",
    "syntax_error_line",
]
