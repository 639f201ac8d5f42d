"""What the BER templates print for one value, by kind: one small view class per kind.

Each class names the macro pair that renders it (``decode_<macro>``/``encode_<macro>`` in
``templates/asn1_ber/_values.j2``) and carries the literals and checks that macro needs,
already as text. Choosing the class is the only decision; templates make none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gen61850.generator.asn1.ir import Bounds, Constraint, describe_constraint


def literal(data: bytes) -> str:
    """Octets as a ``b"\\x.."`` literal."""
    return 'b"' + "".join(f"\\x{b:02x}" for b in data) + '"'


def check(expression: str, constraint: Constraint) -> str | None:
    """A Python condition that is true when ``expression`` breaks ``constraint``."""
    if not constraint:
        return None
    if len(constraint) == 1:
        return _check_bounds(expression, constraint[0])
    if all(b.minimum is not None and b.minimum == b.maximum for b in constraint):
        return f"{expression} not in ({', '.join(str(b.minimum) for b in constraint)})"
    parts = [_check_bounds(expression, b) for b in constraint]
    if any(p is None for p in parts):
        return None
    return " and ".join(f"({p})" for p in parts)


def _check_bounds(expression: str, bounds: Bounds) -> str | None:
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


@dataclass(frozen=True)
class ValueView:
    """Base: the macro pair, the Python type and the docstring phrase of a value kind."""

    macro: ClassVar[str]
    leaf: ClassVar[bool] = True
    """A primitive value: ``locate_*`` reports its span."""
    sets_pos: ClassVar[bool] = False
    """The decoder moves ``pos`` itself (an untagged CHOICE reads its own header)."""
    python_type: str
    doc: str


@dataclass(frozen=True)
class SizedView(ValueView):
    """A string kind with an optional SIZE check on ``length`` (octets, or bits)."""

    size_check: str | None = None
    size_text: str = ""

    @classmethod
    def sized(cls, python_type: str, doc: str, size: Constraint, unit: str = "length") -> SizedView:
        return cls(python_type, doc, check(unit, size), describe_constraint(size))


@dataclass(frozen=True)
class OctetsView(SizedView):
    macro = "octets"


@dataclass(frozen=True)
class VisibleStringView(SizedView):
    macro = "visible_string"


@dataclass(frozen=True)
class Utf8StringView(SizedView):
    macro = "utf8_string"


@dataclass(frozen=True)
class BitStringView(SizedView):
    """BIT STRING: the SIZE counts bits (checked on ``bits``)."""

    macro = "bit_string"


@dataclass(frozen=True)
class OpenTypeView(ValueView):
    macro = "open_type"


@dataclass(frozen=True)
class BooleanView(ValueView):
    macro = "boolean"


@dataclass(frozen=True)
class IntegerView(ValueView):
    macro = "integer"
    range_check: str | None = None
    range_text: str = ""


@dataclass(frozen=True)
class UnsignedOctetsView(ValueView):
    """A fixed-size OCTET STRING read as a big-endian unsigned integer."""

    macro = "unsigned_octets"
    width: int = 1
    tag_length_literal: str = ""
    """Identifier and length octets as one literal, when the element has one tag."""

    @property
    def read(self) -> str:
        """The expression that reads the value at ``pos``."""
        if self.width == 1:
            return "data[pos]"
        if self.width == 2:
            return "(data[pos] << 8) | data[pos + 1]"
        return 'int.from_bytes(data[pos:stop], "big")'

    @property
    def maximum(self) -> int:
        return (1 << (8 * self.width)) - 1

    @property
    def octets_text(self) -> str:
        return f"{self.width} octet{'s' if self.width != 1 else ''}"


@dataclass(frozen=True)
class UtcTimeView(ValueView):
    macro = "utc_time"


@dataclass(frozen=True)
class MmsFloatView(ValueView):
    macro = "mms_float"


@dataclass(frozen=True)
class EnumeratedView(ValueView):
    """ENUMERATED: ``python_type`` is the generated IntEnum."""

    macro = "enumerated"


@dataclass(frozen=True)
class CallView(ValueView):
    """A value decoded and encoded by a generated function of another type.

    ``function`` is the part after ``_decode_``/``_locate_``/``_encode_`` (``asdu_contents``,
    ``data_element``, ``data_items``); ``depth`` the depth argument text for a recursive
    callee (``""``, ``", 0"``, ``", depth + 1"``); ``where`` whether it takes a path.
    """

    leaf = False
    function: str = ""
    depth: str = ""
    where: bool = True


@dataclass(frozen=True)
class SequenceCallView(CallView):
    """A SEQUENCE value: the callee reads the contents octets of the element."""

    macro = "sequence"


@dataclass(frozen=True)
class ChoiceCallView(CallView):
    """A CHOICE value: the callee reads one whole element and returns the offset after it."""

    macro = "choice"


@dataclass(frozen=True)
class UntaggedChoiceCallView(CallView):
    """A CHOICE value with no tag of its own: the callee finds where it ends."""

    macro = "choice_untagged"
    sets_pos = True


@dataclass(frozen=True)
class ListView(CallView):
    """SEQUENCE OF read by an items function of the element type (or of the field)."""

    macro = "sequence_of"
    count_check: str | None = None
    count_text: str = ""
    record: bool = False
    """Items are SEQUENCE records named by their type (``ASDU[i]``), encoded inline."""
    item_tag: str = ""
    """(record) The literal of each item's identifier octets."""
    item_function: str = ""
    """(record) The contents function of each item (after ``_encode_``)."""
    item_type: str = ""
    """(record) The item's type name, for paths."""
