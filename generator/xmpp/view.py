"""Pass: join the service table with the schema IR into what the xmpp templates render.

Everything the templates need is computed here (names, tags, which class holds which
service), so the templates stay free of logic. Fails with a clear message when the table
names an element the schema does not have.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from gen61850.generator.naming import safe_identifier, snake_case
from gen61850.generator.xmpp.schema_ir import FieldIr, SchemaIr, SchemaIrError, TypeIr
from gen61850.generator.xmpp.services import (
    ATTRIBUTE_FORMS,
    CONFIRMED_SERVICES,
    MAX_NESTING_LEVEL,
    NAMESPACE,
    PDU_STANZAS,
    REQUEST_CHOICE,
    RESPONSE_CHOICE,
    ROOT_ELEMENT,
    AttributeForm,
)
from gen61850.generator.xsd.facets import Facets


@dataclass(frozen=True)
class ServiceView:
    """One confirmed service as the templates see it."""

    element: str
    function: str  # snake-case stem: get_name_list
    iq_type: str
    acsi: tuple[str, ...]
    request_attribute: str
    request_class: str
    response_attribute: str
    response_class: str


@dataclass(frozen=True)
class PduView:
    """One MMSpdu alternative: attribute on the MMSpdu class and the stanza that carries it."""

    element: str
    attribute: str
    stanza: str
    stanza_type: str


@dataclass(frozen=True)
class TagView:
    constant: str
    xml_name: str


@dataclass(frozen=True)
class PatternView:
    constant: str
    regex: str


@dataclass(frozen=True)
class XmppView:
    namespace: str
    root_element: str
    root_class: str
    pdu_class: str
    confirmed_request_class: str
    confirmed_response_class: str
    request_choice_class: str
    response_choice_class: str
    types: tuple[TypeIr, ...]
    tags: tuple[TagView, ...]
    services: tuple[ServiceView, ...]
    pdus: tuple[PduView, ...]
    bindings_module: str
    patterns: tuple[PatternView, ...] = ()
    recursive: frozenset[str] = frozenset()  # classes on a cycle: their decoders check depth
    max_nesting: int = MAX_NESTING_LEVEL
    max_depth: int = 0
    service_classes: tuple[str, ...] = ()  # bindings classes the services name, each once
    attribute_forms: tuple[AttributeForm, ...] = ()

    def tag(self, xml_name: str) -> str:
        return tag_constant(xml_name)


def tag_constant(xml_name: str) -> str:
    """Module constant holding the Clark-notation tag of an element: ``_T_invokeID``."""
    return "_T_" + safe_identifier(xml_name)


def pattern_constant(regex: str) -> str:
    """Module constant holding a compiled facet pattern (named by its text's hash)."""
    return "_P_" + hashlib.sha256(regex.encode()).hexdigest()[:10]


def bounds_arguments(facets: Facets) -> str:
    """The bound arguments of the codec's checked readers for ``facets``.

    Integers: ``low, high``; text and octets: ``min_length, max_length, (patterns,)``.
    """
    if facets.min_value is not None or facets.max_value is not None:
        return f"{facets.min_value!r}, {facets.max_value!r}"
    patterns = "".join(f"{pattern_constant(p)}, " for p in facets.patterns)
    return f"{facets.min_length!r}, {facets.max_length!r}, ({patterns})"


def with_facets(
    schema: SchemaIr,
    facets: Mapping[tuple[str, str], Facets],
    choices: frozenset[str] = frozenset(),
) -> SchemaIr:
    """Pass: attach to each simple field the bounds its XSD type sets (by type and element),
    and mark the types that are a CHOICE."""

    def field(t: TypeIr, f: FieldIr) -> FieldIr:
        found = facets.get((t.xml_name, f.xml_name))
        if found is None or f.is_class:
            return f
        if f.kind == "int" and found.min_value is None and found.max_value is None:
            return f
        if f.kind != "int" and found.min_value is not None:
            raise SchemaIrError(f"{t.xml_name}/{f.xml_name}: a range on a {f.kind} value")
        return replace(f, facets=found)

    return SchemaIr(
        tuple(
            replace(
                t,
                fields=tuple(field(t, f) for f in t.fields),
                is_choice=t.xml_name in choices and all(not f.is_list for f in t.fields),
            )
            for t in schema.types
        )
    )


def _children(schema: SchemaIr) -> dict[str, tuple[str, ...]]:
    return {
        t.class_name: tuple(sorted({f.kind for f in t.fields if f.is_class})) for t in schema.types
    }


def recursive_classes(schema: SchemaIr) -> frozenset[str]:
    """Classes that can contain themselves (Data, TypeDescription, AlternateAccess, ...)."""
    children = _children(schema)
    found: set[str] = set()
    for start in children:
        seen: set[str] = set()
        stack = list(children[start])
        while stack:
            name = stack.pop()
            if name == start:
                found.add(start)
                break
            if name not in seen:
                seen.add(name)
                stack.extend(children.get(name, ()))
    return frozenset(found)


def _longest_simple(children: Mapping[str, tuple[str, ...]], start: str, target: str | None) -> int:
    """Elements on the longest path from ``start`` that repeats no class: to ``target`` when
    given (a cycle back to ``start``; 0 if there is none), otherwise to anywhere."""
    best = 0 if target is not None else 1
    stack: list[tuple[str, int, frozenset[str]]] = [(start, 1, frozenset({start}))]
    while stack:
        name, length, on_path = stack.pop()
        for child in children.get(name, ()):
            if child == target:
                best = max(best, length)
            elif child not in on_path:
                if target is None:
                    best = max(best, length + 1)
                stack.append((child, length + 1, on_path | {child}))
    return best


def max_element_depth(schema: SchemaIr, root_class: str, nesting: int) -> int:
    """A bound on the element depth of a payload whose recursive types nest ``nesting`` levels.

    The longest path from the root that repeats no type, plus ``nesting`` times the longest
    cycle (the most elements one more level of Data, TypeDescription or AlternateAccess
    costs). The decoder refuses anything deeper, so it never recurses without bound.
    """
    children = _children(schema)
    acyclic = _longest_simple(children, root_class, None) + 1  # + a simple leaf element
    cycle = max((_longest_simple(children, c, c) for c in recursive_classes(schema)), default=0)
    return acyclic + nesting * cycle


FILTERS: dict[str, Callable[..., Any]] = {
    "xmpp_tag": tag_constant,
    "xmpp_pattern": pattern_constant,
    "xmpp_bounds": bounds_arguments,
}
"""The filters the xmpp templates use."""


def build_view(
    schema: SchemaIr,
    bindings_module: str,
    facets: Mapping[tuple[str, str], Facets] | None = None,
    choices: frozenset[str] = frozenset(),
) -> XmppView:
    """Check the table against the schema and collect the view."""
    schema = with_facets(schema, facets or {}, choices)
    root = schema.by_xml(ROOT_ELEMENT)
    pdu_field = next((f for f in root.fields if f.is_class and f.kind != "str"), None)
    if pdu_field is None:
        raise SchemaIrError(f"{ROOT_ELEMENT} holds no PDU element")
    pdu_type = schema.by_class(pdu_field.kind)
    request_choice = schema.by_xml(REQUEST_CHOICE)
    response_choice = schema.by_xml(RESPONSE_CHOICE)
    services = []
    for service in CONFIRMED_SERVICES:
        request = request_choice.field_by_xml(service.element)
        response = response_choice.field_by_xml(service.element)
        services.append(
            ServiceView(
                element=service.element,
                function=snake_case(service.element),
                iq_type=service.iq_type,
                acsi=service.acsi,
                request_attribute=request.attribute,
                request_class=request.kind,
                response_attribute=response.attribute,
                response_class=response.kind,
            )
        )
    pdus = tuple(
        PduView(p.pdu, pdu_type.field_by_xml(p.pdu).attribute, p.stanza, p.stanza_type)
        for p in PDU_STANZAS
    )
    # a service whose request is a plain value (fileRead's frsmID) names a builtin, not a class
    bindings_classes = {t.class_name for t in schema.types}
    service_classes = tuple(
        dict.fromkeys(
            name
            for s in services
            for name in (s.request_class, s.response_class)
            if name in bindings_classes
        )
    )
    for form in ATTRIBUTE_FORMS:  # each names a component of a service's request or answer
        holders = [
            schema.by_class(choice.field_by_xml(form.parent).kind)
            for choice in (request_choice, response_choice)
            if any(f.xml_name == form.parent for f in choice.fields)
        ]
        if not any(form.component in {f.xml_name for f in t.fields} for t in holders):
            raise SchemaIrError(
                f"attribute form {form.parent}/@{form.component}: no such component in the schema"
            )
    confirmed_request = schema.by_class(pdu_type.field_by_xml("confirmed-RequestPDU").kind)
    confirmed_response = schema.by_class(pdu_type.field_by_xml("confirmed-ResponsePDU").kind)
    names = sorted({ROOT_ELEMENT} | {f.xml_name for t in schema.types for f in t.fields})
    constants = [tag_constant(n) for n in names]
    if len(set(constants)) != len(constants):
        raise SchemaIrError("two element names map to the same Python constant")
    return XmppView(
        namespace=NAMESPACE,
        root_element=ROOT_ELEMENT,
        root_class=root.class_name,
        pdu_class=pdu_type.class_name,
        confirmed_request_class=confirmed_request.class_name,
        confirmed_response_class=confirmed_response.class_name,
        request_choice_class=request_choice.class_name,
        response_choice_class=response_choice.class_name,
        types=schema.types,
        tags=tuple(TagView(c, n) for c, n in zip(constants, names, strict=True)),
        services=tuple(services),
        pdus=pdus,
        bindings_module=bindings_module,
        patterns=tuple(
            PatternView(pattern_constant(p), p)
            for p in sorted(
                {p for t in schema.types for f in t.fields if f.facets for p in f.facets.patterns}
            )
        ),
        recursive=recursive_classes(schema),
        max_nesting=MAX_NESTING_LEVEL,
        max_depth=max_element_depth(schema, root.class_name, MAX_NESTING_LEVEL),
        service_classes=service_classes,
        attribute_forms=ATTRIBUTE_FORMS,
    )


__all__ = [
    "PatternView",
    "PduView",
    "ServiceView",
    "TagView",
    "XmppView",
    "bounds_arguments",
    "build_view",
    "max_element_depth",
    "pattern_constant",
    "recursive_classes",
    "tag_constant",
    "with_facets",
]
