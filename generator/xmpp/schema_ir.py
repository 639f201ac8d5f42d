"""Front end: the xsdata bindings of the 8-2 schema, read back as a plain IR of types and fields.

The bindings are Python source text that xsdata built from the schema; this module loads
that text into a private module (never into ``sys.modules`` for good) and describes every
dataclass: its XML name, and per field the element name, the Python attribute, the kind
(``str``, ``int``, ``bytes``, ``null`` for an empty type, or a class) and its multiplicity.
The codec and service templates read only this IR, so any schema xsdata accepts works.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from dataclasses import dataclass

from gen61850.generator.xsd.facets import Facets
from gen61850.runtime.errors import Gen61850Error

SIMPLE_KINDS = {str: "str", int: "int", bytes: "bytes"}


class SchemaIrError(Gen61850Error):
    """The bindings hold something the codec generator does not know how to encode."""


@dataclass(frozen=True)
class FieldIr:
    """One element of a complex type: XML name, Python attribute, kind, multiplicity."""

    xml_name: str
    attribute: str
    kind: str  # "str" | "int" | "bytes" | a class name
    is_class: bool
    is_list: bool
    is_optional: bool
    facets: Facets | None = None  # bounds of a simple value, joined from the XSD


@dataclass(frozen=True)
class TypeIr:
    """One complex type (a dataclass of the bindings) and its fields in schema order."""

    class_name: str
    xml_name: str
    fields: tuple[FieldIr, ...]
    is_choice: bool = False  # exactly one of the fields occurs (an xs:choice), from the XSD

    def field_by_xml(self, xml_name: str) -> FieldIr:
        for f in self.fields:
            if f.xml_name == xml_name:
                return f
        raise SchemaIrError(f"type {self.xml_name}: no element {xml_name!r}")


@dataclass(frozen=True)
class SchemaIr:
    """Every complex type of the schema, by class name, sorted."""

    types: tuple[TypeIr, ...]

    def by_class(self, name: str) -> TypeIr:
        for t in self.types:
            if t.class_name == name:
                return t
        raise SchemaIrError(f"no class {name!r} in the bindings")

    def by_xml(self, name: str) -> TypeIr:
        for t in self.types:
            if t.xml_name == name:
                return t
        raise SchemaIrError(f"no type {name!r} in the schema")


def load_module(source: str, name: str = "_gen61850_scsm_bindings") -> types.ModuleType:
    """Execute bindings source in a private module (registered only while type hints resolve)."""
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    except Exception:
        del sys.modules[name]
        raise
    return module


def _describe_annotation(hint: object, where: str) -> tuple[object, bool, bool]:
    """(inner type, is_list, is_optional) of ``None | X``, ``list[X]``, ``X``."""
    optional = False
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1:
            raise SchemaIrError(f"{where}: unsupported union {hint!r}")
        hint, optional = inner[0], True
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        return item, True, optional
    return hint, False, optional


def read_bindings(source: str) -> SchemaIr:
    """Describe every dataclass in the bindings module text ``source``."""
    name = "_gen61850_scsm_bindings"
    module = load_module(source, name)
    try:
        classes = sorted(
            (
                obj
                for obj in vars(module).values()
                if isinstance(obj, type)
                and dataclasses.is_dataclass(obj)
                and obj.__module__ == name
            ),
            key=lambda c: c.__name__,
        )
        described = tuple(_describe_class(cls) for cls in classes)
    finally:
        del sys.modules[name]
    return SchemaIr(described)


def _describe_class(cls: type) -> TypeIr:
    hints = typing.get_type_hints(cls)
    meta = getattr(cls, "Meta", None)
    xml_name = getattr(meta, "name", cls.__name__)
    fields: list[FieldIr] = []
    for f in dataclasses.fields(cls):
        where = f"{cls.__name__}.{f.name}"
        if f.metadata.get("type", "Element") != "Element":
            raise SchemaIrError(f"{where}: only elements are supported, not {f.metadata['type']}")
        inner, is_list, is_optional = _describe_annotation(hints[f.name], where)
        if isinstance(inner, type) and dataclasses.is_dataclass(inner):
            kind, is_class = inner.__name__, True
        elif inner in SIMPLE_KINDS:
            kind, is_class = SIMPLE_KINDS[inner], False
        else:
            raise SchemaIrError(f"{where}: unsupported type {inner!r}")
        fields.append(
            FieldIr(
                xml_name=str(f.metadata.get("name", f.name)),
                attribute=f.name,
                kind=kind,
                is_class=is_class,
                is_list=is_list,
                is_optional=is_optional,
            )
        )
    return TypeIr(
        class_name=cls.__name__,
        xml_name=str(xml_name),
        fields=tuple(fields),
    )


__all__ = ["FieldIr", "SchemaIr", "SchemaIrError", "TypeIr", "load_module", "read_bindings"]
