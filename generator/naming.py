"""Naming rules shared by every template, registered once as jinja2 filters.

IEC and ASN.1 names (``SavPdu``, ``ASDU``, ``LLN0``, ``smpCnt``) become Python names here
and nowhere else, so the rules are tested in one place.
"""

from __future__ import annotations

import keyword
import re

from gen61850.generator.render import register_filter

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_IDENTIFIER = re.compile(r"[^0-9A-Za-z_]+")


@register_filter("snake")
def snake_case(name: str) -> str:
    """``SavPdu`` → ``sav_pdu``, ``ASDU`` → ``asdu``, ``smpCnt`` → ``smp_cnt``; never a keyword."""
    words = _CAMEL_BOUNDARY.sub("_", _NOT_IDENTIFIER.sub("_", name)).strip("_").lower()
    return safe_identifier(words)


@register_filter("identifier")
def safe_identifier(name: str) -> str:
    """A valid, non-keyword Python identifier made from ``name`` (keeps its case)."""
    cleaned = _NOT_IDENTIFIER.sub("_", name) or "_"
    if cleaned[0].isdigit():
        cleaned = "_" + cleaned
    if keyword.iskeyword(cleaned) or (keyword.issoftkeyword(cleaned) and cleaned != "_"):
        cleaned += "_"
    return cleaned


@register_filter("hex_byte")
def hex_byte(value: int) -> str:
    """An octet as a Python literal: ``0x82``."""
    return f"0x{value:02x}"


@register_filter("bytes_literal")
def bytes_literal(data: bytes | int) -> str:
    """Octets as a ``b"\\x.."`` literal (an int is one octet)."""
    raw = bytes((data,)) if isinstance(data, int) else data
    return 'b"' + "".join(f"\\x{b:02x}" for b in raw) + '"'
