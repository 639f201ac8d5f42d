"""Walk one SV frame into typed records and learn its *shape*: where each variable field is.

A shape is what stays the same from one frame of a stream to the next: the APPID, the
Length, every tag and length, svID, datSet, confRev, smpSynch, smpRate, smpMod and
gmIdentity. Only reserved1 (simulation bit), smpCnt, refrTm and the sample octets vary.
The quick parser checks a frame against its shape with one masked comparison and reads
the variable fields with one pre-compiled struct; the batch decoder does the same with
numpy over many frames. Offsets in a shape are relative to the APPID (``base``) so that a
tag added or removed on the way does not change the shape.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from gen61850.generated.sv.iec61850_9_2 import ASDU
from gen61850.runtime.errors import DecodeError
from gen61850.runtime.sv.ber import read_header
from gen61850.runtime.sv.dataset import ChannelType, DataSetLayout
from gen61850.runtime.sv.frame import SvHeader, decode_header

MAX_FRAME = 1522
"""Largest frame accepted (802.1Q-tagged Ethernet without FCS is 1518; a little slack)."""


TAG_SAVPDU = 0x60
TAG_NOASDU = 0x80
TAG_SECURITY = 0xA1
TAG_SEQ_ASDU = 0xA2
TAG_ASDU = 0x30


LinkHeader = SvHeader
"""The link and SV header of a frame (``gen61850.runtime.sv.frame.SvHeader``)."""


def parse_link(frame: bytes) -> SvHeader:
    """The link and SV header; DecodeError for short, oversized, non-SV or bad Length."""
    if len(frame) > MAX_FRAME:
        raise DecodeError("frame", MAX_FRAME, f"oversized: {len(frame)} octets (max {MAX_FRAME})")
    return decode_header(frame)


@dataclass(slots=True)
class DecodedFrame:
    """One decoded frame: link header, ASDUs (the generated codec's ``ASDU`` values),
    capture time (seconds) when known."""

    link: LinkHeader
    asdus: list[ASDU]
    time: float | None = None
    security: bytes | None = None
    raw: bytes | None = None
    """The frame's octets as received (for writing captures)."""


@dataclass(frozen=True, slots=True)
class AsduShape:
    """Constants of one ASDU and the offsets (from ``base``) of its variable fields."""

    sv_id: str
    dat_set: str | None
    conf_rev: int
    smp_synch: int
    smp_rate: int | None
    smp_mod: int | None
    gm_identity: bytes | None
    smp_cnt_offset: int
    refr_tm_offset: int | None
    sample_offset: int
    sample_length: int


RecordPlan = tuple[str, int, int, int, int, int, int, tuple[tuple[str, object], ...]]
"""Per ASDU, what the fast path needs to build its ``ASDU``: svID, confRev, smpSynch,
sample start and end (from ``base``), the struct item index of smpCnt and of refrTm (0
when absent), and the optional fields present (name, value)."""


@dataclass(frozen=True, slots=True)
class FrameShape:
    """The learned shape of one stream's frames, with its mask and struct."""

    appid: int
    length: int
    asdus: tuple[AsduShape, ...]
    mask: int = field(repr=False)
    constant: int = field(repr=False)
    layouts: tuple[DataSetLayout | None, ...] = field(repr=False)
    unpacker: struct.Struct = field(compare=False, repr=False)
    items_per_asdu: tuple[int, ...] = field(repr=False)
    plan: tuple[RecordPlan, ...] = field(compare=False, repr=False)

    @property
    def sv_ids(self) -> tuple[str, ...]:
        return tuple(a.sv_id for a in self.asdus)

    def matches(self, frame: bytes, base: int) -> bool:
        """One comparison: every constant octet from APPID to the end is as learned."""
        region = int.from_bytes(frame[base : base + self.length], "big")
        return region & self.mask == self.constant


def _text(data: bytes, start: int, end: int) -> str:
    raw = bytes(data[start:end])
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _fixed(data: bytes, start: int, end: int, size: int, path: str) -> bytes:
    if end - start != size:
        raise DecodeError(path, start, f"{end - start} octets, expected {size}")
    return bytes(data[start:end])


def decode_sv(frame: bytes, time: float | None = None) -> tuple[DecodedFrame, list[int]]:
    """Full walk of a frame: the records and, per ASDU, smpCnt/refrTm/sample offsets.

    Returns the frame and a flat list of (smpCnt, refrTm or -1, sample) offsets from base.
    DecodeError names the field path and absolute byte offset on malformed input.
    """
    link = parse_link(frame)
    base = link.base
    end = base + link.length
    tag, pos, pdu_end = read_header(frame, base + 8, end, "SavPdu")
    if tag != TAG_SAVPDU:
        raise DecodeError("SavPdu", base + 8, f"tag 0x{tag:02x}, expected 0x60")
    asdus: list[ASDU] = []
    offsets: list[int] = []
    no_asdu: int | None = None
    no_asdu_at = base + 8
    security: bytes | None = None
    while pos < pdu_end:
        tag, start, stop = read_header(frame, pos, pdu_end, "SavPdu")
        if tag == TAG_NOASDU:
            if not 1 <= stop - start <= 3:
                raise DecodeError("SavPdu.noASDU", start, f"{stop - start} octets")
            no_asdu = int.from_bytes(frame[start:stop], "big", signed=True)
            no_asdu_at = pos
        elif tag == TAG_SECURITY:
            security = bytes(frame[start:stop])
        elif tag == TAG_SEQ_ASDU:
            apos = start
            while apos < stop:
                index = len(asdus)
                atag, astart, astop = read_header(frame, apos, stop, f"ASDU[{index}]")
                if atag != TAG_ASDU:
                    raise DecodeError(f"ASDU[{index}]", apos, f"tag 0x{atag:02x}, expected 0x30")
                asdu, asdu_offsets = _decode_asdu(frame, astart, astop, base, index)
                asdus.append(asdu)
                offsets += asdu_offsets
                apos = astop
        else:
            raise DecodeError("SavPdu", pos, f"unexpected tag 0x{tag:02x}")
        pos = stop
    if no_asdu is None:
        raise DecodeError("SavPdu.noASDU", base + 8, "missing")
    if not asdus:
        raise DecodeError("SavPdu.asdu", base + 8, "no ASDU")
    if no_asdu != len(asdus):
        raise DecodeError("SavPdu.noASDU", no_asdu_at, f"says {no_asdu}, frame has {len(asdus)}")
    return DecodedFrame(link, asdus, time, security), offsets


def _decode_asdu(
    frame: bytes, start: int, stop: int, base: int, index: int
) -> tuple[ASDU, list[int]]:
    path = f"ASDU[{index}]"
    found: dict[int, tuple[int, int]] = {}
    pos = start
    last = -1
    while pos < stop:
        tag, vstart, vend = read_header(frame, pos, stop, path)
        if not 0x80 <= tag <= 0x89:
            raise DecodeError(path, pos, f"unexpected tag 0x{tag:02x}")
        if tag <= last:
            raise DecodeError(path, pos, f"tag 0x{tag:02x} out of order or repeated")
        last = tag
        found[tag] = (vstart, vend)
        pos = vend
    for tag, name in ((0x80, "svID"), (0x82, "smpCnt"), (0x83, "confRev"), (0x85, "smpSynch")):
        if tag not in found:
            raise DecodeError(f"{path}.{name}", start, "missing")
    if 0x87 not in found:
        raise DecodeError(f"{path}.seqData", start, "missing")

    def fixed(tag: int, size: int, name: str) -> bytes:
        s, e = found[tag]
        return _fixed(frame, s, e, size, f"{path}.{name}")

    def optional_u16(tag: int, name: str) -> int | None:
        return int.from_bytes(fixed(tag, 2, name), "big") if tag in found else None

    sv_id = _text(frame, *found[0x80])
    dat_set = _text(frame, *found[0x81]) if 0x81 in found else None
    smp_cnt = int.from_bytes(fixed(0x82, 2, "smpCnt"), "big")
    conf_rev = int.from_bytes(fixed(0x83, 4, "confRev"), "big")
    refr_tm = fixed(0x84, 8, "refrTm") if 0x84 in found else None
    smp_synch = fixed(0x85, 1, "smpSynch")[0]
    gm = fixed(0x89, 8, "gmIdentity") if 0x89 in found else None
    sample_start, sample_end = found[0x87]
    asdu = ASDU(
        sv_id,
        smp_cnt,
        conf_rev,
        smp_synch,
        bytes(frame[sample_start:sample_end]),
        datSet=dat_set,
        refrTm=refr_tm,
        smpRate=optional_u16(0x86, "smpRate"),
        smpMod=optional_u16(0x88, "smpMod"),
        gmIdentity=gm,
    )
    refr_offset = found[0x84][0] - base if 0x84 in found else -1
    return asdu, [found[0x82][0] - base, refr_offset, sample_start - base]


def _value_codes(layout: DataSetLayout) -> str:
    return "".join(
        ("i" if c.type is ChannelType.INT32 else "f") + ("I" if c.quality else "")
        for c in layout.channels
    )


def learn_shape(
    frame: bytes, layouts: dict[str, DataSetLayout] | None = None
) -> tuple[FrameShape, DecodedFrame]:
    """Decode a frame fully and build the shape its successors are checked against.

    ``layouts`` (by svID) unpack sample octets into values; an ASDU whose svID has no
    layout, or whose sample size differs from its layout, is read as raw octets.
    """
    decoded, offsets = decode_sv(frame)
    link = decoded.link
    base = link.base
    region = bytes(frame[base : base + link.length])
    mask = bytearray(b"\xff" * link.length)
    mask[4:6] = b"\0\0"
    fmt = [">4xH"]
    cursor = 6
    asdu_shapes: list[AsduShape] = []
    chosen: list[DataSetLayout | None] = []
    items: list[int] = []
    plan: list[RecordPlan] = []
    item = 1  # struct item 0 is reserved1
    for i, asdu in enumerate(decoded.asdus):
        smp_off, refr_off, sample_off = offsets[3 * i : 3 * i + 3]
        size = len(asdu.sample)
        layout = (layouts or {}).get(asdu.svID)
        if layout is not None and layout.size != size:
            layout = None
        chosen.append(layout)
        spans: list[tuple[int, int, str, int]] = [(smp_off, 2, "H", 1)]
        if refr_off >= 0:
            spans.append((refr_off, 8, "8s", 1))
        if layout is not None:
            spans.append((sample_off, size, _value_codes(layout), layout.sample_struct.size))
        else:
            spans.append((sample_off, size, f"{size}s", 1))
        count = 0
        for offset, width, code, _ in sorted(spans):
            if offset > cursor:
                fmt.append(f"{offset - cursor}x")
            fmt.append(code)
            mask[offset : offset + width] = bytes(width)
            cursor = offset + width
            count += 1 if code.endswith("s") else len(code)
        items.append(count)
        optional = tuple(
            (name, value)
            for name, value in (
                ("datSet", asdu.datSet),
                ("smpRate", asdu.smpRate),
                ("smpMod", asdu.smpMod),
                ("gmIdentity", asdu.gmIdentity),
            )
            if value is not None
        )
        plan.append(
            (
                asdu.svID,
                asdu.confRev,
                asdu.smpSynch,
                sample_off,
                sample_off + size,
                item,
                item + 1 if refr_off >= 0 else 0,
                optional,
            )
        )
        item += count
        asdu_shapes.append(
            AsduShape(
                asdu.svID,
                asdu.datSet,
                asdu.confRev,
                asdu.smpSynch,
                asdu.smpRate,
                asdu.smpMod,
                asdu.gmIdentity,
                smp_off,
                refr_off if refr_off >= 0 else None,
                sample_off,
                size,
            )
        )
    mask_int = int.from_bytes(mask, "big")
    shape = FrameShape(
        link.appid,
        link.length,
        tuple(asdu_shapes),
        mask_int,
        int.from_bytes(region, "big") & mask_int,
        tuple(chosen),
        struct.Struct("".join(fmt)),
        tuple(items),
        tuple(plan),
    )
    return shape, decoded
