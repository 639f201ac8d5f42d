"""Pass 1, resolve references: every type reference names a type of the module, alias
chains end, and every DEFAULT fits the type it is the default of.

A DEFAULT written for a referenced type reaches us as text (asn1tools cannot know the type
is BOOLEAN or INTEGER); once the reference is followed it becomes the value it stands for.
"""

from __future__ import annotations

from dataclasses import replace

from gen61850.generator.asn1.graph import references
from gen61850.generator.asn1.ir import (
    Builtin,
    Choice,
    Component,
    DefaultValue,
    Enumerated,
    Module,
    Primitive,
    Sequence,
    SequenceOf,
    Type,
    TypeRef,
)
from gen61850.generator.errors import GeneratorError


def resolve_references(module: Module) -> Module:
    """Check references and DEFAULTs (written as text for a referenced type: made values)."""
    for typedef in module.types:
        for name in references(typedef.type):
            if module.find(name) is None:
                raise GeneratorError(
                    f"{module.source_name}:{typedef.name}", f"type {name} is not defined"
                )
    for typedef in module.types:
        _alias_end(module, typedef.name, typedef.type)
    types = tuple(replace(t, type=_defaults(module, t.type, t.name)) for t in module.types)
    return module if types == module.types else replace(module, types=types)


def _defaults(module: Module, type_: Type, path: str) -> Type:
    """``type_`` with the DEFAULT of each component checked (and made a value)."""
    if isinstance(type_, Sequence):
        return replace(
            type_, components=tuple(_component(module, c, path) for c in type_.components)
        )
    if isinstance(type_, Choice):
        return replace(
            type_, alternatives=tuple(_component(module, c, path) for c in type_.alternatives)
        )
    if isinstance(type_, SequenceOf):
        return replace(type_, item=_component(module, type_.item, path))
    return type_


def _component(module: Module, component: Component, path: str) -> Component:
    here = f"{path}.{component.name}"
    component = replace(component, type=_defaults(module, component.type, here))
    if component.default is None:
        return component
    value = _check_default(module, f"{module.source_name}:{here}", component)
    return component if value == component.default else replace(component, default=value)


def _alias_end(module: Module, start: str, type_: Type) -> Type:
    """Where a chain of plain references ends; a chain that comes back is refused."""
    seen = [start]
    while isinstance(type_, TypeRef):
        if type_.name in seen:
            loop = " -> ".join([*seen[seen.index(type_.name) :], type_.name])
            raise GeneratorError(
                f"{module.source_name}:{start}", f"type references go round in a loop: {loop}"
            )
        seen.append(type_.name)
        type_ = module.get(type_.name).type
    return type_


def _check_default(module: Module, where: str, component: Component) -> DefaultValue:
    base = _alias_end(module, component.name, component.type)
    value = component.default
    if isinstance(base, Primitive) and base.builtin is Builtin.BOOLEAN:
        value = (
            {"TRUE": True, "FALSE": False}.get(value, value) if isinstance(value, str) else value
        )
        fits = isinstance(value, bool)
    elif isinstance(base, Primitive) and base.builtin is Builtin.INTEGER:
        if isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        fits = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(base, Enumerated):
        fits = isinstance(value, str) and value in dict(base.items)
    else:
        raise GeneratorError(where, "DEFAULT is supported for BOOLEAN, INTEGER and ENUMERATED")
    if not fits or value is None:
        raise GeneratorError(where, f"DEFAULT {value!r} does not fit the type")
    return value
