"""Template-patching encoder: build a stream's frame once, then patch smpCnt, values, refrTm.

For a known ``StreamConfig`` everything but smpCnt, refrTm, the sample octets and the
simulation bit is fixed, so each frame is a copy of a pre-built template with those
fields written in place at offsets learned from the template itself.

ASDU order: for each sample of the frame, one ASDU per svID of the stream (its own, then
its ``sequence``), all with that sample's smpCnt.
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
    """One complete frame through the generated codec (the template uses it once).

    ``smp_cnts`` and ``samples`` have one entry per ASDU, in frame order (for a stream
    with a ``sequence``, the svIDs of one sample follow each other).
    """
    if len(smp_cnts) != len(samples) or not samples:
        raise EncodeError("SavPdu.asdu", f"{len(smp_cnts)} smpCnt for {len(samples)} samples")
    stamp = (refr_tm if refr_tm is not None else bytes(8)) if config.refr_tm else None
    groups = config.groups
    asdus = [
        ASDU(
            group.sv_id,
            smp_cnt,
            group.conf_rev,
            group.smp_synch,
            sample,
            datSet=group.dat_set,
            refrTm=stamp,
            smpRate=config.smp_rate,
            smpMod=config.smp_mod,
            gmIdentity=config.gm_identity,
        )
        for (smp_cnt, sample), group in zip(
            zip(smp_cnts, samples, strict=True),
            (groups[i % len(groups)] for i in range(len(samples))),
            strict=True,
        )
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
        groups = config.groups
        n = config.asdus_per_frame
        per = len(groups)
        sizes = [g.layout.size for g in groups] * n
        self._template = build_frame(config, [0] * (n * per), [bytes(size) for size in sizes])
        shape, decoded = learn_shape(self._template, {g.sv_id: g.layout for g in groups})
        self.shape: FrameShape = shape
        self._base = decoded.link.base
        self._smp_offsets = [self._base + a.smp_cnt_offset for a in shape.asdus]
        self._sample_offsets = [self._base + a.sample_offset for a in shape.asdus]
        self._groups = per
        self._samples_per_frame = n
        # Per ASDU: (sample index in the frame, group, octet offset, sample size)
        self.slots: tuple[tuple[int, int, int, int], ...] = tuple(
            (i // per, i % per, offset, sizes[i]) for i, offset in enumerate(self._sample_offsets)
        )
        self._smp_of_asdu = [i // per for i in range(n * per)]
        self._refr_offsets = [
            self._base + a.refr_tm_offset for a in shape.asdus if a.refr_tm_offset is not None
        ]
        self._sample = config.layout.sample_struct
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
        if self._groups == 1:
            pack = self._sample.pack_into
            for i, offset in enumerate(self._smp_offsets):
                _U16.pack_into(buf, offset, (smp_cnt + i) % wrap)
                pack(buf, self._sample_offsets[i], *samples[i])
        else:
            structs = [g.layout.sample_struct for g in self.config.groups]
            for i, offset in enumerate(self._smp_offsets):
                _U16.pack_into(buf, offset, (smp_cnt + self._smp_of_asdu[i]) % wrap)
                structs[i % self._groups].pack_into(buf, self._sample_offsets[i], *samples[i])
        if refr_tm is not None:
            for offset in self._refr_offsets:
                buf[offset : offset + 8] = refr_tm
        if simulation is not None and simulation != self.config.simulation:
            _U16.pack_into(buf, self._reserved1, SIMULATION_BIT if simulation else 0)
        return buf

    def frame_from_octets(
        self,
        smp_cnt: int,
        parts: Sequence[tuple[bytes | bytearray | memoryview, int]],
        refr_tm: bytes | None = None,
        simulation: bool | None = None,
    ) -> bytearray:
        """A frame whose samples are copied from wire octets: ``parts[g]`` is a buffer and
        the offset of the frame's first sample of svID group ``g`` (samples follow each
        other there, ``layout.size`` octets each), as the publisher's sources stage them."""
        buf = bytearray(self._template)
        wrap = self._wrap
        smp_offsets = self._smp_offsets
        if self._samples_per_frame == 1:
            value = smp_cnt % wrap
            for offset in smp_offsets:
                _U16.pack_into(buf, offset, value)
        else:
            of = self._smp_of_asdu
            for i, offset in enumerate(smp_offsets):
                _U16.pack_into(buf, offset, (smp_cnt + of[i]) % wrap)
        for i, group, offset, size in self.slots:
            data, start = parts[group]
            at = start + i * size
            buf[offset : offset + size] = data[at : at + size]
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
        """Physical values per ASDU (scaled and checked by the layout of its svID)."""
        groups = self.config.groups
        items = [
            groups[i % len(groups)].layout.wire_items(
                v, None if qualities is None else qualities[i]
            )
            for i, v in enumerate(values)
        ]
        return self.frame(smp_cnt, items, refr_tm)
