"""Seeded, bounded fuzzing of every public SV decode entry point and the capture reader.

Mutated real frames (tests/sv/fuzzing.py) go through the generic decoder
(``decode_frame``), the quick parser (fresh and primed with the unmutated frame),
``SvReceiver.feed``, the fast path to physical values (``SvReceiver.feed_scaled`` with
the seed's emitted function installed, ``emit_decoder`` generic and for the seed's VLAN
tag and reserved1), the batch decoder
(``decode_frames``, ``decode_capture``, ``Batch.scaled()``), ``decode_sav_pdu``,
``DataSetLayout.decode`` and the scapy layers. Each may raise only our located
``DecodeError``, and the differential check holds on every input: the quick, receiver,
scaled and batch paths give the generic path's values (svID, smpCnt, confRev, samples,
physical values, quality, security, VLAN, simulation, ...) or its error class. Mutated capture files
(the corpus and our own writes) may give only ``CaptureFileError``. ``nox -s fuzz`` runs
the same tests with GEN61850_FUZZ_SCALE times the cases; a failure shows the seed name
and the mutated octets, and GEN61850_FUZZ_SEED repeats a run.
"""

from __future__ import annotations

import contextlib
import random
import signal
import struct
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import numpy as np
import pytest

from gen61850.generated.sv.iec61850_9_2 import decode_asdu, decode_sav_pdu
from gen61850.runtime.errors import DecodeError
from gen61850.runtime.pcap import (
    MAX_CAPTURED,
    CapturedFrame,
    CaptureFileError,
    read_capture,
    write_capture,
    write_pcap,
)
from gen61850.runtime.sv.batch import BatchDecoder, decode_capture, decode_frames
from gen61850.runtime.sv.dataset import Channel, ChannelType, DataSetLayout
from gen61850.runtime.sv.frame import decode_frame
from gen61850.runtime.sv.quick import QuickParser
from gen61850.runtime.sv.receiver import COMPILE_AFTER, SvReceiver
from gen61850.runtime.sv.scaled import emit_decoder, variant_of
from gen61850.runtime.sv.shape import learn_shape

from ..conftest import CORPUS, fuzz_budget
from .fuzzing import (
    Seed,
    from_codec,
    from_records,
    from_scaled,
    located,
    mutate,
    scaled_from_codec,
    seeds,
)

pytestmark = pytest.mark.fuzz

HANG_SECONDS = 10
"""A single decode of at most a few kilobytes that takes this long is a hang, not slowness."""


class Hang(Exception):
    pass


@contextlib.contextmanager
def no_hang(what: str) -> Iterator[None]:
    """Fail the case (naming it) when it runs for HANG_SECONDS: a decoder that loops."""

    def alarm(_signum: int, _frame: FrameType | None) -> None:
        raise Hang(f"no result after {HANG_SECONDS} s: {what}")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def frame_seeds() -> list[Seed]:
    return seeds(CORPUS / "pcap" / "SV_Normal_Traffic.cap", random.Random(61850))


def _case(seed: Seed, frame: bytes) -> str:
    return f"seed {seed.name}, frame {frame.hex()}"


