"""SV frame header: tagged and untagged, simulation bit, Length checks, located errors."""

from __future__ import annotations

import pytest

from gen61850.generated.sv.iec61850_9_2 import ASDU, SavPdu
from gen61850.runtime.errors import DecodeError
from gen61850.runtime.sv.frame import (
    VlanTag,
    decode_frame,
    decode_header,
    encode_frame,
    format_mac,
    parse_mac,
)

DST = parse_mac("01-0C-CD-04-00-01")
SRC = parse_mac("02:00:00:00:00:01")
PDU = SavPdu(1, [ASDU("MU01", 5, 1, 2, bytes(64))])


@pytest.mark.parametrize("vlan", [None, VlanTag(), VlanTag(6, 1000), VlanTag(0, 4095, True)])
@pytest.mark.parametrize("simulated", [False, True])
def test_header_round_trip(vlan: VlanTag | None, simulated: bool) -> None:
    frame = encode_frame(PDU, dst=DST, src=SRC, appid=0x4000, vlan=vlan, simulated=simulated)
    decoded = decode_frame(frame)
    assert decoded.pdu == PDU
    assert decoded.header.vlan == vlan
    assert decoded.header.simulated is simulated
    assert decoded.header.appid == 0x4000
    assert decoded.header.length == len(frame) - (18 if vlan else 14)


def test_default_tag_is_priority_4_vid_0() -> None:
    frame = encode_frame(PDU, dst=DST, src=SRC, appid=0x4000)
    assert frame[12:16] == b"\x81\x00\x80\x00"


def test_padding_after_length_is_ignored() -> None:
    frame = encode_frame(PDU, dst=DST, src=SRC, appid=0x4000) + bytes(30)
    assert decode_frame(frame).pdu == PDU


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f[:10], "Ethernet at offset 0: frame of 10 octets is shorter than a MAC header"),
        (lambda f: f[:16], "802.1Q at offset 14: truncated in the VLAN tag"),
        (
            lambda f: f[:16] + b"\x08\x00" + f[18:],
            "Ethernet.ethertype at offset 16: 0x0800 is not SV (0x88ba)",
        ),
        (lambda f: f[:22], "SV.header at offset 18: truncated: 4 of 8 header octets"),
        (
            lambda f: f[:20] + b"\x00\x05" + f[22:],
            "SV.length at offset 20: Length 5 is shorter than the header (8)",
        ),
        (
            lambda f: f[:20] + b"\x01\x00" + f[22:],
            "SV.length at offset 20: Length 256 runs past the end of the frame (",
        ),
        (lambda f: f[:26] + b"\x61" + f[27:], "SavPdu at offset 26: expected tag 0x60, found 0x61"),
    ],
)
def test_bad_frames_name_field_and_offset(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    frame = encode_frame(PDU, dst=DST, src=SRC, appid=0x4000)
    with pytest.raises(DecodeError) as caught:
        decode_frame(mutate(frame))
    assert str(caught.value).startswith(message)


def test_untagged_header_offsets() -> None:
    frame = encode_frame(PDU, dst=DST, src=SRC, appid=0x4001, vlan=None)
    header = decode_header(frame)
    assert header.apdu_offset == 22 and header.vlan is None


def test_mac_text() -> None:
    assert format_mac(parse_mac("01-0c-CD-04-00-01")) == "01:0c:cd:04:00:01"
    with pytest.raises(ValueError, match="not a MAC"):
        parse_mac("01-0C-CD-04-00")
