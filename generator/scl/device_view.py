"""Pass: one IED of an ``SclModel`` → the plain view the device-package templates render.

Everything a template needs is decided here (class and field names, annotations, default
and initial-value expressions, constants of the runtime model), so the templates only loop.
Type classes come out in dependency order (a DAType before the types that contain it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from gen61850.generator.scl.emit import Emitter
from gen61850.generator.scl.link_types import TypeGraph
from gen61850.generator.scl.model import SclModel
from gen61850.generator.scl.naming import (
    class_name,
    enum_member,
    package_name,
    py_identifier,
    unique,
)
from gen61850.generator.scl.sv_streams import layout_or_reason
from gen61850.generator.scl.typedefs import AttrDef, SubObjectDef, TypeDefs
from gen61850.generator.scl.values import ValueProblem, convert
from gen61850.runtime.device import (
    BasicType,
    DataAttribute,
    DataObject,
    DataSet,
    EnumType,
    Ied,
    LogicalDevice,
    Node,
    mms_items,
)
from gen61850.runtime.device.types import Value

_ZERO: dict[type, str] = {bool: "False", int: "0", float: "0.0", str: '""', bytes: 'b""'}


@dataclass(frozen=True)
class FieldView:
    name: str
    annotation: str
    default: str
    iec_name: str


@dataclass(frozen=True)
class ClassView:
    name: str
    doc: str
    fields: tuple[FieldView, ...]


@dataclass(frozen=True)
class EnumView:
    name: str
    doc: str
    members: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ChannelView:
    name: str
    channel: str


@dataclass(frozen=True)
class DataSetView:
    name: str
    reference: str
    data: ClassView
    channels_class: str | None = None
    layout: str | None = None
    channels: tuple[ChannelView, ...] = ()


@dataclass(frozen=True)
class PackageView:
    """Everything the device templates render for one IED."""

    ied_name: str
    package: str
    source_name: str
    edition: str
    enums: tuple[EnumView, ...]
    type_classes: tuple[ClassView, ...]
    ld_classes: tuple[ClassView, ...]
    data_class: ClassView
    constants: tuple[tuple[str, str], ...]
    ied_expr: str
    model_imports: tuple[str, ...]
    data_sets: tuple[DataSetView, ...]
    streams: tuple[tuple[str, str, str], ...]
    controls: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    control_imports: tuple[str, ...] = ()
    mms: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    inputs: tuple[tuple[str, str], ...] = ()  # (LD/LN, expression of its ExtRef tuple)
    refused_streams: tuple[tuple[str, str], ...] = ()  # (reference, why it is not published)
    left_out: tuple[tuple[str, str], ...] = ()  # (what, the located error that cost it)


def _float(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return f'float("{value}")'
    return repr(value)


class _Types:
    """Class names, field names, annotations and defaults of the template types in use."""

    def __init__(self, typedefs: TypeDefs, graph: TypeGraph) -> None:
        self.typedefs = typedefs
        self.graph = graph
        self.enum_names: dict[str, str] = {}
        self.members: dict[str, dict[int, str]] = {}
        self.field_names: dict[tuple[str, str], dict[str, str]] = {}
        self.order: list[tuple[str, str]] = []
        self._seen: set[tuple[str, str]] = set()
        self._class_names: dict[tuple[str, str], str] = {}
        for kind, table in (
            ("LN", typedefs.lnode_types),
            ("DO", typedefs.do_types),
            ("DA", typedefs.da_types),
            ("E", typedefs.enum_types),
        ):
            ids = sorted(table)
            names = unique(class_name(kind, type_id) for type_id in ids)
            self._class_names.update(((kind, i), n) for i, n in zip(ids, names, strict=True))

    def cls(self, kind: str, type_id: str | None) -> str:
        """The class of a type id: unique even when two ids make the same identifier."""
        return self._class_names.get((kind, type_id or ""), class_name(kind, type_id or ""))

    # -- which types, in which order --------------------------------------------------------
    def visit(self, kind: str, type_id: str) -> bool:
        """Add ``type_id`` (and what it needs, first); False when it does not exist."""
        key = (kind, type_id)
        if key in self._seen:
            return True
        table = {
            "LN": self.typedefs.lnode_types,
            "DO": self.typedefs.do_types,
            "DA": self.typedefs.da_types,
        }[kind]
        if type_id not in table:
            return False
        self._seen.add(key)
        for child in self._children(kind, type_id):
            if isinstance(child, SubObjectDef):
                self.visit("DO", child.type_id)
            elif child.btype is BasicType.STRUCT and child.type_id:
                self.visit("DA", child.type_id)
            elif child.btype is BasicType.ENUM and child.type_id:
                self._enum(child.type_id)
        self.order.append(key)
        return True

    def _children(self, kind: str, type_id: str) -> tuple[SubObjectDef | AttrDef, ...]:
        """The children the model has (references cut by the type graph left out)."""
        if kind == "LN":
            return self.typedefs.lnode_types[type_id].dos
        if kind == "DO":
            children: tuple[SubObjectDef | AttrDef, ...] = self.typedefs.do_types[type_id].children
        else:
            children = self.typedefs.da_types[type_id].bdas
        return tuple(c for _, c in self.graph.kept((kind, type_id), children))

    def _enum(self, type_id: str) -> str | None:
        enum = self.typedefs.enum_types.get(type_id)
        if enum is None or not enum.values:
            return None
        if type_id not in self.enum_names:
            self.enum_names[type_id] = self.cls("E", type_id)
            names = unique(enum_member(lit, o) for o, lit in enum.values)
            self.members[type_id] = {o: n for (o, _), n in zip(enum.values, names, strict=True)}
        return self.enum_names[type_id]

    def has_class(self, kind: str, type_id: str | None) -> bool:
        """Whether a class is generated for this type (it exists and is in use)."""
        return (kind, type_id or "") in self._seen

    def usable(self, child: SubObjectDef | AttrDef) -> bool:
        if isinstance(child, SubObjectDef):
            return ("DO", child.type_id) in self._seen
        if child.btype is BasicType.STRUCT:
            return ("DA", child.type_id or "") in self._seen
        if child.btype is BasicType.ENUM:
            return child.type_id in self.typedefs.enum_types
        return True

    def names(self, kind: str, type_id: str) -> dict[str, str]:
        """IEC child name → field name, for the class of ``type_id``."""
        key = (kind, type_id)
        if key not in self.field_names:
            children = [c for c in self._children(kind, type_id) if self.usable(c)]
            fields = unique(py_identifier(c.name) for c in children)
            self.field_names[key] = {c.name: f for c, f in zip(children, fields, strict=True)}
        return self.field_names[key]

    # -- annotations and values -------------------------------------------------------------
    def scalar_annotation(self, btype: BasicType, type_id: str | None) -> str:
        if btype is BasicType.STRUCT:
            return self.cls("DA", type_id)
        if btype is BasicType.ENUM:
            return self._enum(type_id or "") or "int"
        if btype is BasicType.QUALITY:
            return "Quality"
        return btype.python_type.__name__

    def annotation(self, btype: BasicType, type_id: str | None, count: int) -> str:
        base = self.scalar_annotation(btype, type_id)
        return f"list[{base}]" if count else base

    def value_expr(self, value: Value, btype: BasicType, type_id: str | None) -> str:
        if btype is BasicType.ENUM and isinstance(value, int) and not isinstance(value, bool):
            enum_class = self._enum(type_id or "")
            member = self.members.get(type_id or "", {}).get(value)
            if enum_class and member:
                return f"{enum_class}.{member}"
            return repr(value)
        if isinstance(value, float):
            return _float(value)
        if btype.is_float and isinstance(value, int) and not isinstance(value, bool):
            return _float(float(value))
        return repr(value)

    def zero(self, btype: BasicType, type_id: str | None) -> str:
        if btype is BasicType.STRUCT:
            return f"{self.cls('DA', type_id)}()"
        if btype is BasicType.QUALITY:
            return "Quality()"
        if btype is BasicType.ENUM:
            enum = self.typedefs.enum_types.get(type_id or "")
            if enum and enum.values and self._enum(type_id or ""):
                return self.value_expr(enum.values[0][0], btype, type_id)
            return "0"
        return _ZERO.get(btype.python_type, '""')

    def default(
        self, btype: BasicType, type_id: str | None, count: int, value: Value | None
    ) -> str:
        """``= …`` part of a field: a literal, or ``field(default_factory=…)``."""
        if count:
            if isinstance(value, tuple) and len(value) == count:
                items = ", ".join(self.value_expr(v, btype, type_id) for v in value)
                return f"field(default_factory=lambda: [{items}])"
            return (
                f"field(default_factory=lambda: [{self.zero(btype, type_id)} "
                f"for _ in range({count})])"
            )
        if btype is BasicType.STRUCT:
            return f"field(default_factory={self.cls('DA', type_id)})"
        if btype is BasicType.QUALITY:
            return "field(default_factory=Quality)"
        if value is not None and not isinstance(value, tuple):
            return self.value_expr(value, btype, type_id)
        return self.zero(btype, type_id)

    def converted(self, d: AttrDef) -> Value | None:
        enum = self.typedefs.enum_types.get(d.type_id or "")
        try:
            values = tuple(convert(v, d.btype, enum) for v in d.vals)
        except ValueProblem:
            return None
        if not values or d.btype is BasicType.STRUCT:
            return None
        return values if d.count else values[0]

    def class_view(self, kind: str, type_id: str) -> ClassView:
        names = self.names(kind, type_id)
        fields: list[FieldView] = []
        for child in self._children(kind, type_id):
            if child.name not in names:
                continue
            if isinstance(child, SubObjectDef):
                cls = self.cls("DO", child.type_id)
                if child.count:
                    annotation = f"list[{cls}]"
                    default = (
                        f"field(default_factory=lambda: [{cls}() for _ in range({child.count})])"
                    )
                else:
                    annotation, default = cls, f"field(default_factory={cls})"
            else:
                annotation = self.annotation(child.btype, child.type_id, child.count)
                default = self.default(
                    child.btype, child.type_id, child.count, self.converted(child)
                )
            fields.append(FieldView(names[child.name], annotation, default, child.name))
        if kind == "LN":
            definition = self.typedefs.lnode_types[type_id]
            doc = f"LNodeType {type_id!r} (lnClass {definition.ln_class})."
        elif kind == "DO":
            doc = f"DOType {type_id!r} (CDC {self.typedefs.do_types[type_id].cdc})."
        else:
            doc = f"DAType {type_id!r}."
        return ClassView(self.cls(kind, type_id), doc, tuple(fields))

    def enum_views(self) -> tuple[EnumView, ...]:
        views = []
        for type_id in sorted(self.enum_names):
            members = self.members[type_id]
            views.append(
                EnumView(
                    self.enum_names[type_id],
                    f"EnumType {type_id!r}.",
                    tuple((members[o], o) for o, _ in self.typedefs.enum_types[type_id].values),
                )
            )
        return tuple(views)


class _Initial:
    """Constructor expressions that differ from the type defaults (DOI/SDI/DAI values)."""

    def __init__(self, types: _Types) -> None:
        self.types = types

    def do_expr(self, runtime: DataObject, base: DataObject | None) -> str | None:
        if base is not None and runtime == base:
            return None
        names = self.types.names("DO", runtime.type_id)
        args = []
        for child in runtime.children:
            if child.name not in names:
                continue
            base_child = base.child(child.name) if base is not None else None
            text = self.node_or_array_expr(child, base_child)
            if text is not None:
                args.append(f"{names[child.name]}={text}")
        if not args:
            return None
        return f"{self.types.cls('DO', runtime.type_id)}({', '.join(args)})"

    def node_or_array_expr(self, node: Node, base: Node | None) -> str | None:
        return self.array_expr(node, base) if node.count else self.node_expr(node, base)

    def array_expr(self, node: Node, base: Node | None) -> str | None:
        """A list literal for an array with DOI/SDI/DAI values (whole or per element)."""
        if base is not None and node == base:
            return None
        if isinstance(node, DataAttribute) and node.btype is not BasicType.STRUCT:
            value = node.value
            if node.btype is BasicType.QUALITY or not isinstance(value, tuple):
                return None
            if len(value) != node.count:
                return None
            items = [self.types.value_expr(v, node.btype, node.type_id) for v in value]
            return f"[{', '.join(items)}]"
        if not node.elements:
            return None
        single: Node | None = None
        if isinstance(base, DataObject):  # noqa: SIM114 (replace() needs one concrete type)
            single = replace(base, count=0, elements=())
        elif isinstance(base, DataAttribute):
            single = replace(base, count=0, elements=())
        kind = "DO" if isinstance(node, DataObject) else "DA"
        cls = self.types.cls(kind, node.type_id or "")
        texts = [self.node_expr(e, single) or f"{cls}()" for e in node.elements]
        return f"[{', '.join(texts)}]"

    def node_expr(self, node: Node, base: Node | None) -> str | None:
        if isinstance(node, DataObject):
            return self.do_expr(node, base if isinstance(base, DataObject) else None)
        if base is not None and node == base:
            return None
        if node.btype is BasicType.STRUCT:
            names = self.types.names("DA", node.type_id or "")
            args = []
            for comp in node.components:
                if comp.name not in names:
                    continue
                base_comp = base.child(comp.name) if isinstance(base, DataAttribute) else None
                text = self.node_or_array_expr(comp, base_comp)
                if text is not None:
                    args.append(f"{names[comp.name]}={text}")
            return f"{self.types.cls('DA', node.type_id)}({', '.join(args)})" if args else None
        if node.value is None or isinstance(node.value, tuple) or node.btype is BasicType.QUALITY:
            return None
        return self.types.value_expr(node.value, node.btype, node.type_id)


def _reference_name(ld: LogicalDevice, ln_name: str, name: str) -> str:
    return f"{ld.name}/{ln_name}.{name}"


def build_view(model: SclModel, ied: Ied, *, source_name: str) -> PackageView:
    """The template context of IED ``ied`` (from ``model``)."""
    types = _Types(model.typedefs, model.type_graph)
    initial = _Initial(types)
    lns = [(ld, ln) for ld in ied.logical_devices for ln in ld.logical_nodes]
    for ln_type in sorted({ln.ln_type for _, ln in lns}):
        types.visit("LN", ln_type)
    type_classes = tuple(types.class_view(kind, type_id) for kind, type_id in types.order)

    ld_classes: list[ClassView] = []
    ld_fields: list[FieldView] = []
    ld_names = unique(py_identifier(ld.inst or ld.name) for ld in ied.logical_devices)
    ld_class_names = unique(class_name("LD", ld.inst or ld.name) for ld in ied.logical_devices)
    for ld, ld_field, ld_class in zip(ied.logical_devices, ld_names, ld_class_names, strict=True):
        fields: list[FieldView] = []
        for ln, ln_field in zip(
            ld.logical_nodes, unique(py_identifier(n.name) for n in ld.logical_nodes), strict=True
        ):
            cls = types.cls("LN", ln.ln_type)
            definition = model.typedefs.lnode_types[ln.ln_type]
            names = types.names("LN", ln.ln_type)
            args = []
            for sub in definition.dos:
                runtime = ln.child(sub.name)
                if runtime is None or sub.name not in names:
                    continue
                base = model.base_objects.get((sub.name, sub.type_id, sub.count))
                text = initial.node_or_array_expr(runtime, base)
                if text is not None:
                    args.append(f"{names[sub.name]}={text}")
            default = (
                f"field(default_factory=lambda: {cls}({', '.join(args)}))"
                if args
                else f"field(default_factory={cls})"
            )
            fields.append(FieldView(ln_field, cls, default, ln.name))
        ld_classes.append(
            ClassView(ld_class, f"LDevice {ld.name} (inst {ld.inst!r}).", tuple(fields))
        )
        ld_fields.append(
            FieldView(ld_field, ld_class, f"field(default_factory={ld_class})", ld.name)
        )
    data_class = ClassView(
        "Data", f"The data of IED {ied.name}, with its initial values.", tuple(ld_fields)
    )

    emitter = Emitter((DataObject, DataAttribute, EnumType))
    ied_expr = emitter.expr(ied)
    constants = tuple(emitter.constants)
    model_imports = tuple(sorted(emitter.classes))

    data_sets: list[DataSetView] = []
    streams: list[tuple[str, str, str]] = []
    refused: list[tuple[str, str]] = []
    stream_emitter = Emitter(())
    ds_class_names = unique(
        class_name("DS", f"{ld.inst}_{ln.name}_{ds.name}") for ld, ln in lns for ds in ln.data_sets
    )
    ds_iter = iter(ds_class_names)
    for ld, ln in lns:
        for ds in ln.data_sets:
            data_sets.append(
                _data_set_view(
                    ied,
                    ds,
                    ld,
                    ln.name,
                    next(ds_iter),
                    types,
                    stream_emitter,
                    complete=ds.name not in model.incomplete_in(ied.name, ld.inst, ln.name),
                )
            )
        for svc in ln.sv_controls:
            line, config = model.streams.get((ied.name, ld.inst, svc.name), (0, "not checked"))
            reference = _reference_name(ld, ln.name, svc.name)
            if isinstance(config, str):
                refused.append((reference, f"{source_name}:{line}: {config}"))
                continue
            streams.append(
                (
                    py_identifier(f"STREAM_{ld.inst}_{svc.name}"),
                    reference,
                    stream_emitter.expr(config),
                )
            )
    control_emitter = Emitter(())
    controls: dict[str, list[tuple[str, str]]] = {
        "SV_CONTROLS": [],
        "GOOSE_CONTROLS": [],
        "REPORT_CONTROLS": [],
        "LOG_CONTROLS": [],
    }
    for ld, ln in lns:
        for key, blocks in (
            ("SV_CONTROLS", ln.sv_controls),
            ("GOOSE_CONTROLS", ln.gse_controls),
            ("REPORT_CONTROLS", ln.report_controls),
            ("LOG_CONTROLS", ln.log_controls),
        ):
            for block in blocks:
                controls[key].append(
                    (_reference_name(ld, ln.name, block.name), control_emitter.expr(block))
                )
    inputs = tuple(
        (f"{ld.name}/{ln.name}", control_emitter.expr(ln.inputs)) for ld, ln in lns if ln.inputs
    )
    mms = tuple(
        (
            ld.name,
            tuple((item.name, item.fc.value) for ln in ld.logical_nodes for item in mms_items(ln)),
        )
        for ld in ied.logical_devices
    )
    return PackageView(
        ied_name=ied.name,
        package=package_name(ied.name),
        source_name=source_name,
        edition=model.edition,
        enums=types.enum_views(),
        type_classes=type_classes,
        ld_classes=tuple(ld_classes),
        data_class=data_class,
        constants=constants,
        ied_expr=ied_expr,
        model_imports=model_imports,
        data_sets=tuple(data_sets),
        streams=tuple(streams),
        refused_streams=tuple(refused),
        left_out=tuple(
            (d.cost or d.message, f"{source_name}:{d.line}: {d.severity.value}: {d.message}")
            for d in model.left_out(ied.name)
        ),
        controls={k: tuple(v) for k, v in controls.items()},
        control_imports=tuple(sorted(control_emitter.classes | stream_emitter.classes)),
        mms=mms,
        inputs=inputs,
    )


def _data_set_view(
    ied: Ied,
    ds: DataSet,
    ld: LogicalDevice,
    ln_name: str,
    cls: str,
    types: _Types,
    emitter: Emitter,
    *,
    complete: bool,
) -> DataSetView:
    names = unique(py_identifier(m.fcda.path.replace(".", "_")) for m in ds.members)
    fields: list[FieldView] = []
    for member, name in zip(ds.members, names, strict=True):
        node = member.node
        if isinstance(node, DataObject) and types.has_class("DO", node.type_id):
            cls_name = types.cls("DO", node.type_id)
            fields.append(
                FieldView(name, cls_name, f"field(default_factory={cls_name})", member.reference)
            )
        elif isinstance(node, DataAttribute) and (
            node.btype is not BasicType.STRUCT or types.has_class("DA", node.type_id)
        ):
            value = node.value if not isinstance(node.value, tuple) or node.count else None
            fields.append(
                FieldView(
                    name,
                    types.annotation(node.btype, node.type_id, node.count),
                    types.default(node.btype, node.type_id, node.count, value),
                    member.reference,
                )
            )
    reference = f"{ld.name}/{ln_name}${ds.name}"
    data = ClassView(cls, f"Data set {reference}: members as typed fields.", tuple(fields))
    layout = layout_or_reason(ied, ds) if complete else "lost members"
    if isinstance(layout, str):  # not an SV data set: typed members only
        return DataSetView(ds.name, reference, data)
    channel_names = unique(py_identifier(c.name.replace(".", "_")) for c in layout.channels)
    return DataSetView(
        ds.name,
        reference,
        data,
        channels_class=f"{cls}_Channels",
        layout=emitter.expr(layout),
        channels=tuple(
            ChannelView(n, c.name) for n, c in zip(channel_names, layout.channels, strict=True)
        ),
    )


__all__ = ["PackageView", "build_view"]
