"""Seeds, mutators and oracles for the SV fuzz tests (tests/sv/test_fuzz.py).

Seeds are real frames: the corpus capture and frames our publisher builds (1 to 8 ASDUs,
tagged or not, with and without security, INT32 and FLOAT32 layouts, every optional
field). Mutators damage them the way a link, a buggy publisher or an attacker would: bit
flips, interesting octets at header and BER length positions, truncation, extension,
insertion, deletion, splices. The oracle is ``decode_frame`` (the generic path): every
other path must give its values or the same error class.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gen61850.runtime.errors import DecodeError
from gen61850.runtime.sv.dataset import (
    Channel,
    ChannelType,
    DataSetLayout,
    layout_9_2le,
)
from gen61850.runtime.sv.frame import MAX_FRAME, SvFrame
from gen61850.runtime.sv.records import DecodedAsdu, DecodedFrame
from gen61850.runtime.sv.scaled import ScaledFrame
from gen61850.runtime.sv.stream import StreamConfig
from gen61850.runtime.sv.template import build_frame

from .helpers import corpus_frames

Layouts = dict[str, DataSetLayout]


@dataclass(frozen=True)
class Seed:
    """One well-formed frame and the layouts its stream is decoded with."""

    name: str
    frame: bytes
    layouts: Layouts


FLOAT_LAYOUT = DataSetLayout(
    "floats",
    (
        Channel("P", ChannelType.FLOAT32, 1.0, quality=False),
        Channel("Q", ChannelType.FLOAT32, 10.0, quality=True),
        Channel("U", ChannelType.FLOAT32, 0.5, quality=False),
    ),
)
MIXED_LAYOUT = DataSetLayout(
    "mixed",
    (Channel("I", ChannelType.INT32, 1000.0), Channel("F", ChannelType.FLOAT32, 2.0, False)),
)


def _configs() -> list[StreamConfig]:
    """Streams with 1..8 ASDUs covering every option at least once."""
    layouts = [layout_9_2le(), FLOAT_LAYOUT, MIXED_LAYOUT]
    configs = []
    for asdus in range(1, 9):
        odd = asdus % 2 == 1
        configs.append(
            StreamConfig(
                f"MU{asdus:02d}",
                layout=layouts[asdus % 3],
                dat_set=f"MU{asdus:02d}LD/LLN0$PhsMeas1" if odd else None,
                conf_rev=asdus * 70001,
                smp_synch=asdus % 3,
                smp_rate=4800 if asdus % 4 == 1 else None,
                smp_mod=1 if asdus % 4 == 1 else None,
                refr_tm=asdus in (2, 5, 8),
                gm_identity=bytes(range(asdus, asdus + 8)) if asdus in (3, 8) else None,
                asdus_per_frame=asdus,
                appid=0x4000 + asdus,
                vlan_id=None if asdus in (2, 3, 7) else asdus,
                simulation=asdus in (4, 7),
            )
        )
    configs.append(StreamConfig.from_profile("F14400S6I4U4", "MU61869", 60.0, appid=0x4010))
    return configs


def seeds(corpus_capture: Path | None, rng: random.Random) -> list[Seed]:
    """Frames of the corpus capture (when present) and of our own streams, with and
    without a security element."""
    out: list[Seed] = []
    if corpus_capture is not None and corpus_capture.is_file():
        frames = corpus_frames(corpus_capture)
        for index in (0, 4242, len(frames) - 1):
            out.append(Seed(f"corpus#{index}", frames[index], {"4001": layout_9_2le()}))
    for config in _configs():
        layouts = {config.sv_id: config.layout}
        n = config.asdus_per_frame
        samples = [rng.randbytes(config.layout.size) for _ in range(n)]
        counts = [(100 + i) % config.smp_cnt_wrap for i in range(n)]
        stamp = rng.randbytes(8) if config.refr_tm else None
        plain = build_frame(config, counts, samples, stamp)
        out.append(Seed(f"{config.sv_id} plain", plain, layouts))
        # IEC 62351-6-like security: an OCTET STRING holding a signature.
        signature = rng.randbytes(16 + n)
        security = bytes((0x04, len(signature))) + signature
        secured = build_frame(config, counts, samples, stamp, security)
        out.append(Seed(f"{config.sv_id} secured", secured, layouts))
    return out


_INTERESTING = (0x00, 0x01, 0x1B, 0x20, 0x7E, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0xFF)


def _flip_bits(rng: random.Random, data: bytearray) -> None:
    for _ in range(rng.randint(1, 4)):
        if data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)


def _interesting_octet(rng: random.Random, data: bytearray) -> None:
    if data:
        data[rng.randrange(len(data))] = rng.choice(_INTERESTING)


def _header_field(rng: random.Random, data: bytearray) -> None:
    """Ethertype/TPID, Length, a BER length octet near the APDU start: the fields whose
    lies the decoders must catch."""
    if len(data) < 26:
        return
    at = rng.choice((12, 16, 20, 22 if data[12] == 0x81 else 16, 24, 25, 27, 29))
    value = rng.choice((0x0000, 0x8100, 0x88BA, 0x88A8, 0x0800, 0x05DC, 0x05DD, 0xFFFF))
    if rng.random() < 0.5:
        value = rng.randrange(0x10000)
    data[at : at + 2] = value.to_bytes(2, "big")


def _truncate(rng: random.Random, data: bytearray) -> None:
    del data[rng.randrange(len(data) + 1) :]


def _extend(rng: random.Random, data: bytearray) -> None:
    size = rng.choice((1, 4, 40, rng.randrange(1, 1600)))
    data += bytes(size) if rng.random() < 0.5 else rng.randbytes(size)


def _insert(rng: random.Random, data: bytearray) -> None:
    at = rng.randrange(len(data) + 1)
    data[at:at] = rng.randbytes(rng.randint(1, 8))


def _delete(rng: random.Random, data: bytearray) -> None:
    if data:
        at = rng.randrange(len(data))
        del data[at : at + rng.randint(1, 8)]


def _duplicate(rng: random.Random, data: bytearray) -> None:
    if len(data) > 2:
        start = rng.randrange(len(data) - 1)
        stop = rng.randrange(start + 1, min(len(data), start + 120) + 1)
        at = rng.randrange(len(data) + 1)
        data[at:at] = data[start:stop]


def _control_character(rng: random.Random, data: bytearray) -> None:
    """A control character where text is likely (the svID and datSet)."""
    if len(data) > 30:
        data[rng.randrange(28, min(len(data), 70))] = rng.choice((0x1B, 0x0A, 0x00, 0x7F, 0xE9))


MUTATORS: tuple[Callable[[random.Random, bytearray], None], ...] = (
    _flip_bits,
    _flip_bits,
    _interesting_octet,
    _interesting_octet,
    _header_field,
    _truncate,
    _extend,
    _insert,
    _delete,
    _duplicate,
    _control_character,
)


def mutate(rng: random.Random, frame: bytes, others: list[Seed]) -> bytes:
    """One to three mutations of ``frame`` (sometimes spliced with another seed)."""
    data = bytearray(frame)
    if rng.random() < 0.05:
        other = rng.choice(others).frame
        cut = rng.randrange(len(data) + 1)
        data = data[:cut] + other[rng.randrange(len(other) + 1) :]
    for _ in range(rng.randint(1, 3)):
        rng.choice(MUTATORS)(rng, data)
    return bytes(data)


Outcome = tuple[str, object]
"""("ok", the frame's values) or ("DecodeError", None): what every path must agree on."""


def located(error: DecodeError, frame: bytes) -> None:
    """A DecodeError names a field path and an offset within (or just past) the frame."""
    assert isinstance(error.path, str) and error.path, error
    assert isinstance(error.offset, int), error
    assert 0 <= error.offset <= max(len(frame), MAX_FRAME), (error, len(frame))


def from_codec(decoded: SvFrame) -> object:
    """The values of a generic decode, in the runtime records' form."""
    h = decoded.header
    return (
        (h.dst, h.src, h.vlan, h.appid, h.length, h.reserved1, h.reserved2, h.simulated),
        decoded.pdu.security,
        [DecodedAsdu.from_codec(a) for a in decoded.pdu.asdu],
    )


def from_records(decoded: DecodedFrame) -> object:
    """The values of a quick-path or receiver decode."""
    h = decoded.link
    return (
        (h.dst, h.src, h.vlan, h.appid, h.length, h.reserved1, h.reserved2, h.simulated),
        decoded.security,
        list(decoded.asdus),
    )


def _same_floats(values: tuple[float, ...] | list[float] | None) -> object:
    """Floats as comparable values (every NaN alike: a NaN is never equal to itself)."""
    if values is None:
        return None
    return tuple("NaN" if v != v else v for v in values)


def scaled_from_codec(decoded: SvFrame, layouts: Layouts) -> object:
    """What a ``ScaledFrame`` of this frame must hold, from the generic decode and
    ``DataSetLayout.decode``: per ASDU svID, smpCnt, physical values and quality words
    (None without a layout of the sample's size), and the simulation bit."""
    asdus = []
    for asdu in decoded.pdu.asdu:
        layout = layouts.get(asdu.svID)
        if layout is None or layout.size != len(asdu.sample):
            asdus.append((asdu.svID, asdu.smpCnt, None, None))
            continue
        values, quality = layout.decode(asdu.sample)
        asdus.append((asdu.svID, asdu.smpCnt, _same_floats(values), tuple(quality)))
    return (decoded.header.appid, decoded.header.simulated, asdus)


def from_scaled(frame: ScaledFrame) -> object:
    """The values a ``ScaledFrame`` gives, in ``scaled_from_codec``'s form."""
    asdus = [
        (sv_id, smp_cnt, _same_floats(values), quality)
        for sv_id, smp_cnt, values, quality in zip(
            frame.sv_ids, frame.smp_cnt, frame.values, frame.quality, strict=True
        )
    ]
    return (frame.appid, frame.simulated, asdus)
