"""Identity constraints of the schema facts (``xs:unique``, ``xs:key``, ``xs:keyref``), applied.

``IdentityRules(facts)`` compiles every constraint once; ``check(scope, element)`` evaluates
those declared on ``scope`` against one element of the document and returns the clashes
(a second element with the key of an earlier one) and the dangling references (a keyref
value that no key of the same scope holds). It only finds them: the reader decides what a
clash costs (``Clash.same_kind``), since two names may be unique to the schema and still
address different things (a GOOSE and a report control block, for instance, live under
different MMS functional constraints).

Constraints declared on ``SCL`` span the whole file, which is streamed: ``DocumentIdentities``
takes the top-level sections one at a time and keeps only key values and lines.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from lxml import etree

from gen61850.generator.scl import guard
from gen61850.generator.scl.diagnostics import Diagnostics
from gen61850.generator.scl.facts import IdentityFact, SchemaFacts
from gen61850.generator.scl.xmlread import SCL_NS, line_of, local_name

_NS = "{" + SCL_NS + "}"
_ONE_NAMESPACE = {"DA", "SDO"}  # data attributes and sub data objects share their names


@dataclass(frozen=True, slots=True)
class Found:
    """An element a selector found: its line, tag, key and functional group (``fc``)."""

    line: int
    tag: str
    key: tuple[str, ...]
    group: str
    element: etree._Element | None = None  # only while the element is alive


@dataclass(frozen=True, slots=True)
class Clash:
    """``second`` repeats the key of ``first`` under a unique/key constraint."""

    constraint: IdentityFact
    first: Found
    second: Found

    @property
    def same_kind(self) -> bool:
        """Whether both address the same thing (same kind of element, or a DA and an SDO,
        in the same functional group): only then does the second one have to be left out."""
        tags = {self.first.tag, self.second.tag}
        if len(tags) > 1 and tags != _ONE_NAMESPACE:
            return False
        groups = {self.first.group, self.second.group}
        return len(groups) == 1 or "*" in groups

    def describe(self) -> str:
        key = ", ".join(repr(k) for k in self.second.key)
        return f"{self.second.tag} {key} repeats the {self.first.tag} of line {self.first.line}"


@dataclass(frozen=True, slots=True)
class Dangling:
    """A keyref value that names no key."""

    constraint: IdentityFact
    found: Found


def group_of(element: etree._Element, tag: str) -> str:
    """The MMS functional group an element's name lives in (two elements with the same name
    but different groups have different MMS names)."""
    if tag == "ReportControl":
        return "BR" if (element.get("buffered") or "").strip() in ("true", "1") else "RP"
    if tag == "SampledValueControl":
        return "US" if (element.get("multicast") or "").strip() in ("false", "0") else "MS"
    if tag == "GSEControl":
        return "GS" if (element.get("type") or "").strip() == "GSSE" else "GO"
    if tag == "DA":
        return element.get("fc") or ""
    if tag == "SDO":
        return "*"  # a sub data object has attributes of any functional constraint
    return ""


def _select(element: etree._Element, steps: tuple[str, ...]) -> Iterator[etree._Element]:
    if len(steps) == 1 and steps[0] not in ("*", "//"):
        yield from element.iterchildren(_NS + steps[0], steps[0])
        return
    current = [element]
    descend = False
    for step in steps:
        if step == "//":
            descend = True
            continue
        found: list[etree._Element] = []
        for node in current:
            if step == "*":
                candidates = node.iterdescendants() if descend else node.iterchildren()
                found.extend(c for c in candidates if isinstance(c.tag, str))
            elif descend:
                found.extend(node.iterdescendants(_NS + step, step))
            else:
                found.extend(node.iterchildren(_NS + step, step))
        current = found
        descend = False
    yield from current


def _key(element: etree._Element, fields: tuple[str, ...]) -> tuple[str, ...] | None:
    """The field values (None when one is missing: the element takes no part)."""
    if len(fields) == 1 and fields[0] != ".":
        value = element.get(fields[0][1:])
        return None if value is None else (value.strip(),)
    values: list[str] = []
    for name in fields:
        if name == ".":
            values.append((element.text or "").strip())
            continue
        value = element.get(name.removeprefix("@"))
        if value is None:
            return None
        values.append(value.strip())
    return tuple(values)


def _distinct(
    children: Mapping[str, list[etree._Element]], names: tuple[str, ...], field: str | None
) -> bool:
    """Whether the children called ``names`` (all held in ``children``) have the attribute
    ``field`` each, with values that differ once stripped: then no two of them clash."""
    if field is None:
        return False
    nodes: list[etree._Element] = []
    for name in names:
        found = children.get(name)
        if found is None:
            return False
        nodes += found
    if len(nodes) < 2:
        return True
    values = [node.get(field) for node in nodes]
    if None in values:
        return False
    return len({value.strip() for value in values}) == len(values)  # type: ignore[union-attr]


def _found(element: etree._Element, key: tuple[str, ...], keep: bool) -> Found:
    tag = local_name(element) or ""
    return Found(line_of(element), tag, key, group_of(element, tag), element if keep else None)


@dataclass
class Result:
    clashes: list[Clash] = field(default_factory=list)
    dangling: list[Dangling] = field(default_factory=list)

    def left_out(self) -> dict[int, etree._Element]:
        """The elements a same-kind clash leaves out (the later ones), by ``id``.

        The elements are held in the result: lxml element objects are proxies, and an id is
        only unique while its proxy lives.
        """
        return {
            id(c.second.element): c.second.element
            for c in self.clashes
            if c.same_kind and c.second.element is not None
        }


class IdentityRules:
    """The compiled constraints of one schema, by the element they are declared on."""

    def __init__(self, facts: SchemaFacts) -> None:
        self.by_scope: dict[str, tuple[IdentityFact, ...]] = {}
        for identity in facts.identities:
            self.by_scope[identity.scope] = (*self.by_scope.get(identity.scope, ()), identity)
        self.keys = {i.name: i for i in facts.identities if i.kind in ("key", "unique")}
        # constraints whose selectors are all one step: the names of those steps
        self.one_step: dict[str, tuple[str, ...]] = {
            i.name: tuple(s[0] for s in i.selector)
            for i in facts.identities
            if all(len(s) == 1 and s[0] not in ("*", "//") for s in i.selector)
        }
        # keys some keyref of the same scope refers to (their tables are looked up)
        self.referred = frozenset(
            (i.scope, i.refer) for i in facts.identities if i.kind == "keyref"
        )
        # of those one-step constraints, the ones with one attribute field: the attribute
        self.single: dict[str, str] = {
            i.name: i.fields[0][1:]
            for i in facts.identities
            if i.name in self.one_step and len(i.fields) == 1 and i.fields[0].startswith("@")
        }

    def has(self, scope: str) -> bool:
        return scope in self.by_scope

    def child_keys(self, scope: str) -> frozenset[tuple[tuple[str, ...], tuple[str, ...]]] | None:
        """The unique/key constraints declared on ``scope`` as (child names, fields) pairs,
        when each selects direct children (a name or ``*``) by attributes only; None when
        one does more. A reader's fast path implements one such set of rules and runs only
        when the schema's rules for the scope are exactly those (else the general check)."""
        found: set[tuple[tuple[str, ...], tuple[str, ...]]] = set()
        for constraint in self.by_scope.get(scope, ()):
            if constraint.kind == "keyref":
                continue
            if any(len(s) != 1 or s[0] == "//" for s in constraint.selector):
                return None
            if any(not f.startswith("@") for f in constraint.fields):
                return None
            names = tuple(sorted(s[0] for s in constraint.selector))
            found.add((names, tuple(f[1:] for f in constraint.fields)))
        return frozenset(found)

    def check(
        self,
        scope: str,
        element: etree._Element,
        children: Mapping[str, list[etree._Element]] | None = None,
        skip: frozenset[str] = frozenset(),
        *,
        keyrefs: bool = True,
    ) -> Result:
        """Every constraint declared on ``scope``, evaluated on ``element``.

        Runs for every LN, type and DOI of a file: keys are plain tuples in a dict, and the
        element descriptions (``Found``) are made only for what clashes or dangles.
        ``children``: the element's children by local name, when the caller has them (a name
        it holds, even with an empty list, is taken as complete; others are looked up);
        ``skip``: keys whose references are checked elsewhere; ``keyrefs=False``: no
        dangling references are looked for (the caller reports only clashes). A constraint
        on children the caller holds, whose table no keyref looks up, is settled by one set
        of its values when they all differ (``_distinct``; the general loop otherwise).
        """
        result = Result()
        constraints = self.by_scope.get(scope)
        if not constraints:
            return result
        tables: dict[str, dict[tuple[str, ...], etree._Element]] = {}
        one_step = self.one_step
        fast_path = guard.FAST  # (the tests compare it with the general check, ``FAST``)
        for constraint in constraints:
            if constraint.kind == "keyref":
                continue
            names = one_step.get(constraint.name)
            if (
                fast_path
                and children is not None
                and names is not None
                and (scope, constraint.name) not in self.referred
                and _distinct(children, names, self.single.get(constraint.name))
            ):
                continue  # no keyref looks its table up, and no two of its keys are equal
            if (
                fast_path
                and children is not None
                and names is not None
                and all(n in children for n in names)
                and sum(len(children[n]) for n in names) < 2
            ):
                tables[constraint.name] = {
                    key: node
                    for n in names
                    for node in children[n]
                    if (key := _key(node, constraint.fields)) is not None
                }
                continue  # fewer than two elements: nothing can clash
            table = tables.setdefault(constraint.name, {})
            fields = constraint.fields
            single = fields[0][1:] if len(fields) == 1 and fields[0] != "." else None
            for steps in constraint.selector:
                if single is not None and len(steps) == 1 and steps[0] not in ("*", "//"):
                    nodes = (
                        children[steps[0]]
                        if children is not None and steps[0] in children
                        else element.iterchildren(_NS + steps[0], steps[0])
                    )
                    for node in nodes:
                        value = node.get(single)  # the common case, kept tight
                        if value is None:
                            continue
                        one: tuple[str, ...] = (value.strip(),)
                        first = table.setdefault(one, node)
                        if first is not node:
                            result.clashes.append(
                                Clash(constraint, _found(first, one, True), _found(node, one, True))
                            )
                    continue
                for node in _select(element, steps):
                    key = _key(node, fields)
                    if key is None:
                        continue
                    first = table.setdefault(key, node)
                    if first is not node:
                        result.clashes.append(
                            Clash(constraint, _found(first, key, True), _found(node, key, True))
                        )
        for constraint in constraints if keyrefs else ():
            if constraint.kind != "keyref" or constraint.refer in skip:
                continue
            keys = tables.get(constraint.refer)
            if keys is None:
                continue  # the key is declared elsewhere (another scope)
            for steps in constraint.selector:
                nodes = (
                    children[steps[0]]
                    if children is not None and len(steps) == 1 and steps[0] in children
                    else _select(element, steps)
                )
                for node in nodes:
                    key = _key(node, constraint.fields)
                    if key is not None and key not in keys:
                        result.dangling.append(Dangling(constraint, _found(node, key, True)))
        if result.clashes:
            seen: set[int] = set()
            unique: list[Clash] = []
            for clash in result.clashes:  # one report per element, from its first constraint
                if id(clash.second.element) not in seen:
                    seen.add(id(clash.second.element))
                    unique.append(clash)
            result.clashes = sorted(unique, key=lambda c: (c.second.line, c.constraint.name))
        return result


