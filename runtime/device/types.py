"""Vocabulary of the IEC 61850 data model: functional constraints and basic attribute types.

``FC`` lists the functional constraints in the order MMS (IEC 61850-8-1) groups them inside
a logical node, which the 8-2 server and the ``$``-flattened names follow. ``BasicType`` is
SCL's ``bType`` (IEC 61850-6 tBasicTypeEnum, Ed. 1 to Ed. 2.1).
"""

from __future__ import annotations

import enum


class FC(enum.StrEnum):
    """Functional constraint; declaration order is the MMS order inside a logical node."""

    MX = "MX"
    ST = "ST"
    CO = "CO"
    CF = "CF"
    DC = "DC"
    SP = "SP"
    SG = "SG"
    RP = "RP"
    LG = "LG"
    BR = "BR"
    GO = "GO"
    GS = "GS"
    SV = "SV"
    SE = "SE"
    EX = "EX"
    SR = "SR"
    OR = "OR"
    BL = "BL"

    @property
    def mms_rank(self) -> int:
        """Position in the MMS order (MX first, BL last)."""
        return _FC_RANK[self]


_FC_RANK = {fc: rank for rank, fc in enumerate(FC)}
MMS_FC_ORDER: tuple[FC, ...] = tuple(FC)


class BasicType(enum.StrEnum):
    """SCL basic types (``bType``)."""

    BOOLEAN = "BOOLEAN"
    INT8 = "INT8"
    INT16 = "INT16"
    INT24 = "INT24"
    INT32 = "INT32"
    INT64 = "INT64"
    INT128 = "INT128"
    INT8U = "INT8U"
    INT16U = "INT16U"
    INT24U = "INT24U"
    INT32U = "INT32U"
    FLOAT32 = "FLOAT32"
    FLOAT64 = "FLOAT64"
    ENUM = "Enum"
    DBPOS = "Dbpos"
    TCMD = "Tcmd"
    QUALITY = "Quality"
    TIMESTAMP = "Timestamp"
    VISSTRING32 = "VisString32"
    VISSTRING64 = "VisString64"
    VISSTRING65 = "VisString65"
    VISSTRING129 = "VisString129"
    VISSTRING255 = "VisString255"
    OCTET64 = "Octet64"
    UNICODE255 = "Unicode255"
    STRUCT = "Struct"
    ENTRYTIME = "EntryTime"
    CHECK = "Check"
    OBJREF = "ObjRef"
    CURRENCY = "Currency"
    PHYCOMADDR = "PhyComAddr"
    TRGOPS = "TrgOps"
    OPTFLDS = "OptFlds"
    SVOPTFLDS = "SvOptFlds"
    LOGOPTFLDS = "LogOptFlds"
    ENTRYID = "EntryID"
    OCTET6 = "Octet6"
    OCTET16 = "Octet16"

    @property
    def python_type(self) -> type:
        """The Python type that holds a value of this basic type."""
        return _PYTHON_TYPES.get(self, str)

    @property
    def is_integer(self) -> bool:
        return self.name.startswith("INT") or self in (
            BasicType.ENUM,
            BasicType.DBPOS,
            BasicType.TCMD,
        )

    @property
    def is_float(self) -> bool:
        return self in (BasicType.FLOAT32, BasicType.FLOAT64)


_INTEGERS = {b for b in BasicType if b.name.startswith("INT")}
_PYTHON_TYPES: dict[BasicType, type] = {
    **dict.fromkeys(_INTEGERS, int),
    BasicType.BOOLEAN: bool,
    BasicType.FLOAT32: float,
    BasicType.FLOAT64: float,
    BasicType.ENUM: int,
    BasicType.DBPOS: int,
    BasicType.TCMD: int,
    BasicType.QUALITY: int,
    BasicType.CHECK: int,
    BasicType.TRGOPS: int,
    BasicType.OPTFLDS: int,
    BasicType.SVOPTFLDS: int,
    BasicType.LOGOPTFLDS: int,
    BasicType.OCTET64: bytes,
    BasicType.OCTET6: bytes,
    BasicType.OCTET16: bytes,
    BasicType.ENTRYID: bytes,
    BasicType.TIMESTAMP: float,
    BasicType.ENTRYTIME: float,
}

# An initial value from SCL (DAI/Val, DA/Val), converted to the attribute's Python type;
# arrays hold a tuple of element values.
Value = bool | int | float | str | bytes | tuple[bool | int | float | str | bytes, ...]

__all__ = ["FC", "MMS_FC_ORDER", "BasicType", "Value"]
