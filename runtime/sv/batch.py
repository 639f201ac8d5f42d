"""Batch decode: many frames of one stream into numpy arrays (smpCnt, values, quality).

Frames of one stream have one shape, so a buffer holding them at a fixed stride (a classic
pcap with equal-size records, a TPACKET block copied out, or frames joined by
``pack_frames``) is a numpy record array: every field is a strided view. A row is valid
only when its frame is a well-formed frame of the shape, under the rules every decode path
applies (docs/sv.md): the Ethertype (and 802.1Q TPID) and every constant octet from the
APPID to the end of the APDU are checked in 8-octet words, and the frame's length must
hold the shape and stay within ``MAX_FRAME``. Rows that fail are marked invalid rather
than decoded (feed those frames to the quick parser for the full walk and its error).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gen61850.runtime.errors import DecodeError
from gen61850.runtime.sv.dataset import ChannelType, DataSetLayout, LayoutError
from gen61850.runtime.sv.frame import ETHERTYPE_SV, MAX_FRAME, SIMULATION_BIT, TPID_8021Q
from gen61850.runtime.sv.shape import FrameShape


@dataclass(slots=True)
class Batch:
    """Decoded frames of one shape; arrays are indexed [frame, asdu, channel]."""

    smp_cnt: npt.NDArray[np.uint16]
    values: npt.NDArray[np.generic]
    """Wire values: int32 when every channel is INT32, float32 when all FLOAT32, else float64."""
    quality: npt.NDArray[np.uint32]
    """Quality words (0 for channels without quality)."""
    simulated: npt.NDArray[np.bool_]
    valid: npt.NDArray[np.bool_]
    """False where a frame is not a well-formed frame of the shape (too short or too long,
    another Ethertype, a constant octet that differs): its row holds no data."""
    scales: npt.NDArray[np.float64]
    security: npt.NDArray[np.uint8] | None = None
    """Per frame, the octets of the IEC 62351-6 security value ([frame, octet]; its size
    is part of the shape), or None when the shape has no security element."""

    def scaled(self) -> npt.NDArray[np.float64]:
        """Physical values (wire value / channel scale)."""
        with np.errstate(invalid="ignore"):  # a signalling NaN on the wire stays a NaN
            return self.values.astype(np.float64) / self.scales

    def rows(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> Batch:
        """The batch of the chosen rows (indices or a mask): ``batch.rows(batch.valid)``."""
        return Batch(
            self.smp_cnt[index],
            self.values[index],
            self.quality[index],
            self.simulated[index],
            self.valid[index],
            self.scales,
            None if self.security is None else self.security[index],
        )

    def __len__(self) -> int:
        return int(self.valid.shape[0])


def _layout_of(shape: FrameShape) -> DataSetLayout:
    # Equal layouts, not one object: each svID of a frame usually has its own copy.
    distinct = set(shape.layouts)
    first = shape.layouts[0]
    if len(distinct) != 1 or first is None:
        raise LayoutError(f"stream {shape.sv_ids} needs one known data set layout for all ASDUs")
    return first


class BatchDecoder:
    """Pre-computes, for one shape at one APPID offset (``base``), where each field is."""

    def __init__(self, shape: FrameShape, base: int = 18) -> None:
        self.shape = shape
        self.base = base
        self.layout = _layout_of(shape)
        kinds = {c.type for c in self.layout.channels}
        if kinds == {ChannelType.INT32}:
            self.value_dtype: np.dtype[np.generic] = np.dtype(np.int32)
        elif kinds == {ChannelType.FLOAT32}:
            self.value_dtype = np.dtype(np.float32)
        else:
            self.value_dtype = np.dtype(np.float64)
        # Every channel is 4-octet words: the value, then the quality when present.
        value_cols: list[int] = []
        quality_cols: list[int] = []
        word = 0
        for channel in self.layout.channels:
            value_cols.append(word)
            word += 1
            if channel.quality:
                quality_cols.append(word)
                word += 1
        self._words = word
        self._value_cols = np.array(value_cols)
        self._quality_cols = np.array(quality_cols, dtype=np.intp)
        self._has_quality = np.array([c.quality for c in self.layout.channels])
        self._float_cols = np.array([c.type is ChannelType.FLOAT32 for c in self.layout.channels])
        mask = shape.mask.to_bytes(shape.length, "big")
        constant = shape.constant.to_bytes(shape.length, "big")
        # The 8 octets before the APPID hold the Ethertype (and, tagged, the TPID).
        head_mask = bytearray(8)
        head_const = bytearray(8)
        head_mask[6:8] = b"\xff\xff"
        head_const[6:8] = ETHERTYPE_SV.to_bytes(2, "big")
        if base == 18:
            head_mask[2:4] = b"\xff\xff"
            head_const[2:4] = TPID_8021Q.to_bytes(2, "big")
        elif base != 14:
            raise ValueError(f"base {base}: the APPID is at 14 (untagged) or 18 (tagged)")
        self._checks: list[tuple[int, np.uint64, np.uint64]] = [
            (
                base - 8,
                np.uint64(int.from_bytes(head_mask, "little")),
                np.uint64(int.from_bytes(head_const, "little")),
            )
        ]
        for k in range(0, shape.length, 8):
            start = min(k, shape.length - 8)
            word_mask = mask[start : start + 8]
            if any(word_mask):
                self._checks.append(
                    (
                        base + start,
                        np.uint64(int.from_bytes(word_mask, "little")),
                        np.uint64(int.from_bytes(constant[start : start + 8], "little")),
                    )
                )
        self.frame_size = base + shape.length
        self.scales = np.array([c.scale for c in self.layout.channels], dtype=np.float64)

    def decode(
        self,
        buffer: bytes | bytearray | memoryview,
        count: int,
        stride: int,
        offset: int = 0,
        lengths: int | npt.NDArray[np.integer[Any]] | None = None,
    ) -> Batch:
        """Decode ``count`` frames starting at ``offset``, one every ``stride`` octets.

        ``lengths`` is each frame's length (one for all, or one per frame): frames too
        short for the shape or over ``MAX_FRAME`` are invalid. Without it, the caller
        vouches that every frame is whole (a file whose records all have this length).
        """
        if stride < self.frame_size:
            raise DecodeError("batch", offset, f"stride {stride} < frame size {self.frame_size}")
        if count and offset + (count - 1) * stride + self.frame_size > len(buffer):
            raise DecodeError("batch", offset, f"buffer too short for {count} frames")

        def column(dtype: str, at: int, width: int | None = None) -> npt.NDArray[Any]:
            """A strided view: one value per frame, or ``width`` 4-octet words per frame."""
            if width is None:
                return np.ndarray((count,), np.dtype(dtype), buffer, offset + at, (stride,))
            return np.ndarray((count, width), np.dtype(dtype), buffer, offset + at, (stride, 4))

        valid = np.ones(count, dtype=np.bool_)
        if lengths is not None:
            valid &= (np.asarray(lengths) >= self.frame_size) & (np.asarray(lengths) <= MAX_FRAME)
        for at, word_mask, word_const in self._checks:
            valid &= (column("<u8", at) & word_mask) == word_const
        n_asdu = len(self.shape.asdus)
        n_ch = len(self.layout.channels)
        smp_cnt = np.empty((count, n_asdu), dtype=np.uint16)
        values = np.empty((count, n_asdu, n_ch), dtype=self.value_dtype)
        quality = np.zeros((count, n_asdu, n_ch), dtype=np.uint32)
        for i, asdu in enumerate(self.shape.asdus):
            smp_cnt[:, i] = column(">u2", self.base + asdu.smp_cnt_offset)
            words = column(">u4", self.base + asdu.sample_offset, self._words).astype(np.uint32)
            raw = words[:, self._value_cols]
            if self.value_dtype == np.int32:
                values[:, i, :] = raw.view(np.int32)
            elif self.value_dtype == np.float32:
                values[:, i, :] = raw.view(np.float32)
            else:
                with np.errstate(invalid="ignore"):  # signalling NaNs become quiet ones
                    values[:, i, :] = np.where(
                        self._float_cols, raw.view(np.float32), raw.view(np.int32)
                    )
            quality[:, i, self._has_quality] = words[:, self._quality_cols]
        simulated = (column(">u2", self.base + 4) & SIMULATION_BIT) != 0
        security = None
        span = self.shape.security
        if span is not None:
            start, stop = span
            security = np.ndarray(
                (count, stop - start), np.uint8, buffer, offset + self.base + start, (stride, 1)
            ).copy()
        return Batch(smp_cnt, values, quality, simulated, valid, self.scales, security)


def pack_frames(frames: Sequence[bytes], stride: int | None = None) -> tuple[bytes, int]:
    """Join frames at a fixed stride (default: the longest frame), each cut to the stride
    or zero-padded to it: (buffer, stride). Decode with the frames' own lengths
    (``BatchDecoder.decode(..., lengths=...)``) so that padding never passes for data."""
    if stride is None:
        stride = max((len(f) for f in frames), default=0)
    if all(len(f) == stride for f in frames):
        return b"".join(frames), stride
    return b"".join(bytes(f[:stride]).ljust(stride, b"\0") for f in frames), stride


def decode_frames(shape: FrameShape, frames: Sequence[bytes]) -> Batch:
    """Decode a list of frames of one stream; tagged and untagged frames may be mixed.

    Row i is frame i; ``valid`` says which frames are well-formed frames of ``shape``.
    """
    if not frames:
        return BatchDecoder(shape).decode(b"", 0, shape.length + 18)
    bases = np.array([18 if f[12:14] == b"\x81\x00" else 14 for f in frames])
    parts: dict[int, Batch] = {}
    for base in (14, 18):
        chosen = [f for f, b in zip(frames, bases, strict=True) if b == base]
        if chosen:
            # Only the octets up to the end of the shape are read: every frame is cut or
            # padded to that, and the decoder checks each frame's own length.
            buffer, stride = pack_frames(chosen, base + shape.length)
            lengths = np.fromiter((len(f) for f in chosen), np.int64, len(chosen))
            parts[base] = BatchDecoder(shape, base).decode(buffer, len(chosen), stride, 0, lengths)
    if len(parts) == 1:
        return next(iter(parts.values()))
    order = np.argsort(np.concatenate([np.nonzero(bases == b)[0] for b in (14, 18)]), kind="stable")
    merged = [
        np.concatenate([getattr(parts[b], name) for b in (14, 18)])[order]
        for name in ("smp_cnt", "values", "quality", "simulated", "valid")
    ]
    security = None
    if shape.security is not None:
        security = np.concatenate([parts[b].security for b in (14, 18)])[order]
    return Batch(merged[0], merged[1], merged[2], merged[3], merged[4], parts[14].scales, security)
