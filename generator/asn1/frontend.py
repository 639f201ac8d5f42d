"""ASN.1 front end: ``asn1tools.parse_files`` output → the typed IR of ``generator.asn1.ir``.

asn1tools is used only to parse the notation; tags, constraints and the value
representation are decided here, so the generated code never depends on asn1tools.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import asn1tools

from gen61850.generator.asn1.ir import Bounds, Codec, Field, Module, SequenceType, Tag, TagClass
from gen61850.generator.errors import GeneratorError

# Universal tags of the built-in types this generator supports.
_UNIVERSAL = {
    "INTEGER": Tag(TagClass.UNIVERSAL, 2, False),
    "OCTET STRING": Tag(TagClass.UNIVERSAL, 4, False),
    "VisibleString": Tag(TagClass.UNIVERSAL, 26, False),
    "SEQUENCE": Tag(TagClass.UNIVERSAL, 16, True),
    "SEQUENCE OF": Tag(TagClass.UNIVERSAL, 16, True),
}
_CONSTRUCTED_TYPES = {"SEQUENCE", "SEQUENCE OF"}
# IEC 61850-7-2 unsigned basic types carried as fixed-size OCTET STRINGs (9-2 clause 8.6).
_UNSIGNED_ALIAS = re.compile(r"INT(8|16|32|64)U")

Raw = Mapping[str, Any]


def parse_module(path: Path, source_name: str) -> Module:
    """Read one ASN.1 file holding one module and return its IR."""
    try:
        parsed: dict[str, Raw] = asn1tools.parse_files([str(path)])
    except asn1tools.ParseError as error:
        raise GeneratorError(source_name, f"ASN.1 syntax: {error}") from error
    if len(parsed) != 1:
        raise GeneratorError(source_name, f"expected one module, found {len(parsed)}")
    ((name, module),) = parsed.items()
    return _Builder(name, module, source_name).module()


class _Builder:
    """Turns one parsed module into IR; remembers which SEQUENCE types others use."""

    def __init__(self, name: str, module: Raw, source_name: str) -> None:
        self.name = name
        self.types: Raw = module["types"]
        self.implicit_by_default = module.get("tags") in ("IMPLICIT", "AUTOMATIC")
        self.source_name = source_name

    def where(self, *parts: str) -> str:
        return ":".join((self.source_name, ".".join(parts)))

    def module(self) -> Module:
        sequences = {
            name: self.sequence(name, raw)
            for name, raw in sorted(self.types.items())
            if raw["type"] == "SEQUENCE"
        }
        used = {f.element for s in sequences.values() for f in s.fields if f.element}
        ordered: list[SequenceType] = []
        for name in _dependency_order(sequences):
            seq = sequences[name]
            ordered.append(SequenceType(seq.name, seq.tag, seq.fields, referenced=name in used))
        return Module(self.name, self.source_name, tuple(ordered))

    def sequence(self, name: str, raw: Raw) -> SequenceType:
        tag = self.outer_tag(raw, "SEQUENCE", self.where(name))
        fields = tuple(self.field(name, member) for member in raw["members"])
        return SequenceType(name, tag, fields, referenced=False)

    def outer_tag(self, raw: Raw, builtin: str, where: str) -> Tag:
        """The tag an element of this (possibly tagged) type starts with."""
        tag = raw.get("tag")
        if tag is None:
            return _UNIVERSAL[builtin]
        kind = tag.get("kind") or ("IMPLICIT" if self.implicit_by_default else "EXPLICIT")
        if kind != "IMPLICIT" and builtin != "ANY":
            raise GeneratorError(where, f"explicit tagging of {builtin} is not supported")
        number = int(tag["number"])
        if number > 30:
            raise GeneratorError(where, f"tag number {number} needs several identifier octets")
        tag_class = TagClass[tag.get("class", "CONTEXT").replace("-", "_")]
        constructed = builtin in _CONSTRUCTED_TYPES or builtin == "ANY"
        return Tag(tag_class, number, constructed)

    def field(self, owner: str, member: Raw) -> Field:
        name: str = member["name"]
        where = self.where(owner, name)
        type_name: str = member["type"]
        optional = bool(member.get("optional", False))
        if "default" in member:
            raise GeneratorError(where, "DEFAULT values are not supported")
        if type_name == "ANY":
            if "tag" not in member:
                raise GeneratorError(where, "an untagged ANY cannot be decoded")
            return Field(
                name, Codec.OPEN_TYPE, self.outer_tag(member, "ANY", where), optional, type_name
            )
        if type_name == "SEQUENCE OF":
            element = member["element"]["type"]
            if self.types.get(element, {}).get("type") != "SEQUENCE":
                raise GeneratorError(where, f"SEQUENCE OF {element}: items must be a SEQUENCE")
            return Field(
                name,
                Codec.SEQUENCE_OF,
                self.outer_tag(member, "SEQUENCE OF", where),
                optional,
                type_name,
                size=_bounds(member.get("size")),
                element=element,
                element_tag=self.outer_tag(self.types[element], "SEQUENCE", self.where(element)),
            )
        return self.typed_field(name, member, type_name, optional, where)

    def typed_field(
        self, name: str, member: Raw, type_name: str, optional: bool, where: str
    ) -> Field:
        """A field of a built-in type or of a type reference (alias or SEQUENCE)."""
        alias = self.types.get(type_name)
        builtin = type_name if alias is None else alias["type"]
        if builtin == "SEQUENCE":
            return Field(
                name,
                Codec.SEQUENCE,
                self.outer_tag(member, "SEQUENCE", where),
                optional,
                type_name,
                element=type_name,
            )
        if builtin not in _UNIVERSAL:
            raise GeneratorError(where, f"type {type_name} ({builtin}) is not supported")
        if alias is not None and alias.get("tag") is not None:
            raise GeneratorError(where, f"tagged type reference {type_name} is not supported")
        tag = self.outer_tag(member, builtin, where)
        size = _bounds(member.get("size") or (alias or {}).get("size"))
        if builtin == "INTEGER":
            value_range = _bounds(member.get("restricted-to"))
            return Field(name, Codec.INTEGER, tag, optional, type_name, value_range=value_range)
        if builtin == "VisibleString":
            return Field(name, Codec.VISIBLE_STRING, tag, optional, type_name, size=size)
        unsigned = _UNSIGNED_ALIAS.fullmatch(type_name)
        if unsigned and size is not None and size.minimum == size.maximum == int(unsigned[1]) // 8:
            return Field(
                name, Codec.UNSIGNED_OCTETS, tag, optional, type_name, fixed_octets=size.minimum
            )
        return Field(name, Codec.OCTETS, tag, optional, type_name, size=size)


def _bounds(constraint: Any) -> Bounds | None:
    """asn1tools' SIZE / value constraint (``[2]``, ``[(1, 129)]``) as inclusive bounds."""
    if not constraint:
        return None
    (item,) = constraint
    if isinstance(item, tuple):
        low, high = item
        return Bounds(None if low == "MIN" else int(low), None if high == "MAX" else int(high))
    return Bounds(int(item), int(item))


def _dependency_order(sequences: Mapping[str, SequenceType]) -> list[str]:
    """SEQUENCE names sorted so each comes after the types it contains."""
    done: list[str] = []

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in done:
            return
        if name in trail:
            raise GeneratorError(name, "recursive types are not supported")
        for field in sequences[name].fields:
            if field.element:
                visit(field.element, (*trail, name))
        done.append(name)

    for name in sorted(sequences):
        visit(name, ())
    return done
