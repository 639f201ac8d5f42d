"""A BIT STRING value (TrgOps, OptFlds, Check, ...): its bits in wire order, bit 0 first."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BitString:
    """Bits as a string of ``0``/``1``, bit 0 first (``bits[0]`` is the leftmost on the wire).

    ``int(b)`` reads them as a number whose most significant bit is bit 0 (the form the 8-2
    store keeps); ``b[i]`` is bit i as a bool.
    """

    bits: str

    def __post_init__(self) -> None:
        if self.bits.strip("01"):
            raise ValueError(f"{self.bits[:40]!r}: a bit string holds only 0 and 1")

    @classmethod
    def of(cls, value: int, width: int) -> BitString:
        """The ``width`` bits of ``value`` (its most significant of them is bit 0)."""
        if not 0 <= value < 1 << width:
            raise ValueError(f"{value} does not fit {width} bits")
        return cls(format(value, f"0{width}b") if width else "")

    def __len__(self) -> int:
        return len(self.bits)

    def __getitem__(self, index: int) -> bool:
        return self.bits[index] == "1"

    def __int__(self) -> int:
        return int(self.bits, 2) if self.bits else 0

    def __str__(self) -> str:
        return self.bits


__all__ = ["BitString"]
