"""The bit strings of reporting (IEC 61850-8-1): OptFlds, TrgOps, ReasonCode; by name.

Bit 0 is the leftmost bit on the wire and the most significant of the int we keep (as
every bit string in ``values.py``). Bit 0 of each is reserved.
"""

from __future__ import annotations

from collections.abc import Iterable

# OptFlds (10 bits): which optional fields a report carries
OPT_FIELDS = (
    "reserved",
    "seq-num",
    "report-time-stamp",
    "reason-for-inclusion",
    "data-set-name",
    "data-reference",
    "buffer-overflow",
    "entryID",
    "conf-revision",
    "segmentation",
)
# TrgOps (6 bits): what triggers a report
TRIGGERS = ("reserved", "dchg", "qchg", "dupd", "integrity", "gi")
# ReasonCode (7 bits, per member of a report): why it is included
REASONS = ("reserved", "dchg", "qchg", "dupd", "integrity", "gi", "application-trigger")


def bit(names: tuple[str, ...], name: str) -> int:
    """The int mask of bit ``name`` in a bit string laid out as ``names``."""
    return 1 << (len(names) - 1 - names.index(name))


def has(names: tuple[str, ...], value: int, name: str) -> bool:
    return bool(value & bit(names, name))


def mask(names: tuple[str, ...], chosen: Iterable[str]) -> int:
    """The int of the bits ``chosen`` (ValueError naming one that is not in ``names``)."""
    value = 0
    for name in chosen:
        if name not in names or name == "reserved":
            raise ValueError(f"{name!r}: one of {', '.join(n for n in names if n != 'reserved')}")
        value |= bit(names, name)
    return value


def names_of(names: tuple[str, ...], value: int) -> list[str]:
    """The names of the bits set in ``value`` (reserved left out)."""
    return [n for n in names if n != "reserved" and has(names, value, n)]


def bits(names: tuple[str, ...], value: int) -> str:
    """``value`` as the 0/1 string of its width (bit 0 first)."""
    return format(value, f"0{len(names)}b")


__all__ = ["OPT_FIELDS", "REASONS", "TRIGGERS", "bit", "bits", "has", "mask", "names_of"]
