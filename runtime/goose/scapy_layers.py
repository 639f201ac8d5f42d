"""scapy layer ``GOOSE``: ``Ether()/Dot1Q()/GOOSE.from_pdu(pdu, appid=1)``.

Nothing is bound at import; call ``register()`` once to let scapy dissect Ethertype
0x88B8 (plain and behind 802.1Q) as GOOSE. The APDU travels as octets; ``.pdu`` decodes it
with the generated codec (and raises its located ``DecodeError`` when it cannot).
"""

from __future__ import annotations

from typing import Any

from scapy.fields import FieldLenField, StrField, XShortField
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Packet, bind_layers

from gen61850.generated.goose.iec61850_8_1 import (
    IECGoosePdu,
    decode_iec_goose_pdu,
    encode_iec_goose_pdu,
)
from gen61850.runtime.goose.frame import ETHERTYPE_GOOSE, SIMULATION_BIT


class GOOSE(Packet):
    """The GOOSE header and its APDU; ``length`` is computed when left None."""

    name = "IEC 61850-8-1 GOOSE"
    fields_desc = [  # noqa: RUF012 (scapy's declarative style)
        XShortField("appid", 0),
        FieldLenField("length", None, fmt="H"),
        XShortField("reserved1", 0),
        XShortField("reserved2", 0),
        StrField("apdu", b""),
    ]

    @classmethod
    def from_pdu(cls, pdu: IECGoosePdu, **fields: Any) -> GOOSE:
        """A layer carrying ``pdu`` (encoded by the generated codec)."""
        return cls(apdu=encode_iec_goose_pdu(pdu), **fields)

    @property
    def pdu(self) -> IECGoosePdu:
        return decode_iec_goose_pdu(bytes(self.apdu))

    @property
    def simulated(self) -> bool:
        return bool(int(self.reserved1) & SIMULATION_BIT)

    def self_build(self, *args: Any, **kwargs: Any) -> bytes:
        apdu = bytes(self.apdu)
        length = self.length if self.length is not None else 8 + len(apdu)
        head = int(self.appid).to_bytes(2, "big") + int(length).to_bytes(2, "big")
        head += int(self.reserved1).to_bytes(2, "big") + int(self.reserved2).to_bytes(2, "big")
        return head + apdu

    def do_dissect(self, s: bytes) -> bytes:
        self.setfieldval("appid", int.from_bytes(s[0:2], "big"))
        length = int.from_bytes(s[2:4], "big")
        self.setfieldval("length", length)
        self.setfieldval("reserved1", int.from_bytes(s[4:6], "big"))
        self.setfieldval("reserved2", int.from_bytes(s[6:8], "big"))
        end = min(max(length, 8), len(s))
        self.setfieldval("apdu", bytes(s[8:end]))
        return bytes(s[end:])

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        return b"", s


_registered = False


def register() -> None:
    """Bind GOOSE to Ethertype 0x88B8 under Ether and Dot1Q (idempotent)."""
    global _registered
    if not _registered:
        bind_layers(Ether, GOOSE, type=ETHERTYPE_GOOSE)
        bind_layers(Dot1Q, GOOSE, type=ETHERTYPE_GOOSE)
        _registered = True


__all__ = ["GOOSE", "register"]
