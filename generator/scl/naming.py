"""Naming rules for generated device packages: IEC names → Python identifiers.

IEC 61850 names are mostly valid identifiers already (``LLN0``, ``stVal``); type ids and enum
literals are not (``9-2LELLN0``, ``test/blocked``, ``""``). Every rule lives here, is
registered once as a template filter, and is unit-tested.
"""

from __future__ import annotations

import keyword
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

# Names the generated modules use in class bodies (annotations, defaults): a field with one
# of these names would shadow it for the fields after it.
_RESERVED = frozenset(
    {
        "self",
        "cls",
        "field",
        "dataclass",
        "ClassVar",
        "Quality",
        "Channel",
        "ChannelType",
        "DataSetLayout",
        "int",
        "float",
        "str",
        "bool",
        "bytes",
        "list",
        "enum",
        "LAYOUT",
        "REFERENCE",
        "encode",
        "decode",
    }
)


def _identifier_chars(name: str) -> str:
    """NFKC-normalised ``name`` with every character Python refuses in names made ``_``."""
    text = unicodedata.normalize("NFKC", name.strip())
    text = "".join(c if c == "_" or ("a" + c).isidentifier() else "_" for c in text)
    if not ("a" + text).isidentifier():  # a combination Python still refuses: ASCII only
        text = "".join(c if c.isascii() and (c == "_" or c.isalnum()) else "_" for c in text)
    return text


def py_identifier(name: str, prefix: str = "f_") -> str:
    """A valid, non-keyword identifier for ``name`` (``from`` → ``from_``, ``1a`` → ``f_1a``)."""
    text = _identifier_chars(name) or "_"
    if not text[0].isidentifier():  # a digit, or a character that may only follow
        text = prefix + text
    if keyword.iskeyword(text) or keyword.issoftkeyword(text) or text in _RESERVED:
        text += "_"
    return text


def class_name(kind: str, type_id: str) -> str:
    """``class_name("DO", "9-2LESAVAmp")`` → ``DO_9_2LESAVAmp``."""
    return f"{kind}_{_identifier_chars(type_id)}"


def package_name(ied_name: str) -> str:
    """The Python package of an IED: lower case identifier (``TEMPLATE`` → ``template``)."""
    text = _identifier_chars(ied_name).lower() or "ied"
    if not text[0].isidentifier() or text.startswith("_"):
        text = "ied_" + text.lstrip("_")
    if keyword.iskeyword(text):
        text += "_"
    return text


def enum_member(literal: str, ordinal: int) -> str:
    """An IntEnum member name for a literal (empty → ``V<ord>``; ``test/blocked`` → ``test_blocked``)."""
    if not literal.strip():
        return f"V{ordinal}" if ordinal >= 0 else f"V_{-ordinal}"
    text = py_identifier(literal, prefix="V_")
    if text.startswith("_"):
        text = "V" + text
    if text in ("name", "value", "mro"):
        text += "_"
    return text


def unique(names: Iterable[str]) -> list[str]:
    """The names with ``_2``, ``_3`` … added to repeats, order kept."""
    seen: set[str] = set()
    result: list[str] = []
    for name in names:
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate)
        result.append(candidate)
    return result


def pyrepr(value: object) -> str:
    """A Python literal for a string or number (``repr``)."""
    return repr(value)


FILTERS: dict[str, Callable[..., Any]] = {
    "py_identifier": py_identifier,
    "class_name": class_name,
    "package_name": package_name,
    "enum_member": enum_member,
    "pyrepr": pyrepr,
}
"""The filters the device templates use."""

__all__ = [
    "FILTERS",
    "class_name",
    "enum_member",
    "package_name",
    "py_identifier",
    "pyrepr",
    "unique",
]
