"""Link the templates: each DOType/DAType reference followed, each type instantiated once.

``TypeGraph`` looks at the whole reference graph first, without recursion: a reference that
closes a loop, or that would make a type nest more than ``MAX_DEPTH`` levels deep, is cut
(a located error: that child is left out of its type). What remains is acyclic and shallow,
so ``TypeInstantiator`` can build the shared frozen subtrees of the runtime model, and every
later walk over them (MMS names, emitted code, the runtime's own walks) stays bounded.
A reference to a type that does not exist leaves the referring child out, once per type.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from gen61850.generator.scl.cache import ResolutionCache
from gen61850.generator.scl.diagnostics import Diagnostics
from gen61850.generator.scl.typedefs import AttrDef, SubObjectDef, TypeDefs, tag_of
from gen61850.generator.scl.values import ValueProblem, convert
from gen61850.runtime.device import FC, BasicType, DataAttribute, DataObject, EnumType
from gen61850.runtime.device.types import Value

MAX_DEPTH = 24
"""Levels of DOType/DAType nesting below a data object (real models use fewer than 10)."""

TypeKey = tuple[str, str]  # ("DO" | "DA", id)
Child = SubObjectDef | AttrDef


def _target(child: Child) -> TypeKey | None:
    if isinstance(child, SubObjectDef):
        return ("DO", child.type_id)
    if child.btype is BasicType.STRUCT and child.type_id:
        return ("DA", child.type_id)
    return None


@dataclass
class TypeGraph:
    """Depth of every DOType/DAType and the references cut (owner, child index)."""

    depth: dict[TypeKey, int] = field(default_factory=dict)
    cut: set[tuple[TypeKey, int]] = field(default_factory=set)

    @classmethod
    def analyse(cls, typedefs: TypeDefs, diagnostics: Diagnostics) -> TypeGraph:
        graph = cls()
        children: dict[TypeKey, tuple[Child, ...]] = {}
        lines: dict[TypeKey, int] = {}
        for do_id, definition in typedefs.do_types.items():
            children[("DO", do_id)] = definition.children
            lines[("DO", do_id)] = definition.line
        for da_id, da_definition in typedefs.da_types.items():
            children[("DA", da_id)] = da_definition.bdas
            lines[("DA", da_id)] = da_definition.line
        state: dict[TypeKey, int] = {}  # 1: on the path, 2: done
        for root in sorted(children, key=lambda k: (lines[k], k)):
            if root in state:
                continue
            state[root] = 1
            stack: list[list[object]] = [[root, 0, 1]]  # node, next child, depth so far
            while stack:
                frame = stack[-1]
                node, index, best = frame[0], frame[1], frame[2]
                assert isinstance(node, tuple) and isinstance(index, int)
                assert isinstance(best, int)
                kids = children[node]
                if index >= len(kids):
                    graph.depth[node] = best
                    state[node] = 2
                    stack.pop()
                    continue
                child = kids[index]
                target = _target(child)
                if target is None or target not in children:
                    frame[1] = index + 1
                    continue
                seen = state.get(target)
                if seen is None:
                    state[target] = 1
                    stack.append([target, 0, 1])
                    continue  # this child is looked at again once the target is done
                frame[1] = index + 1
                owner = _owner(node)
                if seen == 1:
                    graph.cut.add((node, index))
                    with diagnostics.scoped(_scope(node)):
                        diagnostics.error(
                            child.line,
                            f"{_owner(target)} contains itself: {_kind(child)} "
                            f"{child.name!r} of {owner} left out",
                            cost=f"{_kind(child)} {child.name!r} of {owner}",
                            rule="reference",
                            tag=tag_of(child),
                        )
                    continue
                below = graph.depth[target]
                if below + 1 > MAX_DEPTH:
                    graph.cut.add((node, index))
                    with diagnostics.scoped(_scope(node)):
                        diagnostics.error(
                            child.line,
                            f"{_kind(child)} {child.name!r} of {owner} left out: "
                            f"{_owner(target)} nests {below} levels deep, more than "
                            f"{MAX_DEPTH - 1} are not read",
                            cost=f"{_kind(child)} {child.name!r} of {owner}",
                            rule="depth",
                            tag=tag_of(child),
                        )
                    continue
                frame[2] = max(best, below + 1)
        return graph

    def kept(self, key: TypeKey, children: tuple[Child, ...]) -> list[tuple[int, Child]]:
        return [(i, c) for i, c in enumerate(children) if (key, i) not in self.cut]


def _kind(child: Child) -> str:
    return tag_of(child)


def _owner(key: TypeKey) -> str:
    return f"{key[0]}Type {key[1]!r}"


def _scope(key: TypeKey) -> str:
    return f"{key[0]}Type:{key[1]}"


class TypeInstantiator:
    """DOType/DAType ids → shared frozen model subtrees (cached in ``cache``)."""

    def __init__(
        self,
        typedefs: TypeDefs,
        diagnostics: Diagnostics,
        cache: ResolutionCache | None = None,
        graph: TypeGraph | None = None,
    ) -> None:
        self.typedefs = typedefs
        self.diagnostics = diagnostics
        self.cache = cache or ResolutionCache()
        self.graph = graph or TypeGraph.analyse(typedefs, diagnostics)
        self._missing: set[tuple[str, str, int]] = set()  # reported once per reference

    def enums_of(self, kind: str, type_id: str) -> dict[str, EnumType]:
        """Enum types used below an LNodeType / DOType / DAType (memoised per type id)."""
        key = (kind, type_id)
        memo = self.cache.enums
        if key in memo:
            return memo[key]
        memo[key] = {}  # guards against any loop the graph missed
        found: dict[str, EnumType] = {}
        defs = self.typedefs
        children: list[tuple[int, Child]] = []
        if kind == "LN" and type_id in defs.lnode_types:
            children = list(enumerate(defs.lnode_types[type_id].dos))
        elif kind == "DO" and type_id in defs.do_types:
            children = self.graph.kept(("DO", type_id), defs.do_types[type_id].children)
        elif kind == "DA" and type_id in defs.da_types:
            children = self.graph.kept(("DA", type_id), defs.da_types[type_id].bdas)
        for _, child in children:
            if isinstance(child, SubObjectDef):
                found.update(self.enums_of("DO", child.type_id))
            elif child.btype is BasicType.STRUCT and child.type_id:
                found.update(self.enums_of("DA", child.type_id))
            elif (
                child.btype is BasicType.ENUM and child.type_id and child.type_id in defs.enum_types
            ):
                found[child.type_id] = defs.enum_types[child.type_id]
        memo[key] = found
        return found

    def _missing_once(self, kind: str, type_id: str, line: int) -> bool:
        key = (kind, type_id, line)
        if key in self._missing:
            return False
        self._missing.add(key)
        return True

    def enum(self, type_id: str | None, line: int, what: str, tag: str = "") -> EnumType | None:
        if type_id is None:
            return None
        found = self.typedefs.enum_types.get(type_id)
        if found is None and self._missing_once("Enum", type_id, line):
            self.diagnostics.error(
                line,
                f"{what} left out: EnumType {type_id!r} not found",
                cost=what,
                rule="reference",
                tag=tag,
            )
        return found

    def attribute(self, d: AttrDef, fc: FC, owner: str = "") -> DataAttribute | None:
        kind = "DA" if d.fc is not None else "BDA"
        what = f"{kind} {d.name!r}" + (f" of {owner}" if owner else "")
        components: tuple[DataAttribute, ...] = ()
        enum = None
        if d.btype is BasicType.STRUCT:
            found = self.struct(d.type_id or "", d.line, what, kind)
            if found is None:
                return None
            key = (d.type_id or "", fc)
            memo = self.cache.with_fc
            if key not in memo:
                memo[key] = tuple(_with_fc(c, fc) for c in found)
            components = memo[key]
        elif d.btype is BasicType.ENUM:
            enum = self.enum(d.type_id, d.line, what, kind)
            if enum is None:
                return None
        value = self.value(d.vals, d.btype, enum, d.count, d.line, d.name, kind)
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
        tag: str = "",
    ) -> Value | None:
        if not vals or btype is BasicType.STRUCT:
            return None
        key = (vals, btype, enum.id if enum is not None else None, bool(count))
        memo = self.cache.values
        if key in memo:
            return memo[key]
        try:
            converted = tuple(convert(v, btype, enum) for v in vals)
        except ValueProblem as problem:
            self.diagnostics.warning(
                line, f"value of {name!r} ignored: {problem}", rule="value", tag=tag
            )
            return None
        result = converted if count else converted[0]
        memo[key] = result
        return result

    def struct(
        self, type_id: str, line: int, what: str, tag: str = ""
    ) -> tuple[DataAttribute, ...] | None:
        """The BDAs of DAType ``type_id`` (FC filled in by the caller)."""
        memo = self.cache.structs
        if type_id in memo:
            return memo[type_id]
        definition = self.typedefs.da_types.get(type_id)
        if definition is None:
            if self._missing_once("DA", type_id, line):
                self.diagnostics.error(
                    line,
                    f"{what} left out: DAType {type_id!r} not found",
                    cost=what,
                    rule="reference",
                    tag=tag,
                )
            return None
        made = []
        with self.diagnostics.scoped(f"DAType:{type_id}"):
            for _, bda in self.graph.kept(("DA", type_id), definition.bdas):
                if isinstance(bda, AttrDef):
                    made.append(self.attribute(bda, FC.ST, f"DAType {type_id!r}"))
        result = tuple(m for m in made if m is not None)
        memo[type_id] = result
        return result

    def data_object(self, sub: SubObjectDef, kind: str, owner: str = "") -> DataObject | None:
        key = (sub.name, sub.type_id, sub.count)
        memo = self.cache.data_objects
        if key in memo:
            return memo[key]
        known = self.cache.do_children.get(sub.type_id)
        if known is not None:  # the type is built: only this name is new
            cdc = self.typedefs.do_types[sub.type_id].cdc
            made = DataObject(sub.name, sub.type_id, cdc, sub.count, known)
            memo[key] = made
            return made
        definition = self.typedefs.do_types.get(sub.type_id)
        if definition is None:
            what = f"{kind} {sub.name!r}" + (f" of {owner}" if owner else "")
            if self._missing_once("DO", sub.type_id, sub.line):
                self.diagnostics.error(
                    sub.line,
                    f"{what} left out: DOType {sub.type_id!r} not found",
                    cost=what,
                    rule="reference",
                    tag=sub.tag,
                )
            memo[key] = None
            return None
        children: list[DataObject | DataAttribute] = []
        type_owner = f"DOType {sub.type_id!r}"
        with self.diagnostics.scoped(f"DOType:{sub.type_id}"):
            for _, child in self.graph.kept(("DO", sub.type_id), definition.children):
                if isinstance(child, SubObjectDef):
                    made_do = self.data_object(child, "SDO", type_owner)
                    if made_do is not None:
                        children.append(made_do)
                else:
                    made_da = self.attribute(child, child.fc or FC.ST, type_owner)
                    if made_da is not None:
                        children.append(made_da)
        built = self.cache.do_children[sub.type_id] = tuple(children)
        result = DataObject(sub.name, sub.type_id, definition.cdc, sub.count, built)
        memo[key] = result
        return result


def types_below(typedefs: TypeDefs, ln_type: str) -> set[str]:
    """Scopes (``LNodeType:id``, ``DOType:id`` …) of every type an LNodeType uses: what its
    LNs may have lost when one of those types had a problem."""
    found: set[str] = set()
    definition = typedefs.lnode_types.get(ln_type)
    if definition is None:
        return found
    found.add(f"LNodeType:{ln_type}")
    pending: list[TypeKey] = [("DO", d.type_id) for d in definition.dos]
    while pending:
        key = pending.pop()
        scope = _scope(key)
        if scope in found:
            continue
        found.add(scope)
        if key[0] == "DO" and key[1] in typedefs.do_types:
            kids: tuple[Child, ...] = typedefs.do_types[key[1]].children
        elif key[0] == "DA" and key[1] in typedefs.da_types:
            kids = typedefs.da_types[key[1]].bdas
        else:
            continue
        for child in kids:
            target = _target(child)
            if target is not None:
                pending.append(target)
            elif isinstance(child, AttrDef) and child.btype is BasicType.ENUM:
                found.add(f"EnumType:{child.type_id}")
    return found


def _with_fc(attribute: DataAttribute, fc: FC) -> DataAttribute:
    """``attribute`` and its components under functional constraint ``fc``."""
    return replace(
        attribute, fc=fc, components=tuple(_with_fc(c, fc) for c in attribute.components)
    )


__all__ = ["MAX_DEPTH", "TypeGraph", "TypeInstantiator", "types_below"]
