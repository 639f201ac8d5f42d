"""Turn SCL ``Val`` texts into typed initial values, by basic type.

Enumerations take the literal and give its ordinal (checked against the EnumType); values
that do not fit the type become a warning and no value, never a failure.
"""

from __future__ import annotations

from gen61850.runtime.device import BasicType, EnumType

_BOOL = {"true": True, "1": True, "false": False, "0": False}
_INT_RANGES = {
    BasicType.INT8: (-(2**7), 2**7 - 1),
    BasicType.INT16: (-(2**15), 2**15 - 1),
    BasicType.INT24: (-(2**23), 2**23 - 1),
    BasicType.INT32: (-(2**31), 2**31 - 1),
    BasicType.INT64: (-(2**63), 2**63 - 1),
    BasicType.INT128: (-(2**127), 2**127 - 1),
    BasicType.INT8U: (0, 2**8 - 1),
    BasicType.INT16U: (0, 2**16 - 1),
    BasicType.INT24U: (0, 2**24 - 1),
    BasicType.INT32U: (0, 2**32 - 1),
}
_STRINGS = {
    BasicType.VISSTRING32: 32,
    BasicType.VISSTRING64: 64,
    BasicType.VISSTRING65: 65,
    BasicType.VISSTRING129: 129,
    BasicType.VISSTRING255: 255,
    BasicType.UNICODE255: 255,
    BasicType.OBJREF: 129,
    BasicType.CURRENCY: 3,
}


class ValueProblem(ValueError):
    """A Val text that does not fit its basic type (the message says why)."""


def convert(text: str, btype: BasicType, enum: EnumType | None) -> bool | int | float | str | bytes:
    """One Val text as a value of ``btype``; raises ValueProblem."""
    text = text.strip() if btype not in _STRINGS else text
    if btype is BasicType.BOOLEAN:
        if text.lower() not in _BOOL:
            raise ValueProblem(f"{text!r} is not a BOOLEAN")
        return _BOOL[text.lower()]
    if btype in _INT_RANGES:
        try:
            number = int(text, 0) if text.lower().startswith("0x") else int(text)
        except ValueError:
            raise ValueProblem(f"{text!r} is not an integer") from None
        low, high = _INT_RANGES[btype]
        if not low <= number <= high:
            raise ValueProblem(f"{number} is out of range for {btype.value}")
        return number
    if btype.is_float:
        try:
            return float(text)
        except ValueError:
            raise ValueProblem(f"{text!r} is not a number") from None
    if btype is BasicType.ENUM:
        if enum is None:
            raise ValueProblem("enumeration type unknown")
        ordinal = enum.ordinal(text)
        if ordinal is None:
            raise ValueProblem(f"{text!r} is not a literal of EnumType {enum.id!r}")
        return ordinal
    if btype in (BasicType.DBPOS, BasicType.TCMD):
        literals = (
            ("intermediate", "off", "on", "bad")
            if btype is BasicType.DBPOS
            else ("stop", "lower", "higher", "reserved")
        )
        if text in literals:
            return literals.index(text)
        raise ValueProblem(f"{text!r} is not a {btype.value} literal")
    if btype in _STRINGS:
        if len(text) > _STRINGS[btype]:
            raise ValueProblem(f"{len(text)} characters, {btype.value} holds {_STRINGS[btype]}")
        return text
    if btype.python_type is bytes:
        compact = text.replace(" ", "").replace("-", "")
        try:
            return bytes.fromhex(compact)
        except ValueError:
            return text.encode()
    if btype.python_type is int:
        try:
            return int(text, 0)
        except ValueError:
            raise ValueProblem(f"{text!r} is not an integer for {btype.value}") from None
    raise ValueProblem(f"initial values of {btype.value} are not supported")


__all__ = ["ValueProblem", "convert"]
