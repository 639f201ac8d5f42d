"""Decode one SV frame (the generated codec's ``locate_sav_pdu``: values and field spans)
and learn its *shape*: where each variable field is.

A shape is what stays the same from one frame of a stream to the next: the APPID, the
Length, every tag and length, svID, datSet, confRev, smpSynch, smpRate, smpMod and
gmIdentity. Only reserved1 (simulation bit), smpCnt, refrTm, the sample octets and the
contents of the security element (an IEC 62351-6 signature changes with every frame) vary.
The quick parser checks a frame against its shape with one masked comparison and reads
the variable fields with one pre-compiled struct; the batch decoder does the same with
numpy over many frames. Offsets in a shape are relative to the APPID (``base``) so that a
tag added or removed on the way does not change the shape.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from gen61850.generated.sv.iec61850_9_2 import locate_sav_pdu
from gen61850.runtime.ber import element_bounds
from gen61850.runtime.sv.dataset import ChannelType, DataSetLayout
from gen61850.runtime.sv.frame import check_apdu, decode_header
from gen61850.runtime.sv.frame_shapes import constant_octets
from gen61850.runtime.sv.records import DecodedAsdu, DecodedFrame, LinkHeader

parse_link = decode_header
"""The link and SV header; DecodeError for short, oversized, non-SV or bad Length."""


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


RecordPlan = tuple[
    str, int, int, int, int, int, int, str | None, int | None, int | None, bytes | None
]
"""Per ASDU, what the fast path needs to build its ``DecodedAsdu``: svID, confRev,
smpSynch, sample start and end (from ``base``), the struct item index of smpCnt and of
refrTm (0 when absent), then datSet, smpRate, smpMod and gmIdentity (None when absent)."""


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
    security: tuple[int, int] | None = None
    """Where the security element's open value (tag, length, contents) starts and ends,
    from ``base``; its contents are variable, its tag and length part of the shape."""

    @property
    def sv_ids(self) -> tuple[str, ...]:
        return tuple(a.sv_id for a in self.asdus)

    def matches(self, frame: bytes, base: int) -> bool:
        """One comparison: every constant octet from APPID to the end is as learned."""
        region = int.from_bytes(frame[base : base + self.length], "big")
        return region & self.mask == self.constant


def decode_sv(frame: bytes, time: float | None = None) -> tuple[DecodedFrame, list[int]]:
    """Full decode of a frame by the generated codec: the records and, per ASDU, the
    smpCnt, refrTm (-1 when absent) and sample offsets from base, as one flat list,
    followed by the start and end of the security value (both -1 when absent).

    DecodeError names the field path and absolute byte offset on malformed input.
    """
    link = decode_header(frame)
    base = link.base
    pdu, spans = locate_sav_pdu(frame, base + 8, base + link.length)
    check_apdu(frame, base, link.length, pdu)  # the same rules as decode_frame
    where = {path: (start, stop) for path, start, stop in spans}
    offsets: list[int] = []
    for index in range(len(pdu.asdu)):
        path = f"ASDU[{index}]."
        refr_tm = where.get(path + "refrTm")
        offsets += [
            where[path + "smpCnt"][0] - base,
            -1 if refr_tm is None else refr_tm[0] - base,
            where[path + "sample"][0] - base,
        ]
    security = where.get("SavPdu.security")
    offsets += [-1, -1] if security is None else [security[0] - base, security[1] - base]
    records = [DecodedAsdu.from_codec(asdu) for asdu in pdu.asdu]
    return DecodedFrame(link, records, time, pdu.security), offsets


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
    variable: list[tuple[int, int, str]] = []
    asdu_shapes: list[AsduShape] = []
    chosen: list[DataSetLayout | None] = []
    items: list[int] = []
    plan: list[RecordPlan] = []
    item = 1  # struct item 0 is reserved1
    security: tuple[int, int] | None = None
    for i, asdu in enumerate(decoded.asdus):
        smp_off, refr_off, sample_off = offsets[3 * i : 3 * i + 3]
        size = len(asdu.sample)
        layout = (layouts or {}).get(asdu.sv_id)
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
        ordered = sorted(spans)
        variable += [(offset, width, code) for offset, width, code, _ in ordered]
        count = sum(1 if code.endswith("s") else len(code) for _, _, code, _ in ordered)
        items.append(count)
        plan.append(
            (
                asdu.sv_id,
                asdu.conf_rev,
                asdu.smp_synch,
                sample_off,
                sample_off + size,
                item,
                item + 1 if refr_off >= 0 else 0,
                asdu.dat_set,
                asdu.smp_rate,
                asdu.smp_mod,
                asdu.gm_identity,
            )
        )
        item += count
        asdu_shapes.append(
            AsduShape(
                asdu.sv_id,
                asdu.dat_set,
                asdu.conf_rev,
                asdu.smp_synch,
                asdu.smp_rate,
                asdu.smp_mod,
                asdu.gm_identity,
                smp_off,
                refr_off if refr_off >= 0 else None,
                sample_off,
                size,
            )
        )
    mask, fmt = constant_octets(link.length, variable)
    if offsets[-1] >= 0:
        security = (offsets[-2], offsets[-1])
        # The open value's contents vary (a signature per frame); its tag and length not.
        inner, end = element_bounds(region, security[0], security[1], "SavPdu.security")
        mask[inner:end] = bytes(end - inner)
    mask_int = int.from_bytes(mask, "big")
    shape = FrameShape(
        link.appid,
        link.length,
        tuple(asdu_shapes),
        mask_int,
        int.from_bytes(region, "big") & mask_int,
        tuple(chosen),
        struct.Struct(fmt),
        tuple(items),
        tuple(plan),
        security,
    )
    return shape, decoded


__all__ = [  # DecodedFrame and LinkHeader live in records; still importable from here
    "AsduShape",
    "DecodedFrame",
    "FrameShape",
    "LinkHeader",
    "RecordPlan",
    "decode_sv",
    "learn_shape",
    "parse_link",
]
