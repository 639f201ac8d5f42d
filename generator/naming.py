"""Naming rules shared by the templates (``FILTERS``: what a target passes to jinja2).

IEC and ASN.1 names (``SavPdu``, ``ASDU``, ``LLN0``, ``smpCnt``) become Python names here
and nowhere else, so the rules are tested in one place.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable
from typing import Any

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_IDENTIFIER = re.compile(r"[^0-9A-Za-z_]+")


def snake_case(name: str) -> str:
    """``SavPdu`` → ``sav_pdu``, ``ASDU`` → ``asdu``, ``smpCnt`` → ``smp_cnt``; never a keyword."""
    words = _CAMEL_BOUNDARY.sub("_", _NOT_IDENTIFIER.sub("_", name)).strip("_").lower()
    return safe_identifier(words)


def safe_identifier(name: str) -> str:
    """A valid, non-keyword Python identifier made from ``name`` (keeps its case)."""
    cleaned = _NOT_IDENTIFIER.sub("_", name) or "_"
    if cleaned[0].isdigit():
        cleaned = "_" + cleaned
    if keyword.iskeyword(cleaned) or (keyword.issoftkeyword(cleaned) and cleaned != "_"):
        cleaned += "_"
    return cleaned


def hex_byte(value: int) -> str:
    """An octet as a Python literal: ``0x82``."""
    return f"0x{value:02x}"


def bytes_literal(data: bytes | int) -> str:
    """Octets as a ``b"\\x.."`` literal (an int is one octet)."""
    raw = bytes((data,)) if isinstance(data, int) else data
    return 'b"' + "".join(f"\\x{b:02x}" for b in raw) + '"'


FILTERS: dict[str, Callable[..., Any]] = {
    "snake": snake_case,
    "identifier": safe_identifier,
    "hex_byte": hex_byte,
    "bytes_literal": bytes_literal,
}
"""The naming filters, by the name templates use."""
