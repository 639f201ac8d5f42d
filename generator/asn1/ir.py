"""The ASN.1 intermediate representation: plain frozen dataclasses, no parsing, no jinja2.

Only what BER code generation needs: SEQUENCE types with their fields, each field's tag,
optionality, constraints and the codec that carries its value.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class TagClass(IntEnum):
    """The two class bits of a BER identifier octet."""

    UNIVERSAL = 0
    APPLICATION = 1
    CONTEXT = 2
    PRIVATE = 3


@dataclass(frozen=True)
class Tag:
    """A BER tag: class, number and whether the encoding is constructed."""

    tag_class: TagClass
    number: int
    constructed: bool

    @property
    def identifier(self) -> int:
        """The single identifier octet (numbers up to 30; the front end refuses larger ones)."""
        return (self.tag_class << 6) | (0x20 if self.constructed else 0) | self.number


class Codec(StrEnum):
    """How a field's value is carried; one decode and one encode macro per codec."""

    INTEGER = "integer"  # INTEGER: two's complement, minimal octets
    UNSIGNED_OCTETS = "unsigned_octets"  # fixed-size OCTET STRING read as a big-endian unsigned
    OCTETS = "octets"  # OCTET STRING as bytes
    VISIBLE_STRING = "visible_string"  # VisibleString as str (ASCII)
    OPEN_TYPE = "open_type"  # ANY inside an explicit tag: the inner element's whole encoding
    SEQUENCE = "sequence"  # a SEQUENCE type of this module
    SEQUENCE_OF = "sequence_of"  # SEQUENCE OF a SEQUENCE type of this module


@dataclass(frozen=True)
class Bounds:
    """An inclusive range from a SIZE or value constraint; None where open."""

    minimum: int | None
    maximum: int | None

    def describe(self) -> str:
        low = "" if self.minimum is None else str(self.minimum)
        high = "" if self.maximum is None else str(self.maximum)
        return f"{low}..{high}" if low != high else low


@dataclass(frozen=True)
class Field:
    """One component of a SEQUENCE, as the encoder and decoder see it."""

    name: str
    codec: Codec
    tag: Tag
    optional: bool
    type_name: str  # the ASN.1 type as written (INT16U, VisibleString, ASDU, ...)
    size: Bounds | None = None  # octets (strings) or items (SEQUENCE OF)
    value_range: Bounds | None = None  # INTEGER values
    fixed_octets: int | None = None  # UNSIGNED_OCTETS width
    element: str | None = None  # SEQUENCE / SEQUENCE_OF: the SEQUENCE type carried
    element_tag: Tag | None = None  # SEQUENCE_OF: the tag of each item


@dataclass(frozen=True)
class SequenceType:
    """A SEQUENCE type: becomes one dataclass, one decoder and one encoder."""

    name: str
    tag: Tag
    fields: tuple[Field, ...]
    referenced: bool  # used inside another type (False: a top-level PDU)


@dataclass(frozen=True)
class Module:
    """One ASN.1 module, its SEQUENCE types in dependency order (used types first)."""

    name: str
    source_name: str
    sequences: tuple[SequenceType, ...]
