"""Template-patching encoder: build a stream's frame once, then patch smpCnt, values, refrTm.

For a known ``StreamConfig`` everything but smpCnt, refrTm, the sample octets and the
simulation bit is fixed, so each frame is a copy of a pre-built template with those
fields written in place at offsets learned from the template itself.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from gen61850.runtime.errors import EncodeError
from gen61850.runtime.sv.ber import tlv
from gen61850.runtime.sv.shape import (
    ETHERTYPE_SV,
    ETHERTYPE_VLAN,
    SIMULATION_BIT,
    FrameShape,
    learn_shape,
)
from gen61850.runtime.sv.stream import StreamConfig

_U16 = struct.Struct(">H")


def build_frame(
    config: StreamConfig,
    smp_cnts: Sequence[int],
    samples: Sequence[bytes],
    refr_tm: bytes | None = None,
    security: bytes | None = None,
) -> bytes:
    """One complete frame (the slow, general way; the template uses it once)."""
    if len(smp_cnts) != len(samples) or not samples:
        raise EncodeError("savPdu.asdu", f"{len(smp_cnts)} smpCnt for {len(samples)} samples")
    asdus = b"".join(
        _asdu(config, smp_cnt, sample, refr_tm)
        for smp_cnt, sample in zip(smp_cnts, samples, strict=True)
    )
    count = len(samples)
    pdu_body = tlv(0x80, count.to_bytes(1 if count < 128 else 2, "big"))
    if security is not None:
        pdu_body += tlv(0xA1, security)
    pdu = tlv(0x60, pdu_body + tlv(0xA2, asdus))
    reserved1 = SIMULATION_BIT if config.simulation else 0
    header = _U16.pack(config.appid) + _U16.pack(8 + len(pdu)) + _U16.pack(reserved1) + b"\0\0"
    link = config.dst_mac_bytes + config.src_mac_bytes
    if config.vlan_id is not None:
        link += _U16.pack(ETHERTYPE_VLAN) + _U16.pack(config.vlan_priority << 13 | config.vlan_id)
    frame = link + _U16.pack(ETHERTYPE_SV) + header + pdu
    if len(frame) > 1518:
        raise EncodeError("frame", f"{len(frame)} octets exceed the Ethernet maximum of 1518")
    return frame


def _asdu(config: StreamConfig, smp_cnt: int, sample: bytes, refr_tm: bytes | None) -> bytes:
    if not 0 <= smp_cnt <= 0xFFFF:
        raise EncodeError("asdu.smpCnt", f"{smp_cnt} is not 0..65535")
    body = tlv(0x80, config.sv_id.encode("ascii"))
    if config.dat_set is not None:
        body += tlv(0x81, config.dat_set.encode("ascii"))
    body += tlv(0x82, smp_cnt.to_bytes(2, "big"))
    body += tlv(0x83, config.conf_rev.to_bytes(4, "big"))
    if config.refr_tm:
        stamp = refr_tm if refr_tm is not None else bytes(8)
        if len(stamp) != 8:
            raise EncodeError("asdu.refrTm", f"{len(stamp)} octets, expected 8")
        body += tlv(0x84, stamp)
    body += tlv(0x85, bytes((config.smp_synch,)))
    if config.smp_rate is not None:
        body += tlv(0x86, config.smp_rate.to_bytes(2, "big"))
    body += tlv(0x87, sample)
    if config.smp_mod is not None:
        body += tlv(0x88, config.smp_mod.to_bytes(2, "big"))
    if config.gm_identity is not None:
        body += tlv(0x89, config.gm_identity)
    return tlv(0x30, body)


class FrameTemplate:
    """Pre-built frame of one stream; ``frame()`` copies it and patches the variable fields."""

    def __init__(self, config: StreamConfig) -> None:
        self.config = config
        layout = config.layout
        n = config.asdus_per_frame
        self._template = build_frame(config, [0] * n, [bytes(layout.size)] * n)
        shape, decoded = learn_shape(self._template, {config.sv_id: layout})
        self.shape: FrameShape = shape
        self._base = decoded.link.base
        self._smp_offsets = [self._base + a.smp_cnt_offset for a in shape.asdus]
        self._sample_offsets = [self._base + a.sample_offset for a in shape.asdus]
        self._refr_offsets = [
            self._base + a.refr_tm_offset for a in shape.asdus if a.refr_tm_offset is not None
        ]
        self._sample = layout.sample_struct
        self._reserved1 = self._base + 4

    @property
    def size(self) -> int:
        return len(self._template)

    def frame(
        self,
        smp_cnt: int,
        samples: Sequence[Sequence[int | float]],
        refr_tm: bytes | None = None,
        simulation: bool | None = None,
    ) -> bytearray:
        """A frame whose ASDU i has smpCnt ``(smp_cnt + i) % wrap`` and wire items
        ``samples[i]`` (scaled values and quality words, as ``DataSetLayout.wire_items``).
        """
        buf = bytearray(self._template)
        wrap = self.config.smp_cnt_wrap
        pack = self._sample.pack_into
        for i, offset in enumerate(self._smp_offsets):
            _U16.pack_into(buf, offset, (smp_cnt + i) % wrap)
            pack(buf, self._sample_offsets[i], *samples[i])
        if refr_tm is not None:
            for offset in self._refr_offsets:
                buf[offset : offset + 8] = refr_tm
        if simulation is not None and simulation != self.config.simulation:
            _U16.pack_into(buf, self._reserved1, SIMULATION_BIT if simulation else 0)
        return buf

    def frame_from_values(
        self,
        smp_cnt: int,
        values: Sequence[Sequence[float]],
        qualities: Sequence[Sequence[int]] | None = None,
        refr_tm: bytes | None = None,
    ) -> bytearray:
        """Physical values per ASDU (scaled and checked by the layout)."""
        layout = self.config.layout
        items = [
            layout.wire_items(v, None if qualities is None else qualities[i])
            for i, v in enumerate(values)
        ]
        return self.frame(smp_cnt, items, refr_tm)
