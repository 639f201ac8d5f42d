"""Read DataTypeTemplates as a typed IR: LNodeType, DOType (DA/SDO), DAType (BDA), EnumType.

This pass reads and checks each definition on its own (ids present and unique, names unique
inside a type, known basic types, FCs, value kinds, all as the schema facts say); following
references between types is ``link_types``' job. A definition that cannot be used is left
out with a located error (scoped to the type, so each package using it can list it); a
child that cannot be used is left out of its type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from lxml import etree

from gen61850.generator.scl.diagnostics import Diagnostics
from gen61850.generator.scl.facts import SchemaFacts
from gen61850.generator.scl.frozen import maker
from gen61850.generator.scl.guard import fast, guarded
from gen61850.generator.scl.identity import IdentityRules, report_clashes
from gen61850.generator.scl.xmlread import SCL_NS, line_of, local_name, scl_children
from gen61850.runtime.device import FC, BasicType, EnumType


@dataclass(frozen=True, slots=True)
class AttrDef:
    """A DA of a DOType (``fc`` set) or a BDA of a DAType (``fc`` None)."""

    name: str
    btype: BasicType
    fc: FC | None
    type_id: str | None
    count: int
    vals: tuple[str, ...]
    line: int
    dchg: bool = False
    qchg: bool = False
    dupd: bool = False
    value_kind: str = "Set"
    count_ref: str = ""  # array size by reference, until resolved (Ed. 2.1)


@dataclass(frozen=True, slots=True)
class SubObjectDef:
    """An SDO of a DOType, or a DO of an LNodeType."""

    name: str
    type_id: str
    count: int
    line: int
    count_ref: str = ""
    tag: str = "DO"  # or SDO


@dataclass(frozen=True, slots=True)
class DOTypeDef:
    id: str
    cdc: str
    children: tuple[SubObjectDef | AttrDef, ...]
    line: int


@dataclass(frozen=True, slots=True)
class DATypeDef:
    id: str
    bdas: tuple[AttrDef, ...]
    line: int


@dataclass(frozen=True, slots=True)
class LNodeTypeDef:
    id: str
    ln_class: str
    dos: tuple[SubObjectDef, ...]
    line: int


@dataclass(frozen=True, slots=True)
class TypeDefs:
    """Every template, by id."""

    lnode_types: Mapping[str, LNodeTypeDef] = field(default_factory=dict)
    do_types: Mapping[str, DOTypeDef] = field(default_factory=dict)
    da_types: Mapping[str, DATypeDef] = field(default_factory=dict)
    enum_types: Mapping[str, EnumType] = field(default_factory=dict)
    enum_lines: Mapping[str, int] = field(default_factory=dict)


_BTYPES = {b.value: b for b in BasicType}
_FCS = {f.value: f for f in FC}
_TRUE = ("true", "1")
_KINDS = ("LNodeType", "DOType", "DAType", "EnumType")
_KIND_OF = {t: k for k in _KINDS for t in (f"{{{SCL_NS}}}{k}", k)}
_DO = frozenset((f"{{{SCL_NS}}}DO", "DO"))
_DA = frozenset((f"{{{SCL_NS}}}DA", "DA"))
_SDO = frozenset((f"{{{SCL_NS}}}SDO", "SDO"))
_BDA = frozenset((f"{{{SCL_NS}}}BDA", "BDA"))
_ENUM_VAL = frozenset((f"{{{SCL_NS}}}EnumVal", "EnumVal"))
_TYPED = (BasicType.STRUCT, BasicType.ENUM)
_make_attr = maker(AttrDef)
# name, bType, FC, type, count, dchg, qchg, dupd, valKind of a DA/BDA (what its attributes give)
_AttrFields = tuple[str, BasicType, FC | None, str | None, int, bool, bool, bool, str]
_make_sub = maker(SubObjectDef)
# The identity rules each fast path implements (it runs only when the schema's are these).
_FAST_RULES = {
    "LNodeType": frozenset({(("DO",), ("name",))}),
    "DOType": frozenset({(("*",), ("name",))}),
    "DAType": frozenset({(("BDA",), ("name",))}),
    "EnumType": frozenset({(("EnumVal",), ("ord",))}),
}


def _count(element: etree._Element, kind: str, diagnostics: Diagnostics) -> int | str:
    """The array size: a number, or (Ed. 2.1) the name of a sibling attribute holding it."""
    text = (element.get("count") or "0").strip()
    if text.isdigit() and len(text) < 10:
        return int(text)
    if text.isidentifier():
        return text  # resolved by _resolve_counts once the siblings are known
    diagnostics.warning(
        element.sourceline,
        f"count {text[:40]!r} is neither a number below 10**9 nor a name (read as 0)",
        rule="value",
        tag=kind,
    )
    return 0


_Child = TypeVar("_Child", bound="AttrDef | SubObjectDef")


def _resolve_counts(children: list[_Child], owner: str, diagnostics: Diagnostics) -> list[_Child]:
    """Replace sizes given by reference (``count="numPts"``) by the sibling's value."""
    values: dict[str, str] = {}
    for sibling in children:
        if isinstance(sibling, AttrDef) and sibling.vals and not sibling.count:
            values[sibling.name] = sibling.vals[0].strip()
    resolved: list[_Child] = []
    for child in children:
        reference = child.count_ref
        if reference:
            text = values.get(reference, "")
            if text.isdigit() and len(text) < 10:
                child = replace(child, count=int(text), count_ref="")
            else:
                problem = (
                    f"has no value in {owner}"
                    if any(c.name == reference for c in children)
                    else f"is not an attribute of {owner}"
                )
                diagnostics.warning(
                    child.line,
                    f"{child.name!r}: array size {reference!r} {problem} (read as 0)",
                    rule="value",
                    tag=tag_of(child),
                )
                child = replace(child, count=0, count_ref="")
        resolved.append(child)
    return resolved


