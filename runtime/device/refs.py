"""Typed references to the attributes of one IED, for clients: ``Ref[float]`` and friends.

A generated device package offers one ``Ref`` per served basic attribute
(``package.REFS.LD0.MMXU1.TotW.mag.f``); a client reads it and gets a value of the type in
its annotation (``ClientAssociation.get`` of the 8-2 client). The type follows the basic
type (``VALUE_TYPES``): Quality and Timestamp as their own classes, coded enums (Dbpos,
Tcmd) and enums as int, other bit strings as ``BitString``, EntryTime as an aware datetime,
arrays as lists.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Generic, TypeVar

from gen61850.runtime.device.bitstring import BitString
from gen61850.runtime.device.timestamp import Timestamp
from gen61850.runtime.device.types import BasicType
from gen61850.runtime.sv.quality import Quality

T = TypeVar("T")

_BIT_STRINGS = (
    BasicType.TRGOPS,
    BasicType.OPTFLDS,
    BasicType.SVOPTFLDS,
    BasicType.LOGOPTFLDS,
    BasicType.CHECK,
)
VALUE_TYPES: dict[BasicType, type] = {
    **{b: b.python_type for b in BasicType if b is not BasicType.STRUCT},
    BasicType.QUALITY: Quality,
    BasicType.TIMESTAMP: Timestamp,
    BasicType.ENTRYTIME: datetime.datetime,
    BasicType.PHYCOMADDR: bytes,
    **dict.fromkeys(_BIT_STRINGS, BitString),
}
"""The Python type a client gets for each basic type (a list of it for an array)."""


@dataclass(frozen=True, slots=True)
class Ref(Generic[T]):
    """One attribute: its logical device (the MMS domain, ``IED1LD0``), its MMS name
    (``MMXU1$MX$TotW$mag$f``), basic type and array size (0: not an array)."""

    ld: str
    item: str
    btype: BasicType
    count: int = 0

    @property
    def reference(self) -> str:
        """The ACSI form: ``IED1LD0/MMXU1.TotW.mag.f[MX]``."""
        ln, fc, *path = self.item.split("$")
        return f"{self.ld}/{'.'.join([ln, *path])}[{fc}]"

    def __str__(self) -> str:
        return self.reference


__all__ = ["VALUE_TYPES", "Ref"]
