"""ASN.1 front end: ``asn1tools.parse_files`` output → the type graph of ``generator.asn1.ir``.

asn1tools is used only to parse the notation. The graph is built as written: references
stay references, tags keep the tagging they were written with (or none), inner types stay
anonymous. Deciding what those mean is the passes' job (``generator.asn1.passes``), so the
generated code never depends on asn1tools. What the graph cannot hold (SET, REAL, ...)
is refused here with ``FILE:Type.component: message``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import asn1tools

from gen61850.generator.asn1.ir import (
    Bounds,
    Builtin,
    Choice,
    Component,
    Constraint,
    DefaultValue,
    Enumerated,
    Module,
    ModuleTagging,
    Primitive,
    Sequence,
    SequenceOf,
    Tag,
    TagClass,
    Tagging,
    Type,
    TypeDef,
    TypeRef,
)
from gen61850.generator.errors import GeneratorError

Raw = Mapping[str, Any]
_BUILTINS = {b.value: b for b in Builtin}
# Built-in types of X.680 the graph does not hold (yet); a reference to one is refused.
_UNSUPPORTED = {
    "NULL",
    "SET",
    "SET OF",
    "REAL",
    "OBJECT IDENTIFIER",
    "RELATIVE-OID",
    "EXTERNAL",
    "EMBEDDED PDV",
    "CHARACTER STRING",
    "GeneralizedTime",
    "UTCTime",
    "IA5String",
    "PrintableString",
    "NumericString",
    "BMPString",
    "UniversalString",
    "GraphicString",
    "GeneralString",
    "TeletexString",
    "T61String",
    "VideotexString",
    "ObjectDescriptor",
}


def parse_module(path: Path, source_name: str) -> Module:
    """Read one ASN.1 file holding one module and return its graph, as written."""
    try:
        parsed: dict[str, Raw] = asn1tools.parse_files([str(path)])
    except asn1tools.ParseError as error:
        raise GeneratorError(source_name, f"ASN.1 syntax: {error}") from error
    except (ValueError, KeyError, TypeError, IndexError) as error:  # asn1tools' own slips
        raise GeneratorError(source_name, f"ASN.1 not understood: {error}") from error
    if len(parsed) != 1:
        raise GeneratorError(source_name, f"expected one module, found {len(parsed)}")
    ((name, module),) = parsed.items()
    return _Reader(source_name).module(name, module)


class _Reader:
    """Turns asn1tools' dictionaries into graph nodes, naming where each came from."""

    def __init__(self, source_name: str) -> None:
        self.source_name = source_name

    def where(self, *parts: str) -> str:
        return ":".join((self.source_name, ".".join(parts)))

    def module(self, name: str, raw: Raw) -> Module:
        tagging = ModuleTagging(raw.get("tags") or "EXPLICIT")
        types = tuple(
            self.typedef(type_name, body) for type_name, body in sorted(raw["types"].items())
        )
        return Module(name, self.source_name, tagging, types)

    def typedef(self, name: str, raw: Raw) -> TypeDef:
        tag, tagging = self.tag(raw, self.where(name))
        return TypeDef(name, self.type(raw, (name,)), tag, tagging)

    def tag(self, raw: Raw, where: str) -> tuple[Tag | None, Tagging | None]:
        """The tag written on a type or component, and its tagging keyword if any."""
        written = raw.get("tag")
        if written is None:
            return None, None
        try:
            tag_class = TagClass[str(written.get("class", "CONTEXT")).replace("-", "_")]
            number = int(written["number"])
        except (KeyError, ValueError) as error:
            raise GeneratorError(where, f"tag {written!r} is not a class and number") from error
        kind = written.get("kind")
        return Tag(tag_class, number), None if kind is None else Tagging(kind)

    def type(self, raw: Raw, path: tuple[str, ...]) -> Type:
        """The type of a type assignment or component at ``path`` (type name, components)."""
        kind: str = raw["type"]
        if kind == "SEQUENCE":
            components, extensible = self.components(raw["members"], path)
            return Sequence(components, extensible)
        if kind == "CHOICE":
            alternatives, extensible = self.components(raw["members"], path)
            return Choice(alternatives, extensible)
        if kind == "SEQUENCE OF":
            item_path = (*path, "item")
            tag, tagging = self.tag(raw["element"], self.where(*item_path))
            item = Component("item", self.type(raw["element"], item_path), tag, tagging)
            return SequenceOf(item, self.constraint(raw.get("size"), item_path))
        if kind == "ENUMERATED":
            items = tuple(tuple(v) for v in raw["values"] if v is not None)
            extensible = any(v is None for v in raw["values"])
            return Enumerated(tuple((str(n), int(v)) for n, v in items), extensible)
        if kind in _UNSUPPORTED:
            raise GeneratorError(self.where(*path), f"type {kind} is not supported")
        size = self.constraint(raw.get("size"), path)
        value_range = self.constraint(raw.get("restricted-to"), path)
        builtin = _BUILTINS.get(kind)
        if builtin is not None:
            return Primitive(builtin, size, value_range)
        return TypeRef(kind, size, value_range)

    def components(
        self, members: list[Raw | None], path: tuple[str, ...]
    ) -> tuple[tuple[Component, ...], bool]:
        """The components in order, and whether an extension marker (``...``) is among them."""
        components: list[Component] = []
        for member in members:
            if member is None:
                continue
            name: str = member["name"]
            where = (*path, name)
            tag, tagging = self.tag(member, self.where(*where))
            components.append(
                Component(
                    name,
                    self.type(member, where),
                    tag,
                    tagging,
                    optional=bool(member.get("optional", False)),
                    default=self.default(member, where),
                )
            )
        return tuple(components), any(m is None for m in members)

    def default(self, member: Raw, path: tuple[str, ...]) -> DefaultValue | None:
        if "default" not in member:
            return None
        value = member["default"]
        if isinstance(value, bool | int | str):
            return value
        raise GeneratorError(self.where(*path), f"DEFAULT {value!r} is not supported")

    def constraint(self, raw: Any, path: tuple[str, ...]) -> Constraint:
        """asn1tools' SIZE / value constraint (``[2]``, ``[(1, 129)]``, ``[4, 6]``)."""
        if not raw:
            return ()
        bounds: list[Bounds] = []
        for item in raw:
            if isinstance(item, tuple):
                low, high = item
                bounds.append(
                    Bounds(None if low == "MIN" else int(low), None if high == "MAX" else int(high))
                )
            elif isinstance(item, int):
                bounds.append(Bounds(item, item))
            else:
                raise GeneratorError(self.where(*path), f"constraint {raw!r} is not supported")
        return tuple(bounds)
