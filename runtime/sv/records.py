"""What the receive paths hand out: a decoded frame and its ASDUs, in snake_case.

The generated codec mirrors the ASN.1 module (``SavPdu.noASDU``, ``ASDU.svID``), because it
is generated from it; the runtime's own API is PEP 8 (``DecodedAsdu.sv_id``). The ASN.1
names show through only in the codec's types (``frame.decode_frame(...).pdu``) and in the
JSON keys of ``sv decode``/``sv subscribe``, which match tshark and the standard. The
camelCase attribute names of the records of gen61850 0.1 still read, with a
DeprecationWarning.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from gen61850.generated.sv.iec61850_9_2 import ASDU
from gen61850.runtime.sv.frame import SvHeader

LinkHeader = SvHeader
"""The link and SV header of a frame (``gen61850.runtime.sv.frame.SvHeader``)."""

ASN1_NAMES: dict[str, str] = {
    "sv_id": "svID",
    "dat_set": "datSet",
    "smp_cnt": "smpCnt",
    "conf_rev": "confRev",
    "refr_tm": "refrTm",
    "smp_synch": "smpSynch",
    "smp_rate": "smpRate",
    "sample": "sample",
    "smp_mod": "smpMod",
    "gm_identity": "gmIdentity",
}
"""Runtime attribute → ASN.1 component name (the codec's attribute and the JSON key)."""


class _Deprecated:
    """A read-only camelCase alias of a snake_case attribute, warning on use."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __set_name__(self, owner: type, alias: str) -> None:
        self.alias = alias

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        warnings.warn(
            f"DecodedAsdu.{self.alias} is deprecated, use .{self.name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(instance, self.name)


@dataclass(slots=True)
class DecodedAsdu:
    """One received ASDU; optional fields are None when the frame leaves them out.

    The fields are positional in this order so the fast path builds one per call.
    """

    sv_id: str
    smp_cnt: int
    conf_rev: int
    smp_synch: int
    sample: bytes
    """The data set values as sent (``DataSetLayout.decode`` reads them)."""
    dat_set: str | None = None
    refr_tm: bytes | None = None
    """IEC 61850-7-2 TimeStamp, 8 octets as sent."""
    smp_rate: int | None = None
    smp_mod: int | None = None
    gm_identity: bytes | None = None

    @classmethod
    def from_codec(cls, asdu: ASDU) -> DecodedAsdu:
        """The record of a codec ``ASDU``."""
        return cls(
            asdu.svID,
            asdu.smpCnt,
            asdu.confRev,
            asdu.smpSynch,
            asdu.sample,
            asdu.datSet,
            asdu.refrTm,
            asdu.smpRate,
            asdu.smpMod,
            asdu.gmIdentity,
        )

    def to_codec(self) -> ASDU:
        """The codec ``ASDU`` with the same values (to encode it again)."""
        return ASDU(
            self.sv_id,
            self.smp_cnt,
            self.conf_rev,
            self.smp_synch,
            self.sample,
            datSet=self.dat_set,
            refrTm=self.refr_tm,
            smpRate=self.smp_rate,
            smpMod=self.smp_mod,
            gmIdentity=self.gm_identity,
        )

    svID = _Deprecated("sv_id")
    datSet = _Deprecated("dat_set")
    smpCnt = _Deprecated("smp_cnt")
    confRev = _Deprecated("conf_rev")
    refrTm = _Deprecated("refr_tm")
    smpSynch = _Deprecated("smp_synch")
    smpRate = _Deprecated("smp_rate")
    smpMod = _Deprecated("smp_mod")
    gmIdentity = _Deprecated("gm_identity")


@dataclass(slots=True)
class DecodedFrame:
    """One decoded frame: link header, ASDUs, capture time (seconds) when known, and the
    IEC 62351-6 security element when the frame carries one."""

    link: LinkHeader
    asdus: list[DecodedAsdu]
    time: float | None = None
    security: bytes | None = None
    """The whole encoding (tag, length, contents) of the open value inside ``[1]``, as
    the codec gives it (``SavPdu.security``); carried, not checked."""
    raw: bytes | None = None
    """The frame's octets as received (for writing captures)."""


__all__ = ["ASN1_NAMES", "DecodedAsdu", "DecodedFrame", "LinkHeader"]
