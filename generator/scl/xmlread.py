"""Read an SCL file safely and incrementally, keeping only the sections the generator uses.

XML attacks are refused before lxml sees the document: any ``<!DOCTYPE`` (SCL never needs
one; it is how entity expansion and external entities get in) stops the read with a located
error; lxml itself runs with entity resolution, DTD loading and network access off.
``iterparse`` streams the file and drops each top-level section it does not keep
(Substation, Private, other namespaces) as soon as it ends, so memory is bounded by what the
generator needs: the IEDs, Communication and DataTypeTemplates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from gen61850.generator.scl.diagnostics import Diagnostics

SCL_NS = "http://www.iec.ch/61850/2003/SCL"
KEPT_SECTIONS = ("Header", "Communication", "IED", "DataTypeTemplates")
_PROLOG_LIMIT = 1 << 16
_ROOT_START = re.compile(rb"<[A-Za-z_]")


@dataclass(frozen=True)
class SclSections:
    """The parts of one SCL document the generator reads (lxml elements, read-only)."""

    root: etree._Element
    header: etree._Element | None
    communication: etree._Element | None
    ieds: tuple[etree._Element, ...]
    templates: etree._Element | None

    @property
    def version(self) -> str:
        return self.root.get("version", "")

    @property
    def revision(self) -> str:
        return self.root.get("revision", "")

    @property
    def release(self) -> str:
        return self.root.get("release", "")

    @property
    def edition(self) -> str:
        """``1`` (2003), ``2`` (2007 revision B, release < 2) or ``2.1`` (release ≥ 2)."""
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
        line, "document type declaration refused (entities and external DTDs are not allowed)"
    )
    return True


def read_sections(path: Path, diagnostics: Diagnostics) -> SclSections | None:
    """Stream ``path``; None (with located errors) when it is not a readable SCL document."""
    try:
        if _refuse_doctype(path, diagnostics):
            return None
    except OSError as error:
        diagnostics.error(0, f"cannot read: {error.strerror or error}")
        return None
    header: etree._Element | None = None
    communication: etree._Element | None = None
    templates: etree._Element | None = None
    ieds: list[etree._Element] = []
    root: etree._Element | None = None
    try:
        for _, element in etree.iterparse(
            str(path),
            events=("end",),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        ):
            parent = element.getparent()
            if parent is None:
                root = element
                continue
            if parent.getparent() is not None:
                continue
            name = local_name(element)
            if name == "Header":
                header = element
            elif name == "Communication":
                communication = element
            elif name == "IED":
                ieds.append(element)
            elif name == "DataTypeTemplates":
                templates = element
            else:
                element.clear(keep_tail=False)
    except etree.XMLSyntaxError as error:
        line = error.lineno or (error.position[0] if error.position else 0)
        diagnostics.error(line, f"malformed XML: {error.msg}")
        return None
    except OSError as error:
        diagnostics.error(0, f"cannot read: {error}")
        return None
    if root is None:
        diagnostics.error(1, "empty document")
        return None
    if root.getroottree().docinfo.internalDTD is not None:
        diagnostics.error(1, "document type declaration refused")
        return None
    if local_name(root) != "SCL":
        diagnostics.error(root.sourceline, f"root element is {root.tag!r}, expected SCL")
        return None
    if not str(root.tag).startswith("{"):
        diagnostics.warning(root.sourceline, f"SCL element without the namespace {SCL_NS}")
    return SclSections(root, header, communication, tuple(ieds), templates)


__all__ = [
    "KEPT_SECTIONS",
    "SCL_NS",
    "SclSections",
    "line_of",
    "local_name",
    "read_sections",
    "scl_child",
    "scl_children",
]
