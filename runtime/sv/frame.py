"""SV Ethernet frames: the link header GOOSE shares (``runtime.link``: MAC header,
optional 802.1Q tag, APPID, Length, reserved fields) around a ``SavPdu``.

The APDU inside is the generated ``SavPdu`` codec's business; this module only finds it
and wraps it. Problems raise ``DecodeError`` with the field and the frame offset.
"""

from __future__ import annotations

from dataclasses import dataclass

from gen61850.generated.sv.iec61850_9_2 import (
    ASDU,
    SavPdu,
    decode_sav_pdu,
    encode_sav_pdu,
    locate_sav_pdu,
)
from gen61850.runtime.ber import element_bounds
from gen61850.runtime.errors import DecodeError
from gen61850.runtime.link import (
    APPID_HEADER,
    DEFAULT_VLAN,
    DEFAULT_VLAN_ID,
    DEFAULT_VLAN_PRIORITY,
    MAX_FRAME,
    MAX_LENGTH,
    SIMULATION_BIT,
    TPID_8021Q,
    LinkHeader,
    Protocol,
    VlanTag,
    decode_link_header,
    encode_link,
    format_mac,
    parse_mac,
)
from gen61850.runtime.link import check_length as link_check_length
from gen61850.runtime.sv.frame_shapes import AsduConstants, Shape, Shapes
from gen61850.runtime.sv.frame_shapes import learn as learn_shape

__all__ = [  # the link layer's names are kept here too, where SV users found them first
    "APPID_HEADER",
    "DEFAULT_VLAN",
    "DEFAULT_VLAN_ID",
    "DEFAULT_VLAN_PRIORITY",
    "ETHERTYPE_SV",
    "MAX_FRAME",
    "MAX_LENGTH",
    "SIMULATION_BIT",
    "SV",
    "TPID_8021Q",
    "SvFrame",
    "SvHeader",
    "VlanTag",
    "check_apdu",
    "check_length",
    "decode_frame",
    "decode_header",
    "encode_frame",
    "format_mac",
    "parse_mac",
]

ETHERTYPE_SV = 0x88BA
SV = Protocol("SV", ETHERTYPE_SV)
SvHeader = LinkHeader
"""Everything of an SV frame outside the APDU (the link header GOOSE shares)."""


@dataclass(slots=True)
class SvFrame:
    """A decoded SV frame: its header and its APDU."""

    header: SvHeader
    pdu: SavPdu


def decode_header(frame: bytes) -> SvHeader:
    """Parse the header; the frame's size and the Length field are checked (the rules
    every decode path applies are listed in ``decode_frame``)."""
    return decode_link_header(frame, SV)


def check_length(length: int, room: int, at: int) -> None:
    """The Length rule (``runtime.link.check_length``) for SV."""
    link_check_length(length, room, at, SV)


def decode_frame(frame: bytes) -> SvFrame:
    """Header and APDU of one frame, under the rules every decode path applies:

    - at most ``MAX_FRAME`` (1522) octets; Ethertype 0x88BA, directly or behind one
      802.1Q tag (TPID 0x8100);
    - Length from 8 to ``MAX_LENGTH`` (1500), within the frame; octets after it
      (Ethernet padding, an FCS) are ignored;
    - the APDU is one well-formed ``SavPdu`` (the generated codec judges it: tags, sizes,
      VisibleString characters 0x20..0x7E) that ends exactly where Length ends;
    - noASDU equals the number of ASDUs.

    DecodeError names the field path and the frame offset of the first rule broken.

    The first frames of a stream take the full walk and the second one's shape is kept
    (``frame_shapes``); a later frame whose every constant octet (tags, lengths, svID,
    confRev, ...) is as that frame's is read with one struct: the same values, at a
    fraction of the cost.
    """
    known = type(frame) is bytes and 26 <= len(frame) <= MAX_FRAME
    if known:  # a frame of a stream met before: one masked comparison, one struct
        base = 18 if frame[12] == 0x81 and frame[13] == 0x00 else 14
        bucket = _SHAPES.by_key.get(frame[base - 2 : base + 4])
        if bucket is not None and len(frame) >= base + bucket[0].length:
            region = int.from_bytes(frame[base : base + bucket[0].length], "big")
            for shape in bucket:
                if region & shape.mask == shape.constant:
                    return _from_shape(frame, base, shape)
    header = decode_header(frame)
    base = header.base
    if not (known and _SHAPES.worth_learning(frame, base)):
        pdu = decode_sav_pdu(frame, base + 8, base + header.length)
        check_apdu(frame, base, header.length, pdu)
        return SvFrame(header, pdu)
    pdu, spans = locate_sav_pdu(frame, base + 8, base + header.length)
    check_apdu(frame, base, header.length, pdu)
    constants = [
        AsduConstants(
            a.svID,
            a.confRev,
            a.smpSynch,
            a.datSet,
            a.refrTm is not None,
            a.smpRate,
            a.smpMod,
            a.gmIdentity,
        )
        for a in pdu.asdu
    ]
    learned = learn_shape(frame, base, header.length, constants, spans)
    if learned is not None:
        _SHAPES.keep(frame, base, learned)
    return SvFrame(header, pdu)


