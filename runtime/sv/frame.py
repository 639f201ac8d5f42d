"""SV Ethernet frames: MAC header, optional 802.1Q tag, APPID, Length, reserved fields.

The APDU inside is the generated ``SavPdu`` codec's business; this module only finds it
and wraps it. Header problems raise ``DecodeError`` with the field and the frame offset.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import NamedTuple

from gen61850.generated.sv.iec61850_9_2 import (
    ASDU,
    SavPdu,
    decode_sav_pdu,
    encode_sav_pdu,
    locate_sav_pdu,
)
from gen61850.runtime.ber import element_bounds
from gen61850.runtime.errors import DecodeError, EncodeError
from gen61850.runtime.sv.frame_shapes import AsduConstants, Shape, Shapes
from gen61850.runtime.sv.frame_shapes import learn as learn_shape

ETHERTYPE_SV = 0x88BA
TPID_8021Q = 0x8100
SIMULATION_BIT = 0x8000  # reserved1 bit 15 (IEC 61850-9-2 Ed. 2.1, 8.2.2)
APPID_HEADER = struct.Struct(">HHHH")  # APPID, Length, reserved1, reserved2
_UNTAGGED = struct.Struct(">6s6sHHHHH")  # dst, src, Ethertype, APPID header
_TAGGED = struct.Struct(">6s6sHHHHHHH")  # dst, src, TPID, TCI, Ethertype, APPID header
DEFAULT_VLAN_PRIORITY = 4  # IEC 61850-9-2 AMD1 Table 7
DEFAULT_VLAN_ID = 0
MAX_FRAME = 1522
"""Largest frame accepted, in octets: an 802.1Q-tagged Ethernet frame with its FCS
(IEEE 802.3 1518 + 4 for the tag), so captures that keep the FCS still decode."""
MAX_LENGTH = 1500
"""Largest SV Length: APPID header and APDU are the frame's MAC client data, which IEEE
802.3 limits to 1500 octets (the 802.1Q tag is outside it)."""


class VlanTag(NamedTuple):
    """The 802.1Q tag control information: user priority, DEI/CFI bit, VLAN id."""

    priority: int = DEFAULT_VLAN_PRIORITY
    vid: int = DEFAULT_VLAN_ID
    dei: bool = False

    def tci(self) -> int:
        if not 0 <= self.priority <= 7:
            raise EncodeError("VLAN.priority", f"{self.priority} is outside 0..7")
        if not 0 <= self.vid <= 0xFFF:
            raise EncodeError("VLAN.vid", f"{self.vid} is outside 0..4095")
        return (self.priority << 13) | (0x1000 if self.dei else 0) | self.vid


DEFAULT_VLAN = VlanTag()
"""VID 0, priority 4 (IEC 61850-9-2 AMD1 Table 7)."""


@dataclass(slots=True)
class SvHeader:
    """Everything of an SV frame outside the APDU."""

    dst: bytes
    src: bytes
    vlan: VlanTag | None
    appid: int
    length: int  # from APPID to the end of the APDU, as carried in the frame
    reserved1: int = 0
    reserved2: int = 0

    @property
    def simulated(self) -> bool:
        """The simulation bit (reserved1 bit 15): the frame comes from a test set."""
        return bool(self.reserved1 & SIMULATION_BIT)

    @property
    def base(self) -> int:
        """Where the APPID starts in the frame (18 tagged, 14 untagged)."""
        return 18 if self.vlan is not None else 14

    @property
    def apdu_offset(self) -> int:
        """Where the APDU starts in the frame."""
        return 26 if self.vlan is not None else 22

    @property
    def vlan_id(self) -> int | None:
        """The VLAN id, None when the frame is untagged."""
        return None if self.vlan is None else self.vlan.vid

    @property
    def vlan_priority(self) -> int | None:
        """The 802.1Q user priority, None when the frame is untagged."""
        return None if self.vlan is None else self.vlan.priority


@dataclass(slots=True)
class SvFrame:
    """A decoded SV frame: its header and its APDU."""

    header: SvHeader
    pdu: SavPdu


def decode_header(frame: bytes) -> SvHeader:
    """Parse the header; the frame's size and the Length field are checked (the rules
    every decode path applies are listed in ``decode_frame``)."""
    size = len(frame)
    if size > MAX_FRAME:
        raise DecodeError("frame", MAX_FRAME, f"oversized: {size} octets (max {MAX_FRAME})")
    if size >= 26 and frame[12] == 0x81 and frame[13] == 0x00:
        dst, src, _, tci, ethertype, appid, length, reserved1, reserved2 = _TAGGED.unpack_from(
            frame
        )
        vlan: VlanTag | None = VlanTag(tci >> 13, tci & 0xFFF, bool(tci & 0x1000))
        pos = 18
    elif size >= 22 and frame[12] != 0x81:
        dst, src, ethertype, appid, length, reserved1, reserved2 = _UNTAGGED.unpack_from(frame)
        vlan = None
        pos = 14
    else:
        raise _short_header(frame)
    if ethertype != ETHERTYPE_SV:
        raise DecodeError("Ethernet.ethertype", pos - 2, f"0x{ethertype:04x} is not SV (0x88ba)")
    check_length(length, size - pos, pos + 2)
    return SvHeader(dst, src, vlan, appid, length, reserved1, reserved2)


def check_length(length: int, room: int, at: int) -> None:
    """The Length rule: from 8 (the APPID header) to ``MAX_LENGTH``, and within the
    ``room`` octets there are from the APPID on; ``at`` is the Length field's offset."""
    if length < 8:
        raise DecodeError("SV.length", at, f"Length {length} is shorter than the header (8)")
    if length > MAX_LENGTH:
        raise DecodeError(
            "SV.length", at, f"Length {length} is over the 802.3 maximum of {MAX_LENGTH}"
        )
    if length > room:
        raise DecodeError(
            "SV.length",
            at,
            f"Length {length} runs past the end of the frame ({room} octets from APPID)",
        )


