"""From the ASN.1 IR to what the BER templates print: names, literals, checks as text.

Keeping these decisions here leaves the templates free of logic beyond choosing a codec.
"""

from __future__ import annotations

from dataclasses import dataclass

from gen61850.generator.asn1.ir import Bounds, Codec, Field, Module, SequenceType, TagClass
from gen61850.generator.naming import snake_case

_PYTHON_TYPES = {
    Codec.INTEGER: "int",
    Codec.UNSIGNED_OCTETS: "int",
    Codec.OCTETS: "bytes",
    Codec.VISIBLE_STRING: "str",
    Codec.OPEN_TYPE: "bytes",
}
_CLASS_TEXT = {
    TagClass.APPLICATION: "APPLICATION ",
    TagClass.PRIVATE: "PRIVATE ",
    TagClass.UNIVERSAL: "UNIVERSAL ",
    TagClass.CONTEXT: "",
}
_DOC = {
    Codec.INTEGER: "INTEGER",
    Codec.UNSIGNED_OCTETS: "unsigned, big-endian on the wire",
    Codec.OCTETS: "raw octets",
    Codec.VISIBLE_STRING: "ASCII text",
    Codec.OPEN_TYPE: "the whole encoding (tag, length, contents) of the open value",
    Codec.SEQUENCE: "nested SEQUENCE",
    Codec.SEQUENCE_OF: "items in order",
}


@dataclass(frozen=True)
class FieldView:
    """One field as the templates print it."""

    name: str
    var: str
    path: str
    asn1: str
    doc: str
    codec: str
    optional: bool
    python_type: str
    tag_byte: int
    tag_length_literal: str
    fixed_octets: int | None
    octets_text: str
    unsigned_max: int | None
    size_check: str | None
    count_check: str | None
    size_text: str
    range_check: str | None
    range_text: str
    element: str | None
    element_tag_byte: int | None


@dataclass(frozen=True)
class SequenceView:
    """One SEQUENCE type as the templates print it."""

    name: str
    snake: str
    tag_byte: int
    tag_text: str
    referenced: bool
    fields: tuple[FieldView, ...]

    @property
    def mandatory(self) -> tuple[FieldView, ...]:
        return tuple(f for f in self.fields if not f.optional)

    @property
    def optional(self) -> tuple[FieldView, ...]:
        return tuple(f for f in self.fields if f.optional)


def module_view(module: Module) -> tuple[SequenceView, ...]:
    """Every SEQUENCE of the module, in dependency order, ready to render."""
    return tuple(_sequence_view(s) for s in module.sequences)


def _sequence_view(seq: SequenceType) -> SequenceView:
    tag_text = f"{_CLASS_TEXT[seq.tag.tag_class]}{seq.tag.number}"
    return SequenceView(
        seq.name,
        snake_case(seq.name),
        seq.tag.identifier,
        tag_text,
        seq.referenced,
        tuple(_field_view(f) for f in seq.fields),
    )


def _field_view(field: Field) -> FieldView:
    var = "v_" + snake_case(field.name)
    width = field.fixed_octets
    tag = field.tag.identifier
    return FieldView(
        name=field.name,
        var=var,
        path=f'where + ".{field.name}"',
        asn1=_asn1_text(field),
        doc=f"{_asn1_text(field)}: {_DOC[field.codec]}.",
        codec=field.codec.value,
        optional=field.optional,
        python_type=_python_type(field),
        tag_byte=tag,
        tag_length_literal=_literal(bytes((tag, width))) if width else "",
        fixed_octets=width,
        octets_text=f"{width} octet{'s' if width != 1 else ''}" if width else "",
        unsigned_max=(1 << (8 * width)) - 1 if width else None,
        size_check=_check("length", field.size),
        count_check=_check(f"len({var})", field.size),
        size_text=field.size.describe() if field.size else "",
        range_check=_check(var, field.value_range),
        range_text=field.value_range.describe() if field.value_range else "",
        element=field.element,
        element_tag_byte=field.element_tag.identifier if field.element_tag else None,
    )


def _python_type(field: Field) -> str:
    if field.codec is Codec.SEQUENCE:
        return str(field.element)
    if field.codec is Codec.SEQUENCE_OF:
        return f"list[{field.element}]"
    return _PYTHON_TYPES[field.codec]


def _asn1_text(field: Field) -> str:
    explicit = "" if field.codec is Codec.OPEN_TYPE else "IMPLICIT "
    element = f" {field.element}" if field.codec is Codec.SEQUENCE_OF else ""
    optional = " OPTIONAL" if field.optional else ""
    tag = f"[{_CLASS_TEXT[field.tag.tag_class]}{field.tag.number}]"
    return f"{tag} {explicit}{field.type_name}{element}{optional}"


def _check(expression: str, bounds: Bounds | None) -> str | None:
    """A Python condition that is true when ``expression`` breaks ``bounds``."""
    if bounds is None:
        return None
    low, high = bounds.minimum, bounds.maximum
    if low is not None and low == high:
        return f"{expression} != {low}"
    if low is not None and high is not None:
        return f"not {low} <= {expression} <= {high}"
    if low is not None:
        return f"{expression} < {low}"
    if high is not None:
        return f"{expression} > {high}"
    return None


def _literal(data: bytes) -> str:
    return 'b"' + "".join(f"\\x{b:02x}" for b in data) + '"'
