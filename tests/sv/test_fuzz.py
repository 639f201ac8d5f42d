"""Seeded, bounded fuzzing of every public SV decode entry point and the capture reader.

Mutated real frames (tests/sv/fuzzing.py) go through the generic decoder
(``decode_frame``), the quick parser (fresh and primed with the unmutated frame),
``SvReceiver.feed``, the batch decoder (``decode_frames``, ``Batch.scaled()``),
``decode_sav_pdu``, ``DataSetLayout.decode`` and the scapy layers. Each may raise only
our located ``DecodeError``, and the differential check holds on every input: the quick,
receiver and batch paths give the generic path's values (svID, smpCnt, confRev, samples,
quality, security, VLAN, simulation, ...) or its error class. Mutated capture files
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
from gen61850.runtime.sv.batch import BatchDecoder, decode_frames
from gen61850.runtime.sv.dataset import Channel, ChannelType, DataSetLayout
from gen61850.runtime.sv.frame import decode_frame
from gen61850.runtime.sv.quick import QuickParser
from gen61850.runtime.sv.receiver import SvReceiver
from gen61850.runtime.sv.shape import learn_shape

from ..conftest import CORPUS, fuzz_budget
from .fuzzing import Seed, from_codec, from_records, located, mutate, seeds

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
        shape = learn_shape(seed.frame, seed.layouts)[0]
        mutants = [mutate(fuzz_rng, seed.frame, frame_seeds) for _ in range(per_seed)]
        expected_rows: list[object | None] = []
        for frame in mutants:
            case = _case(seed, frame)
            with no_hang(case):
                try:
                    generic = from_codec(decode_frame(frame))
                except DecodeError as error:
                    located(error, frame)
                    generic = None
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
            decoded_ok += generic is not None
            primed.take_events()
            receiver.take_events()
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
    fuzz_rng: random.Random, tmp_path: Path
) -> None:
    originals = _capture_seeds(tmp_path)
    path = tmp_path / "fuzzed.cap"
    failures = 0
    for _ in range(fuzz_budget(1000)):
        data = _mutate_capture(fuzz_rng, fuzz_rng.choice(originals))
        path.write_bytes(data)
        read = 0
        with no_hang(f"capture file {data[:64].hex()}... ({len(data)} octets)"):
            try:
                for frame in read_capture(path):
                    assert len(frame.data) <= MAX_CAPTURED
                    read += len(frame.data)
            except CaptureFileError as error:
                failures += 1
                assert error.path == str(path) and 0 <= error.offset <= len(data), error
        assert read <= len(data)  # nothing is invented beyond the file's octets
    assert failures  # the mutations do reach the error paths
