"""GOOSE frames: header fields, tags, padding, and located header errors."""

from __future__ import annotations

import pytest

from gen61850.runtime.errors import DecodeError, EncodeError
from gen61850.runtime.goose.frame import (
    GooseHeader,
    decode_frame,
    decode_header,
    encode_frame,
    is_goose,
)
from gen61850.runtime.sv.frame import VlanTag

from .test_data_tables import PDU, PDU_OCTETS

DST, SRC = bytes.fromhex("010ccd010001"), bytes.fromhex("020000000001")


def test_tagged_and_untagged_frames_round_trip_with_padding() -> None:
    for vlan in (VlanTag(5, 12), None):
        frame = encode_frame(PDU, dst=DST, src=SRC, appid=0x1234, vlan=vlan, simulated=True)
        padded = frame + bytes(20)
        decoded = decode_frame(padded)
        assert decoded.pdu == PDU and is_goose(padded)
        assert (decoded.header.appid, decoded.header.vlan, decoded.header.simulated) == (
            0x1234,
            vlan,
            True,
        )
        assert decoded.header.length == 8 + len(bytes.fromhex(PDU_OCTETS))


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (b"\x01" * 10, "Ethernet at offset 0: frame of 10 octets is shorter than a MAC header"),
        (
            DST + SRC + b"\x88\xba" + bytes(8),
            "Ethernet.ethertype at offset 12: 0x88ba is not GOOSE (0x88b8)",
        ),
        (
            DST + SRC + b"\x88\xb8\x00\x01",
            "GOOSE.header at offset 14: truncated: 2 of 8 header octets",
        ),
        (
            DST + SRC + b"\x88\xb8\x00\x01\x00\x04\x00\x00\x00\x00",
            "GOOSE.length at offset 16: Length 4 is shorter than the header (8)",
        ),
        (
            DST + SRC + b"\x88\xb8\x00\x01\x00\x40\x00\x00\x00\x00",
            "GOOSE.length at offset 16: Length 64 runs past the end of the frame (8 octets from APPID)",
        ),
        (DST + SRC + b"\x81\x00\x00", "802.1Q at offset 14: truncated in the VLAN tag"),
    ],
)
def test_header_errors_are_located(frame: bytes, message: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_header(frame)
    assert str(caught.value) == message


def test_an_apdu_error_counts_offsets_from_the_frame_start() -> None:
    frame = bytearray(encode_frame(PDU, dst=DST, src=SRC, appid=1, vlan=None))
    frame[22] = 0x60
    with pytest.raises(DecodeError) as caught:
        decode_frame(bytes(frame))
    assert str(caught.value) == "IECGoosePdu at offset 22: expected tag 0x61, found 0x60"


def test_encode_refuses_what_cannot_be_sent() -> None:
    with pytest.raises(EncodeError, match="MAC addresses are 6 octets"):
        encode_frame(PDU, dst=b"\x01", src=SRC, appid=1)
    with pytest.raises(EncodeError, match=r"Length 1610 is over the 802\.3 maximum of 1500"):
        encode_frame(b"\x61\x00" + bytes(1600), dst=DST, src=SRC, appid=1)
    # Untagged, 1,504 octets from APPID would still fit 1,518 octets, but not the 1,500
    # octets of MAC client data IEEE 802.3 allows.
    with pytest.raises(EncodeError, match="Length 1504 is over"):
        encode_frame(b"\x61\x00" + bytes(1494), dst=DST, src=SRC, appid=1, vlan=None)
    assert len(encode_frame(b"\x61\x00" + bytes(1490), dst=DST, src=SRC, appid=1)) == 1518


def test_goose_and_sv_share_one_link_header_and_its_rules() -> None:
    from gen61850.runtime.sv.frame import SvHeader
    from gen61850.runtime.sv.frame import decode_header as decode_sv_header
    from gen61850.runtime.sv.frame import encode_frame as encode_sv_frame

    assert GooseHeader is SvHeader
    goose = encode_frame(PDU, dst=DST, src=SRC, appid=7)
    sv = encode_sv_frame(b"\x60\x00", dst=DST, src=SRC, appid=7)
    for frame, decode, other, name in (
        (goose, decode_header, decode_sv_header, "GOOSE"),
        (sv, decode_sv_header, decode_header, "SV"),
    ):
        assert decode(frame).appid == 7
        with pytest.raises(DecodeError, match="is not " + ("SV" if name == "GOOSE" else "GOOSE")):
            other(frame)
        oversized = frame + bytes(1600)
        with pytest.raises(DecodeError, match=r"oversized: .* octets \(max 1522\)"):
            decode(oversized)
        long = bytearray(frame)
        long[20:22] = (1501).to_bytes(2, "big")
        with pytest.raises(DecodeError, match=f"{name}.length at offset 20: Length 1501 is over"):
            decode(bytes(long) + bytes(1400))
