"""Bad input: one error type, naming the field path and the byte offset."""

from __future__ import annotations

import pytest

from gen61850.generated.sv.iec61850_9_2 import ASDU, SavPdu, decode_sav_pdu, encode_sav_pdu
from gen61850.runtime.errors import DecodeError, EncodeError
from tests.codec.builders import asdu, sav_pdu, tlv


def decode_error(data: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as caught:
        decode_sav_pdu(data)
    return caught.value


def test_wrong_size_names_the_asdu_field_and_offset() -> None:
    data = sav_pdu(asdu(), asdu(), asdu(smp_cnt=b"\x00\x01\x02"))
    offset = data.index(b"\x82\x03")
    error = decode_error(data)
    assert str(error) == f"ASDU[2].smpCnt at offset {offset}: expected 2 octets, got 3"
    assert (error.path, error.offset) == ("ASDU[2].smpCnt", offset)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "SavPdu at offset 0: missing (expected tag 0x60, found the end)"),
        (b"\x61\x00", "SavPdu at offset 0: expected tag 0x60, found 0x61"),
        (b"\x60", "SavPdu at offset 0: truncated before the length"),
        (b"\x60\x80", "SavPdu at offset 0: indefinite length is not allowed"),
        (b"\x60\x85\x00\x00\x00\x00\x01", "SavPdu at offset 0: length of 5 octets is too long"),
        (b"\x60\x05\x80\x01", "SavPdu at offset 0: length 5 runs past the end (2 octets left)"),
        (b"\x60\x00", "SavPdu.noASDU at offset 2: missing (expected tag 0x80, found the end)"),
        (sav_pdu(asdu(), no_asdu=b"\x00"), "SavPdu.noASDU at offset 2: 0 is outside 1..65535"),
        (sav_pdu(asdu(), no_asdu=b""), "SavPdu.noASDU at offset 2: INTEGER has no content octets"),
        (
            tlv(0x60, tlv(0x80, b"\x01") + tlv(0xA2, b"")),
            "SavPdu.asdu at offset 5: 0 items, expected 1..65535",
        ),
        (
            tlv(0x60, tlv(0x80, b"\x01") + tlv(0xA2, tlv(0x31, b""))),
            "ASDU[0] at offset 7: expected tag 0x30, found 0x31",
        ),
        (sav_pdu(asdu(sv_id=b"")), "ASDU[0].svID at offset 9: expected 1..129 octets, got 0"),
        (
            sav_pdu(asdu(sv_id=b"M\xe9")),
            "ASDU[0].svID at offset 9: octet 0xe9 at offset 12 is not VisibleString (0x20..0x7e)",
        ),
        (  # control characters (an ESC sequence) and DEL are not VisibleString either
            sav_pdu(asdu(sv_id=b"MU\x1b[2J")),
            "ASDU[0].svID at offset 9: octet 0x1b at offset 13 is not VisibleString (0x20..0x7e)",
        ),
        (
            sav_pdu(asdu(sv_id=b"MU01", extra=b""), asdu(sv_id=b"A\x7f")),
            "ASDU[1].svID at offset 98: octet 0x7f at offset 101 is not VisibleString (0x20..0x7e)",
        ),
        (
            tlv(
                0x60,
                tlv(0x80, b"\x01")
                + tlv(0xA2, tlv(0x30, tlv(0x80, b"MU") + tlv(0x81, b"LD\n") + b"\x82\x02\x00\x01")),
            ),
            "ASDU[0].datSet at offset 13: octet 0x0a at offset 17 is not VisibleString (0x20..0x7e)",
        ),
        (sav_pdu(asdu(smp_synch=b"")), "ASDU[0].smpSynch at offset 25: expected 1 octet, got 0"),
        (
            sav_pdu(asdu(), security=b"\x04\x00\x04\x00"),
            "SavPdu.security at offset 5: holds more than one element",
        ),
    ],
)
def test_located_messages(data: bytes, message: str) -> None:
    assert str(decode_error(data)) == message


def test_missing_mandatory_field() -> None:
    body = tlv(0x80, b"MU01") + tlv(0x83, b"\x00\x00\x00\x01")  # smpCnt left out
    data = tlv(0x60, tlv(0x80, b"\x01") + tlv(0xA2, tlv(0x30, body)))
    error = decode_error(data)
    assert error.path == "ASDU[0].smpCnt"
    assert "expected tag 0x82, found 0x83" in str(error)


def test_every_truncation_raises_decode_error() -> None:
    data = sav_pdu(asdu(), asdu(sample=bytes(200)), security=b"\x04\x01x")
    for cut in range(len(data)):
        with pytest.raises(DecodeError):
            decode_sav_pdu(data[:cut])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (SavPdu(0, [ASDU("a", 1, 1, 1, b"")]), "SavPdu.noASDU: 0 is outside 1..65535"),
        (SavPdu(1, []), "SavPdu.asdu: 0 items, expected 1..65535"),
        (
            SavPdu(1, [ASDU("a", 70000, 1, 1, b"")]),
            "ASDU[0].smpCnt: 70000 does not fit in 2 octets (0..65535)",
        ),
        (
            SavPdu(1, [ASDU("a", 1, 1, 256, b"")]),
            "ASDU[0].smpSynch: 256 does not fit in 1 octet (0..255)",
        ),
        (
            SavPdu(1, [ASDU("é", 1, 1, 1, b"")]),
            "ASDU[0].svID: 'é' is not a VisibleString (characters 0x20..0x7e)",
        ),
        (
            SavPdu(1, [ASDU("a", 1, 1, 1, b"", datSet="x\x1b[2J")]),
            "ASDU[0].datSet: 'x\\x1b[2J' is not a VisibleString (characters 0x20..0x7e)",
        ),
        (
            SavPdu(1, [ASDU("a", 1, 1, 1, b"", refrTm=b"1234")]),
            "ASDU[0].refrTm: 4 octets, expected 8",
        ),
        (
            SavPdu(1, [ASDU("a", 1, 1, 1, b"")], security=b"\x04\x05"),
            "SavPdu.security: not a BER element: length 5 runs past the end (0 octets left)",
        ),
        (
            SavPdu(1, [ASDU("a", 1, 1, 1, b"")], security=b""),
            "SavPdu.security: not a BER element: truncated before the length",
        ),
        (
            SavPdu(1, [ASDU("a", 1, 1, 1, b"")], security=b"\x04\x00\x04\x00"),
            "SavPdu.security: must hold exactly one BER element",
        ),
    ],
)
def test_encode_errors(value: SavPdu, message: str) -> None:
    with pytest.raises(EncodeError) as caught:
        encode_sav_pdu(value)
    assert str(caught.value) == message
