"""GOOSE Ethernet frames: the link header SV shares (``runtime.link``: MAC header,
optional 802.1Q tag, APPID, Length, reserved fields; IEC 61850-8-1 Annex C, Ethertype
0x88B8) around an ``IECGoosePdu``, the generated codec's business. Header problems
raise ``DecodeError`` naming the field and the frame offset.
"""

from __future__ import annotations

from dataclasses import dataclass

from gen61850.generated.goose.iec61850_8_1 import (
    IECGoosePdu,
    decode_iec_goose_pdu,
    encode_iec_goose_pdu,
)
from gen61850.runtime.link import (
    APPID_HEADER,
    DEFAULT_VLAN,
    MAX_FRAME,
    SIMULATION_BIT,
    LinkHeader,
    Protocol,
    VlanTag,
    decode_link_header,
    encode_link,
)

__all__ = [
    "COUNTER_MAX",
    "ETHERTYPE_GOOSE",
    "GOOSE",
    "HEADER",
    "MAX_FRAME",
    "SIMULATION_BIT",
    "GooseFrame",
    "GooseHeader",
    "decode_frame",
    "decode_header",
    "encode_frame",
    "is_goose",
]

ETHERTYPE_GOOSE = 0x88B8
GOOSE = Protocol("GOOSE", ETHERTYPE_GOOSE)
HEADER = APPID_HEADER  # APPID, Length, reserved1, reserved2
COUNTER_MAX = 2**32 - 1
"""stNum and sqNum wrap from here to 1 (INT32U; 0 only starts a state or a stream)."""
GooseHeader = LinkHeader
"""Everything of a GOOSE frame outside the APDU (the link header SV shares)."""


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
    """Parse the header; the frame's size and the Length field are checked (the rules
    of ``runtime.link``, the same as SV's)."""
    return decode_link_header(frame, GOOSE)


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
    """A complete frame (no FCS, no padding); ``pdu`` may be pre-encoded. GOOSE is not
    fragmented: an APDU that makes Length exceed 1500 octets is refused."""
    apdu = pdu if isinstance(pdu, bytes) else encode_iec_goose_pdu(pdu)
    return encode_link(
        apdu,
        GOOSE,
        dst=dst,
        src=src,
        appid=appid,
        vlan=vlan,
        simulated=simulated,
        reserved2=reserved2,
    )
