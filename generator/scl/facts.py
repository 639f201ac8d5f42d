"""Schema facts: what an SCL schema says about each element's attributes and identities.

``extract_facts(xsd)`` reads an XSD (ours in ``specs/xsd/scl/`` or an official IEC one,
unchanged) and returns, per element: each attribute's built-in base type, whether it is
required, its default or fixed value, its enumeration and numeric bounds; and every identity
constraint (``xs:unique``, ``xs:key``, ``xs:keyref``) with the element it is declared on.
The reader takes its attribute defaults, enumerations and required attributes from these
facts, and its uniqueness rules from the identity constraints, so a new schema changes the
reader without a code change. ``gen61850 generate`` writes the facts of ``specs/xsd/scl``
into ``generated/scl_facts`` (target ``scl-facts``); ``schema_facts()`` loads them.

Elements are keyed by their local name (``SampledValueControl``); a name declared with
different attributes in different places is keyed ``Parent/Name`` instead.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from lxml import etree

from gen61850.runtime.errors import Gen61850Error

XS = "{http://www.w3.org/2001/XMLSchema}"
GEN = "{urn:gen61850:schema-facts}"  # our annotations: xs:appinfo/gen:default edition="1"
_NUMERIC = {
    "byte": (-(2**7), 2**7 - 1),
    "short": (-(2**15), 2**15 - 1),
    "int": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
    "unsignedByte": (0, 2**8 - 1),
    "unsignedShort": (0, 2**16 - 1),
    "unsignedInt": (0, 2**32 - 1),
    "unsignedLong": (0, 2**64 - 1),
    "integer": (None, None),
    "nonNegativeInteger": (0, None),
    "positiveInteger": (1, None),
    "negativeInteger": (None, -1),
    "nonPositiveInteger": (None, 0),
}
INTEGER_TYPES = frozenset(_NUMERIC)


class FactsError(Gen61850Error):
    """A schema that cannot be read for facts (names the file and the reason)."""


@dataclass(frozen=True, slots=True)
class AttributeFact:
    """One attribute of one element, as the schema declares it."""

    name: str
    base: str = "string"  # the XSD built-in type it derives from (boolean, unsignedInt, ...)
    required: bool = False
    default: str | None = None
    fixed: str | None = None
    enumeration: tuple[str, ...] = ()  # the allowed values; empty: any value of ``base``
    open_enumeration: bool = False  # a union with a pattern: other values may be allowed
    minimum: int | None = None
    maximum: int | None = None
    edition_defaults: tuple[tuple[str, str], ...] = ()  # (edition, default) where they differ

    @property
    def is_integer(self) -> bool:
        return self.base in INTEGER_TYPES

    @property
    def fallback(self) -> str | None:
        """The value used when the attribute is absent: its default, or its fixed value."""
        return self.default if self.default is not None else self.fixed

    def fallback_in(self, edition: str) -> str | None:
        """The value used when absent in a file of ``edition`` (``1``, ``2``, ``2.1``)."""
        for where, value in self.edition_defaults:
            if where == edition:
                return value
        return self.fallback


@dataclass(frozen=True, slots=True)
class IdentityFact:
    """An ``xs:unique``, ``xs:key`` or ``xs:keyref`` declared on element ``scope``.

    ``selector`` alternatives are tuples of steps (element local names, ``*`` for any,
    ``//`` for any depth); ``fields`` are ``@attribute`` names or ``.`` for the text.
    """

    kind: str
    name: str
    scope: str
    selector: tuple[tuple[str, ...], ...]
    fields: tuple[str, ...]
    refer: str = ""


@dataclass(frozen=True)
class SchemaFacts:
    """The facts of one schema; ``version``/``revision``/``release`` are the values the
    schema fixes on the SCL root element (empty for the 2003 schema, which fixes none)."""

    source: str
    version: str
    revision: str
    release: str
    elements: Mapping[str, Mapping[str, AttributeFact]]
    identities: tuple[IdentityFact, ...] = ()
    _by_name: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    def attributes(self, element: str, parent: str = "") -> Mapping[str, AttributeFact]:
        """The attribute facts of ``element`` (``Parent/Name`` keys are tried first)."""
        found = self.elements.get(f"{parent}/{element}") if parent else None
        if found is None:
            found = self.elements.get(element)
        if found is None:
            keys = self._keys(element)
            found = self.elements[keys[0]] if keys else {}
        return found

    def attribute(self, element: str, name: str, parent: str = "") -> AttributeFact | None:
        return self.attributes(element, parent).get(name)

    def required(self, element: str, parent: str = "") -> tuple[str, ...]:
        return tuple(a.name for a in self.attributes(element, parent).values() if a.required)

    def identities_on(self, scope: str) -> tuple[IdentityFact, ...]:
        return tuple(i for i in self.identities if i.scope == scope)

    def _keys(self, element: str) -> tuple[str, ...]:
        if element not in self._by_name:
            self._by_name[element] = tuple(
                sorted(k for k in self.elements if k.rpartition("/")[2] == element)
            )
        return self._by_name[element]

    @property
    def edition(self) -> str:
        """``1``, ``2`` or ``2.1`` (the edition a file of this schema's version is)."""
        return edition_of(self.version, self.release)


def edition_of(version: str, release: str) -> str:
    """The SCL edition of a version/release pair (no version: Edition 1)."""
    if not version:
        return "1"
    if release.isdigit() and int(release) >= 2:
        return "2.1"
    return "2"


# -- reading an XSD ---------------------------------------------------------------------------


def _local(qname: str | None) -> str:
    return (qname or "").rpartition(":")[2]


def _is_builtin(qname: str | None, element: etree._Element) -> bool:
    """Whether ``qname`` names an XML Schema built-in (its prefix maps to the XS namespace)."""
    if not qname or ":" not in qname:
        return False
    prefix = qname.partition(":")[0]
    return element.nsmap.get(prefix) == XS[1:-1]


class _Schema:
    """Every top-level declaration of a schema and its includes, by kind and name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.kinds: dict[str, dict[str, etree._Element]] = {
            k: {} for k in ("complexType", "simpleType", "attributeGroup", "group", "element")
        }
        self._load(path, set())

    def _load(self, path: Path, seen: set[Path]) -> None:
        resolved = path.resolve()
        if resolved in seen:
            return
        seen.add(resolved)
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        try:
            root = etree.parse(str(path), parser).getroot()
        except (OSError, etree.XMLSyntaxError) as error:
            raise FactsError(f"{path}: cannot read the schema: {error}") from None
        for child in root:
            if not isinstance(child.tag, str) or not child.tag.startswith(XS):
                continue
            kind = child.tag[len(XS) :]
            if kind in ("include", "redefine"):
                location = child.get("schemaLocation")
                if location:
                    self._load(path.parent / location, seen)
            elif kind in self.kinds and child.get("name"):
                self.kinds[kind].setdefault(child.get("name", ""), child)

    def find(self, kind: str, qname: str | None) -> etree._Element | None:
        return self.kinds[kind].get(_local(qname))


class _Extractor:
    def __init__(self, schema: _Schema) -> None:
        self.schema = schema
        self._simple: dict[int, AttributeFact] = {}
        self.found: dict[str, list[tuple[str, dict[str, AttributeFact]]]] = {}
        self.identities: list[IdentityFact] = []
        self._visited: set[tuple[str, int]] = set()

    # -- simple types ------------------------------------------------------------------------
    def simple(self, qname: str | None, context: etree._Element) -> AttributeFact:
        """Base, enumeration and bounds of a simple type named ``qname`` (no type: string)."""
        if not qname:
            return AttributeFact("", base="anySimpleType")
        if _is_builtin(qname, context):
            low, high = _NUMERIC.get(_local(qname), (None, None))
            return AttributeFact("", base=_local(qname), minimum=low, maximum=high)
        declaration = self.schema.find("simpleType", qname)
        if declaration is None:
            return AttributeFact("", base="string")
        return self.simple_declaration(declaration)

    def simple_declaration(self, declaration: etree._Element) -> AttributeFact:
        key = id(declaration)
        if key in self._simple:
            return self._simple[key]
        self._simple[key] = AttributeFact("", base="string")  # a loop reads as a string
        restriction = declaration.find(f"{XS}restriction")
        union = declaration.find(f"{XS}union")
        if restriction is not None:
            inline = restriction.find(f"{XS}simpleType")
            base = (
                self.simple_declaration(inline)
                if inline is not None
                else self.simple(restriction.get("base"), restriction)
            )
            result = self._restrict(base, restriction)
        elif union is not None:
            members = [self.simple(m, union) for m in (union.get("memberTypes") or "").split()]
            members += [self.simple_declaration(s) for s in union.findall(f"{XS}simpleType")]
            result = _union(members)
        elif declaration.find(f"{XS}list") is not None:
            result = AttributeFact("", base="list")
        else:
            result = AttributeFact("", base="string")
        self._simple[key] = result
        return result

    @staticmethod
    def _restrict(base: AttributeFact, restriction: etree._Element) -> AttributeFact:
        """``base`` narrowed by the facets of ``restriction`` (enumeration, bounds)."""
        values = tuple(e.get("value", "") for e in restriction.findall(f"{XS}enumeration"))
        low, high = base.minimum, base.maximum
        for facet, shift in (("minInclusive", 0), ("minExclusive", 1)):
            text = _facet(restriction, facet)
            if text is not None and _is_int(text):
                low = int(text) + shift if low is None else max(low, int(text) + shift)
        for facet, shift in (("maxInclusive", 0), ("maxExclusive", -1)):
            text = _facet(restriction, facet)
            if text is not None and _is_int(text):
                high = int(text) + shift if high is None else min(high, int(text) + shift)
        if values:
            return replace(
                base, enumeration=values, open_enumeration=False, minimum=low, maximum=high
            )
        return replace(base, minimum=low, maximum=high)

    # -- attributes ----------------------------------------------------------------------------
    def attribute(self, declaration: etree._Element) -> AttributeFact | None:
        if declaration.get("ref"):
            return None  # xml:lang and the like: not read
        name = declaration.get("name")
        if not name or declaration.get("use") == "prohibited":
            return None
        inline = declaration.find(f"{XS}simpleType")
        simple = (
            self.simple_declaration(inline)
            if inline is not None
            else self.simple(declaration.get("type"), declaration)
        )
        editions = tuple(
            (d.get("edition", ""), d.text or "")
            for d in declaration.iterfind(f"{XS}annotation/{XS}appinfo/{GEN}default")
        )
        return replace(
            simple,
            name=name,
            required=declaration.get("use") == "required",
            default=declaration.get("default"),
            fixed=declaration.get("fixed"),
            edition_defaults=editions,
        )

    def attributes_in(self, holder: etree._Element, found: dict[str, AttributeFact]) -> None:
        """Attributes declared directly in ``holder`` (and its attribute groups)."""
        for child in holder:
            if child.tag == f"{XS}attribute":
                if child.get("use") == "prohibited":
                    found.pop(child.get("name", ""), None)
                    continue
                fact = self.attribute(child)
                if fact is not None:
                    found[fact.name] = fact
            elif child.tag == f"{XS}attributeGroup" and child.get("ref"):
                group = self.schema.find("attributeGroup", child.get("ref"))
                if group is not None:
                    self.attributes_in(group, found)

    def complex_attributes(
        self, complex_type: etree._Element, depth: int = 0
    ) -> dict[str, AttributeFact]:
        found: dict[str, AttributeFact] = {}
        if depth > 64:
            return found
        for content in (f"{XS}complexContent", f"{XS}simpleContent"):
            body = complex_type.find(content)
            if body is None:
                continue
            for derivation in (f"{XS}extension", f"{XS}restriction"):
                derived = body.find(derivation)
                if derived is None:
                    continue
                base = self.schema.find("complexType", derived.get("base"))
                if base is not None:
                    found.update(self.complex_attributes(base, depth + 1))
                self.attributes_in(derived, found)
            return found
        self.attributes_in(complex_type, found)
        return found

    # -- content ---------------------------------------------------------------------------------
    def children(self, complex_type: etree._Element, depth: int = 0) -> Iterator[etree._Element]:
        """Element declarations of a complex type's content, base types' content first."""
        if depth > 64:
            return
        for content in (f"{XS}complexContent", f"{XS}simpleContent"):
            body = complex_type.find(content)
            if body is None:
                continue
            for derivation in (f"{XS}extension", f"{XS}restriction"):
                derived = body.find(derivation)
                if derived is None:
                    continue
                base = self.schema.find("complexType", derived.get("base"))
                if base is not None and derivation.endswith("extension"):
                    yield from self.children(base, depth + 1)
                yield from self._particles(derived, depth)
            return
        yield from self._particles(complex_type, depth)

    def _particles(self, holder: etree._Element, depth: int) -> Iterator[etree._Element]:
        for child in holder:
            tag = child.tag
            if tag == f"{XS}element":
                yield child
            elif tag in (f"{XS}sequence", f"{XS}choice", f"{XS}all"):
                yield from self._particles(child, depth + 1)
            elif tag == f"{XS}group" and child.get("ref") and depth < 64:
                group = self.schema.find("group", child.get("ref"))
                if group is not None:
                    yield from self._particles(group, depth + 1)

    # -- elements --------------------------------------------------------------------------------
    def element(self, declaration: etree._Element, parent: str) -> None:
        if declaration.get("ref"):
            target = self.schema.find("element", declaration.get("ref"))
            if target is None:
                return
            declaration = target
        name = declaration.get("name", "")
        inline = declaration.find(f"{XS}complexType")
        complex_type = (
            inline
            if inline is not None
            else self.schema.find("complexType", declaration.get("type"))
        )
        attributes: dict[str, AttributeFact] = {}
        if complex_type is not None:
            attributes = self.complex_attributes(complex_type)
        self.found.setdefault(name, []).append((parent, attributes))
        for kind in ("unique", "key", "keyref"):
            for constraint in declaration.findall(f"{XS}{kind}"):
                self.identities.append(_identity(kind, constraint, name))
        if complex_type is None:
            return
        key = (name, id(complex_type))
        if key in self._visited:
            return
        self._visited.add(key)
        for child in self.children(complex_type):
            self.element(child, name)


def _facet(restriction: etree._Element, facet: str) -> str | None:
    found = restriction.find(f"{XS}{facet}")
    return found.get("value") if found is not None else None


def _is_int(text: str) -> bool:
    return text.strip().lstrip("+-").isdigit()


def _union(members: list[AttributeFact]) -> AttributeFact:
    values: list[str] = []
    open_values = False
    bases = {m.base for m in members}
    for member in members:
        if member.enumeration:
            values.extend(v for v in member.enumeration if v not in values)
        else:
            open_values = True
    return AttributeFact(
        "",
        base=bases.pop() if len(bases) == 1 else "string",
        enumeration=tuple(values),
        open_enumeration=open_values and bool(values),
    )


def _steps(path: str) -> tuple[str, ...]:
    """``./scl:A/scl:B`` → ``("A", "B")``; ``.//scl:T`` → ``("//", "T")``."""
    text = path.strip()
    steps: list[str] = []
    if text.startswith(".//"):
        steps.append("//")
        text = text[3:]
    elif text.startswith("./"):
        text = text[2:]
    for part in text.split("/"):
        part = part.strip()
        if not part or part == ".":
            continue
        steps.append(_local(part) if part != "*" else "*")
    return tuple(steps)


def _identity(kind: str, constraint: etree._Element, scope: str) -> IdentityFact:
    selector = constraint.find(f"{XS}selector")
    xpath = selector.get("xpath", "") if selector is not None else ""
    fields = tuple(
        (f.get("xpath", "").strip().removeprefix("./") or ".")
        for f in constraint.findall(f"{XS}field")
    )
    return IdentityFact(
        kind=kind,
        name=constraint.get("name", ""),
        scope=scope,
        selector=tuple(_steps(alternative) for alternative in xpath.split("|")),
        fields=fields,
        refer=_local(constraint.get("refer")),
    )


def extract_facts(xsd: Path, *, source: str | None = None) -> SchemaFacts:
    """The facts of the schema whose root file is ``xsd`` (its includes are followed)."""
    schema = _Schema(Path(xsd))
    root = schema.kinds["element"].get("SCL")
    if root is None:
        raise FactsError(f"{xsd}: no SCL element declared")
    extractor = _Extractor(schema)
    extractor.element(root, "")
    identities: dict[tuple[object, ...], IdentityFact] = {}
    for identity in extractor.identities:  # a type used in two places declares them twice
        signature = (identity.kind, identity.scope, identity.selector, identity.fields)
        identities.setdefault(signature, identity)
    elements: dict[str, dict[str, AttributeFact]] = {}
    for name, declarations in sorted(extractor.found.items()):
        distinct = {tuple(sorted(a.items())) for _, a in declarations}
        if len(distinct) == 1:
            elements[name] = declarations[0][1]
            continue
        for parent, attributes in declarations:
            elements.setdefault(f"{parent}/{name}", attributes)
    scl = elements.get("SCL", {})
    version = scl.get("version")
    revision = scl.get("revision")
    release = scl.get("release")
    return SchemaFacts(
        source=source or str(xsd),
        version=(version.fixed or "") if version else "",
        revision=(revision.fixed or "") if revision else "",
        release=(release.fixed or "") if release else "",
        elements={k: dict(sorted(v.items())) for k, v in sorted(elements.items())},
        identities=tuple(identities.values()),
    )


# -- the checked-in facts of specs/xsd/scl ------------------------------------------------------


@functools.cache
def schema_facts() -> SchemaFacts:
    """The facts of ``specs/xsd/scl`` as ``gen61850 generate`` wrote them (generated/scl_facts)."""
    from gen61850.generated import scl_facts as table

    return from_table(table.SOURCE, table.VERSION, table.ELEMENTS, table.IDENTITIES)


AttributeRow = tuple[
    str,
    str,
    bool,
    str | None,
    str | None,
    tuple[str, ...],
    bool,
    int | None,
    int | None,
    tuple[tuple[str, str], ...],
]
IdentityRow = tuple[str, str, str, tuple[tuple[str, ...], ...], tuple[str, ...], str]


def from_table(
    source: str,
    version: tuple[str, str, str],
    elements: Mapping[str, tuple[AttributeRow, ...]],
    identities: tuple[IdentityRow, ...],
) -> SchemaFacts:
    """Facts from the plain rows ``to_table`` produces (what generated/scl_facts holds)."""
    return SchemaFacts(
        source=source,
        version=version[0],
        revision=version[1],
        release=version[2],
        elements={
            element: {row[0]: AttributeFact(*row) for row in rows}
            for element, rows in elements.items()
        },
        identities=tuple(IdentityFact(*row) for row in identities),
    )


def to_table(
    facts: SchemaFacts,
) -> tuple[dict[str, tuple[AttributeRow, ...]], tuple[IdentityRow, ...]]:
    """The facts as plain literals (rows), for the generated module."""
    elements = {
        element: tuple(
            (
                a.name,
                a.base,
                a.required,
                a.default,
                a.fixed,
                a.enumeration,
                a.open_enumeration,
                a.minimum,
                a.maximum,
                a.edition_defaults,
            )
            for a in attributes.values()
        )
        for element, attributes in facts.elements.items()
    }
    identities = tuple(
        (i.kind, i.name, i.scope, i.selector, i.fields, i.refer) for i in facts.identities
    )
    return elements, identities


__all__ = [
    "AttributeFact",
    "FactsError",
    "IdentityFact",
    "SchemaFacts",
    "edition_of",
    "extract_facts",
    "from_table",
    "schema_facts",
    "to_table",
]
