"""The frames of one GOOSE control block: encoded as they come, or fixed-length.

``FrameBuilder.frame(state)`` returns the Ethernet frame of a publisher state. Plain mode
encodes through the generated codec (minimal BER). Fixed-length mode (the GoCB's
``fixedOffs``, IEC 61850-8-1 Ed. 2 A.3) keeps every field at the same offset from frame to
frame: the header integers always take 5 octets, simulation and ndsCom are always sent,
and each data value takes the width of its type (INT32 4 octets, INT32U 5, FLOAT32 5,
...). It is built once from placeholder values through the same generated codec,
``locate_iec_goose_pdu`` says where each field is, and each frame is a copy with the
fields written in place. Strings and octet strings keep their own length: when one
changes length (or an integer outgrows its width) the template is built again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from gen61850.generated.goose.iec61850_8_1 import (
    Data,
    DataArray,
    DataBoolean,
    DataInteger,
    DataStructure,
    DataUnsigned,
    IECGoosePdu,
    encode_data,
    locate_iec_goose_pdu,
)
from gen61850.runtime.asn1types import UtcTime, encode_utc_time
from gen61850.runtime.goose.frame import encode_frame
from gen61850.runtime.goose.values import ARRAY, MemberType
from gen61850.runtime.link import VlanTag

HEADER_WIDTH = 5
"""Octets of each header INTEGER in fixed-length mode (covers 0..2**32-1)."""
# Octets of a data value in fixed-length mode, by SCL basic type (IEC 61850-8-1 Ed. 2 A.3):
# signed types their size, unsigned ones one more (a leading zero keeps them positive).
_SIGNED_WIDTH = {"INT8": 1, "INT16": 2, "INT24": 3, "INT32": 4, "INT64": 8, "Enum": 4}
_UNSIGNED_WIDTH = {"INT8U": 2, "INT16U": 3, "INT24U": 4, "INT32U": 5}
DEFAULT_INTEGER_WIDTH = 5


@dataclass(slots=True)
class PublisherState:
    """What one GOOSE message says: the values and the counters of the moment."""

    st_num: int
    sq_num: int
    t: UtcTime
    time_allowed_to_live: int
    values: list[Data]
    simulation: bool = False
    nds_com: bool = False


@dataclass(frozen=True, slots=True)
class Addressing:
    """Where the frames go and what the control block is called."""

    gocb_ref: str
    dat_set: str
    go_id: str | None
    conf_rev: int
    dst: bytes
    src: bytes
    appid: int
    vlan: VlanTag | None


def pdu(addressing: Addressing, state: PublisherState) -> IECGoosePdu:
    """The IECGoosePdu of a state."""
    return IECGoosePdu(
        addressing.gocb_ref,
        state.time_allowed_to_live,
        addressing.dat_set,
        state.t,
        state.st_num,
        state.sq_num,
        addressing.conf_rev,
        len(state.values),
        state.values,
        goID=addressing.go_id,
        simulation=state.simulation,
        ndsCom=state.nds_com,
    )


class FrameBuilder:
    """Frames of one control block; ``fixed_length`` selects the fixed-offset layout.

    ``members`` (the data set's types) give each value's width in fixed-length mode;
    without them integers take 5 octets.
    """

    def __init__(
        self,
        addressing: Addressing,
        *,
        fixed_length: bool = False,
        members: Sequence[MemberType] | None = None,
    ) -> None:
        self.addressing = addressing
        self.fixed_length = fixed_length
        self.members = None if members is None else tuple(members)
        self._template: _Template | None = None

    def frame(self, state: PublisherState) -> bytes:
        if not self.fixed_length:
            return self._encode(pdu(self.addressing, state))
        template = self._template
        if template is None or not template.fits(state):
            template = self._template = _Template.build(self, state)
        return template.fill(state)

    def _encode(self, value: IECGoosePdu) -> bytes:
        a = self.addressing
        return encode_frame(
            value, dst=a.dst, src=a.src, appid=a.appid, vlan=a.vlan, simulated=value.simulation
        )


@dataclass(slots=True)
class _Leaf:
    """Where one primitive value sits in the template and how wide it is."""

    start: int
    stop: int
    kind: type
    signed_width: int = 0


@dataclass(slots=True)
class _Template:
    frame: bytes
    header: dict[str, tuple[int, int]]
    conf_rev: int
    leaves: list[_Leaf] = field(default_factory=list)

    @classmethod
    def build(cls, builder: FrameBuilder, state: PublisherState) -> _Template:
        """Encode placeholders of the chosen widths once, then find every field."""
        widths: list[int] = []
        placeholders = [
            _placeholder(value, _member(builder.members, index), widths)
            for index, value in enumerate(state.values)
        ]
        big = 2**32 - 1  # 5 octets as a minimal INTEGER
        shaped = PublisherState(
            big, big, state.t, big, placeholders, state.simulation, state.nds_com
        )
        value = pdu(builder.addressing, shaped)
        value.confRev = big
        value.numDatSetEntries = big
        frame = builder._encode(value)
        base = 26 if builder.addressing.vlan is not None else 22
        _, spans = locate_iec_goose_pdu(frame, base)
        header: dict[str, tuple[int, int]] = {}
        leaves: list[_Leaf] = []
        width_of = iter(widths)
        kinds = iter(_leaf_kinds(placeholders))
        for path, start, stop in spans:
            if path.startswith("IECGoosePdu.allData["):
                kind = next(kinds)
                width = next(width_of) if kind in (DataInteger, DataUnsigned) else 0
                leaves.append(_Leaf(start, stop, kind, width))
            else:
                header[path.removeprefix("IECGoosePdu.")] = (start, stop)
        return cls(frame, header, builder.addressing.conf_rev, leaves)

    def fits(self, state: PublisherState) -> bool:
        """Whether ``state`` fills this template (same leaves, same variable lengths)."""
        leaves = self.leaves
        index = 0
        for value in _flatten(state.values):
            if index >= len(leaves):
                return False
            leaf = leaves[index]
            if type(value) is not leaf.kind:
                return False
            if leaf.signed_width:
                assert isinstance(value, DataInteger | DataUnsigned)
                limit = 1 << (8 * leaf.signed_width - 1)
                if not -limit <= value.value < limit:
                    return False
            elif len(_contents(value)) != leaf.stop - leaf.start:
                return False
            index += 1
        return index == len(leaves) and all(
            0 <= n < 2**32 for n in (state.st_num, state.sq_num, state.time_allowed_to_live)
        )

    def fill(self, state: PublisherState) -> bytes:
        frame = bytearray(self.frame)
        header = self.header
        for name, number in (
            ("timeAllowedtoLive", state.time_allowed_to_live),
            ("stNum", state.st_num),
            ("sqNum", state.sq_num),
            ("confRev", self.conf_rev),
            ("numDatSetEntries", len(state.values)),
        ):
            start, stop = header[name]
            frame[start:stop] = number.to_bytes(HEADER_WIDTH, "big", signed=True)
        start, stop = header["t"]
        frame[start:stop] = encode_utc_time(state.t, "IECGoosePdu.t")
        start, _ = header["simulation"]
        frame[start] = 0xFF if state.simulation else 0x00
        start, _ = header["ndsCom"]
        frame[start] = 0xFF if state.nds_com else 0x00
        for leaf, value in zip(self.leaves, _flatten(state.values), strict=True):
            if leaf.signed_width:
                assert isinstance(value, DataInteger | DataUnsigned)
                frame[leaf.start : leaf.stop] = value.value.to_bytes(
                    leaf.signed_width, "big", signed=True
                )
            else:
                frame[leaf.start : leaf.stop] = _contents(value)
        return bytes(frame)


def _member(members: tuple[MemberType, ...] | None, index: int) -> MemberType | None:
    if members is None or index >= len(members):
        return None
    return members[index]


def _placeholder(value: Data, member: MemberType | None, widths: list[int]) -> Data:
    """``value`` with each integer replaced by one whose minimal encoding has the width of
    its type (widths appended in encoding order)."""
    if isinstance(value, DataStructure | DataArray):
        parts = member.members if member is not None else ()
        inner = []
        for index, item in enumerate(value.value):
            if member is not None and member.kind == ARRAY:
                part: MemberType | None = parts[0] if parts else None
            else:
                part = parts[index] if index < len(parts) else None
            inner.append(_placeholder(item, part, widths))
        return type(value)(inner)
    if isinstance(value, DataInteger | DataUnsigned):
        kind = member.kind if member is not None else ""
        table = _UNSIGNED_WIDTH if isinstance(value, DataUnsigned) else _SIGNED_WIDTH
        width = table.get(kind, DEFAULT_INTEGER_WIDTH)
        needed = _signed_width(value.value)
        width = max(width, needed)
        widths.append(width)
        return type(value)(1 << (8 * width - 2) if width > 1 else 0)
    return value


def _signed_width(number: int) -> int:
    magnitude = number if number >= 0 else ~number
    return magnitude.bit_length() // 8 + 1


def _flatten(values: Sequence[Data]) -> Iterator[Data]:
    for value in values:
        if isinstance(value, DataStructure | DataArray):
            yield from _flatten(value.value)
        else:
            yield value


def _leaf_kinds(values: Sequence[Data]) -> list[type]:
    return [type(v) for v in _flatten(values)]


def _contents(value: Data) -> bytes:
    """The contents octets of a primitive Data value (its encoding minus tag and length)."""
    if isinstance(value, DataBoolean):
        return b"\xff" if value.value else b"\x00"
    encoded = encode_data(value)
    return encoded[2:] if encoded[1] < 0x80 else encoded[2 + (encoded[1] & 0x7F) :]


__all__ = [
    "DEFAULT_INTEGER_WIDTH",
    "HEADER_WIDTH",
    "Addressing",
    "FrameBuilder",
    "PublisherState",
    "pdu",
]
