"""Batch decode: many frames of one stream into numpy arrays (smpCnt, values, quality).

Frames of one stream have one shape, so a buffer holding them at a fixed stride (a classic
pcap with equal-size records, a TPACKET block, or frames joined by ``pack_frames``) is a
numpy record array: every field is a strided view, read in place. A row is valid only when
its frame is a well-formed frame of the shape, under the rules every decode path applies
(docs/sv.md): the Ethertype (and 802.1Q TPID) and every constant octet from the APPID to
the end of the APDU are checked in 8-octet words, and the frame's length must hold the
shape and stay within ``MAX_FRAME``. Rows that fail are marked invalid rather than decoded
(feed those frames to the quick parser for the full walk and its error).

The ways in, fastest first: ``decode_capture`` (a capture file read in place),
``BatchDecoder.decode`` (any buffer at a fixed stride, such as a ring block), and
``decode_frames`` (a list of frames, joined once).
"""

from __future__ import annotations

import itertools
import mmap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from gen61850.runtime.errors import DecodeError
from gen61850.runtime.sv.dataset import ChannelType, DataSetLayout, LayoutError
from gen61850.runtime.sv.frame import ETHERTYPE_SV, MAX_FRAME, SIMULATION_BIT, TPID_8021Q
from gen61850.runtime.sv.shape import FrameShape

_TPID = TPID_8021Q.to_bytes(2, "big")
ROWS = 4096
"""Rows checked (and scaled) at a time at most: fewer for wide frames, so that the
scratch and the tiled masks, constants and scales of a decoder (each at most
``ROW_WORDS`` 8-octet words) stay small and in the cache."""
ROW_WORDS = 1 << 15


