"""Pass 2 of an IED section: follow references, from records to model parts.

- ``InstanceValues``: DOI/SDI/DAI initial values (and value kinds) applied to the shared
  type subtrees, changing only the affected branches;
- ``Linker.logical_node``: an LN record → ``LogicalNode`` with its data objects (LNs of one
  type with the same DOI markup share them);
- ``Linker.data_sets``: FCDAs → the nodes they name (a member naming nothing is left out,
  and its data set is marked incomplete);
- ``Linker.controls``: control blocks joined with their data set and Communication address.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from lxml import etree

from gen61850.generator.scl.cache import ResolutionCache, digest
from gen61850.generator.scl.communication import ConnectedAp
from gen61850.generator.scl.diagnostics import Diagnostics
from gen61850.generator.scl.frozen import maker
from gen61850.generator.scl.guard import fast, guarded
from gen61850.generator.scl.identity import IdentityRules, report_clashes
from gen61850.generator.scl.link_types import TypeInstantiator
from gen61850.generator.scl.read import Block, ControlReader, ControlRecord, LnRecord
from gen61850.generator.scl.typedefs import SubObjectDef
from gen61850.generator.scl.xmlread import SCL_NS, line_of, local_name, scl_children
from gen61850.runtime.device import (
    FC,
    BasicType,
    DataAttribute,
    DataObject,
    DataSet,
    DataSetMember,
    Fcda,
    GseControl,
    LogicalDevice,
    LogicalNode,
    Node,
    SampledValueControl,
    SettingControl,
    Value,
)

_FCS = {f.value: f for f in FC}
_INSTANCE_TAGS = tuple(t for name in ("SDI", "DAI") for t in (f"{{{SCL_NS}}}{name}", name))
_VAL_TAGS = (f"{{{SCL_NS}}}Val", "Val")
# Attributes of DOI/SDI/DAI the IR does not keep: left out of the memo keys, so instances
# that differ only by them share their resolution (lxml writes attributes with "…"). Only
# inside a tag: the look-ahead reaches the tag's ">" before any "<" (lxml escapes both in
# text and attribute values), so text of a Val that looks like such an attribute stays.
_UNUSED = re.compile(rb' (?:desc|valImport|sAddr)="[^"\0]*"(?=[^<>\0]*>)')
_VALUE_KINDS = ("Spec", "Conf", "RO", "Set")
_ATTRIBUTE = re.compile(rb'([^\s=]+)="([^"]*)"')
_make_member = maker(DataSetMember)
_make_fcda = maker(Fcda)


class InstanceValues:
    """Applies DOI/SDI/DAI to shared subtrees; reports what names nothing in the type."""

    def __init__(
        self,
        types: TypeInstantiator,
        rules: IdentityRules,
        diagnostics: Diagnostics,
        cache: ResolutionCache,
    ) -> None:
        self.types = types
        self.rules = rules
        self.diagnostics = diagnostics
        self.cache = cache

    def apply(self, node: Node, element: etree._Element, where: str) -> Node:
        children: tuple[Node, ...] = (
            node.children if isinstance(node, DataObject) else node.components
        )
        positions = self.cache.positions_of(children)
        dropped = (
            report_clashes(
                self.rules.check(local_name(element) or "", element), where, self.diagnostics
            )
            if len(element) > 1
            else {}
        )
        updated = list(children)
        for instance in element.iterchildren(*_INSTANCE_TAGS):
            if id(instance) in dropped:
                continue
            kind = local_name(instance)
            name = instance.get("name", "")
            index = positions.get(name)
            if index is None:
                self.diagnostics.warning(
                    instance.sourceline,
                    f"{kind} {name!r}: {where} has no {name!r} in its type (ignored)",
                    rule="reference",
                    tag=kind or "",
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
                updated[index] = self.apply(target, instance, f"{where}.{name}")
            elif isinstance(target, DataAttribute):
                updated[index] = self._attribute_values(target, instance, f"{where}.{name}")
            else:
                self.diagnostics.warning(
                    instance.sourceline,
                    f"DAI {name!r} names a data object (ignored)",
                    rule="reference",
                    tag="DAI",
                )
        if all(a is b for a, b in zip(updated, children, strict=True)):
            return node  # only descriptions or ignored values: the shared subtree stays
        if isinstance(node, DataObject):
            return DataObject(
                node.name, node.type_id, node.cdc, node.count, tuple(updated), node.elements
            )
        components = tuple(a for a in updated if isinstance(a, DataAttribute))
        return _with(node, components=components)

    def _attribute_values(
        self, target: DataAttribute, instance: etree._Element, where: str
    ) -> DataAttribute:
        """``target`` with the DAI's value and value kind (``valKind`` overrides the type's)."""
        result = target
        vals = tuple(
            v.text or ""
            for v in instance.iterchildren(*_VAL_TAGS)
            if v.get("sGroup") in (None, "1")
        )
        value = self.types.value(
            vals, target.btype, target.enum, target.count, line_of(instance), where, "DAI"
        )
        if value is not None and value != target.value:
            result = _with(result, value=value)
        groups = self._group_values(instance, target, where)
        if groups != result.group_values:
            result = _with(result, group_values=groups)
        kind = instance.get("valKind")
        if kind is not None:
            if kind not in _VALUE_KINDS:
                self.diagnostics.warning(
                    instance.sourceline,
                    f"DAI {where}: valKind {kind[:20]!r} unknown (ignored)",
                    rule="value",
                    tag="DAI",
                )
            elif kind != result.value_kind:
                result = _with(result, value_kind=kind)
        return result

    def _group_values(
        self, instance: etree._Element, target: DataAttribute, where: str
    ) -> tuple[tuple[int, Value], ...]:
        """A DAI's ``Val sGroup="n"`` values, one per setting group (a bad group number is
        warned about and left out; setting groups of arrays are not read)."""
        groups: dict[int, Value] = {}
        for val in instance.iterchildren(*_VAL_TAGS):
            group = val.get("sGroup")
            if group is None:
                continue
            if not group.isdigit() or int(group) < 1:
                self.diagnostics.warning(
                    val.sourceline,
                    f"DAI {where}: sGroup {group[:20]!r} ignored",
                    rule="value",
                    tag="Val",
                )
                continue
            if target.count:
                continue
            value = self.types.value(
                (val.text or "",), target.btype, target.enum, 0, line_of(val), where, "DAI"
            )
            if value is not None:
                groups[int(group)] = value
        return tuple(sorted(groups.items()))

    def _apply_element(
        self, target: Node, instance: etree._Element, ix_text: str, where: str
    ) -> Node | None:
        """``target`` (an array) with the values of its element ``ix`` from a DAI or SDI."""
        kind = local_name(instance) or ""
        line = instance.sourceline
        warn = self.diagnostics.warning
        if not target.count:
            warn(
                line,
                f"{kind} {where} ix={ix_text[:20]}: not an array (ignored)",
                rule="value",
                tag=kind,
            )
            return None
        if not ix_text.isdigit() or len(ix_text) > 9 or int(ix_text) >= target.count:
            warn(
                line,
                f"{kind} {where}: ix {ix_text[:20]!r} is not within 0..{target.count - 1} "
                "(ignored)",
                rule="value",
                tag=kind,
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
                vals, target.btype, target.enum, 0, line_of(instance), f"{where}[{ix}]", "DAI"
            )
            if value is None or isinstance(value, tuple):
                return None
            old = target.value
            items = list(old) if isinstance(old, tuple) and len(old) == target.count else None
            if items is None:
                items = [target.btype.python_type() for _ in range(target.count)]
            items[ix] = value
            return _with(target, value=tuple(items))
        if kind == "DAI" or plain:
            warn(
                line,
                f"{kind} {where}[{ix}]: {'a DAI' if kind == 'SDI' else 'an SDI'} is needed "
                "here (ignored)",
                rule="reference",
                tag=kind,
            )
            return None
        at = f"{where}[{ix}]"
        if isinstance(target, DataObject):
            objects = list(target.elements) or [replace(target, count=0)] * target.count
            made_do = self.apply(objects[ix], instance, at)
            if made_do is objects[ix] or not isinstance(made_do, DataObject):
                return None
            objects[ix] = made_do
            return replace(target, elements=tuple(objects))
        attributes = list(target.elements) or [replace(target, count=0)] * target.count
        made_da = self.apply(attributes[ix], instance, at)
        if made_da is attributes[ix] or not isinstance(made_da, DataAttribute):
            return None
        attributes[ix] = made_da
        return replace(target, elements=tuple(attributes))


@dataclass
class LinkedControls:
    """The control blocks of one LN, joined; and the data sets that lost members."""

    data_sets: tuple[DataSet, ...] = ()
    incomplete: set[str] = field(default_factory=set)
    sv: list[tuple[ControlRecord, SampledValueControl]] = field(default_factory=list)
    gse: list[tuple[ControlRecord, GseControl]] = field(default_factory=list)
    others: list[ControlRecord] = field(default_factory=list)
    setting: SettingControl | None = None


class Linker:
    """LN records → logical nodes, data sets and control blocks of one file's IEDs."""

    def __init__(
        self,
        types: TypeInstantiator,
        values: InstanceValues,
        controls: ControlReader,
        connected: Mapping[tuple[str, str], ConnectedAp],
        diagnostics: Diagnostics,
        cache: ResolutionCache,
    ) -> None:
        self.types = types
        self.values = values
        self.control_reader = controls
        self.connected = connected
        self.diagnostics = diagnostics
        self.cache = cache
        self.structure = -1  # of the IED being linked (see structure_of)

    # -- logical nodes --------------------------------------------------------------------
    def logical_node(self, record: LnRecord, ld_name: str) -> LogicalNode | None:
        """The LN with its data objects; None (an error costing the LN) without its type."""
        where = f"{ld_name}/{record.name}"
        definition = self.types.typedefs.lnode_types.get(record.ln_type)
        if definition is None:
            self.diagnostics.error(
                record.line,
                f"LN {where} left out: LNodeType {record.ln_type!r} not found",
                cost=f"LN {where}",
                rule="reference",
                tag=record.tag,
            )
            return None
        if definition.ln_class and definition.ln_class != record.ln_class:
            self.diagnostics.warning(
                record.line,
                f"LN {where}: lnClass {record.ln_class} but LNodeType {record.ln_type!r} is "
                f"for {definition.ln_class} (read with that type)",
                rule="reference",
                tag=record.tag,
            )
        dois = record.dois
        dropped = report_clashes(record.identities, where, self.diagnostics)
        if dropped:
            dois = [d for d in dois if id(d) not in dropped]
        # the DOIs as the IR sees them: LNs of one type with the same share their objects
        # (one pass of the pattern over them all: no serialised markup holds a NUL)
        serialised = [etree.tostring(doi, with_tail=False) for doi in dois]
        markup = _UNUSED.sub(b"", b"\0".join(serialised)).split(b"\0") if dois else []
        key = (record.ln_type, digest(b"".join(markup)) if dois else b"")
        data_objects = self.cache.ln_objects.get(key)
        if data_objects is None:
            before = len(self.diagnostics.items)
            data_objects = self._data_objects(definition.dos, dois, markup, record.ln_type, where)
            if len(self.diagnostics.items) == before:  # problems are reported every time
                self.cache.ln_objects[key] = data_objects
        return LogicalNode(
            ln_class=record.ln_class,
            ln_type=record.ln_type,
            prefix=record.prefix,
            inst=record.inst,
            desc=record.desc,
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
        (a DOI with the same markup, ``markup`` without what the IR does not keep, on the
        same subtree is applied once)."""
        base_objects = self.cache.ln_base.get(ln_type)
        if base_objects is None:  # (a missing DOType is reported once, here)
            base_objects = {}
            with self.diagnostics.scoped(f"LNodeType:{ln_type}"):
                for sub in dos:
                    made = self.types.data_object(sub, "DO", f"LNodeType {ln_type!r}")
                    if made is not None:
                        base_objects[sub.name] = made
            self.cache.ln_base[ln_type] = base_objects
        objects = dict(base_objects)
        for doi, text in zip(dois, markup, strict=True):
            name = doi.get("name", "")
            base = objects.get(name)
            if base is None:
                self.diagnostics.warning(
                    doi.sourceline,
                    f"DOI {name!r}: LNodeType {ln_type!r} has no such DO (ignored)",
                    rule="reference",
                    tag="DOI",
                )
                continue
            key = (id(base), text)
            memo = self.cache.doi.get(key)
            if memo is not None:
                objects[name] = memo[1]
                continue
            before = len(self.diagnostics.items)
            applied = self.values.apply(base, doi, f"{where}.{name}")
            assert isinstance(applied, DataObject)
            objects[name] = applied
            if len(self.diagnostics.items) == before:
                self.cache.remember_doi(key, base, applied)
        return tuple(objects[d.name] for d in dos if d.name in objects)

    # -- data sets ------------------------------------------------------------------------
    def structure_of(self, lds: Mapping[str, LogicalDevice]) -> int:
        """A number for what FCDAs resolve against: LD insts, LN names, shared DO tuples.

        IEDs with the same number resolve the same FCDA to the same nodes (only the LD
        names in the references differ), so their data sets are resolved once.
        """
        signature = tuple(
            (inst, tuple((ln.name, id(ln.data_objects)) for ln in ld.logical_nodes))
            for inst, ld in lds.items()
        )
        known = self.cache.structures.get(signature)
        if known is None:
            self.cache.hold(*(ln.data_objects for ld in lds.values() for ln in ld.logical_nodes))
            known = self.cache.structures[signature] = len(self.cache.structures)
        return known

    def _fcda(self, fcda: etree._Element, line: int, where: str) -> Fcda | None:
        """The FCDA's attributes, checked (None, with an error, when unusable)."""
        fc = _FCS.get((fcda.get("fc") or "").strip())
        ld_inst, ln_class = fcda.get("ldInst"), fcda.get("lnClass")
        if fc is None or not ln_class or not ld_inst:
            missing = [n for n, v in (("ldInst", ld_inst), ("lnClass", ln_class)) if not v]
            problem = (
                f"no {' and no '.join(missing)}" if missing else f"fc {fcda.get('fc')!r} unknown"
            )
            self.diagnostics.error(
                line,
                f"FCDA of {where} left out: {problem}",
                cost=f"FCDA of {where}",
                rule="required",
                tag="FCDA",
            )
            return None
        ix_text = (fcda.get("ix") or "").strip()
        ln_inst = fcda.get("lnInst", "")
        if ln_class == "LLN0" and ln_inst:
            self.diagnostics.warning(
                line,
                f"FCDA of {where}: lnInst {ln_inst!r} ignored for LLN0",
                rule="value",
                tag="FCDA",
            )
            ln_inst = ""
        return Fcda(
            ld_inst=ld_inst,
            ln_class=ln_class,
            fc=fc,
            prefix=fcda.get("prefix", ""),
            ln_inst=ln_inst,
            do_name=fcda.get("doName", ""),
            da_name=fcda.get("daName", ""),
            ix=int(ix_text) if ix_text.isdigit() and len(ix_text) < 10 else None,
        )

    def _ln_index(self, ld: LogicalDevice) -> dict[str, LogicalNode]:
        """LNs of ``ld`` by name (for the IED being linked; emptied for each IED)."""
        found = self.cache.ln_index.get(id(ld))
        if found is None:
            found = self.cache.ln_index[id(ld)] = (ld, {ln.name: ln for ln in ld.logical_nodes})
        return found[1]

    def _member(
        self, fcda: etree._Element, ied_name: str, lds: Mapping[str, LogicalDevice], where: str
    ) -> DataSetMember | None:
        """Resolve one FCDA; members that name nothing are left out (an error)."""
        line = line_of(fcda)
        attributes: tuple[tuple[str, str], ...] = tuple(fcda.items())  # type: ignore[arg-type]
        entry = self.cache.fcda.get(attributes)
        if entry is None:
            made = self._fcda(fcda, line, where)
            if made is None:
                return None
            entry = (made, made.path, made.ln_name)
            if made.ln_inst or made.ln_class != "LLN0" or not fcda.get("lnInst"):
                self.cache.fcda[attributes] = entry  # no warning to repeat
        member, path, ln_name = entry
        ld = lds.get(member.ld_inst)
        if ld is None:
            ld = next((x for x in lds.values() if x.name == member.ld_inst), None)
            if ld is not None:
                self.diagnostics.warning(
                    line,
                    f"FCDA of {where}: ldInst {member.ld_inst!r} is the LD name, "
                    f"not its inst {ld.inst!r} (read as that LD)",
                    rule="reference",
                    tag="FCDA",
                )
        if ld is None:
            problem = f"no LDevice {member.ld_inst!r} in IED {ied_name}"
            return self._left_out(line, problem, f"{member.ld_inst}/{path}", where)
        reference = f"{ld.name}/{path}"
        ln = self._ln_index(ld).get(ln_name)
        if ln is None:
            return self._left_out(line, f"no LN {ln_name!r}", reference, where)
        fc = member.fc
        node_key = (id(ln.data_objects), member.do_name, member.da_name, fc)
        node: Node | None = self.cache.nodes.get(node_key)
        if node is None:
            parts = [p for p in (*member.do_name.split("."), *member.da_name.split(".")) if p]
            if not parts:
                return DataSetMember(member, reference, None, None)
            node = self._below(ln.data_objects, parts)
            if node is None:
                return self._left_out(line, "it names nothing in the LN", reference, where)
            fcs = self.cache.fcs_of(node) if isinstance(node, DataObject) else {node.fc}
            if fc not in fcs:
                problem = f"nothing below it has fc {fc.value}"
                return self._left_out(line, problem, reference, where)
            self.cache.nodes[node_key] = node
            self.cache.hold(ln.data_objects)
        btype = node.btype if isinstance(node, DataAttribute) else None
        return DataSetMember(member, reference, node, btype)

    def _below(self, children: tuple[Node, ...], parts: list[str]) -> Node | None:
        """The node at ``parts`` below ``children`` (names looked up by index, not scanned)."""
        node: Node | None = None
        for part in parts:
            index = self.cache.positions_of(children).get(part)
            if index is None:
                return None
            node = children[index]
            children = node.children if isinstance(node, DataObject) else node.components
        return node

    def _left_out(
        self, line: int, problem: str, reference: str, where: str
    ) -> DataSetMember | None:
        """Report a member left out; None (what ``_member`` returns for it)."""
        self.diagnostics.error(
            line,
            f"FCDA {reference} of {where} left out: {problem}",
            cost=f"FCDA {reference} of {where}",
            rule="reference",
            tag="FCDA",
        )
        return None

    def data_sets(
        self,
        record: LnRecord,
        ied_name: str,
        lds: Mapping[str, LogicalDevice],
        where: str,
        linked: LinkedControls,
    ) -> None:
        result: list[DataSet] = []
        dropped = record.identities.left_out()
        for element in record.parts.get("DataSet", ()):
            if id(element) in dropped:
                continue  # a repeated name, reported with the LN's clashes
            name = (element.get("name") or "").strip()
            if not name:
                self.diagnostics.error(
                    element.sourceline,
                    f"DataSet of {where} left out: no 'name'",
                    cost=f"DataSet of {where}",
                    rule="required",
                    tag="DataSet",
                )
                continue
            made = fast(self._data_set_fast, element, name, lds)
            if made is not None:
                result.append(made)
                continue
            made = guarded(
                self.diagnostics,
                line_of(element),
                f"DataSet {where}.{name}",
                self._data_set,
                element,
                name,
                ied_name,
                lds,
                where,
                linked,
            )
            if made is not None:
                result.append(made)
        linked.data_sets = tuple(result)

    @staticmethod
    def _fcda_fast(markup: bytes) -> tuple[Fcda, str, str, tuple[str, ...]] | None:
        """An FCDA from its serialised attributes (``name="value" ...``, as lxml writes
        them, no character escaped: the caller checked), when reading it reports nothing;
        None otherwise."""
        pieces = (" " + markup.decode("ascii")).split('"')
        values = dict(zip(pieces[0::2], pieces[1::2], strict=False))  # ' name=' → value
        get = values.get
        fc = _FCS.get((get(" fc=") or "").strip())
        ld_inst, ln_class = get(" ldInst="), get(" lnClass=")
        if fc is None or not ln_class or not ld_inst or len(values) * 2 + 1 != len(pieces):
            return None
        ln_inst = get(" lnInst=", "")
        if ln_inst and ln_class == "LLN0":
            return None
        ix_text = get(" ix=")
        prefix = get(" prefix=", "")
        do_name = get(" doName=", "")
        da_name = get(" daName=", "")
        ln_name = f"{prefix}{ln_class}{ln_inst}"
        below = f"{do_name}.{da_name}" if da_name and do_name else do_name or da_name
        split = below.split(".") if below else []
        parts = tuple(p for p in split if p) if "" in split else tuple(split)
        path = ".".join((ln_name, *parts))
        if ix_text is not None:
            ix_text = ix_text.strip()
            ix = int(ix_text) if ix_text.isdigit() and len(ix_text) < 10 else None
        else:
            ix = None
        made = _make_fcda(ld_inst, ln_class, fc, prefix, ln_inst, do_name, da_name, ix)
        return made, path, ln_name, parts

    def _target(
        self, lds: Mapping[str, LogicalDevice], ld_inst: str, ln_name: str
    ) -> tuple[str, LogicalNode, dict[str, int]] | None:
        """(``LDname/``, the LN, its data objects' positions by name) an FCDA names, found
        by LD inst; None when not found."""
        ld = lds.get(ld_inst)
        ln = self._ln_index(ld).get(ln_name) if ld is not None else None
        if ld is None or ln is None:
            return None
        return f"{ld.name}/", ln, self.cache.positions_of(ln.data_objects)

    def _data_set_fast(
        self, element: etree._Element, name: str, lds: Mapping[str, LogicalDevice]
    ) -> DataSet | None:
        """The data set when every member is an FCDA that resolves without a word; None
        otherwise (``_data_set`` then reads it and reports what it finds)."""
        markup = etree.tostring(element, with_tail=False)
        key = (self.structure, digest(markup))
        cached = self.cache.data_sets.get(key)
        if cached is not None:  # same data set in an IED of the same structure
            found = tuple(
                _make_member(fcda, f"{lds[fcda.ld_inst].name}/{path}", node, btype)
                for fcda, path, node, btype in cached
            )
            return DataSet(name, found, element.get("desc", ""))
        chunks = markup.split(b"<FCDA ")
        if len(chunks) - 1 != len(element) or markup.count(b"<") != len(chunks) + 1:
            return None  # other children or elements, or FCDAs written otherwise
        body = markup.find(b">")
        if markup.find(b"&", body) >= 0 or markup.find(b"xmlns", body) >= 0:
            return None  # an escaped character or a namespace declaration in an FCDA
        memo = self.cache.fcda_markup
        nodes = self.cache.member_nodes
        members: list[DataSetMember] = []
        remembered: list[tuple[Fcda, str, Node | None, BasicType | None]] = []
        targets: dict[tuple[str, str], tuple[str, LogicalNode, dict[str, int]] | None] = {}
        for chunk in chunks[1:]:
            end = chunk.find(b"/>")
            if end < 0:
                return None
            attributes = chunk[:end]
            if attributes in memo:
                entry = memo[attributes]
            else:
                entry = memo[attributes] = self._fcda_fast(attributes)
            if entry is None:
                return None
            fcda, path, ln_name, parts = entry
            target_key = (fcda.ld_inst, ln_name)
            if target_key in targets:
                target = targets[target_key]
            else:
                target = targets[target_key] = self._target(lds, fcda.ld_inst, ln_name)
            if target is None:
                return None
            ld_prefix, ln, positions = target
            node: Node | None = None
            if parts:
                index = positions.get(parts[0])
                if index is None:
                    return None
                top = ln.data_objects[index]  # shared by LNs whose DOI made it the same
                node_key = (id(top), parts, fcda.fc)
                node = nodes.get(node_key)
                if node is None:
                    node = self._below(top.children, list(parts[1:])) if len(parts) > 1 else top
                    if node is None:
                        return None
                    fcs = self.cache.fcs_of(node) if isinstance(node, DataObject) else {node.fc}
                    if fcda.fc not in fcs:
                        return None
                    nodes[node_key] = node
                    self.cache.hold(top)
            btype = node.btype if isinstance(node, DataAttribute) else None
            members.append(_make_member(fcda, ld_prefix + path, node, btype))
            remembered.append((fcda, path, node, btype))
        made = tuple(members)
        self.cache.data_sets[key] = tuple(remembered)
        return DataSet(name, made, element.get("desc", ""))

    def _data_set(
        self,
        element: etree._Element,
        name: str,
        ied_name: str,
        lds: Mapping[str, LogicalDevice],
        where: str,
        linked: LinkedControls,
    ) -> DataSet:
        key = (self.structure, digest(etree.tostring(element, with_tail=False)))
        cached = self.cache.data_sets.get(key)
        if cached is not None:  # same data set in an IED of the same structure
            members = tuple(
                DataSetMember(fcda, f"{lds[fcda.ld_inst].name}/{path}", node, btype)
                for fcda, path, node, btype in cached
            )
            return DataSet(name, members, element.get("desc", ""))
        before = len(self.diagnostics.items)
        fcdas = scl_children(element, "FCDA")
        found = [self._member(f, ied_name, lds, f"{where}.{name}") for f in fcdas]
        members = tuple(m for m in found if m is not None)
        if len(members) < len(fcdas):
            linked.incomplete.add(name)
        elif len(self.diagnostics.items) == before:  # every ldInst named an LD inst
            # the path below the LD from the FCDA itself: an LD name may hold a "/"
            self.cache.data_sets[key] = tuple(
                (m.fcda, m.fcda.path, m.node, m.btype) for m in members
            )
        return DataSet(name, members, element.get("desc", ""))

    # -- control blocks --------------------------------------------------------------------
    def controls(
        self,
        record: LnRecord,
        ied_name: str,
        ap_name: str,
        ld_inst: str,
        where: str,
        linked: LinkedControls,
    ) -> None:
        """Read the LN's control blocks; join each with its data set and address."""
        d = self.diagnostics
        reader = self.control_reader
        dropped = record.identities.left_out()
        dangling = {
            id(x.found.element) for x in record.identities.dangling if x.found.element is not None
        }
        names = {ds.name for ds in linked.data_sets}
        cap = self.connected.get((ied_name, ap_name))
        for tag, read in (
            ("SampledValueControl", reader.sampled_value_control),
            ("GSEControl", reader.gse_control),
            ("ReportControl", reader.report_control),
            ("LogControl", reader.log_control),
        ):
            for element in record.parts.get(tag, ()):
                if id(element) in dropped:
                    continue
                what = f"{tag} {where}.{element.get('name', '')}"
                made = guarded(d, line_of(element), what, read, element, where)
                if made is None:
                    continue
                block = made.block
                if block.dat_set and (id(element) in dangling or block.dat_set not in names):
                    d.error(
                        made.line,
                        f"{what}: datSet {block.dat_set!r} names no DataSet of {where}: the "
                        "control block is kept without a data set",
                        cost=f"data set of {what}",
                        rule="reference",
                        tag=tag,
                    )
                    block = replace(block, dat_set=None)
                elif block.dat_set in linked.incomplete:
                    pass  # reported at each member left out; streams check it (check.py)
                if isinstance(block, SampledValueControl):
                    address = cap.smv.get((ld_inst, block.name)) if cap else None
                    routable = cap.smv_ip.get((ld_inst, block.name)) if cap else None
                    block = replace(block, address=address, routable_address=routable)
                    linked.sv.append((_with_block(made, block), block))
                elif isinstance(block, GseControl):
                    address = cap.gse.get((ld_inst, block.name)) if cap else None
                    routable = cap.gse_ip.get((ld_inst, block.name)) if cap else None
                    if address is not block.address or routable is not block.routable_address:
                        block = replace(block, address=address, routable_address=routable)
                    linked.gse.append((_with_block(made, block), block))
                else:
                    linked.others.append(_with_block(made, block))
        settings = record.parts.get("SettingControl", ())
        if settings:
            linked.setting = guarded(
                d,
                line_of(settings[0]),
                f"SettingControl {where}",
                reader.setting_control,
                settings[0],
                where,
            )


def _with_block(record: ControlRecord, block: Block) -> ControlRecord:
    """``record`` with ``block`` (itself when the block is its own)."""
    if block is record.block:
        return record
    return ControlRecord(record.tag, record.line, block, record.smp_mod_given)


def _with(a: DataAttribute, **changes: object) -> DataAttribute:
    """``a`` with some fields changed (direct construction: faster than ``replace``)."""
    return DataAttribute(
        a.name,
        a.fc,
        a.btype,
        a.type_id,
        a.count,
        changes.get("value", a.value),  # type: ignore[arg-type]
        a.enum,
        changes.get("components", a.components),  # type: ignore[arg-type]
        a.dchg,
        a.qchg,
        a.dupd,
        changes.get("value_kind", a.value_kind),  # type: ignore[arg-type]
        a.elements,
        changes.get("group_values", a.group_values),  # type: ignore[arg-type]
    )


__all__ = ["InstanceValues", "LinkedControls", "Linker"]
