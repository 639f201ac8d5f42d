"""Pass 3, name anonymous types: a SEQUENCE, CHOICE or ENUMERATED written inside another
type becomes a named type of the module, so every such type has one name to generate.

The name joins the owner's name and the component's (``P.f`` -> ``PF``; the item of a
SEQUENCE OF adds ``Item``). Components then refer to it by name. SEQUENCE OF and the
primitive types stay where they are written.
"""

from __future__ import annotations

import re
from dataclasses import replace

from gen61850.generator.asn1.ir import (
    Choice,
    Component,
    Enumerated,
    Module,
    Sequence,
    SequenceOf,
    Type,
    TypeDef,
    TypeRef,
)
from gen61850.generator.errors import GeneratorError

_WORD = re.compile(r"[-_]+")


def pascal(name: str) -> str:
    """``bit-string`` -> ``BitString``, ``allData`` -> ``AllData``, ``mMSString`` -> ``MMSString``."""
    return "".join(part[:1].upper() + part[1:] for part in _WORD.split(name) if part)


def name_anonymous_types(module: Module) -> Module:
    """The module with inner constructed types lifted out as named types."""
    namer = _Namer(module)
    types = [replace(t, type=namer.inner(t.type, t.name)) for t in module.types]
    return replace(module, types=tuple(types) + tuple(namer.created))


class _Namer:
    def __init__(self, module: Module) -> None:
        self.module = module
        self.taken = {t.name for t in module.types}
        self.created: list[TypeDef] = []

    def inner(self, type_: Type, prefix: str) -> Type:
        """``type_`` with the types of its components named (it keeps its own kind)."""
        if isinstance(type_, Sequence):
            return replace(
                type_, components=tuple(self.component(c, prefix) for c in type_.components)
            )
        if isinstance(type_, Choice):
            return replace(
                type_, alternatives=tuple(self.component(c, prefix) for c in type_.alternatives)
            )
        if isinstance(type_, SequenceOf):
            return replace(type_, item=self.component(type_.item, prefix))
        return type_

    def component(self, component: Component, prefix: str) -> Component:
        here = prefix + pascal(component.name)
        type_ = component.type
        if isinstance(type_, Sequence | Choice | Enumerated):
            if here in self.taken:
                raise GeneratorError(
                    f"{self.module.source_name}:{prefix}.{component.name}",
                    f"its inner type would be named {here}, which is already a type",
                )
            self.taken.add(here)
            index = len(self.created)
            self.created.append(TypeDef(here, type_, anonymous=True))  # outer before inner
            self.created[index] = TypeDef(here, self.inner(type_, here), anonymous=True)
            return replace(component, type=TypeRef(here))
        return replace(component, type=self.inner(type_, here))