def _rows_for(width: int) -> int:
    """Rows at a time for rows of ``width`` words."""
    return max(64, min(ROWS, ROW_WORDS // max(width, 1)))


_PCAP_MAGIC = {b"\xd4\xc3\xb2\xa1": ("<", 1000), b"\x4d\x3c\xb2\xa1": ("<", 1)}
"""Little-endian classic pcap (µs, ns): what ``decode_capture`` reads in place."""


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
    words: npt.NDArray[np.uint32] | None = field(default=None, repr=False)
    """The sample words [frame, asdu, word] when every channel has a quality word:
    ``values`` and ``quality`` are then its two interleaved views (None otherwise)."""
    row_scales: npt.NDArray[np.float64] | None = field(default=None, repr=False)
    """``scales`` repeated for every row and ASDU (read-only), when the decoder has them:
    the division then runs as one flat loop instead of one short loop per ASDU."""

    def scaled(self) -> npt.NDArray[np.float64]:
        """Physical values (wire value / channel scale)."""
        with np.errstate(invalid="ignore"):  # a signalling NaN on the wire stays a NaN
            tiled = self.row_scales
            if tiled is None or not len(tiled) or tiled.shape[1:] != self.values.shape[1:]:
                scaled: npt.NDArray[np.float64] = np.divide(
                    self.values, self.scales, dtype=np.float64
                )
                return scaled
            out = np.empty(self.values.shape, dtype=np.float64)
            step = len(tiled)
            for start in range(0, len(out), step):
                stop = min(start + step, len(out))
                np.divide(self.values[start:stop], tiled[: stop - start], out=out[start:stop])
            return out

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


def _step(offsets: Sequence[int]) -> int | None:
    """The common distance between consecutive offsets (0 for one), None when uneven."""
    steps = {b - a for a, b in itertools.pairwise(offsets)}
    if not steps:
        return 0
    return steps.pop() if len(steps) == 1 else None


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
        self._value_cols = np.array(value_cols, dtype=np.intp)
        self._quality_cols = np.array(quality_cols, dtype=np.intp)
        self._has_quality = np.array([c.quality for c in self.layout.channels])
        self._all_quality = bool(self._has_quality.all())
        self._paired = self._all_quality and self.value_dtype != np.float64
        self._float_cols = np.array([c.type is ChannelType.FLOAT32 for c in self.layout.channels])
        if base not in (14, 18):
            raise ValueError(f"base {base}: the APPID is at 14 (untagged) or 18 (tagged)")
        self._at, self._checked, self._masks, self._consts = self._window(shape, base)
        self.frame_size = base + shape.length
        self.scales = np.array([c.scale for c in self.layout.channels], dtype=np.float64)
        asdus = shape.asdus
        self._sample_step = _step([a.sample_offset for a in asdus])
        self._count_step = _step([a.smp_cnt_offset for a in asdus])
        self._rows = 0
        self._tiled_scales = np.empty((0, len(shape.asdus), len(self.scales)), dtype=np.float64)
        self._words_in = np.empty((0, len(self._masks)), dtype=np.uint64)
        self._row_masks = self._words_in
        self._row_consts = self._words_in
        self._differs = np.empty((0, len(self._masks)), dtype=np.bool_)

    @staticmethod
    def _window(
        shape: FrameShape, base: int
    ) -> tuple[int, int, npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
        """The span of the frame that holds every constant octet, from 8 octets before the
        APPID (the Ethertype, and the TPID when tagged) to the end of the APDU, as whole
        8-octet words: (frame offset, words, masks, constants), little-endian, padded with
        zero words to a multiple of 8 (so that a frame's 8 comparison flags are one
        64-bit word)."""
        length = shape.length
        head_mask = bytearray(8)
        head = bytearray(8)
        head_mask[6:8] = b"\xff\xff"
        head[6:8] = ETHERTYPE_SV.to_bytes(2, "big")
        if base == 18:
            head_mask[2:4] = b"\xff\xff"
            head[2:4] = _TPID
        # From the frame's first octet (the window may start before the Ethertype).
        mask = bytes(base - 8) + bytes(head_mask) + shape.mask.to_bytes(length, "big")
        constant = bytes(base - 8) + bytes(head) + shape.constant.to_bytes(length, "big")
        used = [i for i, octet in enumerate(mask) if octet]
        words = -(-(used[-1] + 1 - used[0]) // 8)
        start = min(used[0], len(mask) - 8 * words)  # the window stays inside the frame
        span = slice(start, start + 8 * words)
        padded = -(-words // 8) * 8
        masks = np.zeros(padded, dtype=np.uint64)
        consts = np.zeros(padded, dtype=np.uint64)
        masks[:words] = np.frombuffer(mask[span], "<u8")
        consts[:words] = np.frombuffer(constant[span], "<u8") & masks[:words]
        return start, words, masks, consts

    def empty(self, count: int) -> Batch:
        """A batch of ``count`` rows to decode into (``decode_into``), all invalid."""
        n_asdu = len(self.shape.asdus)
        n_ch = len(self.layout.channels)
        span = self.shape.security
        words = None
        if self._paired:
            # Value and quality words alternate: one array of the sample's words, read
            # in one pass; values and quality are its two interleaved views.
            words = np.empty((count, n_asdu, 2 * n_ch), dtype=np.uint32)
            values: npt.NDArray[Any] = words.view(self.value_dtype)[:, :, 0::2]
            quality: npt.NDArray[Any] = words[:, :, 1::2]
        else:
            values = np.empty((count, n_asdu, n_ch), dtype=self.value_dtype)
            quality = (np.empty if self._all_quality else np.zeros)(
                (count, n_asdu, n_ch), dtype=np.uint32
            )
        return Batch(
            np.empty((count, n_asdu), dtype=np.uint16),
            values,
            quality,
            np.zeros(count, dtype=np.bool_),
            np.zeros(count, dtype=np.bool_),
            self.scales,
            None if span is None else np.empty((count, span[1] - span[0]), dtype=np.uint8),
            words,
            self._row_scales(count, n_asdu),
        )

    def _row_scales(self, count: int, n_asdu: int) -> npt.NDArray[np.float64]:
        """``scales`` tiled to rows of ``n_asdu`` ASDUs (as many as ``count`` up to
        ``_rows_for`` them; grown by doubling, kept for the next call)."""
        have = len(self._tiled_scales)
        limit = _rows_for(n_asdu * len(self.scales))
        if have < min(count, limit):
            rows = min(limit, max(count, 2 * have))
            tiled = np.tile(self.scales, (rows, n_asdu, 1))
            tiled.flags.writeable = False
            self._tiled_scales = tiled
        return self._tiled_scales

    def decode(
        self,
        buffer: bytes | bytearray | memoryview | mmap.mmap,
        count: int,
        stride: int,
        offset: int = 0,
        lengths: int | npt.NDArray[np.integer[Any]] | None = None,
    ) -> Batch:
        """Decode ``count`` frames starting at ``offset``, one every ``stride`` octets.

        ``lengths`` is each frame's length (one for all, or one per frame): frames too
        short for the shape or over ``MAX_FRAME`` are invalid. Without it, the caller
        vouches that every frame is whole (a file whose records all have this length).
        The arrays returned own their data (the buffer may be reused at once).
        """
        batch = self.empty(count)
        self.decode_into(batch, 0, buffer, count, stride, offset, lengths)
        return batch

    def decode_into(
        self,
        batch: Batch,
        row: int,
        buffer: bytes | bytearray | memoryview | mmap.mmap,
        count: int,
        stride: int,
        offset: int = 0,
        lengths: int | npt.NDArray[np.integer[Any]] | None = None,
    ) -> None:
        """``decode`` into rows ``row`` to ``row + count`` of ``batch`` (from ``empty``)."""
        if stride < self.frame_size:
            raise DecodeError("batch", offset, f"stride {stride} < frame size {self.frame_size}")
        if count and offset + (count - 1) * stride + self.frame_size > len(buffer):
            raise DecodeError("batch", offset, f"buffer too short for {count} frames")
        if not count:
            return  # no frame: nothing to view (an empty buffer has no offsets)
        base = self.base
        rows = slice(row, row + count)

        def view(dtype: str, at: int, shape: tuple[int, ...], strides: tuple[int, ...]) -> Any:
            return np.ndarray(shape, np.dtype(dtype), buffer, offset + at, strides)

        # (word & mask) != (constant & mask) for every word of the window; the frame is
        # bad when any is. The window is copied out first (one memcpy per frame), so
        # that every operation after runs over contiguous rows in one flat loop; the
        # per-row masks and constants are tiled once (short rows broadcast against a
        # row of masks cost numpy an inner loop per frame).
        # A block of rows at a time: the scratch stays small (and in the cache).
        window = np.dtype(f"V{8 * self._checked}")
        windows = view(window.str, self._at, (count,), (stride,))
        valid = batch.valid[rows]
        step = _rows_for(len(self._masks))
        for first_row in range(0, count, step):
            n = min(step, count - first_row)
            words_in, row_masks, row_consts, differs = self._scratch(n)
            np.copyto(
                words_in[:, : self._checked].view(window)[:, 0],
                windows[first_row : first_row + n],
            )
            np.bitwise_and(words_in, row_masks, out=words_in)
            np.not_equal(words_in, row_consts, out=differs)
            per_word = differs.view(np.uint64)  # 8 flags per 64-bit word
            if per_word.shape[1] == 1:
                np.equal(per_word[:, 0], 0, out=valid[first_row : first_row + n])
            else:
                np.logical_not(per_word.any(axis=1), out=valid[first_row : first_row + n])
        if lengths is not None:
            sizes = np.asarray(lengths)
            valid &= (sizes >= self.frame_size) & (sizes <= MAX_FRAME)
        asdus = self.shape.asdus
        first = asdus[0]
        if self._count_step is not None:
            n_asdu = len(asdus)
            counts = view(
                ">u2", base + first.smp_cnt_offset, (count, n_asdu), (stride, self._count_step)
            )
            np.copyto(batch.smp_cnt[rows], counts)
        else:
            for i, asdu in enumerate(asdus):
                batch.smp_cnt[rows, i] = view(
                    ">u2", base + asdu.smp_cnt_offset, (count,), (stride,)
                )
        values = batch.values[rows]
        quality = batch.quality[rows]
        if batch.words is not None and self._sample_step is not None:
            # One byte-swapping copy of all the sample's words (see ``empty``).
            words = view(
                ">u4",
                base + first.sample_offset,
                (count, len(asdus), self._words),
                (stride, self._sample_step, 4),
            )
            np.copyto(batch.words[rows], words)
        elif self._sample_step is not None:
            words = view(
                ">u4",
                base + first.sample_offset,
                (count, len(asdus), self._words),
                (stride, self._sample_step, 4),
            )
            self._fill(words, values, quality)
        else:
            for i, asdu in enumerate(asdus):
                words = view(
                    ">u4", base + asdu.sample_offset, (count, 1, self._words), (stride, 0, 4)
                )
                self._fill(words, values[:, i : i + 1], quality[:, i : i + 1])
        flags = view(">u2", base + 4, (count,), (stride,))
        np.not_equal(flags & SIMULATION_BIT, 0, out=batch.simulated[rows])
        span = self.shape.security
        if span is not None:
            assert batch.security is not None
            start, stop = span
            np.copyto(
                batch.security[rows],
                view("u1", base + start, (count, stop - start), (stride, 1)),
            )

    def _scratch(
        self, count: int
    ) -> tuple[
        npt.NDArray[np.uint64],
        npt.NDArray[np.uint64],
        npt.NDArray[np.uint64],
        npt.NDArray[np.bool_],
    ]:
        """Room for ``count`` windows, the masks and constants tiled to as many rows, and
        the comparison flags, reused from call to call (fresh large arrays cost page
        faults, which on a VM can cost more than the checks)."""
        if self._rows < count:
            limit = _rows_for(len(self._masks))
            self._rows = rows = max(count, min(2 * self._rows, limit))  # grow by doubling
            width = len(self._masks)
            self._words_in = np.zeros((rows, width), dtype=np.uint64)
            self._row_masks = np.tile(self._masks, (rows, 1))
            self._row_consts = np.tile(self._consts, (rows, 1))
            self._differs = np.empty((rows, width), dtype=np.bool_)
        return (
            self._words_in[:count],
            self._row_masks[:count],
            self._row_consts[:count],
            self._differs[:count],
        )

    def _fill(self, words: Any, values: Any, quality: Any) -> None:
        """Values and quality words from a [frame, asdu, word] big-endian view."""
        if self.value_dtype == np.int32:
            raw = words.view(">i4")
        elif self.value_dtype == np.float32:
            raw = words.view(">f4")
        else:
            raw = None
        if raw is not None:
            if self._words == len(self._value_cols):
                np.copyto(values, raw)
            elif self._all_quality:
                np.copyto(values, raw[:, :, 0::2])
            else:
                np.copyto(values, raw[:, :, self._value_cols])
        else:
            picked = words[:, :, self._value_cols]
            with np.errstate(invalid="ignore"):  # signalling NaNs become quiet ones
                np.copyto(
                    values,
                    np.where(self._float_cols, picked.view(">f4"), picked.view(">i4")),
                )
        if self._all_quality:
            np.copyto(quality, words[:, :, 1::2])
        elif len(self._quality_cols):
            quality[:, :, self._has_quality] = words[:, :, self._quality_cols]


def pack_frames(frames: Sequence[bytes], stride: int | None = None) -> tuple[bytes, int]:
    """Join frames at a fixed stride (default: the longest frame), each cut to the stride
    or zero-padded to it: (buffer, stride). Decode with the frames' own lengths
    (``BatchDecoder.decode(..., lengths=...)``) so that padding never passes for data."""
    if stride is None:
        stride = max((len(f) for f in frames), default=0)
    if all(len(f) == stride for f in frames):
        return b"".join(frames), stride
    return b"".join(bytes(f[:stride]).ljust(stride, b"\0") for f in frames), stride


def _merge(tagged: npt.NDArray[np.bool_], a: Batch, b: Batch) -> Batch:
    """Row by row, ``b`` where ``tagged`` else ``a`` (decodes of one buffer at two bases)."""
    rows = tagged[:, None, None]
    security = None
    if a.security is not None and b.security is not None:
        security = np.where(tagged[:, None], b.security, a.security)
    return Batch(
        np.where(tagged[:, None], b.smp_cnt, a.smp_cnt),
        np.where(rows, b.values, a.values),
        np.where(rows, b.quality, a.quality),
        np.where(tagged, b.simulated, a.simulated),
        np.where(tagged, b.valid, a.valid),
        a.scales,
        security,
        row_scales=a.row_scales,
    )


_POOL: dict[tuple[int, int], BatchDecoder] = {}
"""Idle decoders of ``decode_frames`` and ``decode_capture`` by (id of the shape, base),
so that a stream decoded call after call keeps its tiled masks and scratch rows. A call
takes its decoder out and puts it back when done, so that two threads never share one."""
POOL_SIZE = 8


def _borrow(shape: FrameShape, base: int) -> BatchDecoder:
    decoder = _POOL.pop((id(shape), base), None)
    if decoder is None or decoder.shape is not shape:
        decoder = BatchDecoder(shape, base)
    return decoder


def _give_back(decoder: BatchDecoder) -> None:
    while len(_POOL) >= POOL_SIZE:
        try:
            _POOL.pop(next(iter(_POOL)))
        except (KeyError, StopIteration, RuntimeError):  # another thread took it meanwhile
            break
    _POOL[(id(decoder.shape), decoder.base)] = decoder


CHUNK = 2048
"""Frames joined at a time by ``decode_frames`` (the buffer stays small enough to be
reused by the allocator, the chunk large enough for numpy's per-call cost not to count)."""


def decode_frames(shape: FrameShape, frames: Sequence[bytes]) -> Batch:
    """Decode a list of frames of one stream; tagged and untagged frames may be mixed.

    Row i is frame i; ``valid`` says which frames are well-formed frames of ``shape``.
    Frames of one length are joined (a chunk at a time) and read in place.
    """
    count = len(frames)
    sizes = list(map(len, frames))
    if count and sizes[0] >= 14 and sizes.count(sizes[0]) == count:
        stride = sizes[0]
        first = bytes(frames[0][12:14])
        base = 18 if first == _TPID else 14
        if stride >= base + shape.length:
            decoder = _borrow(shape, base)
            batch = decoder.empty(count)
            mixed = False
            for start in range(0, count, CHUNK):
                chunk = b"".join(frames[start : start + CHUNK])
                n = len(chunk) // stride
                tpid = np.ndarray((n,), np.dtype(">u2"), chunk, 12, (stride,))
                if bool(((tpid == TPID_8021Q) != (base == 18)).any()):
                    mixed = True
                    break
                decoder.decode_into(batch, start, chunk, n, stride, 0, stride)
            _give_back(decoder)
            if not mixed:
                return batch
    # Several lengths, or tagged and untagged: each frame cut or padded to the longest
    # shape (only the octets up to its end are read), then decoded at both bases.
    lengths = np.array(sizes, dtype=np.int64)
    buffer, stride = pack_frames(frames, 18 + shape.length)
    if not count:
        return BatchDecoder(shape).decode(b"", 0, stride)
    tagged = np.ndarray((count,), np.dtype(">u2"), buffer, 12, (stride,)) == TPID_8021Q
    if tagged.all() or not tagged.any():
        base = 18 if tagged[0] else 14
        return BatchDecoder(shape, base).decode(buffer, count, stride, 0, lengths)
    untagged_rows = BatchDecoder(shape, 14).decode(buffer, count, stride, 0, lengths)
    tagged_rows = BatchDecoder(shape, 18).decode(buffer, count, stride, 0, lengths)
    return _merge(tagged, untagged_rows, tagged_rows)


def decode_capture(path: Path, shape: FrameShape) -> tuple[Batch, npt.NDArray[np.int64]]:
    """Every record of a capture file as a row of ``shape`` (valid where the record is a
    well-formed frame of it), with the records' times in ns since the epoch.

    A little-endian classic pcap whose records all have one length is read in place
    (mapped, not copied): the record headers are checked in one pass and the frames
    decoded where they lie. Any other file goes through ``read_capture`` (which raises
    ``CaptureFileError`` for a broken file) and ``decode_frames``; a record whose time
    does not fit int64 nanoseconds (after the year 2262) is refused the same way.
    """
    from gen61850.runtime.pcap import CaptureFileError, read_capture

    with path.open("rb") as stream:
        size = path.stat().st_size
        if size > 24 + 16 + 14:
            flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)  # all pages at once
            with mmap.mmap(stream.fileno(), 0, flags=flags, prot=mmap.PROT_READ) as mapped:
                found = _uniform_pcap(mapped, shape)
                if found is not None:
                    return found
    frames = list(read_capture(path))
    for number, frame in enumerate(frames, start=1):
        if not 0 <= frame.time_ns < 1 << 63:
            raise CaptureFileError(
                str(path), 0, "timestamp beyond int64 nanoseconds (after 2262)", number
            )
    times = np.fromiter((f.time_ns for f in frames), np.int64, len(frames))
    return decode_frames(shape, [f.data for f in frames]), times


def _uniform_pcap(data: mmap.mmap, shape: FrameShape) -> tuple[Batch, npt.NDArray[np.int64]] | None:
    """The in-place decode of a classic pcap whose records all have one length, or None
    (another format or records of several lengths: the caller reads it record by record)."""
    kind = _PCAP_MAGIC.get(bytes(data[0:4]))
    if kind is None or int.from_bytes(data[20:24], "little") & 0x0FFFFFFF != 1:
        return None
    snaplen = int.from_bytes(data[16:20], "little")
    captured = int.from_bytes(data[32:36], "little")
    stride = 16 + captured
    body = len(data) - 24
    if not 14 <= captured <= min(snaplen or MAX_FRAME, MAX_FRAME) or body % stride:
        return None
    count = body // stride
    heads = np.ndarray((count, 4), np.dtype("<u4"), data, 24, (stride, 4))
    if not (heads[:, 2] == captured).all():
        return None
    base = 18 if data[24 + 16 + 12 : 24 + 16 + 14] == _TPID else 14
    if captured < base + shape.length:
        return None
    times = heads[:, 0].astype(np.int64) * 1_000_000_000 + heads[:, 1].astype(np.int64) * kind[1]
    tagged = np.ndarray((count,), np.dtype(">u2"), data, 24 + 16 + 12, (stride,)) == TPID_8021Q
    if bool(tagged.all()) != (base == 18) or bool(tagged.any()) != (base == 18):
        return None  # tagged and untagged records: record by record
    decoder = _borrow(shape, base)
    batch = decoder.decode(data, count, stride, 24 + 16, captured)
    _give_back(decoder)
    del heads, tagged
    return batch, times


__all__ = ["Batch", "BatchDecoder", "decode_capture", "decode_frames", "pack_frames"]
