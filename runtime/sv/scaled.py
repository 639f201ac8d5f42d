"""Frames of a known stream straight to physical values: ``ScaledFrame`` and its decoders.

The receive path's fastest per-frame form. For each learned shape (``shape.FrameShape``) at
one APPID offset, a small function is emitted here from the shape's numeric layout facts
only (offsets, sizes, struct codes, the channel scales as float literals, names made from
indices; never a string taken from a frame): one length check, one struct unpack from the
TPID/Ethertype to the end of the APDU that reads every variable field and every run of
constant octets, a comparison of those runs with the learned ones (handed to the function
as values, not written into its source), the divisions by the scales unrolled. A frame
that is not a well-formed frame of the shape is refused (None, or the caller's slow
path, which takes the full walk and gives the error), so the function applies exactly
the decode rules of docs/sv.md: the same octets are checked as by the quick parser's
masked comparison. ``scaled_frame`` builds the same record from a shape's struct items
without emitting code (the first frames of a stream).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from gen61850.runtime.sv.dataset import ChannelType
from gen61850.runtime.sv.frame import ETHERTYPE_SV, MAX_FRAME, TPID_8021Q
from gen61850.runtime.sv.quick import records
from gen61850.runtime.sv.records import DecodedFrame
from gen61850.runtime.sv.shape import FrameShape

_TPID = TPID_8021Q.to_bytes(2, "big")


class _Fields(NamedTuple):
    """The fields of a ``ScaledFrame``, in order (its attributes are these descriptors)."""

    shape: FrameShape
    time: float | None
    smp_cnt: tuple[int, ...]
    values: tuple[tuple[float, ...] | None, ...]
    quality: tuple[tuple[int | None, ...] | None, ...]
    simulated: bool
    raw: bytes
    kept: tuple[int, ...] | None


class ScaledFrame(tuple):  # type: ignore[type-arg]
    """One received frame of a known stream as physical values; what
    ``SvReceiver.feed_scaled`` and ``Subscriber.scaled_frames()`` give.

    ``values[i][j]`` is channel j of ASDU i (wire value / the layout's scale),
    ``quality[i][j]`` its quality word (None for a channel without one); both are None
    for an ASDU whose svID has no known layout (``decoded()`` has its raw sample).
    ``kept`` is None when every ASDU of the frame is given; with an svID filter that
    keeps only some, it holds their indices in ``shape.asdus`` (``sv_ids`` follows it).
    Everything constant for the stream (APPID, svIDs, datSet, confRev, smpSynch, ...) is
    in ``shape``; the link header, refrTm and the security element come with
    ``decoded()``, which builds the usual ``DecodedFrame`` objects on request.

    A tuple of the fields ``shape, time, smp_cnt, values, quality, simulated, raw,
    kept`` (a named tuple without the per-instance cost of one: built from one tuple,
    ``ScaledFrame((shape, time, ...))``).
    """

    __slots__ = ()
    _fields = _Fields._fields
    if TYPE_CHECKING:
        shape: FrameShape
        time: float | None
        smp_cnt: tuple[int, ...]
        values: tuple[tuple[float, ...] | None, ...]
        quality: tuple[tuple[int | None, ...] | None, ...]
        simulated: bool
        raw: bytes
        kept: tuple[int, ...] | None
    else:
        shape = _Fields.shape
        time = _Fields.time
        smp_cnt = _Fields.smp_cnt
        values = _Fields.values
        quality = _Fields.quality
        simulated = _Fields.simulated
        raw = _Fields.raw
        kept = _Fields.kept

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={value!r}" for name, value in zip(self._fields, self, strict=True)
        )
        return f"ScaledFrame({shown})"

    def _replace(self, **changes: object) -> ScaledFrame:
        """A copy with some fields changed."""
        return ScaledFrame(
            changes.get(name, value) for name, value in zip(self._fields, self, strict=True)
        )

    @property
    def appid(self) -> int:
        return self.shape.appid

    @property
    def sv_ids(self) -> tuple[str, ...]:
        """The svID of each ASDU given."""
        ids = self.shape.sv_ids
        return ids if self.kept is None else tuple(ids[i] for i in self.kept)

    def decoded(self) -> DecodedFrame:
        """The frame as ``DecodedFrame`` records (link header, every ASDU field; only
        those in ``kept`` when some were filtered out)."""
        raw = self.raw
        base = 18 if raw[12:14] == _TPID else 14
        items = self.shape.unpacker.unpack_from(raw, base)
        frame = records(raw, self.shape, base, items, self.time)
        if self.kept is not None:
            frame.asdus = [frame.asdus[i] for i in self.kept]
        return frame


ScaledDecoder = Callable[[bytes, "float | None"], ScaledFrame | None]
"""A shape's emitted decoder: the frame's ``ScaledFrame``, or None when it is not a
well-formed frame of that shape at that APPID offset."""


def variant_of(frame: bytes, base: int) -> int:
    """The octets of a frame that a stream keeps from frame to frame although its shape
    lets them vary: the VLAN TCI (0 when untagged) and reserved1 (with the simulation
    bit), as one integer ``tci << 16 | reserved1``."""
    tci = frame[14] << 8 | frame[15] if base == 18 else 0
    return tci << 16 | frame[base + 4] << 8 | frame[base + 5]


def _check_region(shape: FrameShape, base: int, variant: int | None) -> tuple[int, int, int]:
    """End offset, mask and constant of the octets from 12 (TPID or Ethertype) to the end
    of the APDU: the Ethertype (and TPID) are constant; the VLAN TCI and reserved1 are
    too when ``variant`` gives them, else variable."""
    if base == 18:
        head_mask, head = b"\xff\xff\0\0\xff\xff", _TPID + b"\0\0"
    elif base == 14:
        head_mask, head = b"\xff\xff", b""
    else:
        raise ValueError(f"base {base}: the APPID is at 14 (untagged) or 18 (tagged)")
    head += ETHERTYPE_SV.to_bytes(2, "big")
    length = shape.length
    mask = bytearray(head_mask + shape.mask.to_bytes(length, "big"))
    constant = bytearray(head + shape.constant.to_bytes(length, "big"))
    if variant is not None:
        reserved1 = base - 12 + 4
        mask[reserved1 : reserved1 + 2] = b"\xff\xff"
        constant[reserved1 : reserved1 + 2] = (variant & 0xFFFF).to_bytes(2, "big")
        if base == 18:
            mask[2:4] = b"\xff\xff"
            constant[2:4] = (variant >> 16).to_bytes(2, "big")
    mask_int = int.from_bytes(mask, "big")
    return base + length, mask_int, int.from_bytes(constant, "big") & mask_int


_Piece = tuple[int, int, str, str]
"""A variable field: frame offset, width, struct code, item name ("" to skip it)."""


def _variable_pieces(shape: FrameShape, base: int, variant: int | None) -> list[_Piece]:
    """The variable fields from the TPID/Ethertype to the end of the APDU, in order."""
    pieces: list[_Piece] = []
    if variant is None:
        pieces.append((base + 4, 2, "H", "r"))  # reserved1
        if base == 18:
            pieces.append((14, 2, "2x", ""))  # the VLAN TCI
    if base not in (14, 18):
        raise ValueError(f"base {base}: the APPID is at 14 (untagged) or 18 (tagged)")
    if shape.security is not None:
        start, stop = shape.security
        mask = shape.mask.to_bytes(shape.length, "big")
        inner = start
        while inner < stop and mask[inner]:
            inner += 1  # the open value's tag and length are constant, its contents not
        if stop > inner:
            pieces.append((base + inner, stop - inner, f"{stop - inner}x", ""))
    for i, (asdu, layout) in enumerate(zip(shape.asdus, shape.layouts, strict=True)):
        pieces.append((base + asdu.smp_cnt_offset, 2, "H", f"c{i}"))
        if asdu.refr_tm_offset is not None:
            pieces.append((base + asdu.refr_tm_offset, 8, "8x", ""))
        size = asdu.sample_length
        if layout is None:
            pieces.append((base + asdu.sample_offset, size, f"{size}x", ""))
        else:
            codes = "".join(
                ("i" if c.type is ChannelType.INT32 else "f") + ("I" if c.quality else "")
                for c in layout.channels
            )
            names = ",".join(
                f"v{i}_{j}" + (f",q{i}_{j}" if c.quality else "")
                for j, c in enumerate(layout.channels)
            )
            pieces.append((base + asdu.sample_offset, size, codes, names))
    return sorted(pieces)


def _plan(
    shape: FrameShape, base: int, variant: int | None
) -> tuple[str, list[str], list[bytes], int]:
    """Struct format from octet 12, the item names, the constant segments (octets that
    must be as learned, each read as one ``bytes`` item ``k<n>``), and the end offset.

    Checked against the shape's mask: every octet is either in a variable field or
    constant, as the quick parser's masked comparison sees it."""
    end, mask, constant = _check_region(shape, base, variant)
    mask_octets = mask.to_bytes(end - 12, "big")
    constant_octets = constant.to_bytes(end - 12, "big")
    fmt = [">"]
    names: list[str] = []
    segments: list[bytes] = []
    at = 12

    def constant_run(stop: int) -> None:
        if stop > at:
            run = slice(at - 12, stop - 12)
            if mask_octets[run] != b"\xff" * (stop - at):
                raise ValueError(f"octets {at}..{stop} of {shape.sv_ids}: not all constant")
            fmt.append(f"{stop - at}s")
            names.append(f"k{len(segments)}")
            segments.append(constant_octets[run])

    for offset, width, code, item in _variable_pieces(shape, base, variant):
        if offset < at or any(mask_octets[offset - 12 : offset - 12 + width]):
            raise ValueError(f"field at {offset} of {shape.sv_ids}: overlaps or not variable")
        constant_run(offset)
        fmt.append(code)
        if item:
            names += item.split(",")
        at = offset + width
    constant_run(end)
    return "".join(fmt), names, segments, end


def _channel_parts(shape: FrameShape) -> tuple[list[str], list[str]]:
    """Per ASDU, the values and qualities tuples as expressions (scales as float
    literals: finite, checked; names from indices only)."""
    values: list[str] = []
    qualities: list[str] = []
    for i, layout in enumerate(shape.layouts):
        if layout is None:
            values.append("None")
            qualities.append("None")
            continue
        row: list[str] = []
        words: list[str] = []
        for j, channel in enumerate(layout.channels):
            scale = float(channel.scale)
            if not math.isfinite(scale) or scale == 0.0:
                raise ValueError(f"channel {j}: scale {scale!r} is not a finite non-zero number")
            row.append(f"v{i}_{j} / {scale!r}")
            words.append(f"q{i}_{j}" if channel.quality else "None")
        values.append(_tuple(row))
        qualities.append(_tuple(words))
    return values, qualities


def _tuple(parts: list[str]) -> str:
    return "(" + "".join(f"{p}, " for p in parts) + ")"


_TEMPLATE = """\
def make(route, state, slow, supervise, unpack_from, ScaledFrame, shape, {constants}):
    hits = 0
    expect = wrap = -1  # the next smpCnt in order and the wrap, while state is owned
    simulated = False

    def feed(frame, time):
        nonlocal hits, expect
        if not {end} <= len(frame) <= {max_frame}:
            return slow(frame, time)
        {names}, = unpack_from(frame, 12)
        if {compare}:
            return slow(frame, time)
        sim = {simulated}
        out = ScaledFrame((shape, time, {counts}, {values}, {qualities}, sim, frame, None))
        hits += 1
{supervision}        return out

    def take_hits():
        nonlocal hits
        taken, hits = hits, 0
        return taken

    def bind(owned):
        nonlocal state, expect, wrap, simulated
        state = owned
        wrap = owned.wrap
        expect = (owned.last_smp_cnt + 1) % wrap
        simulated = owned.simulated

    return feed, take_hits, bind
"""

_IN_PLACE = """\
        if c0 == expect and {same_simulation}state.owner is route{run}:
            expect = c{last} + 1
            if expect == wrap:
                expect = 0
            state.last_smp_cnt = c{last}
            state.received += {count}
            state.last_time = time
        else:
            supervise(route, out, time)
"""

_SUPERVISED = """\
        supervise(route, out, time)
"""


def _source(
    shape: FrameShape, base: int, supervision: str, variant: int | None
) -> tuple[str, str, list[bytes]]:
    """The factory's source, the struct format and the constant segments. With a
    ``variant`` the VLAN TCI and reserved1 are among the constant octets, and the
    simulation bit a constant of the function."""
    fmt, names, segments, end = _plan(shape, base, variant)
    values, qualities = _channel_parts(shape)
    count = len(shape.asdus)
    # The segment with the APPID and Length first: a frame of another stream fails there.
    appid_segment = 1 if base == 18 and variant is None else 0
    order = sorted(range(len(segments)), key=lambda k: k != appid_segment)
    compare = " or ".join(f"k{k} != K{k}" for k in order)
    run = ""
    if count > 1:
        run = f" and c0 + {count} <= wrap" + "".join(
            f" and c{i} == c0 + {i}" for i in range(1, count)
        )
    # An owned state has the simulation bit of the frame that made its route the owner:
    # with a variant that is the route's own, so it need not be compared per frame.
    same = "" if variant is not None else "sim is simulated and "
    block = (
        supervision.format(run=run, last=count - 1, count=count, same_simulation=same)
        if supervision
        else ""
    )
    simulated = "r >= 0x8000" if variant is None else repr(bool(variant & 0x8000))
    source = _TEMPLATE.format(
        constants=", ".join(f"K{k}" for k in range(len(segments))),
        end=int(end),
        max_frame=int(MAX_FRAME),
        names=", ".join(names),
        compare=compare,
        counts=_tuple([f"c{i}" for i in range(count)]),
        values=_tuple(values),
        qualities=_tuple(qualities),
        supervision=block,
        simulated=simulated,
    )
    return source, fmt, segments


Feed = Callable[[bytes, "float | None"], "ScaledFrame | None"]


class Emitted(NamedTuple):
    """An emitted path: ``feed(frame, time)``; ``take_hits()`` gives (and zeroes) how
    many frames it took; ``bind(state)`` gives it the ``StreamState`` it may advance."""

    feed: Feed
    take_hits: Callable[[], int]
    bind: Callable[[Any], None]


def _build(
    shape: FrameShape,
    base: int,
    variant: int | None,
    supervision: str,
    route: object,
    state: object,
    slow: Feed,
    supervise: Callable[[Any, ScaledFrame, float | None], None],
) -> Emitted:
    source, fmt, segments = _source(shape, base, supervision, variant)
    namespace: dict[str, object] = {}
    code = compile(source, f"<sv shape APPID 0x{shape.appid:04x} base {base}>", "exec")
    exec(code, namespace)
    make = namespace["make"]
    assert callable(make)
    made = make(
        route, state, slow, supervise, struct.Struct(fmt).unpack_from, ScaledFrame, shape, *segments
    )
    return Emitted(*made)


def _none(_frame: bytes, _time: float | None) -> None:
    return None


def _unsupervised(_route: object, _out: ScaledFrame, _time: float | None) -> None:
    return None


def emit_decoder(shape: FrameShape, base: int, variant: int | None = None) -> ScaledDecoder:
    """The emitted decoder of ``shape`` for frames whose APPID is at ``base`` (18 tagged,
    14 untagged): a frame's ``ScaledFrame``, or None when it is not a well-formed frame
    of the shape (and, with ``variant``, of that VLAN TCI and reserved1: see
    ``variant_of``). Its source holds only integers, float scales and generated names;
    the constant octets are compared with values handed to it, never written into it."""
    return _build(shape, base, variant, "", None, None, _none, _unsupervised).feed


def emit_feed(
    shape: FrameShape,
    base: int,
    variant: int | None,
    route: object,
    state: object,
    slow: Feed,
    supervise: Callable[[Any, ScaledFrame, float | None], None],
    *,
    in_place: bool,
) -> Emitted:
    """The receiver's emitted path of one route: the emitted decoder, then supervision
    (``in_place``: an in-order frame of the route's single stream advances the bound
    ``StreamState`` directly while its ``owner`` is ``route``; anything else goes to
    ``supervise``). A frame that is not of the shape goes to ``slow``.

    ``bind(state)`` hands over a state: the next smpCnt, the wrap and the simulation bit
    are copied from it then, which holds because only the owner changes an owned state
    (whoever else handles the stream takes the ownership back first)."""
    return _build(
        shape, base, variant, _IN_PLACE if in_place else _SUPERVISED, route, state, slow, supervise
    )


def scaled_frame(
    frame: bytes, shape: FrameShape, items: tuple[object, ...], time: float | None
) -> ScaledFrame:
    """The ``ScaledFrame`` of a frame that matched ``shape``, from its struct items (what
    the emitted decoder gives, without emitting one)."""
    counts: list[int] = []
    values: list[tuple[float, ...] | None] = []
    qualities: list[tuple[int | None, ...] | None] = []
    at = 1  # item 0 is reserved1
    for asdu, count, layout in zip(shape.asdus, shape.items_per_asdu, shape.layouts, strict=True):
        smp_cnt = items[at]
        assert isinstance(smp_cnt, int)
        counts.append(smp_cnt)
        pos = at + 1 + (asdu.refr_tm_offset is not None)
        if layout is None:
            values.append(None)
            qualities.append(None)
        else:
            row: list[float] = []
            words: list[int | None] = []
            for channel in layout.channels:
                row.append(items[pos] / channel.scale)  # type: ignore[operator]
                pos += 1
                if channel.quality:
                    words.append(items[pos])  # type: ignore[arg-type]
                    pos += 1
                else:
                    words.append(None)
            values.append(tuple(row))
            qualities.append(tuple(words))
        at += count
    reserved1 = items[0]
    assert isinstance(reserved1, int)
    if type(frame) is not bytes:
        frame = bytes(frame)
    return ScaledFrame(
        (
            shape,
            time,
            tuple(counts),
            tuple(values),
            tuple(qualities),
            reserved1 >= 0x8000,
            frame,
            None,
        )
    )


__all__ = [
    "Emitted",
    "ScaledDecoder",
    "ScaledFrame",
    "emit_decoder",
    "emit_feed",
    "scaled_frame",
    "variant_of",
]