_SHAPES = Shapes()
"""The shapes of the streams ``decode_frame`` met (bounded; see ``frame_shapes``)."""
_VLAN_TAGS: dict[bytes, VlanTag] = {}
"""VlanTag per TCI octets met (at most 65,536 small tuples)."""


def _vlan_tag(tci_octets: bytes) -> VlanTag:
    found = _VLAN_TAGS.get(tci_octets)
    if found is None:
        tci = int.from_bytes(tci_octets, "big")
        found = _VLAN_TAGS[tci_octets] = VlanTag(tci >> 13, tci & 0xFFF, bool(tci & 0x1000))
    return found


def _from_shape(frame: bytes, base: int, shape: Shape) -> SvFrame:
    """The frame a matching shape describes: its constants and the struct's items."""
    items = shape.reader.unpack_from(frame, base)
    vlan = _vlan_tag(frame[14:16]) if base == 18 else None
    header = SvHeader(
        frame[:6], frame[6:12], vlan, shape.appid, shape.length, items[0], shape.reserved2
    )
    if shape.plain:
        if len(shape.asdus) == 1:
            c = shape.asdus[0]
            asdus = [ASDU(c.sv_id, items[1], c.conf_rev, c.smp_synch, items[2])]
        else:
            asdus = [
                ASDU(c.sv_id, items[i], c.conf_rev, c.smp_synch, items[i + 1])
                for i, c in zip(range(1, 2 * len(shape.asdus), 2), shape.asdus, strict=True)
            ]
        return SvFrame(header, SavPdu(len(asdus), asdus))
    asdus = []
    i = 1
    for c in shape.asdus:
        refr_tm = None
        if c.refr_tm:
            refr_tm = items[i + 1]
            sample = items[i + 2]
        else:
            sample = items[i + 1]
        asdus.append(
            ASDU(
                c.sv_id,
                items[i],
                c.conf_rev,
                c.smp_synch,
                sample,
                datSet=c.dat_set,
                refrTm=refr_tm,
                smpRate=c.smp_rate,
                smpMod=c.smp_mod,
                gmIdentity=c.gm_identity,
            )
        )
        i += 3 if c.refr_tm else 2
    return SvFrame(header, SavPdu(len(asdus), asdus))


def check_apdu(data: bytes, base: int, length: int, pdu: SavPdu) -> None:
    """The rules between a decoded APDU and its frame: the APDU fills Length exactly,
    and noASDU counts the ASDUs. ``pdu`` is what the codec decoded from ``data``, whose
    APPID is at ``base``."""
    end = base + length
    start = base + 8
    if data[start + 1] < 0x80:  # short form, the common case: no call
        content = start + 2
        stop = content + data[start + 1]
    else:
        content, stop = element_bounds(data, start, end, "SavPdu")
    if stop != end:
        raise DecodeError(
            "SV.length", base + 2, f"Length {length} leaves {end - stop} octets after the APDU"
        )
    if pdu.noASDU != len(pdu.asdu):
        raise DecodeError("SavPdu.noASDU", content, f"says {pdu.noASDU}, frame has {len(pdu.asdu)}")


def encode_frame(
    pdu: SavPdu | bytes,
    *,
    dst: bytes,
    src: bytes,
    appid: int,
    vlan: VlanTag | None = DEFAULT_VLAN,
    simulated: bool = False,
    reserved2: int = 0,
) -> bytes:
    """A complete frame (no FCS). ``vlan=None`` sends it untagged; ``pdu`` may be pre-encoded."""
    apdu = pdu if isinstance(pdu, bytes) else encode_sav_pdu(pdu)
    return encode_link(
        apdu,
        SV,
        dst=dst,
        src=src,
        appid=appid,
        vlan=vlan,
        simulated=simulated,
        reserved2=reserved2,
    )
