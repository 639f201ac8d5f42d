"""Seeded, bounded fuzzing of the GOOSE decode entry points with mutated real frames.

Each case takes a frame of the corpus captures or of our publisher, mutates it (flip
octets, cut, splice, grow a length, nest), and feeds it to every entry point: nothing but
DecodeError may come out of the decoders, and the receivers never raise at all.
``nox -s fuzz`` runs the same test long (GEN61850_FUZZ_SCALE).
"""

from __future__ import annotations

import contextlib
import random

import pytest

from gen61850.generated.goose.iec61850_8_1 import decode_data, locate_iec_goose_pdu
from gen61850.runtime.errors import DecodeError
from gen61850.runtime.goose.frame import decode_frame
from gen61850.runtime.goose.receiver import GooseReceiver, Subscription
from gen61850.runtime.goose.values import MemberType
from gen61850.runtime.pcap import read_capture

from ..conftest import CORPUS, fuzz_budget
from .own_frames import own_frames

pytestmark = pytest.mark.fuzz


def seed_frames() -> list[bytes]:
    frames = [frame for _, frame in own_frames()]
    for name in ("GOOSE.pcap", "Sample_File_MMS_and_GOOSE.pcap"):
        path = CORPUS / "pcap" / name
        if path.is_file():
            frames += [f.data for f in read_capture(path) if f.data[12:14] == b"\x88\xb8"]
    return frames


def mutate(frame: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    data = bytearray(frame)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(6)
        where = rng.randrange(len(data)) if data else 0
        if kind == 0 and data:  # flip an octet
            data[where] = rng.randrange(256)
        elif kind == 1:  # cut
            del data[rng.randrange(len(data) + 1) :]
        elif kind == 2 and data:  # a long or indefinite length
            data[where : where + 1] = bytes((rng.choice((0x80, 0x81, 0x82, 0x84, 0x85, 0xFF)),))
        elif kind == 3:  # splice in part of another frame
            other = rng.choice(others)
            start = rng.randrange(len(other))
            data[where:where] = other[start : start + rng.randint(1, 40)]
        elif kind == 4:  # nest: a structure around the rest
            data[where:where] = b"\xa2" + bytes((rng.randrange(128),))
        elif kind == 5 and data:  # a multi-octet tag
            data[where : where + 1] = b"\x9f" + bytes((rng.randrange(256),))
    return bytes(data)


def test_mutated_frames_give_only_located_errors(fuzz_rng: random.Random) -> None:
    frames = seed_frames()
    members = (MemberType.basic("BOOLEAN"), MemberType.basic("Quality"))
    receivers = [
        GooseReceiver(),
        GooseReceiver(quick=False),
        GooseReceiver([Subscription("AA1C1Q01A1LD0/LLN0$GO$gcb_A", members=members)]),
    ]
    decoded = errors = 0
    for case in range(fuzz_budget(3000)):
        frame = mutate(fuzz_rng.choice(frames), fuzz_rng, frames)
        try:
            decode_frame(frame)
            decoded += 1
        except DecodeError as error:
            errors += 1
            assert 0 <= error.offset <= len(frame), (case, frame.hex(), str(error))
            assert error.path and error.reason
        for offset in (14, 22, 26):
            with contextlib.suppress(DecodeError):
                locate_iec_goose_pdu(frame, offset)
        with contextlib.suppress(DecodeError):
            decode_data(frame, 26)
        for receiver in receivers:
            receiver.feed(frame, case * 0.001)  # never raises
            receiver.tick(case * 0.001)
        if case % 3 == 0:  # the original again: the quick parse must not keep a bad frame
            original = fuzz_rng.choice(frames)
            for receiver in receivers[:2]:
                quick = receiver.feed(original, case * 0.001)
                assert quick is None or quick.pdu == decode_frame(original).pdu
    assert decoded and errors  # both kinds of outcome were exercised