class DocumentIdentities:
    """The constraints declared on ``SCL``, fed one top-level section at a time."""

    def __init__(self, rules: IdentityRules, skip: frozenset[str] = frozenset()) -> None:
        """``skip``: keys whose references are checked elsewhere (not collected here)."""
        self.constraints = tuple(
            c for c in rules.by_scope.get("SCL", ()) if not (c.kind == "keyref" and c.refer in skip)
        )
        self.tables: dict[str, dict[tuple[str, ...], Found]] = {}
        self.references: list[tuple[IdentityFact, Found]] = []

    def feed(self, section: etree._Element) -> list[Clash]:
        """Add one top-level section; returns the clashes it brings (elements still alive)."""
        name = local_name(section) or ""
        clashes: list[Clash] = []
        for constraint in self.constraints:
            for steps in constraint.selector:
                if not steps or steps[0] not in (name, "*"):
                    continue
                nodes = [section] if len(steps) == 1 else list(_select(section, steps[1:]))
                for node in nodes:
                    key = _key(node, constraint.fields)
                    if key is None:
                        continue
                    if constraint.kind == "keyref":
                        self.references.append((constraint, _found(node, key, keep=False)))
                        continue
                    table = self.tables.setdefault(constraint.name, {})
                    found = _found(node, key, keep=True)
                    first = table.get(key)
                    if first is None:
                        table[key] = _found(node, key, keep=False)
                    else:
                        clashes.append(Clash(constraint, first, found))
        return clashes

    def dangling(self) -> list[Dangling]:
        """Every keyref value fed so far that names no key (call once all is fed)."""
        found: list[Dangling] = []
        for constraint, reference in self.references:
            keys: Mapping[tuple[str, ...], Found] | None = self.tables.get(constraint.refer)
            if keys is not None and reference.key not in keys:
                found.append(Dangling(constraint, reference))
        return found


