"""Validate an SCL file against the official IEC 61850-6 schema of its version, when supplied.

The official schemas are not shipped (IEC licence), and nothing outside the project is
searched: a user names the folders that hold them, with ``--xsd DIR`` or the environment
variable ``GEN61850_SCL_XSD`` (folders separated by ``:``). A folder may be one schema
(``SCL.xsd`` in it) or hold several (``SCL2003/``, ``SCL2007B4/``, a newer ``SCL2007C5/``
...). Which version each one is comes from the schema itself: the values it fixes for the
SCL root's ``version``, ``revision`` and ``release`` (none for 2003). A file is validated
against the schema of its own version/revision/release when there is one; otherwise
against the closest (same version and revision, nearest release; else the newest older
one), with one warning saying so, and when that schema is older than the file, findings
about attributes, elements and values the older schema does not know are left out.

Every finding is one located warning (``rule`` from libxml2's error code, never from the
message text): the reader decides what is left out, and a finding that repeats one of the
reader's own diagnostics (same line, same kind) is dropped.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from gen61850.generator.scl.diagnostics import Diagnostics, Severity
from gen61850.generator.scl.xmlread import SCL_NS, SclContext, local_name

SCHEMA_ENV = "GEN61850_SCL_XSD"
_TOP_LEVEL = ("Header", "Substation", "Communication", "IED", "DataTypeTemplates", "Private")
_XS = "{http://www.w3.org/2001/XMLSchema}"
_E = etree.ErrorTypes

# libxml2 schema validity error codes → the kind of problem (the ``rule`` of a diagnostic).
_RULES: dict[int, str] = {
    _E.SCHEMAV_CVC_COMPLEX_TYPE_4: "required",
    _E.SCHEMAV_CVC_IDC: "identity",
    _E.SCHEMAV_CVC_COMPLEX_TYPE_3_2_1: "unknown-attribute",
    _E.SCHEMAV_CVC_COMPLEX_TYPE_3_2_2: "unknown-attribute",
    _E.SCHEMAV_ATTRUNKNOWN: "unknown-attribute",
    _E.SCHEMAV_CVC_ENUMERATION_VALID: "enumeration",
    _E.SCHEMAV_CVC_PATTERN_VALID: "enumeration",
    _E.SCHEMAV_CVC_AU: "fixed",
    _E.SCHEMAV_ELEMENT_CONTENT: "structure",
    _E.SCHEMAV_CVC_COMPLEX_TYPE_2_1: "structure",
    _E.SCHEMAV_CVC_COMPLEX_TYPE_2_2: "structure",
    _E.SCHEMAV_CVC_COMPLEX_TYPE_2_3: "structure",
    _E.SCHEMAV_CVC_COMPLEX_TYPE_2_4: "structure",
    _E.SCHEMAV_CVC_ELT_1: "structure",
}
# Our rules a schema finding of each kind repeats (same line): then it is not reported.
_REPEATS: dict[str, tuple[str, ...]] = {
    "required": ("required",),
    "identity": ("identity", "reference", "required"),
    "enumeration": ("value",),
    "value": ("value",),
    "fixed": ("value",),
}
# Kinds an older schema reports for whatever came after it.
_NEWER = frozenset({"unknown-attribute", "structure", "enumeration", "fixed"})


@dataclass(frozen=True)
class OfficialSchema:
    """One official schema folder and the SCL version/revision/release it fixes."""

    folder: Path
    version: str
    revision: str
    release: str

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def label(self) -> str:
        return _label(self.version, self.revision, self.release)

    @property
    def rank(self) -> tuple[int, str, int]:
        return _rank(self.version, self.revision, self.release)


def _label(version: str, revision: str, release: str) -> str:
    if not version:
        return "2003 (Edition 1)"
    return f"{version}{revision}{release}"


def _rank(version: str, revision: str, release: str) -> tuple[int, str, int]:
    year = int(version) if version.isdigit() else 0
    number = int(release) if release.isdigit() else (1 if version else 0)
    return (year, revision.strip().upper(), number)


def configured_folders(explicit: Sequence[Path] | None = None) -> list[Path]:
    """``explicit`` when given, else the folders of ``$GEN61850_SCL_XSD`` (none: [])."""
    if explicit:
        return [Path(p) for p in explicit]
    text = os.environ.get(SCHEMA_ENV, "")
    return [Path(p) for p in text.split(os.pathsep) if p.strip()]


@functools.lru_cache(maxsize=32)
def _describe(folder: Path) -> OfficialSchema | None:
    """The schema in ``folder`` (its SCL.xsd's fixed root attributes), or None."""
    xsd = folder / "SCL.xsd"
    if not xsd.is_file():
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.parse(str(xsd), parser).getroot()
    except (OSError, etree.XMLSyntaxError):
        return None
    fixed = {"version": "", "revision": "", "release": ""}
    for element in root.iterfind(f"{_XS}element[@name='SCL']"):
        for attribute in element.iter(f"{_XS}attribute"):
            name = attribute.get("name", "")
            if name in fixed and attribute.get("fixed") is not None:
                fixed[name] = attribute.get("fixed", "")
    return OfficialSchema(folder, fixed["version"], fixed["revision"], fixed["release"])


def official_schemas(folders: Sequence[Path]) -> list[OfficialSchema]:
    """Every schema in ``folders`` (each one a schema, or a folder of schemas)."""
    found: list[OfficialSchema] = []
    for folder in folders:
        itself = _describe(folder.resolve())
        if itself is not None:
            found.append(itself)
            continue
        if folder.is_dir():
            for child in sorted(folder.iterdir()):
                described = _describe(child.resolve()) if child.is_dir() else None
                if described is not None:
                    found.append(described)
    return found


def choose(
    schemas: Sequence[OfficialSchema], version: str, revision: str, release: str
) -> OfficialSchema | None:
    """The schema for a file: its own, else the closest (see the module docstring)."""
    if not schemas:
        return None
    wanted = _rank(version, revision, release)
    same = [s for s in schemas if s.rank[:2] == wanted[:2]]
    if same:
        return min(same, key=lambda s: (abs(s.rank[2] - wanted[2]), -s.rank[2]))
    older = [s for s in schemas if s.rank < wanted]
    if older:
        return max(older, key=lambda s: s.rank)
    return min(schemas, key=lambda s: s.rank)


@functools.lru_cache(maxsize=4)
def _schema(path: Path) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(path), parser))


