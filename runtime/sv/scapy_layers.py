"""scapy layers ``SV`` and ``SVASDU``: ``Ether()/Dot1Q()/SV(asdus=[SVASDU(...)])``.

Nothing is bound at import; call ``register()`` once to let scapy dissect Ethertype
0x88BA (plain and behind 802.1Q) as SV. Dissecting uses the generated codec and the decode
rules of the runtime; building refuses values that do not fit their field (EncodeError)
but otherwise sends what it is given, so invalid frames can be crafted on purpose.
"""

from __future__ import annotations

from typing import Any

from scapy.fields import (
    ByteField,
    FieldLenField,
    IntField,
    PacketListField,
    ShortField,
    StrField,
    XShortField,
)
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Packet, bind_layers

from gen61850.generated.sv.iec61850_9_2 import decode_asdu, decode_sav_pdu
from gen61850.runtime.ber import encode_integer
from gen61850.runtime.errors import DecodeError, EncodeError
from gen61850.runtime.sv.ber import read_header, tlv
from gen61850.runtime.sv.frame import ETHERTYPE_SV, SIMULATION_BIT, check_apdu, check_length

_OPTIONAL = ("datSet", "refrTm", "smpRate", "smpMod", "gmIdentity")


def _unsigned(path: str, value: Any, octets: int) -> bytes:
    """``value`` in ``octets`` big-endian octets; EncodeError naming the field when it
    does not fit (scapy would raise OverflowError)."""
    number: int = int(value)
    top = (1 << (8 * octets)) - 1
    if not 0 <= number <= top:
        raise EncodeError(path, f"{number} does not fit in {octets} octets (0..{top})")
    return number.to_bytes(octets, "big")


class SVASDU(Packet):
    """One ASDU; optional fields (datSet, refrTm, smpRate, smpMod, gmIdentity) are
    left out of the frame while None. Field names are the ASN.1 ones, as scapy names
    fields after the protocol."""

    name = "SV ASDU"
    fields_desc = [  # noqa: RUF012 (scapy's declarative style)
        StrField("svID", b""),
        StrField("datSet", None),
        ShortField("smpCnt", 0),
        IntField("confRev", 1),
        StrField("refrTm", None),
        ByteField("smpSynch", 0),
        ShortField("smpRate", None),
        StrField("sample", b""),
        ShortField("smpMod", None),
        StrField("gmIdentity", None),
    ]

    def self_build(self, *args: Any, **kwargs: Any) -> bytes:
        def text(name: str) -> bytes:
            value = self.getfieldval(name)
            if isinstance(value, bytes):
                return value  # crafted octets go out as they are
            try:
                return str(value).encode("ascii")
            except UnicodeEncodeError:
                raise EncodeError(f"SVASDU.{name}", f"{value!r} is not ASCII") from None

        body = tlv(0x80, text("svID"))
        if self.datSet is not None:
            body += tlv(0x81, text("datSet"))
        body += tlv(0x82, _unsigned("SVASDU.smpCnt", self.smpCnt, 2))
        body += tlv(0x83, _unsigned("SVASDU.confRev", self.confRev, 4))
        if self.refrTm is not None:
            body += tlv(0x84, bytes(self.refrTm))
        body += tlv(0x85, _unsigned("SVASDU.smpSynch", self.smpSynch, 1))
        if self.smpRate is not None:
            body += tlv(0x86, _unsigned("SVASDU.smpRate", self.smpRate, 2))
        body += tlv(0x87, bytes(self.sample))
        if self.smpMod is not None:
            body += tlv(0x88, _unsigned("SVASDU.smpMod", self.smpMod, 2))
        if self.gmIdentity is not None:
            body += tlv(0x89, bytes(self.gmIdentity))
        return tlv(0x30, body)

    def do_dissect(self, s: bytes) -> bytes:
        # The generated codec judges the ASDU (DecodeError with path and offset).
        asdu = decode_asdu(s)
        _tag, _start, end = read_header(s, 0, len(s), "ASDU")
        self.setfieldval("svID", asdu.svID.encode("ascii"))
        self.setfieldval("smpCnt", asdu.smpCnt)
        self.setfieldval("confRev", asdu.confRev)
        self.setfieldval("smpSynch", asdu.smpSynch)
        self.setfieldval("sample", asdu.sample)
        self.setfieldval("datSet", None if asdu.datSet is None else asdu.datSet.encode("ascii"))
        self.setfieldval("refrTm", asdu.refrTm)
        self.setfieldval("smpRate", asdu.smpRate)
        self.setfieldval("smpMod", asdu.smpMod)
        self.setfieldval("gmIdentity", asdu.gmIdentity)
        return bytes(s[end:])

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        return b"", s


