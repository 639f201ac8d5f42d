"""Front end: the value facets of an XSD's elements (and which types are choices), read
from the schema itself.

xsdata's bindings keep explicit facets (``minLength``, ``pattern``, ...) but drop what the
built-in types imply (``xs:unsignedInt`` is 0..4294967295, ``xs:short`` -32768..32767), so
the codec generator reads both here: for every element of every named complex type, the
bounds its simple type allows, following ``xs:restriction`` chains down to the built-in
type. The result is keyed by (complex type name, element name), the names the bindings
keep in ``Meta.name`` and the field metadata, so it joins the bindings IR without guessing.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path

from gen61850.runtime.errors import Gen61850Error

XS = "{http://www.w3.org/2001/XMLSchema}"

# Value ranges the XSD built-in integer types imply (XML Schema part 2, 3.3.13 to 3.3.25).
BUILTIN_RANGES: dict[str, tuple[int | None, int | None]] = {
    "integer": (None, None),
    "long": (-(1 << 63), (1 << 63) - 1),
    "int": (-(1 << 31), (1 << 31) - 1),
    "short": (-(1 << 15), (1 << 15) - 1),
    "byte": (-(1 << 7), (1 << 7) - 1),
    "nonNegativeInteger": (0, None),
    "positiveInteger": (1, None),
    "nonPositiveInteger": (None, 0),
    "negativeInteger": (None, -1),
    "unsignedLong": (0, (1 << 64) - 1),
    "unsignedInt": (0, (1 << 32) - 1),
    "unsignedShort": (0, (1 << 16) - 1),
    "unsignedByte": (0, (1 << 8) - 1),
}


class FacetError(Gen61850Error):
    """A facet the codec cannot check (names the schema type)."""


@dataclass(frozen=True)
class Facets:
    """What a simple value may be: integer range, length (characters, or octets of a
    ``hexBinary``), and a pattern (XSD regular expression, implicitly anchored)."""

    base: str = "string"
    min_value: int | None = None
    max_value: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    patterns: tuple[str, ...] = ()  # each must match (one per restriction step)

    @property
    def bounded(self) -> bool:
        limits = (self.min_value, self.max_value, self.min_length, self.max_length)
        return bool(self.patterns) or any(v is not None for v in limits)


def _local(qname: str) -> tuple[bool, str]:
    """(is an XSD built-in, local name) of a ``type``/``base`` attribute value."""
    prefix, _, local = qname.rpartition(":")
    return prefix in ("xs", "xsd"), local


def _at_least(current: int | None, value: int) -> int:
    return value if current is None else max(current, value)


def _at_most(current: int | None, value: int) -> int:
    return value if current is None else min(current, value)


class _Schema:
    def __init__(self, roots: list[ET.Element]) -> None:
        self.simple: dict[str, ET.Element] = {}
        self.complex: dict[str, ET.Element] = {}
        for root in roots:
            for node in root:
                name = node.get("name")
                if name and node.tag == f"{XS}simpleType":
                    self.simple[name] = node
                elif name and node.tag == f"{XS}complexType":
                    self.complex[name] = node
        self._memo: dict[str, Facets] = {}

    def of_type(self, qname: str, seen: frozenset[str] = frozenset()) -> Facets | None:
        builtin, local = _local(qname)
        if builtin:
            low, high = BUILTIN_RANGES.get(local, (None, None))
            return Facets(base=local, min_value=low, max_value=high)
        if local in self._memo:
            return self._memo[local]
        node = self.simple.get(local)
        if node is None or local in seen:
            return None  # a complex type, or a cycle: no simple facets
        found = self.of_simple(node, local, seen | {local})
        if found is not None:
            self._memo[local] = found
        return found

    def of_simple(self, node: ET.Element, where: str, seen: frozenset[str]) -> Facets | None:
        restriction = node.find(f"{XS}restriction")
        if restriction is None:
            return Facets()  # list or union: no checks we can state
        base_name = restriction.get("base")
        inline = restriction.find(f"{XS}simpleType")
        if base_name is not None:
            base = self.of_type(base_name, seen)
        elif inline is not None:
            base = self.of_simple(inline, where, seen)
        else:
            base = Facets()
        facets = base or Facets()
        patterns: list[str] = []
        for facet in restriction:
            kind = facet.tag.removeprefix(XS)
            value = facet.get("value", "")
            if kind == "pattern":
                patterns.append(value)
                continue
            if kind not in (
                "minInclusive",
                "maxInclusive",
                "minExclusive",
                "maxExclusive",
                "minLength",
                "maxLength",
                "length",
            ):
                continue
            try:
                number = int(value)
            except ValueError:
                raise FacetError(
                    f"simple type {where!r}: {kind} {value!r} is not an integer"
                ) from None
            if kind in ("minInclusive", "minExclusive"):
                number += kind == "minExclusive"
                facets = replace(facets, min_value=_at_least(facets.min_value, number))
            elif kind in ("maxInclusive", "maxExclusive"):
                number -= kind == "maxExclusive"
                facets = replace(facets, max_value=_at_most(facets.max_value, number))
            elif kind == "minLength":
                facets = replace(facets, min_length=number)
            elif kind == "maxLength":
                facets = replace(facets, max_length=number)
            else:
                facets = replace(facets, min_length=number, max_length=number)
        if patterns:
            # patterns of one restriction step are alternatives; each step's must hold
            joined = "|".join(f"(?:{p})" for p in patterns) if len(patterns) > 1 else patterns[0]
            try:
                re.compile(joined)
            except re.error as error:
                raise FacetError(
                    f"simple type {where!r}: pattern {joined!r} is not one the codec can check "
                    f"({error})"
                ) from None
            facets = replace(facets, patterns=(*facets.patterns, joined))
        return facets

    def choices(self) -> frozenset[str]:
        """Complex types whose content is one plain ``xs:choice`` of single elements."""
        found = set()
        for type_name, node in self.complex.items():
            content = [c for c in node if c.tag != f"{XS}annotation"]
            if len(content) != 1 or content[0].tag != f"{XS}choice":
                continue
            choice = content[0]
            plain = choice.get("minOccurs", "1") == "1" and choice.get("maxOccurs", "1") == "1"
            singles = all(
                c.tag == f"{XS}element"
                and c.get("minOccurs", "1") == "1"
                and c.get("maxOccurs", "1") == "1"
                for c in choice
                if c.tag != f"{XS}annotation"
            )
            if plain and singles:
                found.add(type_name)
        return frozenset(found)

    def elements(self) -> dict[tuple[str, str], Facets]:
        found: dict[tuple[str, str], Facets] = {}
        for type_name, node in sorted(self.complex.items()):
            for element in node.iter(f"{XS}element"):
                name = element.get("name")
                if name is None:
                    continue
                if element.get("type") is not None:
                    facets = self.of_type(element.get("type", ""))
                else:
                    inline = element.find(f"{XS}simpleType")
                    facets = (
                        self.of_simple(inline, f"{type_name}/{name}", frozenset())
                        if inline is not None
                        else None
                    )
                if facets is not None and facets.bounded:
                    found[(type_name, name)] = facets
        return found


def _roots(xsd: Path, seen: set[Path]) -> list[ET.Element]:
    path = xsd.resolve()
    if path in seen:
        return []
    seen.add(path)
    root = ET.parse(path).getroot()
    roots = [root]
    for include in root.findall(f"{XS}include"):
        location = include.get("schemaLocation")
        if location:
            roots.extend(_roots(path.parent / location, seen))
    return roots


def read_facets(xsd: Path) -> dict[tuple[str, str], Facets]:
    """(complex type name, element name) → the facets of its value, for bounded elements."""
    return _Schema(_roots(xsd, set())).elements()


def read_choices(xsd: Path) -> frozenset[str]:
    """Names of the complex types that are a CHOICE: exactly one of their elements occurs."""
    return _Schema(_roots(xsd, set())).choices()


__all__ = ["BUILTIN_RANGES", "FacetError", "Facets", "read_choices", "read_facets"]
