"""Pass: one IED → the classes of typed references its package's ``refs`` module renders.

``REFS.<LD inst>.<LN>.<DO>[.<SDO>…].<DA>[.<BDA>…]`` is a ``Ref[T]`` for every basic attribute
(or array of one) the 8-2 server serves, ``T`` being what a client reads
(``gen61850.runtime.device.VALUE_TYPES``). One class per LNodeType, DOType and DAType in
use builds its references from the names it is given, so the module grows with the types,
not with the instances (a large SCD has thousands of LNs of a few dozen types). Arrays of
structures and of data objects get no reference (a client reads them by text reference).
"""

from __future__ import annotations

from dataclasses import dataclass

from gen61850.generator.scl.naming import class_name, py_identifier, unique
from gen61850.runtime.device import (
    VALUE_TYPES,
    BasicType,
    DataAttribute,
    DataObject,
    Ied,
    LogicalNode,
)

# How each value type is written in the generated module (imported under these names).
_TYPE_NAMES = {
    "bool": "bool",
    "int": "int",
    "float": "float",
    "str": "str",
    "bytes": "bytes",
    "Quality": "_Quality",
    "Timestamp": "_Timestamp",
    "datetime": "_datetime",
    "BitString": "_BitString",
}


@dataclass(frozen=True)
class RefField:
    """``self.<name>[: annotation] = <value>`` in a class's ``__init__``."""

    name: str
    annotation: str | None  # for a Ref (its T cannot be inferred); None for a namespace
    value: str
    iec_name: str


@dataclass(frozen=True)
class RefClass:
    name: str
    doc: str
    parameters: str  # of __init__, after self
    fields: tuple[RefField, ...]


def value_annotation(btype: BasicType, count: int) -> str:
    base = _TYPE_NAMES[VALUE_TYPES[btype].__name__]
    return f"list[{base}]" if count else base


def _ref(btype: BasicType, count: int, item: str) -> tuple[str, str]:
    suffix = f", {count}" if count else ""
    value = f'_Ref(ld, f"{item}", _BasicType.{btype.name}{suffix})'
    return f"_Ref[{value_annotation(btype, count)}]", value


class _Builder:
    """Collects one class per type (in dependency order) and the LD/IED classes."""

    def __init__(self) -> None:
        self.classes: list[RefClass] = []
        self._names: dict[tuple[str, str], str] = {}
        self._taken: set[str] = {"REFS"}

    def _name(self, kind: str, type_id: str) -> str:
        name = "Refs" + class_name(kind, type_id)
        candidate, n = name, 1
        while candidate in self._taken:
            n += 1
            candidate = f"{name}_{n}"
        self._taken.add(candidate)
        return candidate

    def struct(self, attribute: DataAttribute) -> str:
        """The class of a structured attribute's type: built from ``(ld, base)``."""
        key = ("DA", attribute.type_id or "")
        if key in self._names:
            return self._names[key]
        name = self._names[key] = self._name(*key)
        fields: list[RefField] = []
        kids = attribute.components
        for child, field in zip(kids, unique(py_identifier(c.name) for c in kids), strict=True):
            item = "{base}$" + child.name
            if child.count and child.components:
                continue
            if child.components:
                fields.append(
                    RefField(field, None, f'{self.struct(child)}(ld, f"{item}")', child.name)
                )
            else:
                annotation, value = _ref(child.btype, child.count, item)
                fields.append(RefField(field, annotation, value, child.name))
        self.classes.append(
            RefClass(name, f"DAType {key[1]!r}.", "ld: str, base: str", tuple(fields))
        )
        return name

    def data_object(self, do: DataObject) -> str:
        """The class of a DOType: built from ``(ld, ln, path)``, path ``DO[$SDO…]``."""
        key = ("DO", do.type_id)
        if key in self._names:
            return self._names[key]
        name = self._names[key] = self._name(*key)
        fields: list[RefField] = []
        kids = do.children
        for child, field in zip(kids, unique(py_identifier(c.name) for c in kids), strict=True):
            if child.count and (isinstance(child, DataObject) or child.components):
                continue
            if isinstance(child, DataObject):
                value = f'{self.data_object(child)}(ld, ln, f"{{path}}${child.name}")'
                fields.append(RefField(field, None, value, child.name))
                continue
            item = "{ln}$" + f"{child.fc.value}" + "${path}$" + child.name
            if child.components:
                value = f'{self.struct(child)}(ld, f"{item}")'
                fields.append(RefField(field, None, value, child.name))
            elif child.btype is not BasicType.STRUCT:
                annotation, value = _ref(child.btype, child.count, item)
                fields.append(RefField(field, annotation, value, child.name))
        doc = f"DOType {do.type_id!r} (CDC {do.cdc})."
        self.classes.append(RefClass(name, doc, "ld: str, ln: str, path: str", tuple(fields)))
        return name

    def logical_node(self, ln: LogicalNode) -> str:
        """The class of an LNodeType: built from ``(ld, ln)``."""
        key = ("LN", ln.ln_type)
        if key in self._names:
            return self._names[key]
        name = self._names[key] = self._name(*key)
        fields: list[RefField] = []
        dos = ln.data_objects
        for do, field in zip(dos, unique(py_identifier(d.name) for d in dos), strict=True):
            if do.count or not do.fcs():
                continue
            value = f'{self.data_object(do)}(ld, ln, "{do.name}")'
            fields.append(RefField(field, None, value, do.name))
        doc = f"LNodeType {ln.ln_type!r} (lnClass {ln.ln_class})."
        self.classes.append(RefClass(name, doc, "ld: str, ln: str", tuple(fields)))
        return name


@dataclass(frozen=True)
class RefsView:
    classes: tuple[RefClass, ...]  # per type, then per LD, then the IED's
    root: str  # the class REFS is an instance of


def build_refs(ied: Ied) -> RefsView:
    """The reference classes of ``ied``; ``REFS.<LD inst>`` holds its logical devices."""
    builder = _Builder()
    ld_fields: list[RefField] = []
    lds = ied.logical_devices
    for ld, ld_field in zip(
        lds, unique(py_identifier(ld.inst or ld.name) for ld in lds), strict=True
    ):
        ln_fields: list[RefField] = []
        lns = ld.logical_nodes
        for ln, field in zip(lns, unique(py_identifier(n.name) for n in lns), strict=True):
            cls = builder.logical_node(ln)
            ln_fields.append(RefField(field, None, f'{cls}("{ld.name}", "{ln.name}")', ln.name))
        ld_class = builder._name("LD", ld.inst or ld.name)
        builder.classes.append(RefClass(ld_class, f"LDevice {ld.name}.", "", tuple(ln_fields)))
        ld_fields.append(RefField(ld_field, None, f"{ld_class}()", ld.name))
    root = builder._name("IED", ied.name)
    builder.classes.append(RefClass(root, f"IED {ied.name}.", "", tuple(ld_fields)))
    return RefsView(tuple(builder.classes), root)


__all__ = ["RefClass", "RefField", "RefsView", "build_refs", "value_annotation"]