class SV(Packet):
    """The SV header and APDU; ``length`` is computed when left None, ``security`` (the
    IEC 62351-6 element inside [1], tag, length and contents) is sent when not None.

    Dissecting applies the decode rules of ``frame.decode_frame`` from the APPID on
    (Length, the codec, noASDU): a frame that breaks them raises ``DecodeError`` (offsets
    from the APPID), which scapy turns into a ``Raw`` payload under ``Ether``.
    """

    name = "IEC 61850-9-2 SV"
    fields_desc = [  # noqa: RUF012
        XShortField("appid", 0x4000),
        FieldLenField("length", None, fmt="H"),
        XShortField("reserved1", 0),
        XShortField("reserved2", 0),
        StrField("security", None),
        PacketListField("asdus", [], SVASDU),
    ]

    @property
    def simulated(self) -> bool:
        return bool(int(self.reserved1) & SIMULATION_BIT)

    def self_build(self, *args: Any, **kwargs: Any) -> bytes:
        asdus = b"".join(bytes(a) for a in self.asdus)
        count = len(self.asdus)
        if count > 0xFFFF:
            raise EncodeError("SV.noASDU", f"{count} ASDUs, at most 65535")
        body = tlv(0x80, encode_integer(count))  # INTEGER: 128 is 00 80, not 80
        if self.security is not None:
            body += tlv(0xA1, bytes(self.security))
        pdu = tlv(0x60, body + tlv(0xA2, asdus))
        length = self.length if self.length is not None else 8 + len(pdu)
        head = _unsigned("SV.appid", self.appid, 2) + _unsigned("SV.length", length, 2)
        head += _unsigned("SV.reserved1", self.reserved1, 2)
        head += _unsigned("SV.reserved2", self.reserved2, 2)
        return head + pdu

    def do_dissect(self, s: bytes) -> bytes:
        if len(s) < 8:
            raise DecodeError("SV.header", 0, f"truncated: {len(s)} of 8 header octets")
        self.setfieldval("appid", int.from_bytes(s[0:2], "big"))
        length = int.from_bytes(s[2:4], "big")
        self.setfieldval("length", length)
        self.setfieldval("reserved1", int.from_bytes(s[4:6], "big"))
        self.setfieldval("reserved2", int.from_bytes(s[6:8], "big"))
        check_length(length, len(s), 2)
        pdu = decode_sav_pdu(s, 8, length)
        check_apdu(s, 0, length, pdu)
        self.setfieldval("security", pdu.security)
        _tag, pos, pdu_end = read_header(s, 8, length, "SavPdu")
        asdus: list[SVASDU] = []
        while pos < pdu_end:
            tag, start, stop = read_header(s, pos, pdu_end, "SavPdu")
            if tag == 0xA2:
                apos = start
                while apos < stop:
                    _t, _s, astop = read_header(s, apos, stop, "SavPdu.asdu")
                    asdus.append(SVASDU(bytes(s[apos:astop])))
                    apos = astop
            pos = stop
        self.setfieldval("asdus", asdus)
        return bytes(s[length:])

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        return b"", s


_registered = False


def register() -> None:
    """Bind SV to Ethertype 0x88BA under Ether and Dot1Q (idempotent)."""
    global _registered
    if not _registered:
        bind_layers(Ether, SV, type=ETHERTYPE_SV)
        bind_layers(Dot1Q, SV, type=ETHERTYPE_SV)
        _registered = True


__all__ = ["SV", "SVASDU", "register"]
