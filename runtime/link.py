"""The link layer GOOSE and SV share (IEC 61850-8-1 Annex C, IEC 61850-9-2 clause 8):
destination and source MAC, an optional 802.1Q tag, the Ethertype, then APPID, Length
and the two reserved fields; reserved1 bit 15 is the simulation bit (Ed. 2).

One header type and one set of decode rules for both protocols; each names itself in
its errors (``SV.length``, ``GOOSE.header``). Header problems raise ``DecodeError``
naming the field and the frame offset.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import NamedTuple

from gen61850.runtime.errors import DecodeError, EncodeError

TPID_8021Q = 0x8100
SIMULATION_BIT = 0x8000
"""reserved1 bit 15: the frame comes from a test set or a simulation device (Ed. 2)."""
APPID_HEADER = struct.Struct(">HHHH")  # APPID, Length, reserved1, reserved2
_UNTAGGED = struct.Struct(">6s6sHHHHH")  # dst, src, Ethertype, APPID header
_TAGGED = struct.Struct(">6s6sHHHHHHH")  # dst, src, TPID, TCI, Ethertype, APPID header
DEFAULT_VLAN_PRIORITY = 4  # IEC 61850-9-2 AMD1 Table 7 (IEC 61850-8-1 the same for GOOSE)
DEFAULT_VLAN_ID = 0
MAX_FRAME = 1522
"""Largest frame accepted, in octets: an 802.1Q-tagged Ethernet frame with its FCS
(IEEE 802.3 1518 + 4 for the tag), so captures that keep the FCS still decode."""
MAX_LENGTH = 1500
"""Largest Length: APPID header and APDU are the frame's MAC client data, which IEEE
802.3 limits to 1500 octets (the 802.1Q tag is outside it)."""


class Protocol(NamedTuple):
    """A protocol on this link layer: its name in errors and its Ethertype."""

    name: str
    ethertype: int

    def __str__(self) -> str:
        return f"{self.name} (0x{self.ethertype:04x})"


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
class LinkHeader:
    """Everything of a GOOSE or SV frame outside the APDU."""

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
        """The simulation bit (reserved1 bit 15)."""
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
    def apdu_end(self) -> int:
        """Where the APDU ends in the frame (what follows is padding)."""
        return self.base + self.length

    @property
    def vlan_id(self) -> int | None:
        """The VLAN id, None when the frame is untagged."""
        return None if self.vlan is None else self.vlan.vid

    @property
    def vlan_priority(self) -> int | None:
        """The 802.1Q user priority, None when the frame is untagged."""
        return None if self.vlan is None else self.vlan.priority


def decode_link_header(frame: bytes, protocol: Protocol) -> LinkHeader:
    """Parse the header of a ``protocol`` frame; the frame's size (at most ``MAX_FRAME``)
    and the Length field are checked."""
    size = len(frame)
    if size > MAX_FRAME:
        raise DecodeError("frame", MAX_FRAME, f"oversized: {size} octets (max {MAX_FRAME})")
    tagged = frame[12:14] == b"\x81\x00"
    if size >= 26 and tagged:
        dst, src, _, tci, ethertype, appid, length, reserved1, reserved2 = _TAGGED.unpack_from(
            frame
        )
        vlan: VlanTag | None = VlanTag(tci >> 13, tci & 0xFFF, bool(tci & 0x1000))
        pos = 18
    elif size >= 22 and not tagged:
        dst, src, ethertype, appid, length, reserved1, reserved2 = _UNTAGGED.unpack_from(frame)
        vlan = None
        pos = 14
    else:
        raise short_header_error(frame, protocol)
    if ethertype != protocol.ethertype:
        raise DecodeError("Ethernet.ethertype", pos - 2, f"0x{ethertype:04x} is not {protocol}")
    check_length(length, size - pos, pos + 2, protocol)
    return LinkHeader(dst, src, vlan, appid, length, reserved1, reserved2)


def check_length(length: int, room: int, at: int, protocol: Protocol) -> None:
    """The Length rule: from 8 (the APPID header) to ``MAX_LENGTH``, and within the
    ``room`` octets there are from the APPID on; ``at`` is the Length field's offset."""
    field = f"{protocol.name}.length"
    if length < 8:
        raise DecodeError(field, at, f"Length {length} is shorter than the header (8)")
    if length > MAX_LENGTH:
        raise DecodeError(field, at, f"Length {length} is over the 802.3 maximum of {MAX_LENGTH}")
    if length > room:
        raise DecodeError(
            field, at, f"Length {length} runs past the end of the frame ({room} octets from APPID)"
        )


def short_header_error(frame: bytes, protocol: Protocol) -> DecodeError:
    """The error for a frame too short to hold the MAC, VLAN and APPID headers."""
    size = len(frame)
    if size < 14:
        return DecodeError("Ethernet", 0, f"frame of {size} octets is shorter than a MAC header")
    tagged = frame[12:14] == b"\x81\x00"
    if tagged and size < 18:
        return DecodeError("802.1Q", 14, "truncated in the VLAN tag")
    ethertype_at = 16 if tagged else 12
    ethertype = (frame[ethertype_at] << 8) | frame[ethertype_at + 1]
    if ethertype != protocol.ethertype:
        return DecodeError(
            "Ethernet.ethertype", ethertype_at, f"0x{ethertype:04x} is not {protocol}"
        )
    pos = ethertype_at + 2
    return DecodeError(
        f"{protocol.name}.header", pos, f"truncated: {size - pos} of 8 header octets"
    )


def encode_link(
    apdu: bytes,
    protocol: Protocol,
    *,
    dst: bytes,
    src: bytes,
    appid: int,
    vlan: VlanTag | None,
    simulated: bool,
    reserved2: int,
) -> bytes:
    """A complete frame around ``apdu`` (no FCS, no padding)."""
    if len(dst) != 6 or len(src) != 6:
        raise EncodeError("Ethernet", "MAC addresses are 6 octets")
    if not 0 <= appid <= 0xFFFF:
        raise EncodeError(f"{protocol.name}.appid", f"{appid} is outside 0..65535")
    length = 8 + len(apdu)
    if length > MAX_LENGTH:
        raise EncodeError(
            f"{protocol.name}.length",
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
            struct.pack(">H", protocol.ethertype),
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
