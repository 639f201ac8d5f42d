"""Resolve IED sections into the runtime device model, reporting what does not resolve.

Types are instantiated once per type id and shared (the model is frozen); DOI/SDI/DAI
initial values replace the affected branches only. Data set members, control blocks and
their Communication addresses are joined per IED. Problems are located diagnostics.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import replace

from lxml import etree

from gen61850.generator.scl.communication import ConnectedAp
from gen61850.generator.scl.diagnostics import Diagnostics
from gen61850.generator.scl.inputs import PendingExtRef, read_inputs
from gen61850.generator.scl.mmslength import MmsLengthCheck
from gen61850.generator.scl.typedefs import AttrDef, SubObjectDef, TypeDefs
from gen61850.generator.scl.values import ValueProblem, convert
from gen61850.generator.scl.xmlread import (
    SCL_NS,
    line_of,
    local_name,
    scl_child,
    scl_children,
    scl_children_named,
)
from gen61850.runtime.device import (
    FC,
    AccessPoint,
    BasicType,
    DataAttribute,
    DataObject,
    DataSet,
    DataSetMember,
    EnumType,
    Fcda,
    GseControl,
    Ied,
    LogControl,
    LogicalDevice,
    LogicalNode,
    Node,
    OptFields,
    ReportControl,
    SampledValueControl,
    SettingControl,
    SmpMod,
    SmvOpts,
    TrgOps,
)
from gen61850.runtime.device.types import Value

_TRUE = ("true", "1")
_FCS = {f.value: f for f in FC}
_INSTANCE_TAGS = tuple(t for name in ("SDI", "DAI") for t in (f"{{{SCL_NS}}}{name}", name))
_VAL_TAGS = (f"{{{SCL_NS}}}Val", "Val")
# Attributes of DOI/SDI/DAI the IR does not keep: left out of the memo keys, so instances
# that differ only by them share their resolution (lxml writes attributes with "…"). A
# DAI's valKind is kept (it overrides the DA's: whether a client may write the value).
_UNUSED = re.compile(rb' (?:desc|valImport|sAddr)="[^"]*"')
_DOI_MEMO_SIZE = 1 << 15
# What an LN holds besides its DOIs, read once per LN (by local name).
_LN_PARTS = (
    "DataSet",
    "ReportControl",
    "LogControl",
    "GSEControl",
    "SampledValueControl",
    "SettingControl",
    "Inputs",
)
LnParts = Mapping[str, list[etree._Element]]


def _flag(element: etree._Element | None, name: str, default: bool) -> bool:
    if element is None:
        return default
    text = element.get(name)
    return default if text is None else text.strip().lower() in _TRUE


def _int(
    element: etree._Element, name: str, default: int, what: str, diagnostics: Diagnostics
) -> int:
    text = element.get(name)
    if text is None:
        return default
    try:
        return int(text.strip())
    except ValueError:
        diagnostics.error(element.sourceline, f"{what}: {name} {text!r} is not an integer")
        return default


class TypeInstantiator:
    """DOType/DAType ids → shared frozen model subtrees (cached, cycles reported)."""

    def __init__(self, typedefs: TypeDefs, diagnostics: Diagnostics) -> None:
        self.typedefs = typedefs
        self.diagnostics = diagnostics
        self._objects: dict[tuple[str, str, int], DataObject | None] = {}
        self._structs: dict[str, tuple[DataAttribute, ...] | None] = {}
        self._active: set[tuple[str, str]] = set()  # (kind, id) being built
        self._with_fc: dict[tuple[str, FC], tuple[DataAttribute, ...]] = {}
        self._enum_memo: dict[tuple[str, str], dict[str, EnumType]] = {}
        self._values: dict[tuple[object, ...], Value] = {}

    def enums_of(self, kind: str, type_id: str) -> dict[str, EnumType]:
        """Enum types used below an LNodeType / DOType / DAType (memoised per type id)."""
        key = (kind, type_id)
        if key in self._enum_memo:
            return self._enum_memo[key]
        self._enum_memo[key] = {}  # guards against cycles (reported elsewhere)
        found: dict[str, EnumType] = {}
        defs = self.typedefs
        children: tuple[SubObjectDef | AttrDef, ...] = ()
        if kind == "LN" and type_id in defs.lnode_types:
            children = defs.lnode_types[type_id].dos
        elif kind == "DO" and type_id in defs.do_types:
            children = defs.do_types[type_id].children
        elif kind == "DA" and type_id in defs.da_types:
            children = defs.da_types[type_id].bdas
        for child in children:
            if isinstance(child, SubObjectDef):
                found.update(self.enums_of("DO", child.type_id))
            elif child.btype is BasicType.STRUCT and child.type_id:
                found.update(self.enums_of("DA", child.type_id))
            elif (
                child.btype is BasicType.ENUM and child.type_id and child.type_id in defs.enum_types
            ):
                found[child.type_id] = defs.enum_types[child.type_id]
        self._enum_memo[key] = found
        return found

    def enum(self, type_id: str | None, line: int, what: str) -> EnumType | None:
        if type_id is None:
            return None
        found = self.typedefs.enum_types.get(type_id)
        if found is None:
            self.diagnostics.error(line, f"{what}: EnumType {type_id!r} not found")
        return found

    def attribute(self, d: AttrDef, fc: FC) -> DataAttribute | None:
        components: tuple[DataAttribute, ...] = ()
        enum = None
        if d.btype is BasicType.STRUCT:
            found = self.struct(d.type_id or "", d.line, d.name)
            if found is None:
                return None
            key = (d.type_id or "", fc)
            if key not in self._with_fc:
                self._with_fc[key] = tuple(_with_fc(c, fc) for c in found)
            components = self._with_fc[key]
        elif d.btype is BasicType.ENUM:
            enum = self.enum(d.type_id, d.line, f"DA {d.name!r}")
            if enum is None:
                return None
        value = self.value(d.vals, d.btype, enum, d.count, d.line, d.name)
        return DataAttribute(
            name=d.name,
            fc=fc,
            btype=d.btype,
            type_id=d.type_id,
            count=d.count,
            value=value,
            enum=enum,
            components=components,
            dchg=d.dchg,
            qchg=d.qchg,
            dupd=d.dupd,
            value_kind=d.value_kind,
        )

    def value(
        self,
        vals: tuple[str, ...],
        btype: BasicType,
        enum: EnumType | None,
        count: int,
        line: int,
        name: str,
    ) -> Value | None:
        if not vals or btype is BasicType.STRUCT:
            return None
        key = (vals, btype, enum.id if enum is not None else None, bool(count))
        if key in self._values:
            return self._values[key]
        try:
            converted = tuple(convert(v, btype, enum) for v in vals)
        except ValueProblem as problem:
            self.diagnostics.warning(line, f"value of {name!r} ignored: {problem}")
            return None
        result = converted if count else converted[0]
        self._values[key] = result
        return result

    def struct(self, type_id: str, line: int, owner: str) -> tuple[DataAttribute, ...] | None:
        """The BDAs of DAType ``type_id`` (FC filled in by the caller)."""
        if type_id in self._structs:
            return self._structs[type_id]
        definition = self.typedefs.da_types.get(type_id)
        if definition is None:
            self.diagnostics.error(line, f"{owner!r}: DAType {type_id!r} not found")
            return None
        if ("DA", type_id) in self._active:
            self.diagnostics.error(line, f"DAType {type_id!r} contains itself")
            return None
        self._active.add(("DA", type_id))
        made = [self.attribute(b, FC.ST) for b in definition.bdas]
        self._active.discard(("DA", type_id))
        result = tuple(m for m in made if m is not None)
        self._structs[type_id] = result
        return result

    def data_object(self, sub: SubObjectDef, kind: str) -> DataObject | None:
        key = (sub.name, sub.type_id, sub.count)
        if key in self._objects:
            return self._objects[key]
        definition = self.typedefs.do_types.get(sub.type_id)
        if definition is None:
            self.diagnostics.error(
                sub.line, f"{kind} {sub.name!r}: DOType {sub.type_id!r} not found"
            )
            self._objects[key] = None
            return None
        if ("DO", sub.type_id) in self._active:
            self.diagnostics.error(sub.line, f"DOType {sub.type_id!r} contains itself")
            return None
        self._active.add(("DO", sub.type_id))
        children: list[Node] = []
        for child in definition.children:
            if isinstance(child, SubObjectDef):
                made_do = self.data_object(child, "SDO")
                if made_do is not None:
                    children.append(made_do)
            else:
                made_da = self.attribute(child, child.fc or FC.ST)
                if made_da is not None:
                    children.append(made_da)
        self._active.discard(("DO", sub.type_id))
        result = DataObject(sub.name, sub.type_id, definition.cdc, sub.count, tuple(children))
        self._objects[key] = result
        return result


class IedResolver:
    """One IED section → ``Ied``; data sets, controls and addresses joined."""

    def __init__(
        self,
        types: TypeInstantiator,
        connected: dict[tuple[str, str], ConnectedAp],
        diagnostics: Diagnostics,
    ) -> None:
        self.types = types
        self.connected = connected
        self.diagnostics = diagnostics
        self._ln_indexes: dict[int, tuple[LogicalDevice, dict[str, LogicalNode]]] = {}
        self._fcs_memo: dict[int, frozenset[FC]] = {}
        self._keep: list[object] = []  # keeps the objects behind memo ids alive
        # LNs of one type with the same DOI/SDI/DAI markup share one data-object tuple, and
        # an FCDA below a shared tuple resolves once: instances differ only by their names.
        # Memo keys are digests of the markup, so memory stays proportional to the model.
        self._objects_memo: dict[tuple[str, bytes], tuple[DataObject, ...]] = {}
        self._fcda_memo: dict[tuple[object, ...], tuple[Fcda, str, str]] = {}
        self._node_memo: dict[tuple[int, str, str, FC], Node] = {}
        self._doi_memo: dict[tuple[int, bytes], tuple[DataObject, DataObject]] = {}
        self._positions: dict[int, dict[str, int]] = {}  # child name → index, per tuple
        self._structure = -1  # of the IED being resolved (see _structure_of)
        self._structures: dict[tuple[object, ...], tuple[int, tuple[object, ...]]] = {}
        self._data_set_memo: dict[
            tuple[int, bytes], tuple[tuple[Fcda, str, Node | None, BasicType | None], ...]
        ] = {}
        self.pending_inputs: list[PendingExtRef] = []  # checked once every IED is read
        self.mms_lengths = MmsLengthCheck(diagnostics)

    # -- initial values -------------------------------------------------------------------
    def _apply(self, node: Node, element: etree._Element, where: str) -> Node:
        children: tuple[Node, ...] = (
            node.children if isinstance(node, DataObject) else node.components
        )
        positions = self._positions.get(id(children))
        if positions is None:
            positions = {c.name: i for i, c in enumerate(children)}
            self._positions[id(children)] = positions
            self._keep.append(children)
        updated = list(children)
        for instance in element.iterchildren(*_INSTANCE_TAGS):
            kind = local_name(instance)
            name = instance.get("name", "")
            index = positions.get(name)
            if index is None:
                self.diagnostics.warning(
                    instance.sourceline, f"{kind} {name!r}: {where} has no {name!r} in its type"
                )
                continue
            target = updated[index]
            ix_text = instance.get("ix")
            if ix_text is not None:
                with_element = self._apply_element(target, instance, ix_text, f"{where}.{name}")
                if with_element is not None:
                    updated[index] = with_element
                continue
            if kind == "SDI":
                updated[index] = self._apply(target, instance, f"{where}.{name}")
            elif isinstance(target, DataAttribute):
                vals = tuple(
                    v.text or ""
                    for v in instance.iterchildren(*_VAL_TAGS)
                    if v.get("sGroup") in (None, "1")
                )
                value = self.types.value(
                    vals,
                    target.btype,
                    target.enum,
                    target.count,
                    line_of(instance),
                    f"{where}.{name}",
                )
                if value is not None and value != target.value:
                    updated[index] = target = _with_value(target, value)
                groups = self._group_values(instance, target, f"{where}.{name}")
                if groups != target.group_values:
                    updated[index] = target = replace(target, group_values=groups)
                kind = instance.get("valKind")
                if kind is not None and kind != target.value_kind:
                    updated[index] = replace(target, value_kind=kind)
            else:
                self.diagnostics.warning(instance.sourceline, f"DAI {name!r} names a data object")
        if all(a is b for a, b in zip(updated, children, strict=True)):
            return node  # only descriptions or ignored values: the shared subtree stays
        if isinstance(node, DataObject):
            return DataObject(
                node.name, node.type_id, node.cdc, node.count, tuple(updated), node.elements
            )
        components = tuple(a for a in updated if isinstance(a, DataAttribute))
        return _with_components(node, components)

    def _group_values(
        self, instance: etree._Element, target: DataAttribute, where: str
    ) -> tuple[tuple[int, Value], ...]:
        """A DAI's ``Val sGroup="n"`` values, one per setting group (a bad group is warned
        about and left out); setting groups of arrays are not read."""
        groups: dict[int, Value] = {}
        for val in instance.iterchildren(*_VAL_TAGS):
            group = val.get("sGroup")
            if group is None:
                continue
            if not group.isdigit() or int(group) < 1:
                self.diagnostics.warning(val.sourceline, f"{where}: sGroup {group!r} ignored")
                continue
            if target.count:
                continue
            value = self.types.value(
                (val.text or "",), target.btype, target.enum, 0, line_of(val), where
            )
            if value is not None:
                groups[int(group)] = value
        return tuple(sorted(groups.items()))

    def _apply_element(
        self, target: Node, instance: etree._Element, ix_text: str, where: str
    ) -> Node | None:
        """``target`` (an array) with the values of its element ``ix`` from a DAI or SDI."""
        kind = local_name(instance)
        line = instance.sourceline
        if not target.count:
            self.diagnostics.warning(line, f"{kind} {where} ix={ix_text}: not an array")
            return None
        if not ix_text.isdigit() or int(ix_text) >= target.count:
            self.diagnostics.warning(
                line, f"{kind} {where}: ix {ix_text!r} is not within 0..{target.count - 1}"
            )
            return None
        ix = int(ix_text)
        plain = isinstance(target, DataAttribute) and target.btype is not BasicType.STRUCT
        if kind == "DAI" and isinstance(target, DataAttribute) and plain:
            vals = tuple(
                v.text or ""
                for v in scl_children(instance, "Val")
                if v.get("sGroup") in (None, "1")
            )
            value = self.types.value(
                vals, target.btype, target.enum, 0, line_of(instance), f"{where}[{ix}]"
            )
            if value is None or isinstance(value, tuple):
                return None
            old = target.value
            items = list(old) if isinstance(old, tuple) and len(old) == target.count else None
            if items is None:
                items = [target.btype.python_type() for _ in range(target.count)]
            items[ix] = value
            return _with_value(target, tuple(items))
        if kind == "DAI" or plain:
            self.diagnostics.warning(
                line,
                f"{kind} {where}[{ix}]: {'a DAI' if kind == 'SDI' else 'an SDI'} is needed here",
            )
            return None
        at = f"{where}[{ix}]"
        if isinstance(target, DataObject):
            objects = list(target.elements) or [replace(target, count=0)] * target.count
            made_do = self._apply(objects[ix], instance, at)
            if made_do is objects[ix] or not isinstance(made_do, DataObject):
                return None
            objects[ix] = made_do
            return replace(target, elements=tuple(objects))
        attributes = list(target.elements) or [replace(target, count=0)] * target.count
        made_da = self._apply(attributes[ix], instance, at)
        if made_da is attributes[ix] or not isinstance(made_da, DataAttribute):
            return None
        attributes[ix] = made_da
        return replace(target, elements=tuple(attributes))

    # -- logical nodes ----------------------------------------------------------------------
    def logical_node(self, element: etree._Element, ld_name: str) -> LogicalNode | None:
        ln_class = element.get("lnClass", "")
        ln_type = element.get("lnType", "")
        line = line_of(element)
        where = f"{ld_name}/{element.get('prefix', '')}{ln_class}{element.get('inst', '')}"
        definition = self.types.typedefs.lnode_types.get(ln_type)
        if definition is None:
            self.diagnostics.error(line, f"LN {where}: LNodeType {ln_type!r} not found")
            return None
        if definition.ln_class and definition.ln_class != ln_class:
            self.diagnostics.warning(
                line,
                f"LN {where}: lnClass {ln_class} but LNodeType {ln_type!r} is for "
                f"{definition.ln_class}",
            )
        dois = scl_children(element, "DOI")
        markup = [etree.tostring(doi, with_tail=False) for doi in dois]
        key = (ln_type, _digest(_UNUSED.sub(b"", b"".join(markup))) if markup else b"")
        data_objects = self._objects_memo.get(key)
        if data_objects is None:
            before = len(self.diagnostics.items)
            data_objects = self._data_objects(definition.dos, dois, markup, ln_type, where)
            if len(self.diagnostics.items) == before:  # problems are reported every time
                self._objects_memo[key] = data_objects
        return LogicalNode(
            ln_class=ln_class,
            ln_type=ln_type,
            prefix=element.get("prefix", ""),
            inst=element.get("inst", ""),
            desc=element.get("desc", ""),
            data_objects=data_objects,
        )

    def _data_objects(
        self,
        dos: tuple[SubObjectDef, ...],
        dois: list[etree._Element],
        markup: list[bytes],
        ln_type: str,
        where: str,
    ) -> tuple[DataObject, ...]:
        """The LN's data objects: the type's shared subtrees with the DOI values applied
        (a DOI with the same markup on the same subtree is applied once)."""
        objects: dict[str, DataObject] = {}
        for sub in dos:
            made = self.types.data_object(sub, "DO")
            if made is not None:
                objects[sub.name] = made
        for doi, text in zip(dois, markup, strict=True):
            name = doi.get("name", "")
            base = objects.get(name)
            if base is None:
                self.diagnostics.warning(
                    doi.sourceline, f"DOI {name!r}: LNodeType {ln_type!r} has no such DO"
                )
                continue
            key = (id(base), _UNUSED.sub(b"", text))
            memo = self._doi_memo.get(key)
            if memo is not None:
                objects[name] = memo[1]
                continue
            before = len(self.diagnostics.items)
            applied = self._apply(base, doi, f"{where}.{name}")
            assert isinstance(applied, DataObject)
            objects[name] = applied
            if len(self.diagnostics.items) == before:
                if len(self._doi_memo) >= _DOI_MEMO_SIZE:
                    self._doi_memo.clear()  # keys hold markup: keep memory bounded
                self._doi_memo[key] = (base, applied)  # base kept alive: its id stays unique
        return tuple(objects[d.name] for d in dos if d.name in objects)

    # -- data sets and controls -------------------------------------------------------------
    def _member(
        self, fcda: etree._Element, ied_name: str, lds: dict[str, LogicalDevice], where: str
    ) -> DataSetMember | None:
        """Resolve one FCDA; members that name nothing are left out with a warning."""
        line = fcda.sourceline
        warn = self.diagnostics.warning
        attributes = tuple(fcda.items())
        entry = self._fcda_memo.get(attributes)
        if entry is None:
            made = self._fcda(fcda, line_of(fcda), where)
            if made is None:
                return None
            entry = (made, made.path, made.ln_name)
            if made.ln_inst or made.ln_class != "LLN0" or not fcda.get("lnInst"):
                self._fcda_memo[attributes] = entry  # no warning to repeat
        member, path, ln_name = entry
        ld = lds.get(member.ld_inst)
        if ld is None:
            ld = next((x for x in lds.values() if x.name == member.ld_inst), None)
            if ld is not None:
                warn(
                    line,
                    f"FCDA in {where}: ldInst {member.ld_inst!r} is the LD name, "
                    f"not its inst {ld.inst!r}",
                )
        if ld is None:
            warn(
                line,
                f"FCDA {member.ld_inst}/{path} in {where} left out: "
                f"no LDevice {member.ld_inst!r} in IED {ied_name}",
            )
            return None
        reference = f"{ld.name}/{path}"
        ln = self._ln_index(ld).get(ln_name)
        if ln is None:
            warn(line, f"FCDA {reference} in {where} left out: no LN {ln_name!r}")
            return None
        fc = member.fc
        node_key = (id(ln.data_objects), member.do_name, member.da_name, fc)
        node: Node | None = self._node_memo.get(node_key)
        if node is not None:
            btype = node.btype if isinstance(node, DataAttribute) else None
            return DataSetMember(member, reference, node, btype)
        parts = [p for p in (*member.do_name.split("."), *member.da_name.split(".")) if p]
        if parts:
            node = ln.child(parts[0])
            for part in parts[1:]:
                if node is None:
                    break
                node = node.child(part)
            if node is None:
                warn(line, f"FCDA {reference} in {where} left out: resolves to nothing")
                return None
            fcs = self._fcs(node) if isinstance(node, DataObject) else {node.fc}
            if fc not in fcs:
                warn(line, f"FCDA {reference} in {where} left out: nothing with fc {fc.value}")
                return None
            self._node_memo[node_key] = node
            self._keep.append(ln.data_objects)
        btype = node.btype if isinstance(node, DataAttribute) else None
        return DataSetMember(member, reference, node, btype)

    def _structure_of(self, lds: dict[str, LogicalDevice]) -> int:
        """A number for what FCDAs resolve against: LD insts, LN names, shared DO tuples.

        IEDs with the same number resolve the same FCDA to the same nodes (only the LD
        names in the references differ), so their data sets are resolved once.
        """
        signature = tuple(
            (inst, tuple((ln.name, id(ln.data_objects)) for ln in ld.logical_nodes))
            for inst, ld in lds.items()
        )
        known = self._structures.get(signature)
        if known is None:
            kept = tuple(ln.data_objects for ld in lds.values() for ln in ld.logical_nodes)
            known = self._structures[signature] = (len(self._structures), kept)  # ids stay
        return known[0]

    def _fcda(self, fcda: etree._Element, line: int, where: str) -> Fcda | None:
        """The FCDA's attributes, checked (None, with a warning, when unusable)."""
        warn = self.diagnostics.warning
        fc = _FCS.get(fcda.get("fc", ""))
        if fc is None or not fcda.get("lnClass") or not fcda.get("ldInst"):
            warn(line, f"FCDA in {where} left out: needs ldInst, lnClass and a valid fc")
            return None
        ix_text = fcda.get("ix")
        ln_class = fcda.get("lnClass", "")
        ln_inst = fcda.get("lnInst", "")
        if ln_class == "LLN0" and ln_inst:
            warn(line, f"FCDA in {where}: lnInst {ln_inst!r} ignored for LLN0")
            ln_inst = ""
        return Fcda(
            ld_inst=fcda.get("ldInst", ""),
            ln_class=ln_class,
            fc=fc,
            prefix=fcda.get("prefix", ""),
            ln_inst=ln_inst,
            do_name=fcda.get("doName", ""),
            da_name=fcda.get("daName", ""),
            ix=int(ix_text) if ix_text and ix_text.isdigit() else None,
        )

    def _ln_index(self, ld: LogicalDevice) -> dict[str, LogicalNode]:
        """LNs of ``ld`` by name (for the IED being resolved; emptied after each IED)."""
        found = self._ln_indexes.get(id(ld))
        if found is None:
            found = self._ln_indexes[id(ld)] = (ld, {ln.name: ln for ln in ld.logical_nodes})
        return found[1]

    def _fcs(self, node: DataObject) -> frozenset[FC]:
        found = self._fcs_memo.get(id(node))
        if found is None:
            found = self._fcs_memo[id(node)] = node.fcs()
            self._keep.append(node)
        return found

    def data_sets(
        self, parts: LnParts, ied_name: str, lds: dict[str, LogicalDevice], where: str
    ) -> tuple[DataSet, ...]:
        result: list[DataSet] = []
        for element in parts.get("DataSet", ()):
            name = element.get("name", "")
            if any(d.name == name for d in result):
                self.diagnostics.error(element.sourceline, f"duplicate DataSet {name!r} in {where}")
                continue
            key = (self._structure, _digest(etree.tostring(element, with_tail=False)))
            cached = self._data_set_memo.get(key)
            if cached is not None:  # same data set in an IED of the same structure
                members = tuple(
                    DataSetMember(fcda, f"{lds[fcda.ld_inst].name}/{path}", node, btype)
                    for fcda, path, node, btype in cached
                )
            else:
                before = len(self.diagnostics.items)
                found = [
                    self._member(f, ied_name, lds, f"{where}.{name}")
                    for f in scl_children(element, "FCDA")
                ]
                members = tuple(m for m in found if m is not None)
                if len(self.diagnostics.items) == before:  # every ldInst named an LD inst
                    self._data_set_memo[key] = tuple(
                        (m.fcda, m.reference.partition("/")[2], m.node, m.btype) for m in members
                    )
            result.append(DataSet(name, members, element.get("desc", "")))
        return tuple(result)

    def _dat_set(
        self, element: etree._Element, data_sets: tuple[DataSet, ...], what: str
    ) -> str | None:
        name = element.get("datSet")
        if name and not any(d.name == name for d in data_sets):
            self.diagnostics.error(element.sourceline, f"{what}: datSet {name!r} names no DataSet")
        return name or None

    def controls(
        self,
        ln: LogicalNode,
        parts: LnParts,
        ied_name: str,
        ap_name: str,
        ld_inst: str,
        where: str,
        data_sets: tuple[DataSet, ...],
    ) -> LogicalNode:
        d = self.diagnostics
        cap = self.connected.get((ied_name, ap_name))
        names: set[str] = set()

        def named(control: etree._Element, kind: str) -> str:
            name = control.get("name", "")
            what = f"{kind} {where}.{name}"
            if not name:
                d.error(control.sourceline, f"{kind} in {where} without name")
            elif name in names:
                d.error(control.sourceline, f"duplicate control block name {name!r} in {where}")
            names.add(name)
            return what

        svcs: list[SampledValueControl] = []
        for svc in parts.get("SampledValueControl", ()):
            what = named(svc, "SampledValueControl")
            smp_rate = _int(svc, "smpRate", 0, what, d)
            nof_asdu = _int(svc, "nofASDU", 0, what, d)
            if not 1 <= smp_rate <= 65535:
                d.error(svc.sourceline, f"{what}: smpRate {smp_rate} is not 1..65535")
            if nof_asdu < 1:
                d.error(svc.sourceline, f"{what}: nofASDU {nof_asdu} must be at least 1")
            elif nof_asdu > 8:
                d.warning(svc.sourceline, f"{what}: nofASDU {nof_asdu} is more than 8")
            mod_text = svc.get("smpMod", "SmpPerPeriod")
            try:
                smp_mod = SmpMod(mod_text)
            except ValueError:
                d.error(svc.sourceline, f"{what}: smpMod {mod_text!r} unknown")
                smp_mod = SmpMod.SMP_PER_PERIOD
            if smp_mod is SmpMod.SEC_PER_SMP:
                d.warning(
                    svc.sourceline,
                    f"{what}: smpMod SecPerSmp (one sample every {smp_rate} s) is described "
                    "(SV_CONTROLS) but gets no StreamConfig: the SV publisher needs at least "
                    "1 sample/s, a whole number per signal period",
                )
            smv_id = svc.get("smvID", "")
            if not smv_id:
                d.error(svc.sourceline, f"{what}: smvID missing")
            opts = scl_child(svc, "SmvOpts")
            address = cap.smv.get((ld_inst, svc.get("name", ""))) if cap else None
            if address is None:
                d.warning(svc.sourceline, f"{what}: no SMV address in Communication")
            svcs.append(
                SampledValueControl(
                    name=svc.get("name", ""),
                    smv_id=smv_id,
                    dat_set=self._dat_set(svc, data_sets, what),
                    conf_rev=_int(svc, "confRev", 0, what, d),
                    smp_rate=smp_rate,
                    nof_asdu=nof_asdu,
                    smp_mod=smp_mod,
                    multicast=_flag(svc, "multicast", True),
                    opts=SmvOpts(
                        refresh_time=_flag(opts, "refreshTime", False),
                        sample_synchronized=_flag(opts, "sampleSynchronized", True),
                        sample_rate=_flag(opts, "sampleRate", False),
                        data_set=_flag(opts, "dataSet", False),
                        security=_flag(opts, "security", False),
                        timestamp=_flag(opts, "timestamp", False),
                        synch_source_id=_flag(opts, "synchSourceId", False),
                    ),
                    security_enable=svc.get("securityEnable", "None"),
                    desc=svc.get("desc", ""),
                    address=address,
                )
            )
        gses: list[GseControl] = []
        for gse in parts.get("GSEControl", ()):
            what = named(gse, "GSEControl")
            address = cap.gse.get((ld_inst, gse.get("name", ""))) if cap else None
            if address is None:
                d.warning(gse.sourceline, f"{what}: no GSE address in Communication")
            gses.append(
                GseControl(
                    name=gse.get("name", ""),
                    app_id=gse.get("appID", ""),
                    dat_set=self._dat_set(gse, data_sets, what),
                    conf_rev=_int(gse, "confRev", 0, what, d),
                    type=gse.get("type", "GOOSE"),
                    fixed_offs=_flag(gse, "fixedOffs", False),
                    security_enable=gse.get("securityEnable", "None"),
                    desc=gse.get("desc", ""),
                    address=address,
                )
            )
        rcbs: list[ReportControl] = []
        for rcb in parts.get("ReportControl", ()):
            what = named(rcb, "ReportControl")
            trg = scl_child(rcb, "TrgOps")
            opt = scl_child(rcb, "OptFields")
            enabled = scl_child(rcb, "RptEnabled")
            rcbs.append(
                ReportControl(
                    name=rcb.get("name", ""),
                    rpt_id=rcb.get("rptID", ""),
                    dat_set=self._dat_set(rcb, data_sets, what),
                    conf_rev=_int(rcb, "confRev", 0, what, d),
                    buffered=_flag(rcb, "buffered", False),
                    buf_time=_int(rcb, "bufTime", 0, what, d),
                    intg_pd=_int(rcb, "intgPd", 0, what, d),
                    indexed=_flag(rcb, "indexed", True),
                    max=_int(enabled, "max", 1, what, d) if enabled is not None else 1,
                    trg_ops=_trg_ops(trg),
                    opt_fields=OptFields(
                        seq_num=_flag(opt, "seqNum", False),
                        time_stamp=_flag(opt, "timeStamp", False),
                        data_set=_flag(opt, "dataSet", False),
                        reason_code=_flag(opt, "reasonCode", False),
                        data_ref=_flag(opt, "dataRef", False),
                        entry_id=_flag(opt, "entryID", False),
                        config_ref=_flag(opt, "configRef", False),
                        buf_ovfl=_flag(opt, "bufOvfl", True),
                        segmentation=_flag(opt, "segmentation", False),
                    ),
                    desc=rcb.get("desc", ""),
                )
            )
        lcbs: list[LogControl] = []
        for lcb in parts.get("LogControl", ()):
            what = named(lcb, "LogControl")
            lcbs.append(
                LogControl(
                    name=lcb.get("name", ""),
                    dat_set=self._dat_set(lcb, data_sets, what),
                    log_name=lcb.get("logName", ""),
                    log_ena=_flag(lcb, "logEna", True),
                    intg_pd=_int(lcb, "intgPd", 0, what, d),
                    reason_code=_flag(lcb, "reasonCode", True),
                    buf_time=_int(lcb, "bufTime", 0, what, d),
                    trg_ops=_trg_ops(scl_child(lcb, "TrgOps")),
                    ld_inst=lcb.get("ldInst", ""),
                    prefix=lcb.get("prefix", ""),
                    ln_class=lcb.get("lnClass", "LLN0"),
                    ln_inst=lcb.get("lnInst", ""),
                    desc=lcb.get("desc", ""),
                )
            )
        sgcb = next(iter(parts.get("SettingControl", ())), None)
        setting = None
        if sgcb is not None:
            what = f"SettingControl {where}"
            num = _int(sgcb, "numOfSGs", 1, what, d)
            act = _int(sgcb, "actSG", 1, what, d)
            if not 1 <= act <= num:
                d.error(sgcb.sourceline, f"{what}: actSG {act} is not within 1..{num}")
            resv = sgcb.get("resvTms")
            setting = SettingControl(
                num, act, int(resv) if resv and resv.isdigit() else None, sgcb.get("desc", "")
            )
        return replace(
            ln,
            data_sets=data_sets,
            sv_controls=tuple(svcs),
            gse_controls=tuple(gses),
            report_controls=tuple(rcbs),
            log_controls=tuple(lcbs),
            setting_control=setting,
        )

    # -- the IED ----------------------------------------------------------------------------
    def ied(self, element: etree._Element) -> Ied | None:
        d = self.diagnostics
        name = element.get("name", "")
        if not name:
            d.error(element.sourceline, "IED without name")
            return None
        access_points: list[AccessPoint] = []
        pending: list[tuple[str, str, etree._Element, list[tuple[etree._Element, LogicalNode]]]]
        pending = []
        lds: dict[str, LogicalDevice] = {}
        for ap in scl_children(element, "AccessPoint"):
            ap_name = ap.get("name", "")
            server = scl_child(ap, "Server")
            if server is None:
                continue
            for ld_element in scl_children(server, "LDevice"):
                inst = ld_element.get("inst", "")
                ld_name = ld_element.get("ldName") or f"{name}{inst}"
                if inst in lds:
                    d.error(ld_element.sourceline, f"duplicate LDevice inst {inst!r} in IED {name}")
                    continue
                lns: list[tuple[etree._Element, LogicalNode]] = []
                seen: set[str] = set()
                for ln_element in ld_element:
                    if local_name(ln_element) not in ("LN0", "LN"):
                        continue
                    ln = self.logical_node(ln_element, ld_name)
                    if ln is None:
                        continue
                    if ln.name in seen:
                        d.error(ln_element.sourceline, f"duplicate LN {ln.name} in {ld_name}")
                        continue
                    seen.add(ln.name)
                    lns.append((ln_element, ln))
                for ln_element, ln in lns:
                    definition = self.types.typedefs.lnode_types.get(ln.ln_type)
                    self.mms_lengths.check(ln, ln_element, definition, ld_name)
                if len(ld_name) > 64:
                    d.error(ld_element.sourceline, f"LD name {ld_name!r} is longer than 64")
                lds[inst] = LogicalDevice(
                    inst, ld_name, ld_element.get("desc", ""), tuple(ln for _, ln in lns)
                )
                pending.append((ap_name, inst, ld_element, lns))
        self._structure = self._structure_of(lds)
        by_ap: dict[str, list[LogicalDevice]] = {}
        for ap_name, inst, _, lns in pending:
            ld = lds[inst]
            finished = []
            for ln_element, ln in lns:
                parts = scl_children_named(ln_element, _LN_PARTS)
                if not parts:
                    finished.append(ln)
                    continue
                where = f"{ld.name}/{ln.name}"
                data_sets = self.data_sets(parts, name, lds, where)
                done = self.controls(ln, parts, name, ap_name, inst, where, data_sets)
                if "Inputs" in parts:
                    ext_refs, waiting = read_inputs(parts["Inputs"], f"{name} {where}", d)
                    self.pending_inputs.extend(waiting)
                    done = replace(done, inputs=tuple(ext_refs))
                finished.append(done)
            by_ap.setdefault(ap_name, []).append(replace(ld, logical_nodes=tuple(finished)))
        for ap in scl_children(element, "AccessPoint"):
            ap_name = ap.get("name", "")
            cap = self.connected.get((name, ap_name))
            access_points.append(
                AccessPoint(
                    name=ap_name,
                    logical_devices=tuple(by_ap.get(ap_name, [])),
                    subnetwork=cap.subnetwork if cap else None,
                    address=cap.address if cap else None,
                    gse_addresses=tuple((k[0], k[1], v) for k, v in sorted(cap.gse.items()))
                    if cap
                    else (),
                    smv_addresses=tuple((k[0], k[1], v) for k, v in sorted(cap.smv.items()))
                    if cap
                    else (),
                )
            )
        self._ln_indexes.clear()
        enum_ids: dict[str, EnumType] = {}
        for ld_list in by_ap.values():
            for ld in ld_list:
                for ln in ld.logical_nodes:
                    enum_ids.update(self.types.enums_of("LN", ln.ln_type))
        return Ied(
            name=name,
            manufacturer=element.get("manufacturer", ""),
            type=element.get("type", ""),
            config_version=element.get("configVersion", ""),
            desc=element.get("desc", ""),
            access_points=tuple(access_points),
            enum_types=tuple(enum_ids[k] for k in sorted(enum_ids)),
        )


