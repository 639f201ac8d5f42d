"""Frames of known streams for ``frame.decode_frame``: one masked comparison, one struct.

Consecutive frames of one SV stream differ only in reserved1 (the simulation bit), smpCnt,
refrTm and the sample octets; every tag, length, svID, datSet, confRev, smpSynch, smpRate,
smpMod and gmIdentity stays. After the generated codec has judged a frame well-formed (the
full walk), its *shape* is kept: those constant octets (from APPID to the end of Length)
as a mask and a value, and a struct that reads the variable fields. A later frame whose
constant octets are all equal to the shape's is, octet for octet, a frame the full walk
accepts, so its fields are read straight off the struct; anything else takes the full
walk again. Frames with a security element are not kept (its open value's contents vary
and are the codec's to judge).

A shape is learned from the second frame missed under one key (Ethertype, APPID and
Length), so that traffic whose keys never repeat pays the plain walk only, and a key that
has learned ``MAX_SHAPES_PER_KEY`` shapes stops learning (its frames change shape all the
time). Everything is bounded (``MAX_SHAPES``, ``MAX_KEYS``; the oldest go first) and no
frame data is kept. Threads may share it: shapes are immutable, and a race between two
learners costs at most a shape learned twice or a count off by one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TypeVar

_V = TypeVar("_V")

MAX_SHAPES = 1024
"""Shapes kept in all (a stream is one shape; MUs sharing APPID and Length share a key)."""
MAX_SHAPES_PER_KEY = 16
MAX_KEYS = 4096
"""Keys remembered as missed once, and as learned-out (each list is bounded by it)."""


@dataclass(frozen=True, slots=True)
class AsduConstants:
    """What one ASDU of a shape carries unchanged, and how many struct items it reads."""

    sv_id: str
    conf_rev: int
    smp_synch: int
    dat_set: str | None
    refr_tm: bool  # an 8-octet refrTm item follows smpCnt
    smp_rate: int | None
    smp_mod: int | None
    gm_identity: bytes | None

    @property
    def optional(self) -> bool:
        """Whether any OPTIONAL field is present (the keyword-argument construction)."""
        return (
            self.dat_set is not None
            or self.refr_tm
            or self.smp_rate is not None
            or self.smp_mod is not None
            or self.gm_identity is not None
        )


@dataclass(frozen=True, slots=True)
class Shape:
    """One stream's frame shape: constant octets, the struct of the variable fields."""

    appid: int
    length: int
    reserved2: int
    mask: int
    constant: int
    reader: struct.Struct
    """From APPID: reserved1, then per ASDU smpCnt, [refrTm], sample."""
    asdus: tuple[AsduConstants, ...]
    plain: bool
    """No ASDU has an OPTIONAL field."""


Span = tuple[str, int, int]  # the generated codec's (path, start, stop) of a field's contents


def constant_octets(length: int, variable: list[tuple[int, int, str]]) -> tuple[bytearray, str]:
    """What a shape compares and what it reads, for a frame of ``length`` octets from
    APPID on: the mask of its constant octets (reserved1 and the ``variable`` spans
    zeroed) and the struct format that reads reserved1, then each span in frame order.
    ``variable``: (offset from APPID, width, struct code), in frame order. Both the
    generic decoder's shapes and the quick parser's are made by it."""
    mask = bytearray(b"\xff" * length)
    mask[4:6] = b"\0\0"  # reserved1
    fmt = [">4xH"]
    cursor = 6
    for offset, width, code in variable:
        if offset > cursor:
            fmt.append(f"{offset - cursor}x")
        fmt.append(code)
        mask[offset : offset + width] = bytes(width)
        cursor = offset + width
    return mask, "".join(fmt)