def tag_of(child: AttrDef | SubObjectDef) -> str:
    """The element name a definition was read from (DA, BDA, DO, SDO)."""
    if isinstance(child, SubObjectDef):
        return child.tag
    return "DA" if child.fc is not None else "BDA"


def _split_count(count: int | str) -> tuple[int, str]:
    return (count, "") if isinstance(count, int) else (0, count)


def _vals(element: etree._Element) -> tuple[str, ...]:
    vals = scl_children(element, "Val")
    plain = [v for v in vals if v.get("sGroup") in (None, "1")] or vals
    return tuple(v.text or "" for v in plain)


class TemplateReader:
    """Reads DataTypeTemplates with the schema facts' lists and identity rules."""

    def __init__(self, facts: SchemaFacts, rules: IdentityRules, diagnostics: Diagnostics) -> None:
        self.rules = rules
        self.diagnostics = diagnostics
        self.schema_btypes = frozenset(_enumeration(facts, "DA", "bType"))
        self.schema_fcs = frozenset(_enumeration(facts, "DA", "fc"))
        self.value_kinds = frozenset(_enumeration(facts, "DA", "valKind"))
        self._attr_memo: dict[tuple[bool, tuple[tuple[str, str], ...]], _AttrFields | None] = {}
        fast_readers = {
            "LNodeType": self._lnode_type_fast,
            "DOType": self._do_type_fast,
            "DAType": self._da_type_fast,
            "EnumType": self._enum_type_fast,
        }
        self._fast = {
            kind: reader if rules.child_keys(kind) == _FAST_RULES[kind] else None
            for kind, reader in fast_readers.items()
        }

    def _attr(self, element: etree._Element, is_da: bool, owner: str) -> AttrDef | None:
        kind = "DA" if is_da else "BDA"
        d = self.diagnostics
        line = line_of(element)
        name = (element.get("name") or "").strip()
        if not name:
            d.error(
                line,
                f"{kind} of {owner} left out: no 'name'",
                cost=f"{kind} of {owner}",
                rule="required",
                tag=kind,
            )
            return None
        what = f"{kind} {name!r} of {owner}"
        btext = (element.get("bType") or "").strip()
        btype = _BTYPES.get(btext)
        if btype is None:
            if not btext:
                problem = "no 'bType'"
            elif btext in self.schema_btypes:
                problem = f"bType {btext!r} is not supported"
            else:
                problem = f"unknown bType {btext[:40]!r}"
            d.error(line, f"{what} left out: {problem}", cost=what, rule="value", tag=kind)
            return None
        fc: FC | None = None
        if is_da:
            fc_text = (element.get("fc") or "").strip()
            fc = _FCS.get(fc_text) if (fc_text in self.schema_fcs or not self.schema_fcs) else None
            if fc is None:
                d.error(
                    line,
                    f"{what} left out: unknown functional constraint {fc_text[:20]!r}",
                    cost=what,
                    rule="value",
                    tag=kind,
                )
                return None
        type_id = element.get("type")
        if btype in (BasicType.STRUCT, BasicType.ENUM) and not type_id:
            d.error(
                line,
                f"{what} left out: bType {btext} without type",
                cost=what,
                rule="required",
                tag=kind,
            )
            return None
        count, count_ref = _split_count(_count(element, kind, d))
        value_kind = element.get("valKind") or "Set"
        if self.value_kinds and value_kind not in self.value_kinds:
            d.warning(
                line,
                f"{what}: valKind {value_kind[:20]!r} unknown (read as 'Set')",
                rule="value",
                tag=kind,
            )
            value_kind = "Set"
        return AttrDef(
            name=name,
            btype=btype,
            fc=fc,
            type_id=type_id if btype in (BasicType.STRUCT, BasicType.ENUM) else None,
            count=count,
            count_ref=count_ref,
            vals=_vals(element),
            line=line,
            dchg=(element.get("dchg") or "false").strip().lower() in _TRUE,
            qchg=(element.get("qchg") or "false").strip().lower() in _TRUE,
            dupd=(element.get("dupd") or "false").strip().lower() in _TRUE,
            value_kind=value_kind,
        )

    def _sub(self, element: etree._Element, kind: str, owner: str) -> SubObjectDef | None:
        name = (element.get("name") or "").strip()
        type_id = (element.get("type") or "").strip()
        if not name or not type_id:
            missing = "name" if not name else "type"
            what = f"{kind} {name!r} of {owner}" if name else f"{kind} of {owner}"
            self.diagnostics.error(
                element.sourceline,
                f"{what} left out: no {missing!r}",
                cost=what,
                rule="required",
                tag=kind,
            )
            return None
        count, count_ref = _split_count(_count(element, kind, self.diagnostics))
        return SubObjectDef(name, type_id, count, line_of(element), count_ref, kind)

    def _children(
        self, element: etree._Element, kind: str, owner: str
    ) -> dict[int, etree._Element]:
        """Report name clashes inside one type; the ids of the children left out."""
        return report_clashes(self.rules.check(kind, element), owner, self.diagnostics)

    def lnode_type(self, element: etree._Element, type_id: str) -> LNodeTypeDef | None:
        owner = f"LNodeType {type_id!r}"
        ln_class = (element.get("lnClass") or "").strip()
        if not ln_class:
            self.diagnostics.warning(
                element.sourceline, f"{owner}: no 'lnClass'", rule="required", tag="LNodeType"
            )
        dropped = self._children(element, "LNodeType", owner)
        dos = [
            self._sub(e, "DO", owner) for e in scl_children(element, "DO") if id(e) not in dropped
        ]
        kept = _resolve_counts([d for d in dos if d is not None], owner, self.diagnostics)
        return LNodeTypeDef(type_id, ln_class, tuple(kept), line_of(element))

    def do_type(self, element: etree._Element, type_id: str) -> DOTypeDef | None:
        owner = f"DOType {type_id!r}"
        dropped = self._children(element, "DOType", owner)
        children: list[SubObjectDef | AttrDef] = []
        for child in element:
            if id(child) in dropped:
                continue
            child_kind = local_name(child)
            made: SubObjectDef | AttrDef | None = None
            if child_kind == "SDO":
                made = self._sub(child, "SDO", owner)
            elif child_kind == "DA":
                made = self._attr(child, True, owner)
            if made is not None:
                children.append(made)
        children = _resolve_counts(children, owner, self.diagnostics)
        return DOTypeDef(type_id, element.get("cdc", ""), tuple(children), line_of(element))

    def da_type(self, element: etree._Element, type_id: str) -> DATypeDef | None:
        owner = f"DAType {type_id!r}"
        dropped = self._children(element, "DAType", owner)
        bdas = [
            self._attr(e, False, owner)
            for e in scl_children(element, "BDA")
            if id(e) not in dropped
        ]
        kept = _resolve_counts([b for b in bdas if b is not None], owner, self.diagnostics)
        return DATypeDef(type_id, tuple(kept), line_of(element))

    def enum_type(self, element: etree._Element, type_id: str) -> EnumType | None:
        owner = f"EnumType {type_id!r}"
        dropped = self._children(element, "EnumType", owner)
        values: list[tuple[int, str]] = []
        for val in scl_children(element, "EnumVal"):
            if id(val) in dropped:
                continue
            ord_text = (val.get("ord") or "").strip()
            if not ord_text.lstrip("-").isdigit() or len(ord_text) > 11:
                self.diagnostics.error(
                    val.sourceline,
                    f"EnumVal of {owner} left out: ord {ord_text[:20]!r} is not an integer",
                    cost=f"EnumVal of {owner}",
                    rule="value",
                    tag="EnumVal",
                )
                continue
            values.append((int(ord_text), (val.text or "").strip()))
        return EnumType(type_id, tuple(values))

    # -- fast paths: the common, correct case only; None at anything else -----------------

    def _attr_fields(self, items: tuple[tuple[str, str], ...], is_da: bool) -> _AttrFields | None:
        """What a DA (``is_da``) or BDA with these attributes reads as, but its values and
        line; None when reading it would report anything."""
        attributes = dict(items)
        get = attributes.get
        name = (get("name") or "").strip()
        btype = _BTYPES.get((get("bType") or "").strip())
        if not name or btype is None:
            return None
        fc: FC | None = None
        if is_da:
            fc_text = (get("fc") or "").strip()
            fc = _FCS.get(fc_text) if (fc_text in self.schema_fcs or not self.schema_fcs) else None
            if fc is None:
                return None
        type_id = get("type")
        if btype in _TYPED:
            if not type_id:
                return None
        else:
            type_id = None
        count_text = (get("count") or "0").strip()
        if not count_text.isdigit() or len(count_text) >= 10:
            return None
        value_kind = get("valKind") or "Set"
        if self.value_kinds and value_kind not in self.value_kinds:
            return None
        return (
            name,
            btype,
            fc,
            type_id,
            int(count_text),
            (get("dchg") or "false").strip().lower() in _TRUE,
            (get("qchg") or "false").strip().lower() in _TRUE,
            (get("dupd") or "false").strip().lower() in _TRUE,
            value_kind,
        )

    def _attr_fast(self, element: etree._Element, is_da: bool) -> AttrDef | None:
        items: Any = tuple(element.items())
        key = (is_da, items)
        memo = self._attr_memo
        if key in memo:
            fields = memo[key]
        else:
            fields = memo[key] = self._attr_fields(items, is_da)
        if fields is None:
            return None
        name, btype, fc, type_id, count, dchg, qchg, dupd, value_kind = fields
        vals = _vals(element) if len(element) else ()
        return _make_attr(
            name,
            btype,
            fc,
            type_id,
            count,
            vals,
            line_of(element),
            dchg,
            qchg,
            dupd,
            value_kind,
            "",
        )

    @staticmethod
    def _sub_fast(element: etree._Element, kind: str) -> SubObjectDef | None:
        get = element.get
        name = (get("name") or "").strip()
        type_id = (get("type") or "").strip()
        count_text = (get("count") or "0").strip()
        if not name or not type_id or not count_text.isdigit() or len(count_text) >= 10:
            return None
        return _make_sub(name, type_id, int(count_text), line_of(element), "", kind)

    @staticmethod
    def _lnode_type_fast(element: etree._Element, type_id: str) -> LNodeTypeDef | None:
        ln_class = (element.get("lnClass") or "").strip()
        if not ln_class:
            return None
        dos: list[SubObjectDef] = []
        names: set[str] = set()
        add = names.add
        make = _make_sub
        child: Any
        for child in element.iterchildren(*_DO):
            get = child.get
            name = get("name")
            type_text = get("type")
            if not name or not type_text:
                return None
            count_text = get("count")
            count = 0
            if count_text is not None:
                count_text = (count_text or "0").strip()
                if not count_text.isdigit() or len(count_text) >= 10:
                    return None
                count = int(count_text)
            name = name.strip()
            type_text = type_text.strip()
            if not name or not type_text or name in names:
                return None
            add(name)
            dos.append(make(name, type_text, count, child.sourceline or 0, "", "DO"))
        return LNodeTypeDef(type_id, ln_class, tuple(dos), line_of(element))

    def _do_type_fast(self, element: etree._Element, type_id: str) -> DOTypeDef | None:
        children: list[SubObjectDef | AttrDef] = []
        names: set[str] = set()
        for child in element:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            name = child.get("name")
            if name is not None:
                key = name.strip()
                if key in names:
                    return None
                names.add(key)
            made: SubObjectDef | AttrDef | None
            if tag in _DA:
                made = self._attr_fast(child, True)
            elif tag in _SDO:
                made = self._sub_fast(child, "SDO")
            else:
                continue
            if made is None:
                return None
            children.append(made)
        return DOTypeDef(type_id, element.get("cdc", ""), tuple(children), line_of(element))

    def _da_type_fast(self, element: etree._Element, type_id: str) -> DATypeDef | None:
        bdas: list[AttrDef] = []
        names: set[str] = set()
        for child in element:
            if child.tag not in _BDA:
                continue
            made = self._attr_fast(child, False)
            if made is None or made.name in names:
                return None
            names.add(made.name)
            bdas.append(made)
        return DATypeDef(type_id, tuple(bdas), line_of(element))

    @staticmethod
    def _enum_type_fast(element: etree._Element, type_id: str) -> EnumType | None:
        values: list[tuple[int, str]] = []
        ords: set[str] = set()
        for child in element:
            if child.tag not in _ENUM_VAL:
                continue
            ord_text = child.get("ord")
            if ord_text is None:
                return None
            ord_text = ord_text.strip()
            if ord_text in ords or not ord_text.lstrip("-").isdigit() or len(ord_text) > 11:
                return None
            ords.add(ord_text)
            values.append((int(ord_text), (child.text or "").strip()))
        return EnumType(type_id, tuple(values))

    def read(self, templates: etree._Element | None) -> TypeDefs:
        """Read DataTypeTemplates; bad definitions are reported and left out."""
        if templates is None:
            return TypeDefs()
        d = self.diagnostics
        lnode: dict[str, LNodeTypeDef] = {}
        do: dict[str, DOTypeDef] = {}
        da: dict[str, DATypeDef] = {}
        enums: dict[str, EnumType] = {}
        enum_lines: dict[str, int] = {}
        dropped = report_clashes(
            self.rules.check("DataTypeTemplates", templates, keyrefs=False),
            "DataTypeTemplates",
            d,
        )
        fast_readers = self._fast
        for element in templates:
            kind = _KIND_OF.get(element.tag)
            if kind is None or (dropped and id(element) in dropped):
                continue
            type_id = (element.get("id") or "").strip()
            reader = fast_readers[kind]
            if type_id and reader is not None:
                quick = fast(reader, element, type_id)
                if isinstance(quick, LNodeTypeDef):
                    lnode.setdefault(type_id, quick)
                elif isinstance(quick, DOTypeDef):
                    do.setdefault(type_id, quick)
                elif isinstance(quick, DATypeDef):
                    da.setdefault(type_id, quick)
                elif isinstance(quick, EnumType):
                    enums.setdefault(type_id, quick)
                    enum_lines.setdefault(type_id, line_of(element))
                if quick is not None:
                    continue
            line = line_of(element)
            if not type_id:
                d.error(line, f"{kind} without id left out", cost=kind, rule="required", tag=kind)
                continue
            with d.scoped(f"{kind}:{type_id}"):
                what = f"{kind} {type_id!r}"
                if kind == "LNodeType":
                    made_ln = guarded(d, line, what, self.lnode_type, element, type_id)
                    if made_ln is not None:
                        lnode.setdefault(type_id, made_ln)
                elif kind == "DOType":
                    made_do = guarded(d, line, what, self.do_type, element, type_id)
                    if made_do is not None:
                        do.setdefault(type_id, made_do)
                elif kind == "DAType":
                    made_da = guarded(d, line, what, self.da_type, element, type_id)
                    if made_da is not None:
                        da.setdefault(type_id, made_da)
                else:
                    made_enum = guarded(d, line, what, self.enum_type, element, type_id)
                    if made_enum is not None:
                        enums.setdefault(type_id, made_enum)
                        enum_lines.setdefault(type_id, line)
        return TypeDefs(lnode, do, da, enums, enum_lines)


def _enumeration(facts: SchemaFacts, element: str, attribute: str) -> tuple[str, ...]:
    fact = facts.attribute(element, attribute)
    return fact.enumeration if fact is not None else ()


def read_typedefs(
    templates: etree._Element | None,
    diagnostics: Diagnostics,
    facts: SchemaFacts | None = None,
) -> TypeDefs:
    """Read DataTypeTemplates with the schema facts (ours by default)."""
    from gen61850.generator.scl.facts import schema_facts

    chosen = facts or schema_facts()
    return TemplateReader(chosen, IdentityRules(chosen), diagnostics).read(templates)


__all__ = [
    "AttrDef",
    "DATypeDef",
    "DOTypeDef",
    "LNodeTypeDef",
    "SubObjectDef",
    "TemplateReader",
    "TypeDefs",
    "read_typedefs",
    "tag_of",
]
