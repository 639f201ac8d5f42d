"""Pass 4, first-tag sets: which tags an encoding of each type can start with, and the
checks that make tag-driven decoding unambiguous (X.680 25.5, 29.2).

A tagged type starts with its tag; an untagged CHOICE with any of its alternatives' first
tags; an untagged ANY with any tag at all (None). The checks: the alternatives of a CHOICE
start with different tags; in a SEQUENCE, an OPTIONAL or DEFAULT component starts with
tags that no component up to the next mandatory one can start with; and an untagged ANY
is refused where a decoder would have to guess where it is.
"""

from __future__ import annotations

from dataclasses import replace

from gen61850.generator.asn1.ir import (
    UNIVERSAL_NUMBERS,
    Builtin,
    Choice,
    Component,
    Enumerated,
    Module,
    Primitive,
    Sequence,
    SequenceOf,
    Tag,
    TagClass,
    Type,
    TypeRef,
)
from gen61850.generator.errors import GeneratorError

Tags = frozenset[Tag] | None
"""A first-tag set; None stands for "any tag" (an untagged open type)."""


def check_first_tags(module: Module) -> Module:
    """The module with ``first_tags`` set on every named type, after the checks."""
    finder = _FirstTags(module)
    types = tuple(replace(t, first_tags=finder.of_named(t.name)) for t in module.types)
    for typedef in module.types:
        finder.check(typedef.type, typedef.name)
    return replace(module, types=types)


def describe(tags: Tags) -> str:
    if tags is None:
        return "any tag"
    return ", ".join(t.text() for t in sorted(tags, key=lambda t: (t.tag_class, t.number)))


class _FirstTags:
    def __init__(self, module: Module) -> None:
        self.module = module
        self.known: dict[str, Tags] = {}
        self.busy: list[str] = []

    def where(self, path: str) -> str:
        return f"{self.module.source_name}:{path}"

    def of_named(self, name: str) -> Tags:
        if name in self.known:
            return self.known[name]
        if name in self.busy:
            loop = " -> ".join([*self.busy[self.busy.index(name) :], name])
            raise GeneratorError(
                self.where(name), f"untagged CHOICE alternatives go round in a loop: {loop}"
            )
        typedef = self.module.get(name)
        self.busy.append(name)
        try:
            tags = (
                frozenset({typedef.tag}) if typedef.tag is not None else self.of_type(typedef.type)
            )
        finally:
            self.busy.pop()
        self.known[name] = tags
        return tags

    def of_type(self, type_: Type) -> Tags:
        if isinstance(type_, TypeRef):
            return self.of_named(type_.name)
        if isinstance(type_, Choice):
            union: set[Tag] = set()
            for alternative in type_.alternatives:
                tags = self.of_component(alternative)
                if tags is None:
                    return None
                union |= tags
            return frozenset(union)
        if isinstance(type_, Primitive) and type_.builtin is Builtin.ANY:
            return None
        if isinstance(type_, Sequence | SequenceOf):
            key = "SEQUENCE"
        elif isinstance(type_, Enumerated):
            key = "ENUMERATED"
        else:
            key = type_.builtin.value
        return frozenset({Tag(TagClass.UNIVERSAL, UNIVERSAL_NUMBERS[key])})

    def of_component(self, component: Component) -> Tags:
        if component.tag is not None:
            return frozenset({component.tag})
        return self.of_type(component.type)

    def check(self, type_: Type, path: str) -> None:
        if isinstance(type_, Choice):
            self.check_choice(type_, path)
        elif isinstance(type_, Sequence):
            self.check_sequence(type_, path)
        elif isinstance(type_, SequenceOf):
            if self.of_component(type_.item) is None:
                raise GeneratorError(
                    self.where(f"{path}.item"), "an untagged ANY cannot be decoded"
                )
            self.check(type_.item.type, f"{path}.item")
        for component in _components(type_):
            if not isinstance(component.type, TypeRef):
                self.check(component.type, f"{path}.{component.name}")

    def check_choice(self, choice: Choice, path: str) -> None:
        owners: dict[Tag, str] = {}
        for alternative in choice.alternatives:
            tags = self.of_component(alternative)
            if tags is None:
                raise GeneratorError(
                    self.where(f"{path}.{alternative.name}"), "an untagged ANY cannot be decoded"
                )
            for tag in tags:
                if tag in owners:
                    raise GeneratorError(
                        self.where(f"{path}.{alternative.name}"),
                        f"starts with tag {tag.text()} like alternative {owners[tag]}",
                    )
                owners[tag] = alternative.name

    def check_sequence(self, sequence: Sequence, path: str) -> None:
        components = sequence.components
        for index, component in enumerate(components):
            tags = self.of_component(component)
            if tags is None:
                raise GeneratorError(
                    self.where(f"{path}.{component.name}"), "an untagged ANY cannot be decoded"
                )
            if not (component.optional or component.default is not None):
                continue
            for later in components[index + 1 :]:
                clash = tags & (self.of_component(later) or frozenset())
                if clash:
                    raise GeneratorError(
                        self.where(f"{path}.{component.name}"),
                        f"OPTIONAL component starts with {describe(frozenset(clash))} like "
                        f"{later.name} after it",
                    )
                if not (later.optional or later.default is not None):
                    break


def _components(type_: Type) -> tuple[Component, ...]:
    if isinstance(type_, Sequence):
        return type_.components
    if isinstance(type_, Choice):
        return type_.alternatives
    return ()
