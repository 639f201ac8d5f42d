"""GOOSE Ethernet frames: MAC header, optional 802.1Q tag, APPID, Length, reserved fields.

The same link layer as SV (IEC 61850-8-1 Annex C, Ethertype 0x88B8; reserved1 bit 15 is
the simulation bit of Ed. 2); the APDU inside is the generated ``IECGoosePdu`` codec's
business. Header problems raise ``DecodeError`` naming the field and the frame offset.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from gen61850.generated.goose.iec61850_8_1 import (
    IECGoosePdu,
    decode_iec_goose_pdu,
    encode_iec_goose_pdu,
)
from gen61850.runtime.errors import DecodeError, EncodeError
from gen61850.runtime.sv.frame import DEFAULT_VLAN, TPID_8021Q, VlanTag

ETHERTYPE_GOOSE = 0x88B8
SIMULATION_BIT = 0x8000
HEADER = struct.Struct(">HHHH")  # APPID, Length, reserved1, reserved2
_UNTAGGED = struct.Struct(">6s6sHHHHH")
_TAGGED = struct.Struct(">6s6sHHHHHHH")
COUNTER_MAX = 2**32 - 1
"""stNum and sqNum wrap from here to 1 (INT32U; 0 only starts a state or a stream)."""
MAX_FRAME = 1518
"""The Ethernet maximum (with an 802.1Q tag, without FCS): GOOSE is not fragmented."""


@dataclass(slots=True)
class GooseHeader:
    """Everything of a GOOSE frame outside the APDU."""

    dst: bytes
    src: bytes
    vlan: VlanTag | None
    appid: int
    length: int
    """From APPID to the end of the APDU, as carried in the frame."""
    reserved1: int = 0
    reserved2: int = 0

    @property
    def simulated(self) -> bool:
        """reserved1 bit 15: the frame comes from a simulation device (Ed. 2)."""
        return bool(self.reserved1 & SIMULATION_BIT)

    @property
    def apdu_offset(self) -> int:
        return 26 if self.vlan is not None else 22

    @property
    def apdu_end(self) -> int:
        return self.apdu_offset - 8 + self.length

    @property
    def vlan_id(self) -> int | None:
        return None if self.vlan is None else self.vlan.vid

    @property
    def vlan_priority(self) -> int | None:
        return None if self.vlan is None else self.vlan.priority


@dataclass(slots=True)
class GooseFrame:
    """A decoded GOOSE frame: its header and its APDU."""

    header: GooseHeader
    pdu: IECGoosePdu


def is_goose(frame: bytes) -> bool:
    """Whether the Ethertype (behind an 802.1Q tag or not) says GOOSE."""
    if frame[12:14] == b"\x81\x00":
        return frame[16:18] == b"\x88\xb8"
    return frame[12:14] == b"\x88\xb8"


def decode_header(frame: bytes) -> GooseHeader:
    """Parse the header; the Length field is checked against the frame's size."""
    size = len(frame)
    if size >= 26 and frame[12] == 0x81 and frame[13] == 0x00:
        dst, src, _, tci, ethertype, appid, length, reserved1, reserved2 = _TAGGED.unpack_from(
            frame
        )
        vlan: VlanTag | None = VlanTag(tci >> 13, tci & 0xFFF, bool(tci & 0x1000))
        pos = 18
    elif size >= 22 and not (frame[12] == 0x81 and frame[13] == 0x00):
        dst, src, ethertype, appid, length, reserved1, reserved2 = _UNTAGGED.unpack_from(frame)
        vlan = None
        pos = 14
    else:
        raise _short_header(frame)
    if ethertype != ETHERTYPE_GOOSE:
        raise DecodeError("Ethernet.ethertype", pos - 2, f"0x{ethertype:04x} is not GOOSE (0x88b8)")
    if length < 8:
        raise DecodeError(
            "GOOSE.length", pos + 2, f"Length {length} is shorter than the header (8)"
        )
    if pos + length > size:
        raise DecodeError(
            "GOOSE.length",
            pos + 2,
            f"Length {length} runs past the end of the frame ({size - pos} octets from APPID)",
        )
    return GooseHeader(dst, src, vlan, appid, length, reserved1, reserved2)


def _short_header(frame: bytes) -> DecodeError:
    size = len(frame)
    if size < 14:
        return DecodeError("Ethernet", 0, f"frame of {size} octets is shorter than a MAC header")
    tagged = frame[12] == 0x81 and frame[13] == 0x00
    if tagged and size < 18:
        return DecodeError("802.1Q", 14, "truncated in the VLAN tag")
    at = 16 if tagged else 12
    ethertype = (frame[at] << 8) | frame[at + 1]
    if ethertype != ETHERTYPE_GOOSE:
        return DecodeError("Ethernet.ethertype", at, f"0x{ethertype:04x} is not GOOSE (0x88b8)")
    return DecodeError("GOOSE.header", at + 2, f"truncated: {size - at - 2} of 8 header octets")


def decode_frame(frame: bytes) -> GooseFrame:
    """Header and APDU of one frame; octets after Length (padding) are ignored."""
    header = decode_header(frame)
    return GooseFrame(header, decode_iec_goose_pdu(frame, header.apdu_offset, header.apdu_end))


def encode_frame(
    pdu: IECGoosePdu | bytes,
    *,
    dst: bytes,
    src: bytes,
    appid: int,
    vlan: VlanTag | None = DEFAULT_VLAN,
    simulated: bool = False,
    reserved2: int = 0,
) -> bytes:
    """A complete frame (no FCS, no padding); ``pdu`` may be pre-encoded."""
    apdu = pdu if isinstance(pdu, bytes) else encode_iec_goose_pdu(pdu)
    if len(dst) != 6 or len(src) != 6:
        raise EncodeError("Ethernet", "MAC addresses are 6 octets")
    if not 0 <= appid <= 0xFFFF:
        raise EncodeError("GOOSE.appid", f"{appid} is outside 0..65535")
    length = 8 + len(apdu)
    tag = b"" if vlan is None else struct.pack(">HH", TPID_8021Q, vlan.tci())
    frame = b"".join(
        (
            dst,
            src,
            tag,
            struct.pack(">H", ETHERTYPE_GOOSE),
            HEADER.pack(appid, length, SIMULATION_BIT if simulated else 0, reserved2),
            apdu,
        )
    )
    if len(frame) > MAX_FRAME:
        raise EncodeError(
            "frame", f"{len(frame)} octets exceed the Ethernet maximum of {MAX_FRAME}"
        )
    return frame