def test_every_frame_path_agrees_with_the_generic_decoder(
    fuzz_rng: random.Random, frame_seeds: list[Seed]
) -> None:
    cases = fuzz_budget(20000)
    per_seed = max(1, cases // len(frame_seeds))
    decoded_ok = 0
    for seed in frame_seeds:
        primed = QuickParser(seed.layouts)
        primed.decode(seed.frame)
        receiver = SvReceiver(layouts=seed.layouts)
        receiver.feed(seed.frame, 0.0)
        # The fast path with the seed's emitted function installed (a mutant of another
        # shape goes the plain way there: both are checked).
        scaled = SvReceiver(layouts=seed.layouts)
        for _ in range(COMPILE_AFTER):
            scaled.feed_scaled(seed.frame, 0.0)
        assert scaled.feed_scaled.__qualname__ == "make.<locals>.feed", seed.name  # emitted
        shape = learn_shape(seed.frame, seed.layouts)[0]
        base = 18 if seed.frame[12:14] == b"\x81\x00" else 14
        emitted = emit_decoder(shape, base)
        variant = variant_of(seed.frame, base)
        specialized = emit_decoder(shape, base, variant)
        mutants = [mutate(fuzz_rng, seed.frame, frame_seeds) for _ in range(per_seed)]
        expected_rows: list[object | None] = []
        for frame in mutants:
            case = _case(seed, frame)
            with no_hang(case):
                try:
                    judged = decode_frame(frame)
                    generic = from_codec(judged)
                    physical = scaled_from_codec(judged, seed.layouts)
                except DecodeError as error:
                    located(error, frame)
                    generic = physical = None
                errors = scaled.stats.decode_errors
                got = scaled.feed_scaled(frame, 1.0)
                assert (got is None) == (generic is None), case
                assert scaled.stats.decode_errors == errors + (generic is None), case
                if got is not None:
                    assert from_scaled(got) == physical, case
                    assert from_records(got.decoded()) == generic, case
                for parser in (QuickParser(seed.layouts), primed):
                    try:
                        quick = from_records(parser.decode(frame))
                    except DecodeError as error:
                        located(error, frame)
                        quick = None
                    assert quick == generic, case
                errors = receiver.stats.decode_errors
                fed = receiver.feed(frame, 1.0)
                assert (fed is None) == (generic is None), case
                assert receiver.stats.decode_errors == errors + (generic is None), case
                if fed is not None:
                    assert from_records(fed) == generic, case
                # The batch row is valid exactly when the frame is a well-formed frame
                # of the seed's shape (its variable fields may differ, nothing else).
                same_shape = generic is not None and learn_shape(frame, seed.layouts)[0] == shape
                expected_rows.append(generic if same_shape else None)
                same_base = (frame[12:14] == b"\x81\x00") == (base == 18)
                alone = emitted(frame, 1.0)
                assert (alone is not None) == (same_shape and same_base), case
                if alone is not None:
                    assert from_scaled(alone) == physical, case
                    # The function of the seed's VLAN TCI and reserved1 takes exactly
                    # those frames of them.
                    mine = specialized(frame, 1.0)
                    assert (mine is not None) == (variant_of(frame, base) == variant), case
                    assert mine is None or from_scaled(mine) == physical, case
            decoded_ok += generic is not None
            primed.take_events()
            receiver.take_events()
        for counter in ("frames", "asdus", "delivered_asdus", "decode_errors", "errors_by_field"):
            fed = getattr(receiver.stats, counter)
            # the fast receiver also took the seed COMPILE_AFTER times, the other once
            extra = {"frames": COMPILE_AFTER - 1, "asdus": (COMPILE_AFTER - 1) * len(shape.asdus)}
            extra["delivered_asdus"] = extra["asdus"]
            want = fed + extra[counter] if counter in extra else fed
            assert getattr(scaled.stats, counter) == want, (seed.name, counter)
        with no_hang(f"seed {seed.name}: decode_frames of {len(mutants)} mutants"):
            batch = decode_frames(shape, mutants)
            # The ring path: frames of one length at a fixed stride, the length given.
            base = 18 if seed.frame[12:14] == b"\x81\x00" else 14
            length = len(seed.frame)
            ring = [
                k
                for k, m in enumerate(mutants)
                if len(m) == length and (m[12:14] == b"\x81\x00") == (base == 18)
            ]
            stride = length + 16 - length % 16
            block = b"".join(mutants[k].ljust(stride, b"\xee") for k in ring)
            rows = BatchDecoder(shape, base).decode(block, len(ring), stride, 0, length)
        assert rows.valid.tolist() == [expected_rows[k] is not None for k in ring], seed.name
        assert rows.smp_cnt[rows.valid].tolist() == batch.smp_cnt[ring][rows.valid].tolist()
        with np.errstate(invalid="ignore"):  # signalling NaNs in FLOAT32 samples
            values = batch.values.astype(np.float64)
        assert batch.valid.tolist() == [row is not None for row in expected_rows], seed.name
        layout = seed.layouts[shape.sv_ids[0]]
        scaled = batch.scaled()
        for index, expected in enumerate(expected_rows):
            if expected is None:
                continue
            case = _case(seed, mutants[index])
            header, security, asdus = expected  # type: ignore[misc]
            assert bool(batch.simulated[index]) == header[-1], case
            if security is None:
                assert batch.security is None, case
            else:
                assert batch.security is not None, case
                assert bytes(batch.security[index]) == security, case
            for i, asdu in enumerate(asdus):
                assert batch.smp_cnt[index, i] == asdu.smp_cnt, case
                wire, quality = layout.decode(asdu.sample, scaled=False)
                physical, _ = layout.decode(asdu.sample)
                assert np.array_equal(values[index, i], np.array(wire), equal_nan=True), case
                assert np.array_equal(scaled[index, i], np.array(physical), equal_nan=True), case
                assert batch.quality[index, i].tolist() == [q or 0 for q in quality], case
    # The mutations must leave some frames whole, or the value checks checked nothing.
    assert decoded_ok > cases // 20


def test_codec_layout_and_scapy_entry_points_raise_only_decode_error(
    fuzz_rng: random.Random, frame_seeds: list[Seed]
) -> None:
    from scapy.layers.l2 import Ether

    from gen61850.runtime.sv.scapy_layers import SV, SVASDU, register

    register()
    for _ in range(fuzz_budget(3000)):
        seed = fuzz_rng.choice(frame_seeds)
        frame = mutate(fuzz_rng, seed.frame, frame_seeds)
        case = _case(seed, frame)
        base = 18 if frame[12:14] == b"\x81\x00" else 14
        with no_hang(case):
            try:
                generic = decode_frame(frame)
            except DecodeError:
                generic = None
            # The codec alone, on the APDU and on the first ASDU (wherever it ends up).
            for entry, start in ((decode_sav_pdu, base + 8), (decode_asdu, base + 15)):
                try:
                    entry(frame, start)
                except DecodeError as error:
                    located(error, frame)
            # scapy: never an exception under Ether (a failed dissector is Raw; Ether
            # itself needs its 14 octets); SV() raises only DecodeError, and reads what
            # decode_frame reads.
            packet = Ether(frame) if len(frame) >= 14 else None
            try:
                sv = SV(frame[base:])
            except DecodeError:
                sv = None
            if generic is not None:
                assert sv is not None and packet is not None and SV in packet, case
                assert sv.security == generic.pdu.security, case
                assert [
                    (a.svID.decode("ascii"), a.smpCnt, a.confRev, a.smpSynch, a.sample)
                    for a in sv.asdus
                ] == [
                    (a.svID, a.smpCnt, a.confRev, a.smpSynch, a.sample) for a in generic.pdu.asdu
                ], case
                assert isinstance(sv.asdus[0], SVASDU)


def test_dataset_layout_decode_raises_only_decode_error(fuzz_rng: random.Random) -> None:
    kinds = (ChannelType.INT32, ChannelType.FLOAT32)
    for _ in range(fuzz_budget(3000)):
        channels = tuple(
            Channel(
                f"c{i}",
                fuzz_rng.choice(kinds),
                fuzz_rng.choice((1.0, 100.0, 1000.0, -0.5, 1e-9)),
                fuzz_rng.random() < 0.5,
            )
            for i in range(fuzz_rng.randint(1, 12))
        )
        layout = DataSetLayout("fuzz", channels)
        size = max(0, layout.size + fuzz_rng.choice((0, 0, 0, -1, 1, -8, 8, -layout.size)))
        sample = fuzz_rng.randbytes(size)
        offset = fuzz_rng.choice((None, None, 0, 1, -1, size, fuzz_rng.randrange(-4, 200)))
        try:
            wire, quality = layout.decode(sample, offset, scaled=False)
            physical, _ = layout.decode(sample, offset)
        except DecodeError as error:
            assert error.path == "fuzz.sample"
            continue
        # Read exactly the layout's octets: the whole sample, or from a valid offset.
        assert (size == layout.size) if offset is None else (0 <= offset <= size - layout.size)
        items = list(layout.sample_struct.unpack_from(sample, offset or 0))
        for channel, value, word, scaled in zip(channels, wire, quality, physical, strict=True):
            expected = items.pop(0)
            if expected != expected:  # NaN
                assert value != value and scaled != scaled
            else:
                assert (value, scaled) == (expected, expected / channel.scale)
            assert word == (items.pop(0) if channel.quality else None)


# ---------------------------------------------------------------- capture files


def _capture_seeds(tmp_path: Path) -> list[bytes]:
    """Capture files to mutate: the corpus captures (cut to their first records) and our
    own writes in every format we write."""
    out: list[bytes] = []
    if (CORPUS / "pcap").is_dir():
        for path in sorted((CORPUS / "pcap").iterdir()):
            frames = []
            for frame in read_capture(path):
                frames.append(frame)
                if len(frames) == 12:
                    break
            copy = tmp_path / f"cut{path.suffix}"
            write_pcap(copy, frames, nanoseconds=False)
            out.append(copy.read_bytes())
            out.append(path.read_bytes()[:3000])  # the original octets, cut mid-record
    frames = [
        CapturedFrame(1_700_000_000_000_000_000 + k * 250_000, bytes([k]) * (60 + k), 60 + k)
        for k in range(6)
    ]
    for name in ("ours.pcap", "ours.pcapng"):
        write_capture(tmp_path / name, frames)
        out.append((tmp_path / name).read_bytes())
    write_pcap(tmp_path / "us.pcap", frames, nanoseconds=False)
    out.append((tmp_path / "us.pcap").read_bytes())
    # A big-endian pcap header (the magic says which order).
    big = (tmp_path / "us.pcap").read_bytes()
    swapped = bytearray(struct.pack(">IHHiIII", *struct.unpack("<IHHiIII", big[:24])))
    pos = 24
    while pos + 16 <= len(big):
        fields = struct.unpack_from("<IIII", big, pos)
        swapped += struct.pack(">IIII", *fields) + big[pos + 16 : pos + 16 + fields[2]]
        pos += 16 + fields[2]
    out.append(bytes(swapped))
    return out


def _mutate_capture(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        choice = rng.randrange(7)
        if choice == 0 and out:  # flip bits anywhere
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        elif choice == 1:  # truncate
            del out[rng.randrange(len(out) + 1) :]
        elif choice == 2 and len(out) >= 4:  # a length field (any aligned word) lies
            at = rng.randrange(0, len(out) - 3) & ~3
            value = rng.choice((0xFFFFFFF0, 0x7FFFFFFF, 0x00040001, 0, 3, 13, 4096, 1 << 24))
            out[at : at + 4] = value.to_bytes(4, rng.choice(("little", "big")))
        elif choice == 3 and len(out) >= 4:  # bad magic or the other byte order
            out[0:4] = rng.choice(
                (b"\xa1\xb2\xc3\xd4", b"\x0a\x0d\x0d\x0a", b"\x4d\x3c\xb2\xa1", b"XXXX")
            )
        elif choice == 4:  # garbage appended
            out += rng.randbytes(rng.randint(1, 64))
        elif choice == 5 and len(out) > 8:  # a block or record removed or duplicated
            start = rng.randrange(len(out) - 4)
            stop = min(len(out), start + rng.randint(4, 200))
            if rng.random() < 0.5:
                del out[start:stop]
            else:
                out[stop:stop] = out[start:stop]
        elif out:  # an interesting octet
            out[rng.randrange(len(out))] = rng.choice((0x00, 0x0A, 0x0D, 0x1A, 0x2B, 0xFF))
    return bytes(out)


def test_capture_reader_raises_only_capture_file_error(
    fuzz_rng: random.Random, tmp_path: Path, frame_seeds: list[Seed]
) -> None:
    """``read_capture`` raises only ``CaptureFileError``; ``decode_capture`` (which reads
    a uniform pcap in place) raises it exactly when ``read_capture`` does, and otherwise
    gives ``decode_frames`` of the frames ``read_capture`` reads, with their times."""
    originals = _capture_seeds(tmp_path)
    shape = learn_shape(frame_seeds[0].frame, frame_seeds[0].layouts)[0]
    path = tmp_path / "fuzzed.cap"
    failures = 0
    for _ in range(fuzz_budget(1000)):
        data = _mutate_capture(fuzz_rng, fuzz_rng.choice(originals))
        path.write_bytes(data)
        read = 0
        frames: list[CapturedFrame] | None = []
        with no_hang(f"capture file {data[:64].hex()}... ({len(data)} octets)"):
            try:
                for frame in read_capture(path):
                    assert len(frame.data) <= MAX_CAPTURED
                    read += len(frame.data)
                    frames.append(frame)
            except CaptureFileError as error:
                failures += 1
                frames = None
                assert error.path == str(path) and 0 <= error.offset <= len(data), error
            try:
                batch, times = decode_capture(path, shape)
            except CaptureFileError as error:
                # read_capture refused the file too, or a time beyond int64 nanoseconds
                beyond = frames is not None and any(f.time_ns >= 1 << 63 for f in frames)
                assert frames is None or beyond, (data[:64].hex(), error)
            else:
                assert frames is not None, data[:64].hex()
                assert times.tolist() == [f.time_ns for f in frames]
                expected = decode_frames(shape, [f.data for f in frames])
                assert batch.valid.tolist() == expected.valid.tolist()
                rows = expected.valid
                assert batch.smp_cnt[rows].tolist() == expected.smp_cnt[rows].tolist()
                assert np.array_equal(batch.values[rows], expected.values[rows])
                assert np.array_equal(batch.quality[rows], expected.quality[rows])
        assert read <= len(data)  # nothing is invented beyond the file's octets
    assert failures  # the mutations do reach the error paths
