"""The ASN.1 type graph: plain frozen dataclasses, encoding-neutral, no parsing, no jinja2.

A module is a set of named types (``TypeDef``). A type is one of ``Sequence``, ``Choice``,
``SequenceOf``, ``Enumerated``, ``Primitive`` or a ``TypeRef`` to a named type. Components
(of a SEQUENCE or CHOICE, or the item of a SEQUENCE OF) carry their tag as written, the
tagging mode, OPTIONAL and DEFAULT. Nothing here is BER (no identifier octets, no
constructed bit) and nothing is Python (no types, no names): the BER view decides those.

The front end builds this graph as the notation says; the passes in
``generator.asn1.passes`` then resolve, tag, name, check and annotate it, each returning a
new ``Module``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from functools import cached_property


class TagClass(IntEnum):
    """The four ASN.1 tag classes (X.680 8.1)."""

    UNIVERSAL = 0
    APPLICATION = 1
    CONTEXT = 2
    PRIVATE = 3


class Tagging(StrEnum):
    """How a tag applies: in place of the type's own tag, or around it."""

    IMPLICIT = "IMPLICIT"
    EXPLICIT = "EXPLICIT"


class ModuleTagging(StrEnum):
    """The module's tag default (``DEFINITIONS ... TAGS``)."""

    EXPLICIT = "EXPLICIT"
    IMPLICIT = "IMPLICIT"
    AUTOMATIC = "AUTOMATIC"


@dataclass(frozen=True)
class Tag:
    """A tag: class and number (any size; how it is encoded is the encoding's business)."""

    tag_class: TagClass
    number: int

    def text(self) -> str:
        """``[APPLICATION 1]``, ``[3]`` (context class is written without a keyword)."""
        keyword = "" if self.tag_class is TagClass.CONTEXT else f"{self.tag_class.name} "
        return f"[{keyword}{self.number}]"


class Builtin(StrEnum):
    """The built-in simple types the graph can hold (X.680 names)."""

    BOOLEAN = "BOOLEAN"
    INTEGER = "INTEGER"
    BIT_STRING = "BIT STRING"
    OCTET_STRING = "OCTET STRING"
    VISIBLE_STRING = "VisibleString"
    UTF8_STRING = "UTF8String"
    ANY = "ANY"


# Universal tag numbers of the built-in and constructed types (X.680 8.6, Table 1).
UNIVERSAL_NUMBERS: dict[str, int] = {
    Builtin.BOOLEAN: 1,
    Builtin.INTEGER: 2,
    Builtin.BIT_STRING: 3,
    Builtin.OCTET_STRING: 4,
    "ENUMERATED": 10,
    Builtin.UTF8_STRING: 12,
    "SEQUENCE": 16,
    "SEQUENCE OF": 16,
    Builtin.VISIBLE_STRING: 26,
}


@dataclass(frozen=True)
class Bounds:
    """An inclusive range from a SIZE or value constraint; None where open."""

    minimum: int | None
    maximum: int | None

    def describe(self) -> str:
        low = "" if self.minimum is None else str(self.minimum)
        high = "" if self.maximum is None else str(self.maximum)
        return f"{low}..{high}" if low != high else low


Constraint = tuple[Bounds, ...]
"""Alternatives of a SIZE or value constraint (``SIZE (4 | 6)`` is two); () is none."""


def describe_constraint(constraint: Constraint) -> str:
    """``1..129``, ``8``, ``4 | 6``."""
    return " | ".join(b.describe() for b in constraint)


@dataclass(frozen=True)
class TypeRef:
    """A reference to a named type, possibly narrowed by its own constraints."""

    name: str
    size: Constraint = ()
    value_range: Constraint = ()


@dataclass(frozen=True)
class Primitive:
    """A built-in simple type with its SIZE (strings) or value (INTEGER) constraint."""

    builtin: Builtin
    size: Constraint = ()
    value_range: Constraint = ()


@dataclass(frozen=True)
class Enumerated:
    """ENUMERATED: (name, number) in the order written; ``...`` makes it extensible."""

    items: tuple[tuple[str, int], ...]
    extensible: bool = False


DefaultValue = bool | int | str
"""A DEFAULT as written: BOOLEAN, INTEGER or an ENUMERATED item's name."""


@dataclass(frozen=True)
class Component:
    """A named element of a SEQUENCE or CHOICE (or the item of a SEQUENCE OF).

    ``tag``/``tagging`` are the component's own tag (None: untagged). ``tagging`` None
    means "the module default", which the tagging pass replaces.
    """

    name: str
    type: Type
    tag: Tag | None = None
    tagging: Tagging | None = None
    optional: bool = False
    default: DefaultValue | None = None


@dataclass(frozen=True)
class Sequence:
    components: tuple[Component, ...]
    extensible: bool = False


@dataclass(frozen=True)
class Choice:
    alternatives: tuple[Component, ...]
    extensible: bool = False


@dataclass(frozen=True)
class SequenceOf:
    """SEQUENCE OF: ``item`` is a component named ``item`` (it may be tagged)."""

    item: Component
    size: Constraint = ()


Type = Sequence | Choice | SequenceOf | Enumerated | Primitive | TypeRef


@dataclass(frozen=True)
class TypeDef:
    """A named type; the last fields are filled by passes.

    ``first_tags`` is the set of tags an encoding of this type can start with (None when
    any tag can: an untagged open type). ``recursive`` marks types that contain
    themselves (through a cycle of references). ``representation`` names how values of
    this type appear in a target language (from ``specs/asn1/modules.toml``).
    """

    name: str
    type: Type
    tag: Tag | None = None
    tagging: Tagging | None = None
    anonymous: bool = False
    first_tags: frozenset[Tag] | None = frozenset()
    recursive: bool = False
    representation: str | None = None


@dataclass(frozen=True)
class Module:
    """One ASN.1 module: its named types in the order the front end or a pass left them."""

    name: str
    source_name: str
    tagging: ModuleTagging
    types: tuple[TypeDef, ...]

    @cached_property
    def by_name(self) -> dict[str, TypeDef]:
        """Every named type by its name."""
        return {typedef.name: typedef for typedef in self.types}

    def find(self, name: str) -> TypeDef | None:
        """The named type ``name``, or None."""
        return self.by_name.get(name)

    def get(self, name: str) -> TypeDef:
        """The named type ``name`` (a KeyError names it when absent)."""
        found = self.find(name)
        if found is None:
            raise KeyError(name)
        return found