def report_clashes(
    result: Result, where: str, diagnostics: Diagnostics
) -> dict[int, etree._Element]:
    """Report the clashes of one scope; returns the ids of the elements they leave out.

    A clash of the same kind (same element kind and functional group: the same MMS name)
    is an error that leaves the later element out; other clashes break the schema's
    uniqueness but are kept, with a warning.
    """
    for clash in result.clashes:
        if diagnostics.reported(clash.second.line, "identity", clash.second.tag):
            continue  # one clash per element, even when two constraints see it
        key = " ".join(clash.second.key).strip()
        what = f"{clash.second.tag} {key!r}"
        if clash.same_kind:
            diagnostics.error(
                clash.second.line,
                f"duplicate {what} in {where} (first at line {clash.first.line}; schema: "
                f"{clash.constraint.name}): the later one is left out",
                cost=f"{what} of {where}",
                rule="identity",
                tag=clash.second.tag,
            )
        else:
            diagnostics.warning(
                clash.second.line,
                f"{what} in {where} has the name of the {clash.first.tag} at line "
                f"{clash.first.line} (schema: {clash.constraint.name}); both are kept, "
                "their MMS names differ",
                rule="identity",
                tag=clash.second.tag,
            )
    return result.left_out()


__all__ = [
    "Clash",
    "Dangling",
    "DocumentIdentities",
    "Found",
    "IdentityRules",
    "group_of",
    "report_clashes",
]