def _digest(markup: bytes) -> bytes:
    """A 128-bit digest of serialized markup, the memo key for "the same DOIs"."""
    return hashlib.blake2b(markup, digest_size=16).digest()


def _with_value(a: DataAttribute, value: Value) -> DataAttribute:
    """``a`` with another initial value (direct construction: faster than ``replace``)."""
    return DataAttribute(
        a.name,
        a.fc,
        a.btype,
        a.type_id,
        a.count,
        value,
        a.enum,
        a.components,
        a.dchg,
        a.qchg,
        a.dupd,
        a.value_kind,
        a.elements,
        a.group_values,
    )


def _with_components(a: DataAttribute, components: tuple[DataAttribute, ...]) -> DataAttribute:
    return DataAttribute(
        a.name,
        a.fc,
        a.btype,
        a.type_id,
        a.count,
        a.value,
        a.enum,
        components,
        a.dchg,
        a.qchg,
        a.dupd,
        a.value_kind,
        a.elements,
        a.group_values,
    )


def _with_fc(attribute: DataAttribute, fc: FC) -> DataAttribute:
    """``attribute`` and its components under functional constraint ``fc``."""
    return replace(
        attribute, fc=fc, components=tuple(_with_fc(c, fc) for c in attribute.components)
    )


def _trg_ops(element: etree._Element | None) -> TrgOps:
    return TrgOps(
        dchg=_flag(element, "dchg", False),
        qchg=_flag(element, "qchg", False),
        dupd=_flag(element, "dupd", False),
        period=_flag(element, "period", False),
        gi=_flag(element, "gi", True),
    )


__all__ = ["IedResolver", "TypeInstantiator"]
