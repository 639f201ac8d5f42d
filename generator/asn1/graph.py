"""Walking the type graph: what a type refers to, and what a component finally is.

Shared by the passes and the views, so that "follow the references" is written once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from gen61850.generator.asn1.ir import (
    Choice,
    Component,
    Constraint,
    Module,
    Primitive,
    Sequence,
    SequenceOf,
    Tag,
    Tagging,
    Type,
    TypeDef,
    TypeRef,
)


def children(type_: Type) -> Iterator[Component]:
    """The components directly inside a type (SEQUENCE/CHOICE members, the item)."""
    if isinstance(type_, Sequence):
        yield from type_.components
    elif isinstance(type_, Choice):
        yield from type_.alternatives
    elif isinstance(type_, SequenceOf):
        yield type_.item


def references(type_: Type) -> Iterator[str]:
    """Names of the named types ``type_`` refers to, inner types included, in order."""
    if isinstance(type_, TypeRef):
        yield type_.name
    for component in children(type_):
        yield from references(component.type)


def components_of(module: Module) -> Iterator[tuple[str, Component]]:
    """Every component of every type of ``module``, with its dotted path."""

    def walk(path: str, type_: Type) -> Iterator[tuple[str, Component]]:
        for component in children(type_):
            here = f"{path}.{component.name}"
            yield here, component
            yield from walk(here, component.type)

    for typedef in module.types:
        yield from walk(typedef.name, typedef.type)


@dataclass(frozen=True)
class Resolved:
    """What a component (or a type) is once its references are followed.

    ``tags`` are the tags met on the way, outermost first, with their tagging.
    ``base`` is the type at the end: a SEQUENCE, CHOICE, SEQUENCE OF or ENUMERATED (then
    ``named`` is the named type that defines it, when there is one) or a primitive.
    ``representation`` is the first one met (a named type's, from the specs).
    ``written`` is the type name as written on the component (``INT16U``, ``BOOLEAN``).
    """

    tags: tuple[tuple[Tag, Tagging | None], ...]
    base: Type
    named: TypeDef | None
    size: Constraint
    value_range: Constraint
    representation: str | None
    written: str


def resolve(module: Module, component: Component) -> Resolved:
    """Follow ``component``'s references down to a type that is not a reference."""
    tags: list[tuple[Tag, Tagging | None]] = []
    if component.tag is not None:
        tags.append((component.tag, component.tagging))
    return _follow(module, component.type, tags)


def resolve_type(module: Module, typedef: TypeDef) -> Resolved:
    """Follow a named type's references (its own tag first)."""
    tags: list[tuple[Tag, Tagging | None]] = []
    if typedef.tag is not None:
        tags.append((typedef.tag, typedef.tagging))
    return _follow(module, typedef.type, tags, typedef)


def _follow(
    module: Module,
    type_: Type,
    tags: list[tuple[Tag, Tagging | None]],
    named: TypeDef | None = None,
) -> Resolved:
    size: Constraint = ()
    value_range: Constraint = ()
    representation = named.representation if named is not None else None
    written = _written(type_)
    seen: set[str] = set()
    while isinstance(type_, TypeRef):
        size = size or type_.size
        value_range = value_range or type_.value_range
        if type_.name in seen:
            raise ValueError(f"reference loop through {type_.name}")  # refused by the passes
        seen.add(type_.name)
        named = module.get(type_.name)
        if named.tag is not None:
            tags.append((named.tag, named.tagging))
        representation = representation or named.representation
        type_ = named.type
    if isinstance(type_, Primitive):
        size = size or type_.size
        value_range = value_range or type_.value_range
    elif isinstance(type_, SequenceOf):
        size = size or type_.size
    return Resolved(tuple(tags), type_, named, size, value_range, representation, written)


def _written(type_: Type) -> str:
    if isinstance(type_, TypeRef):
        return type_.name
    if isinstance(type_, Primitive):
        return type_.builtin.value
    if isinstance(type_, SequenceOf):
        return "SEQUENCE OF"
    if isinstance(type_, Sequence):
        return "SEQUENCE"
    if isinstance(type_, Choice):
        return "CHOICE"
    return "ENUMERATED"