def _streams_valid(path: Path, schema: etree.XMLSchema) -> bool:
    """Validate while streaming, freeing each top-level section: memory stays bounded.

    Streaming validation stops at the first problem without a usable line, so a file that
    fails is validated again as a whole tree to list every problem with its line.
    """
    tags = [f"{{{SCL_NS}}}{name}" for name in _TOP_LEVEL]
    try:
        with path.open("rb") as stream:  # closed when validation stops early
            for _, element in etree.iterparse(
                stream,
                events=("end",),
                tag=tags,
                schema=schema,
                resolve_entities=False,
                no_network=True,
                load_dtd=False,
                huge_tree=False,
            ):
                parent = element.getparent()
                if parent is not None and parent.getparent() is None:
                    element.clear(keep_tail=True)  # the parser may still add to the tail
                    for previous in list(element.itersiblings(preceding=True)):
                        parent.remove(previous)
    except (etree.XMLSyntaxError, OSError, ValueError):
        return False
    return True


def validate_xsd(
    path: Path,
    root: SclContext,
    diagnostics: Diagnostics,
    folders: Sequence[Path] | None = None,
) -> str | None:
    """Report schema findings into ``diagnostics``; returns the schema used (None: none)."""
    schemas = official_schemas(configured_folders(folders))
    chosen = choose(schemas, root.version, root.revision, root.release)
    if chosen is None:
        return None
    if root.namespace != SCL_NS:
        return None  # the reader already said it reads another namespace, unvalidated
    wanted = _rank(root.version, root.revision, root.release)
    older = chosen.rank < wanted
    if chosen.rank != wanted:
        left = (
            "; findings about attributes, elements and values it does not know are left out"
            if older
            else ""
        )
        diagnostics.warning(
            root.root_line,
            f"no official schema {_label(root.version, root.revision, root.release)} "
            f"supplied: validated against {chosen.name} ({chosen.label}){left}",
            rule="schema",
            tag="SCL",
        )
    try:
        schema = _schema(chosen.folder / "SCL.xsd")
    except (etree.XMLSchemaParseError, OSError, etree.XMLSyntaxError) as error:
        diagnostics.warning(0, f"schema {chosen.folder} cannot be used: {error}", rule="schema")
        return None
    if _streams_valid(path, schema):
        return chosen.name
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        document = etree.fromstring(path.read_bytes(), parser).getroottree()
    except (etree.XMLSyntaxError, OSError, ValueError):
        return None  # the reader reports why the file cannot be read
    if schema.validate(document):
        return chosen.name
    _report(document, schema, chosen, older, diagnostics)
    return chosen.name


def _report(
    document: etree._ElementTree,
    schema: etree.XMLSchema,
    chosen: OfficialSchema,
    older: bool,
    diagnostics: Diagnostics,
) -> None:
    by_line: dict[int, str] = {}
    for entry in list(schema.error_log):  # type: ignore[call-overload]
        rule = _RULES.get(entry.type, "schema")
        if older and rule in _NEWER:
            continue
        line = entry.line if isinstance(entry.line, int) else 0
        if any(diagnostics.reported(line, r) for r in _REPEATS.get(rule, ())):
            continue
        if rule == "identity" and diagnostics.reported(line, "schema-required"):
            continue  # a key without its field: the missing attribute was reported
        tag = _tag_at(document, entry.path, line, by_line)
        message = entry.message.replace("{" + SCL_NS + "}", "")
        diagnostics.add(
            Severity.WARNING,
            line,
            f"{chosen.name}: {message}",
            rule=f"schema-{rule}",
            tag=tag,
        )


def _tag_at(
    document: etree._ElementTree, path: str | None, line: int, by_line: dict[int, str]
) -> str:
    """The local name of the element a finding is about (to locate its start tag)."""
    if path:
        try:
            found = document.xpath(path)
        except etree.XPathError:
            found = []
        if isinstance(found, list) and found and isinstance(found[0], etree._Element):
            return local_name(found[0]) or ""
    if not by_line:
        for element in document.iter():
            line_number = element.sourceline
            if isinstance(element.tag, str) and isinstance(line_number, int):
                by_line.setdefault(line_number, local_name(element) or "")
    return by_line.get(line, "")


__all__ = [
    "SCHEMA_ENV",
    "OfficialSchema",
    "choose",
    "configured_folders",
    "official_schemas",
    "validate_xsd",
]
