"""scapy layers ``SV`` and ``SVASDU``: ``Ether()/Dot1Q()/SV(asdus=[SVASDU(...)])``.

Nothing is bound at import; call ``register()`` once to let scapy dissect Ethertype
0x88BA (plain and behind 802.1Q) as SV. Building and dissecting the BER of the APDU use
the same helpers as the runtime's frame walk.
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

from gen61850.runtime.sv.ber import read_header, tlv
from gen61850.runtime.sv.frame import ETHERTYPE_SV, SIMULATION_BIT

_OPTIONAL = ("datSet", "refrTm", "smpRate", "smpMod", "gmIdentity")


class SVASDU(Packet):
    """One ASDU; optional fields (datSet, refrTm, smpRate, smpMod, gmIdentity) are
    left out of the frame while None."""

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
            return value if isinstance(value, bytes) else str(value).encode("ascii")

        body = tlv(0x80, text("svID"))
        if self.datSet is not None:
            body += tlv(0x81, text("datSet"))
        body += tlv(0x82, int(self.smpCnt).to_bytes(2, "big"))
        body += tlv(0x83, int(self.confRev).to_bytes(4, "big"))
        if self.refrTm is not None:
            body += tlv(0x84, bytes(self.refrTm))
        body += tlv(0x85, bytes((int(self.smpSynch),)))
        if self.smpRate is not None:
            body += tlv(0x86, int(self.smpRate).to_bytes(2, "big"))
        body += tlv(0x87, bytes(self.sample))
        if self.smpMod is not None:
            body += tlv(0x88, int(self.smpMod).to_bytes(2, "big"))
        if self.gmIdentity is not None:
            body += tlv(0x89, bytes(self.gmIdentity))
        return tlv(0x30, body)

    def do_dissect(self, s: bytes) -> bytes:
        _tag, start, end = read_header(s, 0, len(s), "asdu")
        names = {
            0x80: "svID",
            0x81: "datSet",
            0x82: "smpCnt",
            0x83: "confRev",
            0x84: "refrTm",
            0x85: "smpSynch",
            0x86: "smpRate",
            0x87: "sample",
            0x88: "smpMod",
            0x89: "gmIdentity",
        }
        pos = start
        while pos < end:
            tag, vstart, vend = read_header(s, pos, end, "asdu")
            name = names.get(tag)
            value = bytes(s[vstart:vend])
            if name in ("smpCnt", "confRev", "smpSynch", "smpRate", "smpMod"):
                self.setfieldval(name, int.from_bytes(value, "big"))
            elif name is not None:
                self.setfieldval(name, value)
            pos = vend
        return bytes(s[end:])

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        return b"", s


class SV(Packet):
    """The SV header and APDU; ``length`` is computed when left None."""

    name = "IEC 61850-9-2 SV"
    fields_desc = [  # noqa: RUF012
        XShortField("appid", 0x4000),
        FieldLenField("length", None, fmt="H"),
        XShortField("reserved1", 0),
        XShortField("reserved2", 0),
        PacketListField("asdus", [], SVASDU),
    ]

    @property
    def simulated(self) -> bool:
        return bool(int(self.reserved1) & SIMULATION_BIT)

    def self_build(self, *args: Any, **kwargs: Any) -> bytes:
        asdus = b"".join(bytes(a) for a in self.asdus)
        count = len(self.asdus)
        pdu = tlv(0x60, tlv(0x80, count.to_bytes(1, "big")) + tlv(0xA2, asdus))
        length = self.length if self.length is not None else 8 + len(pdu)
        head = int(self.appid).to_bytes(2, "big") + int(length).to_bytes(2, "big")
        head += int(self.reserved1).to_bytes(2, "big") + int(self.reserved2).to_bytes(2, "big")
        return head + pdu

    def do_dissect(self, s: bytes) -> bytes:
        self.setfieldval("appid", int.from_bytes(s[0:2], "big"))
        length = int.from_bytes(s[2:4], "big")
        self.setfieldval("length", length)
        self.setfieldval("reserved1", int.from_bytes(s[4:6], "big"))
        self.setfieldval("reserved2", int.from_bytes(s[6:8], "big"))
        end = min(length, len(s))
        _tag, pos, pdu_end = read_header(s, 8, end, "savPdu")
        asdus: list[SVASDU] = []
        while pos < pdu_end:
            tag, start, stop = read_header(s, pos, pdu_end, "savPdu")
            if tag == 0xA2:
                apos = start
                while apos < stop:
                    _t, _s, astop = read_header(s, apos, stop, "savPdu.asdu")
                    asdus.append(SVASDU(bytes(s[apos:astop])))
                    apos = astop
            pos = stop
        self.setfieldval("asdus", asdus)
        return bytes(s[end:])

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
