"""DataTypeTemplates as a typed IR: LNodeType, DOType (DA/SDO), DAType (BDA), EnumType.

This pass only reads and checks each definition on its own (ids present and unique, known
basic types, FCs); following references between types is the resolver's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

from lxml import etree

from gen61850.generator.scl.diagnostics import Diagnostics
from gen61850.generator.scl.xmlread import line_of, local_name, scl_children
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


def _count(element: etree._Element, diagnostics: Diagnostics) -> int | str:
    """The array size: a number, or (Ed. 2.1) the name of a sibling attribute holding it."""
    text = element.get("count", "0").strip()
    if text.isdigit():
        return int(text)
    if text.isidentifier():
        return text  # resolved by _resolve_counts once the siblings are known
    diagnostics.warning(element.sourceline, f"count {text!r} is neither a number nor a name")
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
            if text.isdigit():
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
                )
                child = replace(child, count=0, count_ref="")
        resolved.append(child)
    return resolved


def _split_count(count: int | str) -> tuple[int, str]:
    return (count, "") if isinstance(count, int) else (0, count)


def _vals(element: etree._Element) -> tuple[str, ...]:
    vals = scl_children(element, "Val")
    plain = [v for v in vals if v.get("sGroup") in (None, "1")] or vals
    return tuple(v.text or "" for v in plain)


def _attr(element: etree._Element, is_da: bool, diagnostics: Diagnostics) -> AttrDef | None:
    kind = "DA" if is_da else "BDA"
    line = line_of(element)
    name = element.get("name")
    if not name:
        diagnostics.error(line, f"{kind} without name")
        return None
    btext = element.get("bType", "")
    btype = _BTYPES.get(btext)
    if btype is None:
        diagnostics.error(line, f"{kind} {name!r}: unknown bType {btext!r}")
        return None
    fc: FC | None = None
    if is_da:
        fc_text = element.get("fc", "")
        fc = _FCS.get(fc_text)
        if fc is None:
            diagnostics.error(line, f"DA {name!r}: unknown functional constraint {fc_text!r}")
            return None
    type_id = element.get("type")
    if btype in (BasicType.STRUCT, BasicType.ENUM) and not type_id:
        diagnostics.warning(line, f"{kind} {name!r} left out: bType {btext} without type")
        return None
    count, count_ref = _split_count(_count(element, diagnostics))
    return AttrDef(
        name=name,
        btype=btype,
        fc=fc,
        type_id=type_id if btype in (BasicType.STRUCT, BasicType.ENUM) else None,
        count=count,
        count_ref=count_ref,
        vals=_vals(element),
        line=line,
        dchg=element.get("dchg", "false").lower() in _TRUE,
        qchg=element.get("qchg", "false").lower() in _TRUE,
        dupd=element.get("dupd", "false").lower() in _TRUE,
        value_kind=element.get("valKind", "Set"),
    )


def _sub(element: etree._Element, kind: str, diagnostics: Diagnostics) -> SubObjectDef | None:
    name, type_id = element.get("name"), element.get("type")
    if not name or not type_id:
        missing = "name" if not name else "type"
        diagnostics.error(element.sourceline, f"{kind} {name or ''!r} without {missing}")
        return None
    count, count_ref = _split_count(_count(element, diagnostics))
    return SubObjectDef(name, type_id, count, line_of(element), count_ref)


def _unique(items: list[tuple[str, int]], kind: str, owner: str, diagnostics: Diagnostics) -> None:
    seen: set[str] = set()
    for name, line in items:
        if name in seen:
            diagnostics.error(line, f"duplicate {kind} {name!r} in {owner}")
        seen.add(name)


def read_typedefs(templates: etree._Element | None, diagnostics: Diagnostics) -> TypeDefs:
    """Read DataTypeTemplates; bad definitions are reported and left out."""
    if templates is None:
        return TypeDefs()
    lnode: dict[str, LNodeTypeDef] = {}
    do: dict[str, DOTypeDef] = {}
    da: dict[str, DATypeDef] = {}
    enums: dict[str, EnumType] = {}
    enum_lines: dict[str, int] = {}
    for element in templates:
        kind = local_name(element)
        if kind not in ("LNodeType", "DOType", "DAType", "EnumType"):
            continue
        line = line_of(element)
        type_id = element.get("id")
        if not type_id:
            diagnostics.error(line, f"{kind} without id")
            continue
        registry: dict[str, object] = {
            "LNodeType": lnode,
            "DOType": do,
            "DAType": da,
            "EnumType": enums,
        }[kind]  # type: ignore[assignment]
        if type_id in registry:
            diagnostics.error(line, f"duplicate {kind} id {type_id!r}")
            continue
        if kind == "LNodeType":
            dos = [_sub(e, "DO", diagnostics) for e in scl_children(element, "DO")]
            kept = tuple(
                _resolve_counts(
                    [d for d in dos if d is not None], f"LNodeType {type_id!r}", diagnostics
                )
            )
            _unique([(d.name, d.line) for d in kept], "DO", f"LNodeType {type_id!r}", diagnostics)
            lnode[type_id] = LNodeTypeDef(type_id, element.get("lnClass", ""), kept, line)
        elif kind == "DOType":
            children: list[SubObjectDef | AttrDef] = []
            for child in element:
                child_kind = local_name(child)
                made: SubObjectDef | AttrDef | None = None
                if child_kind == "SDO":
                    made = _sub(child, "SDO", diagnostics)
                elif child_kind == "DA":
                    made = _attr(child, True, diagnostics)
                if made is not None:
                    children.append(made)
            _unique(
                [(c.name, c.line) for c in children], "DA/SDO", f"DOType {type_id!r}", diagnostics
            )
            children = _resolve_counts(children, f"DOType {type_id!r}", diagnostics)
            do[type_id] = DOTypeDef(type_id, element.get("cdc", ""), tuple(children), line)
        elif kind == "DAType":
            bdas = [_attr(e, False, diagnostics) for e in scl_children(element, "BDA")]
            kept_bdas = tuple(
                _resolve_counts(
                    [b for b in bdas if b is not None], f"DAType {type_id!r}", diagnostics
                )
            )
            _unique(
                [(b.name, b.line) for b in kept_bdas], "BDA", f"DAType {type_id!r}", diagnostics
            )
            da[type_id] = DATypeDef(type_id, kept_bdas, line)
        else:
            values: list[tuple[int, str]] = []
            for val in scl_children(element, "EnumVal"):
                ord_text = val.get("ord", "")
                try:
                    ordinal = int(ord_text)
                except ValueError:
                    diagnostics.error(val.sourceline, f"EnumVal ord {ord_text!r} is not an integer")
                    continue
                if any(o == ordinal for o, _ in values):
                    diagnostics.error(
                        val.sourceline, f"duplicate ord {ordinal} in EnumType {type_id!r}"
                    )
                    continue
                values.append((ordinal, (val.text or "").strip()))
            enums[type_id] = EnumType(type_id, tuple(values))
            enum_lines[type_id] = line
    return TypeDefs(lnode, do, da, enums, enum_lines)


__all__ = [
    "AttrDef",
    "DATypeDef",
    "DOTypeDef",
    "LNodeTypeDef",
    "SubObjectDef",
    "TypeDefs",
    "read_typedefs",
]