def learn(
    frame: bytes, base: int, length: int, asdus: list[AsduConstants], spans: list[Span]
) -> Shape | None:
    """The shape of a frame the full walk accepted (``spans``: ``locate_sav_pdu``'s), or
    None for one that is not kept (a security element)."""
    where = {path: (start, stop) for path, start, stop in spans}
    if any(path.startswith("SavPdu.security") for path in where):
        return None
    variable: list[tuple[int, int, str]] = []
    for index, asdu in enumerate(asdus):
        prefix = f"ASDU[{index}]."
        fields = [(where[prefix + "smpCnt"], "H")]
        if asdu.refr_tm:
            fields.append((where[prefix + "refrTm"], "8s"))
        start, stop = where[prefix + "sample"]
        fields.append(((start, stop), f"{stop - start}s"))
        variable += [(first - base, last - first, code) for (first, last), code in fields]
    mask, fmt = constant_octets(length, variable)
    region = int.from_bytes(frame[base : base + length], "big")
    mask_int = int.from_bytes(mask, "big")
    return Shape(
        (frame[base] << 8) | frame[base + 1],
        length,
        (frame[base + 6] << 8) | frame[base + 7],
        mask_int,
        region & mask_int,
        struct.Struct(fmt),
        tuple(asdus),
        not any(a.optional for a in asdus),
    )


class Shapes:
    """The shapes met so far, filed under the octets Ethertype, APPID and Length."""

    def __init__(self, limit: int = MAX_SHAPES) -> None:
        self.limit = limit
        self.by_key: dict[bytes, list[Shape]] = {}
        """Shapes by the octets Ethertype, APPID and Length (newest first); never empty."""
        self._count = 0
        self._missed: dict[bytes, None] = {}  # keys that missed once since they learned
        self._learned: dict[bytes, int] = {}  # shapes each key learned
        self._restless: dict[bytes, None] = {}  # keys that learn no more

    def find(self, frame: bytes, base: int) -> Shape | None:
        """The shape whose constant octets ``frame`` has (``base``: where APPID starts);
        ``decode_frame`` does the same inline."""
        bucket = self.by_key.get(frame[base - 2 : base + 4])
        if bucket is None or len(frame) < base + bucket[0].length:
            return None  # one key, one Length: every shape of a bucket has it
        region = int.from_bytes(frame[base : base + bucket[0].length], "big")
        for shape in bucket:
            if region & shape.mask == shape.constant:
                return shape
        return None

    def worth_learning(self, frame: bytes, base: int) -> bool:
        """Whether to learn the shape of ``frame``, which matched none: yes when its key
        missed before (a stream, not a one-off) and has not learned too many shapes."""
        key = frame[base - 2 : base + 4]
        if key in self._restless:
            return False
        if key in self._missed:
            return True
        _bounded_put(self._missed, key, None)
        return False

    def keep(self, frame: bytes, base: int, shape: Shape) -> None:
        """File ``shape`` first in its bucket; the oldest key goes when over the limit."""
        key = frame[base - 2 : base + 4]
        self._missed.pop(key, None)
        learned = self._learned.pop(key, 0) + 1
        if learned >= MAX_SHAPES_PER_KEY:
            _bounded_put(self._restless, key, None)
        else:
            _bounded_put(self._learned, key, learned)
        bucket = self.by_key.get(key)
        if bucket is None:
            while self._count >= self.limit and self.by_key:
                oldest = next(iter(self.by_key))
                self._count -= len(self.by_key.pop(oldest, ()))
            bucket = self.by_key[key] = []
        bucket.insert(0, shape)
        self._count += 1
        if len(bucket) > MAX_SHAPES_PER_KEY:
            bucket.pop()
            self._count -= 1

    def __len__(self) -> int:
        return self._count


def _bounded_put(table: dict[bytes, _V], key: bytes, value: _V) -> None:
    """``table[key] = value``, the oldest entry let go first when ``MAX_KEYS`` are held."""
    if key not in table and len(table) >= MAX_KEYS:
        table.pop(next(iter(table)), None)
    table[key] = value


__all__ = ["MAX_SHAPES", "AsduConstants", "Shape", "Shapes", "learn"]
