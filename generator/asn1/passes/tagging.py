"""Pass 2, apply tagging: every tag gets its tagging, as X.680 31.2.7 and 25.3 say.

A tag written without IMPLICIT or EXPLICIT takes the module's default (IMPLICIT for
IMPLICIT and AUTOMATIC modules, EXPLICIT otherwise), except on an untagged CHOICE or open
type (ANY), which can only be tagged explicitly. In an AUTOMATIC module, the components of
a SEQUENCE or CHOICE none of which is tagged are numbered [0], [1], ... in order.
"""

from __future__ import annotations

from dataclasses import replace

from gen61850.generator.asn1.ir import (
    Builtin,
    Choice,
    Component,
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


def apply_tagging(module: Module) -> Module:
    """The module with every tag's tagging decided (no tag keeps ``tagging=None``)."""
    return replace(module, types=tuple(_Tagger(module).typedef(t) for t in module.types))


class _Tagger:
    def __init__(self, module: Module) -> None:
        self.module = module
        self.default = (
            Tagging.EXPLICIT if module.tagging is ModuleTagging.EXPLICIT else Tagging.IMPLICIT
        )

    def where(self, path: str) -> str:
        return f"{self.module.source_name}:{path}"

    def typedef(self, typedef: TypeDef) -> TypeDef:
        tagging = self.tagging(typedef.tag, typedef.tagging, typedef.type, typedef.name)
        return replace(typedef, type=self.type(typedef.type, typedef.name), tagging=tagging)

    def tagging(
        self, tag: Tag | None, written: Tagging | None, type_: Type, path: str
    ) -> Tagging | None:
        if tag is None:
            return None
        must_be_explicit = self.untagged_choice_or_open(type_)
        if written is Tagging.IMPLICIT and must_be_explicit:
            raise GeneratorError(
                self.where(path), "an untagged CHOICE or ANY cannot be tagged IMPLICIT"
            )
        if written is not None:
            return written
        return Tagging.EXPLICIT if must_be_explicit else self.default

    def untagged_choice_or_open(self, type_: Type) -> bool:
        """Whether ``type_`` is a CHOICE or ANY with no tag of its own (aliases followed)."""
        while isinstance(type_, TypeRef):
            named = self.module.get(type_.name)
            if named.tag is not None:
                return False
            type_ = named.type
        return isinstance(type_, Choice) or (
            isinstance(type_, Primitive) and type_.builtin is Builtin.ANY
        )

    def type(self, type_: Type, path: str) -> Type:
        if isinstance(type_, Sequence):
            return replace(type_, components=self.components(type_.components, path))
        if isinstance(type_, Choice):
            return replace(type_, alternatives=self.components(type_.alternatives, path))
        if isinstance(type_, SequenceOf):
            return replace(type_, item=self.component(type_.item, path))
        return type_

    def components(self, components: tuple[Component, ...], path: str) -> tuple[Component, ...]:
        automatic = self.module.tagging is ModuleTagging.AUTOMATIC and all(
            c.tag is None for c in components
        )
        if automatic:
            components = tuple(
                replace(c, tag=Tag(TagClass.CONTEXT, number)) for number, c in enumerate(components)
            )
        return tuple(self.component(c, path) for c in components)

    def component(self, component: Component, path: str) -> Component:
        here = f"{path}.{component.name}"
        tagging = self.tagging(component.tag, component.tagging, component.type, here)
        return replace(component, type=self.type(component.type, here), tagging=tagging)
