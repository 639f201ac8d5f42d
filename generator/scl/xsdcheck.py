"""Validate an SCL file against the official IEC 61850-6 schema of its version, when present.

The schemas are not shipped (IEC licence); they are looked up in ``$GEN61850_SCL_XSD`` or in
``../shared/corpus/scl-xsd`` beside the project. Which one fits: no ``version`` → SCL2003,
``version="2007"`` with ``release`` ≥ 2 → SCL2007B4, otherwise SCL2007B. A missing required
attribute or a broken key/keyref is an error (the meaning is not clear); other schema
findings (element order, patterns, units) are warnings, since the reader copes with them.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from lxml import etree

from gen61850 import resource_path
from gen61850.generator.scl.diagnostics import Diagnostics
from gen61850.generator.scl.xmlread import SCL_NS

_TOP_LEVEL = ("Header", "Substation", "Communication", "IED", "DataTypeTemplates", "Private")

_ERROR_MARKERS = (
    "is required but missing",
    "No match found for key-sequence",
    "Duplicate key-sequence",
    "not a valid value of the atomic type 'xs:ID'",
)


def schema_root() -> Path | None:
    """The folder holding SCL2003/, SCL2007B/, SCL2007B4/, or None."""
    configured = os.environ.get("GEN61850_SCL_XSD")
    candidates = [Path(configured)] if configured else []
    candidates.append(
        resource_path("specs").resolve().parent.parent / "shared" / "corpus" / "scl-xsd"
    )
    return next((c for c in candidates if (c / "SCL2007B4" / "SCL.xsd").is_file()), None)


def schema_name(version: str, release: str) -> str:
    if not version:
        return "SCL2003"
    if release.isdigit() and int(release) >= 2:
        return "SCL2007B4"
    return "SCL2007B"


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
                    element.clear()
                    parent.remove(element)
    except etree.XMLSyntaxError:
        return False
    return True


def validate_xsd(path: Path, version: str, release: str, diagnostics: Diagnostics) -> str | None:
    """Report schema findings into ``diagnostics``; returns the schema used (None: none found)."""
    root = schema_root()
    if root is None:
        return None
    name = schema_name(version, release)
    xsd = root / name / "SCL.xsd"
    if not xsd.is_file():
        return None
    schema = _schema(xsd)
    if _streams_valid(path, schema):
        return name
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        document = etree.parse(str(path), parser)
    except etree.XMLSyntaxError:
        return None  # the reader already reported it
    if schema.validate(document):
        return name
    for entry in list(schema.error_log):  # type: ignore[call-overload]
        message = entry.message.replace("{http://www.iec.ch/61850/2003/SCL}", "")
        text = f"{name}: {message}"
        lenient = "attribute 'unit'" in entry.message or "attribute 'multiplier'" in entry.message
        if not lenient and any(marker in entry.message for marker in _ERROR_MARKERS):
            diagnostics.error(entry.line, text)
        else:
            diagnostics.warning(entry.line, text)
    return name


__all__ = ["schema_name", "schema_root", "validate_xsd"]
