"""Template-patching encoder: build a stream's frame once, then patch smpCnt, values, refrTm.

For a known ``StreamConfig`` everything but smpCnt, refrTm, the sample octets and the
simulation bit is fixed, so each frame is a copy of a pre-built template with those
fields written in place at offsets learned from the template itself.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from gen61850.generated.sv.iec61850_9_2 import ASDU, SavPdu
from gen61850.runtime.errors import EncodeError
from gen61850.runtime.sv.frame import SIMULATION_BIT, VlanTag, encode_frame
from gen61850.runtime.sv.shape import FrameShape, learn_shape
from gen61850.runtime.sv.stream import StreamConfig

_U16 = struct.Struct(">H")


def build_frame(
    config: StreamConfig,
    smp_cnts: Sequence[int],
    samples: Sequence[bytes],
    refr_tm: bytes | None = None,
    security: bytes | None = None,
) -> bytes:
    """One complete frame through the generated codec (the template uses it once)."""
    if len(smp_cnts) != len(samples) or not samples:
        raise EncodeError("SavPdu.asdu", f"{len(smp_cnts)} smpCnt for {len(samples)} samples")
    stamp = (refr_tm if refr_tm is not None else bytes(8)) if config.refr_tm else None
    asdus = [
        ASDU(
            config.sv_id,
            smp_cnt,
            config.conf_rev,
            config.smp_synch,
            sample,
            datSet=config.dat_set,
            refrTm=stamp,
            smpRate=config.smp_rate,
            smpMod=config.smp_mod,
            gmIdentity=config.gm_identity,
        )
        for smp_cnt, sample in zip(smp_cnts, samples, strict=True)
    ]
    vlan = None if config.vlan_id is None else VlanTag(config.vlan_priority, config.vlan_id)
    frame = encode_frame(
        SavPdu(len(asdus), asdus, security=security),
        dst=config.dst_mac_bytes,
        src=config.src_mac_bytes,
        appid=config.appid,
        vlan=vlan,
        simulated=config.simulation,
    )
    return frame


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
        self._wrap = config.smp_cnt_wrap  # a computed property: not looked up per frame

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
        wrap = self._wrap
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
