"""Hand-built BER for the codec tests: written out octet by octet, independent of the codec."""

from __future__ import annotations


def tlv(tag: int, content: bytes) -> bytes:
    """One element with a definite length, long form from 128 octets up."""
    n = len(content)
    if n < 128:
        length = bytes((n,))
    else:
        body = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes((0x80 | len(body),)) + body
    return bytes((tag,)) + length + content


def asdu(
    sv_id: bytes = b"MU01",
    smp_cnt: bytes = b"\x00\x01",
    conf_rev: bytes = b"\x00\x00\x00\x01",
    smp_synch: bytes = b"\x02",
    sample: bytes = bytes(64),
    *,
    extra: bytes = b"",
) -> bytes:
    """An ASDU element with the mandatory fields only (plus ``extra`` octets at the end)."""
    return tlv(
        0x30,
        tlv(0x80, sv_id)
        + tlv(0x82, smp_cnt)
        + tlv(0x83, conf_rev)
        + tlv(0x85, smp_synch)
        + tlv(0x87, sample)
        + extra,
    )


def sav_pdu(*asdus: bytes, no_asdu: bytes | None = None, security: bytes | None = None) -> bytes:
    """A SavPdu element around the given ASDU elements."""
    count = no_asdu if no_asdu is not None else bytes((len(asdus),))
    body = tlv(0x80, count)
    if security is not None:
        body += tlv(0xA1, security)
    body += tlv(0xA2, b"".join(asdus))
    return tlv(0x60, body)