def _short_header(frame: bytes) -> DecodeError:
    """The error for a frame too short to hold the MAC, VLAN and APPID headers."""
    size = len(frame)
    if size < 14:
        return DecodeError("Ethernet", 0, f"frame of {size} octets is shorter than a MAC header")
    tagged = frame[12] == 0x81 and frame[13] == 0x00
    if tagged and size < 18:
        return DecodeError("802.1Q", 14, "truncated in the VLAN tag")
    ethertype_at = 16 if tagged else 12
    ethertype = (frame[ethertype_at] << 8) | frame[ethertype_at + 1]
    if ethertype != ETHERTYPE_SV:
        return DecodeError(
            "Ethernet.ethertype", ethertype_at, f"0x{ethertype:04x} is not SV (0x88ba)"
        )
    pos = ethertype_at + 2
    return DecodeError("SV.header", pos, f"truncated: {size - pos} of 8 header octets")


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
    if len(dst) != 6 or len(src) != 6:
        raise EncodeError("Ethernet", "MAC addresses are 6 octets")
    if not 0 <= appid <= 0xFFFF:
        raise EncodeError("SV.appid", f"{appid} is outside 0..65535")
    length = 8 + len(apdu)
    if length > MAX_LENGTH:
        raise EncodeError(
            "SV.length",
            f"APDU of {len(apdu)} octets: Length {length} is over the 802.3 maximum of "
            f"{MAX_LENGTH}",
        )
    tag = b"" if vlan is None else struct.pack(">HH", TPID_8021Q, vlan.tci())
    reserved1 = SIMULATION_BIT if simulated else 0
    return b"".join(
        (
            dst,
            src,
            tag,
            struct.pack(">H", ETHERTYPE_SV),
            APPID_HEADER.pack(appid, length, reserved1, reserved2),
            apdu,
        )
    )


_MAC_PATTERN = re.compile(r"^[0-9a-fA-F]{2}([-:]?)[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$")


def parse_mac(text: str | bytes) -> bytes:
    """``01-0C-CD-04-00-01``, ``01:0c:cd:04:00:01``, ``010ccd040001`` or 6 raw octets.

    ValueError for anything else.
    """
    if isinstance(text, bytes | bytearray):
        if len(text) != 6:
            raise ValueError(f"{len(text)} octets is not a MAC address (6)")
        return bytes(text)
    if not _MAC_PATTERN.match(text.strip()):
        raise ValueError(f"{text!r} is not a MAC address (six hex pairs)")
    return bytes.fromhex(re.sub(r"[-:]", "", text.strip()))


def format_mac(mac: bytes) -> str:
    """6 octets → ``01:0c:cd:04:00:01`` (the form tshark prints)."""
    return ":".join(f"{b:02x}" for b in mac)
