"""Value ↔ bytes tables for every field kind of the generated SV codec."""

from __future__ import annotations

import pytest

from gen61850.generated.sv.iec61850_9_2 import (
    ASDU,
    SavPdu,
    decode_asdu,
    decode_sav_pdu,
    encode_asdu,
    encode_sav_pdu,
)
from tests.codec.builders import asdu, sav_pdu, tlv

MINIMAL = ASDU("MU01", 1, 1, 2, bytes(64))

# (value, the octets it encodes to), each row exercising one field kind.
ASDU_TABLE: list[tuple[str, ASDU, bytes]] = [
    ("mandatory fields only", MINIMAL, asdu()),
    ("INT16U smpCnt max", ASDU("MU01", 0xFFFF, 1, 2, bytes(64)), asdu(smp_cnt=b"\xff\xff")),
    ("INT16U smpCnt zero", ASDU("MU01", 0, 1, 2, bytes(64)), asdu(smp_cnt=b"\x00\x00")),
    (
        "INT32U confRev max",
        ASDU("MU01", 1, 0xFFFFFFFF, 2, bytes(64)),
        asdu(conf_rev=b"\xff\xff\xff\xff"),
    ),
    ("INT8U smpSynch", ASDU("MU01", 1, 1, 255, bytes(64)), asdu(smp_synch=b"\xff")),
    (
        "VisibleString svID of 129 octets (long form length)",
        ASDU("A" * 129, 1, 1, 2, bytes(64)),
        asdu(sv_id=b"A" * 129),
    ),
    (
        "OCTET STRING sample of 200 octets (long form 0x81)",
        ASDU("MU01", 1, 1, 2, bytes(range(200))),
        asdu(sample=bytes(range(200))),
    ),
    (
        "OCTET STRING sample of 300 octets (long form 0x82)",
        ASDU("MU01", 1, 1, 2, bytes(300)),
        asdu(sample=bytes(300)),
    ),
    ("empty sample", ASDU("MU01", 1, 1, 2, b""), asdu(sample=b"")),
    (
        "every optional field",
        ASDU(
            "MU01",
            7,
            3,
            1,
            b"\x01\x02",
            datSet="IED1LD1/LLN0$PhsMeas1",
            refrTm=bytes(range(8)),
            smpRate=4800,
            smpMod=1,
            gmIdentity=b"\xaa" * 8,
        ),
        tlv(
            0x30,
            tlv(0x80, b"MU01")
            + tlv(0x81, b"IED1LD1/LLN0$PhsMeas1")
            + tlv(0x82, b"\x00\x07")
            + tlv(0x83, b"\x00\x00\x00\x03")
            + tlv(0x84, bytes(range(8)))
            + tlv(0x85, b"\x01")
            + tlv(0x86, b"\x12\xc0")
            + tlv(0x87, b"\x01\x02")
            + tlv(0x88, b"\x00\x01")
            + tlv(0x89, b"\xaa" * 8),
        ),
    ),
]


@pytest.mark.parametrize(("name", "value", "octets"), ASDU_TABLE, ids=[r[0] for r in ASDU_TABLE])
def test_asdu_table(name: str, value: ASDU, octets: bytes) -> None:
    assert encode_asdu(value) == octets
    assert decode_asdu(octets) == value


@pytest.mark.parametrize(
    ("no_asdu", "octets"),
    [
        (1, b"\x01"),
        (127, b"\x7f"),
        (128, b"\x00\x80"),
        (255, b"\x00\xff"),
        (65535, b"\x00\xff\xff"),
    ],
)
def test_integer_no_asdu(no_asdu: int, octets: bytes) -> None:
    items = [MINIMAL] * 1
    value = SavPdu(no_asdu, items)
    encoded = sav_pdu(asdu(), no_asdu=octets)
    assert encode_sav_pdu(value) == encoded
    assert decode_sav_pdu(encoded) == value


def test_eight_asdus_and_long_form_lengths() -> None:
    items = [ASDU(f"MU{i:02}", i, 1, 2, bytes(64)) for i in range(8)]
    encoded = sav_pdu(*(asdu(sv_id=f"MU{i:02}".encode(), smp_cnt=bytes((0, i))) for i in range(8)))
    assert encoded[1] == 0x82  # over 255 octets: two length octets
    assert encode_sav_pdu(SavPdu(8, items)) == encoded
    assert decode_sav_pdu(encoded) == SavPdu(8, items)


@pytest.mark.parametrize(
    "security",
    [
        b"\x04\x00",
        b"\x04\x03abc",
        tlv(0x30, tlv(0x04, b"key") + tlv(0x02, b"\x05")),
        tlv(0x04, bytes(150)),
    ],
)
def test_security_open_type(security: bytes) -> None:
    encoded = sav_pdu(asdu(), security=security)
    value = SavPdu(1, [MINIMAL], security=security)
    assert encode_sav_pdu(value) == encoded
    decoded = decode_sav_pdu(encoded)
    assert decoded.security == security
    assert decoded.asdu == [MINIMAL]  # the field after security is not swallowed


def test_unknown_extension_fields_are_skipped() -> None:
    encoded = sav_pdu(asdu(extra=tlv(0x8A, b"future") + tlv(0xAB, tlv(0x80, b"x"))))
    assert decode_sav_pdu(encoded).asdu == [MINIMAL]


def test_octets_after_the_pdu_are_ignored() -> None:
    encoded = sav_pdu(asdu())
    assert decode_sav_pdu(encoded + bytes(20)) == SavPdu(1, [MINIMAL])


def test_offset_and_end_select_the_pdu_inside_a_buffer() -> None:
    encoded = sav_pdu(asdu())
    buffer = b"\xff" * 10 + encoded + b"\xee" * 5
    assert decode_sav_pdu(buffer, 10, 10 + len(encoded)) == SavPdu(1, [MINIMAL])


OPTIONAL_VALUES = {
    "datSet": ("datSet", 0x81, "LD0/LLN0$PhsMeas1", b"LD0/LLN0$PhsMeas1"),
    "refrTm": ("refrTm", 0x84, bytes(range(8)), bytes(range(8))),
    "smpRate": ("smpRate", 0x86, 4800, b"\x12\xc0"),
    "smpMod": ("smpMod", 0x88, 2, b"\x00\x02"),
    "gmIdentity": ("gmIdentity", 0x89, b"\x01" * 8, b"\x01" * 8),
}


@pytest.mark.parametrize("mask", range(1 << (len(OPTIONAL_VALUES) + 1)))
def test_every_combination_of_optional_fields(mask: int) -> None:
    chosen = [v for i, v in enumerate(OPTIONAL_VALUES.values()) if mask >> i & 1]
    with_security = bool(mask >> len(OPTIONAL_VALUES) & 1)
    present = {name: tag_and_octets for name, *tag_and_octets in chosen}
    mandatory = {
        0x80: b"MU01",
        0x82: b"\x00\x09",
        0x83: b"\x00\x00\x00\x01",
        0x85: b"\x02",
        0x87: bytes(16),
    }
    elements = {**mandatory, **{tag: octets for tag, _, octets in present.values()}}
    body = b"".join(tlv(tag, elements[tag]) for tag in sorted(elements))
    security = tlv(0x04, b"sig") if with_security else None
    encoded = sav_pdu(tlv(0x30, body), security=security)
    value = SavPdu(
        1,
        [ASDU("MU01", 9, 1, 2, bytes(16), **{n: v for n, (_, v, _) in present.items()})],
        security=security,
    )
    assert encode_sav_pdu(value) == encoded
    assert decode_sav_pdu(encoded) == value
