"""decode_frame's fast path for frames of known streams gives exactly what the full walk
of the generated codec gives: the same values, or the same located error, for real
captured frames, our own frames with every OPTIONAL field, and seeded mutations of them;
and its tables stay bounded."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from gen61850.generated.sv.iec61850_9_2 import ASDU, SavPdu
from gen61850.runtime.errors import DecodeError
from gen61850.runtime.pcap import read_capture
from gen61850.runtime.sv import frame as frames
from gen61850.runtime.sv.frame import (
    SvFrame,
    VlanTag,
    check_apdu,
    decode_frame,
    decode_header,
    decode_sav_pdu,
    encode_frame,
)
from gen61850.runtime.sv.frame_shapes import MAX_SHAPES_PER_KEY, Shapes
from tests.conftest import fuzz_budget

DST, SRC = bytes.fromhex("010ccd040001"), bytes.fromhex("020000000001")


def walk(frame: bytes) -> SvFrame:
    """The full walk alone: what decode_frame does for a frame it has not met."""
    header = decode_header(frame)
    pdu = decode_sav_pdu(frame, header.base + 8, header.base + header.length)
    check_apdu(frame, header.base, header.length, pdu)
    return SvFrame(header, pdu)


def outcome(decode: object, frame: bytes) -> object:
    try:
        return decode(frame)  # type: ignore[operator]
    except DecodeError as error:
        return ("error", error.path, error.offset, error.reason)


@pytest.fixture(autouse=True)
def fresh_shapes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Shapes]:
    shapes = Shapes(limit=64)
    monkeypatch.setattr(frames, "_SHAPES", shapes)
    yield shapes


def own_frames() -> list[bytes]:
    """Frames of several shapes: optional fields, 1 and 3 ASDUs, tagged and untagged."""
    out = []
    for count in range(6):
        plain = SavPdu(1, [ASDU("MU01", count, 1, 2, bytes(range(count, count + 64)))])
        full = SavPdu(
            3,
            [
                ASDU(
                    f"MU0{i}",
                    count * 3 + i,
                    7,
                    1,
                    bytes([i]) * 16,
                    datSet="MU/LLN0$PhsMeas1",
                    refrTm=bytes([count, 1, 2, 3, 4, 5, 6, 0x0A]),
                    smpRate=4800,
                    smpMod=2,
                    gmIdentity=bytes(8),
                )
                for i in range(3)
            ],
        )
        out.append(encode_frame(plain, dst=DST, src=SRC, appid=0x4000))
        out.append(encode_frame(full, dst=DST, src=SRC, appid=0x4001, vlan=VlanTag(5, 9, True)))
        out.append(
            encode_frame(plain, dst=DST, src=SRC, appid=0x4002, vlan=None, simulated=count % 2 == 1)
        )
    return out


def test_frames_of_known_streams_decode_as_the_walk_does(fresh_shapes: Shapes) -> None:
    sent = own_frames()
    for frame in sent:
        assert decode_frame(frame) == walk(frame)
    assert len(fresh_shapes) == 3  # one per stream, learned from its second frame
    for frame in sent:
        assert decode_frame(frame) == walk(frame)


def test_the_corpus_capture_decodes_as_the_walk_does(
    sv_capture: Path, fresh_shapes: Shapes
) -> None:
    captured = [c.data for c in read_capture(sv_capture)]
    for frame in captured + captured:
        assert outcome(decode_frame, frame) == outcome(walk, frame)
    assert len(fresh_shapes) >= 1


@pytest.mark.fuzz
def test_mutated_frames_give_the_walks_value_or_error(
    fuzz_rng: random.Random, fresh_shapes: Shapes
) -> None:
    sent = own_frames()
    for frame in sent + sent:
        decode_frame(frame)  # every stream's shape is known
    for _ in range(fuzz_budget(4000)):
        frame = bytearray(fuzz_rng.choice(sent))
        for _ in range(fuzz_rng.choice((1, 1, 2, 3))):
            if not frame:
                break
            kind = fuzz_rng.random()
            at = fuzz_rng.randrange(len(frame))
            if kind < 0.7:
                frame[at] = fuzz_rng.randrange(256)
            elif kind < 0.85:
                del frame[at:]
            else:
                frame[at:at] = bytes([fuzz_rng.randrange(256)])
        mutant = bytes(frame)
        assert outcome(decode_frame, mutant) == outcome(walk, mutant), mutant.hex()


def test_the_tables_stay_bounded(fresh_shapes: Shapes) -> None:
    # a thousand one-off streams: their keys never repeat, nothing is learned
    for appid in range(1000):
        pdu = SavPdu(1, [ASDU("MU01", 0, 1, 2, bytes(64))])
        frame = encode_frame(pdu, dst=DST, src=SRC, appid=appid)
        assert decode_frame(frame) == walk(frame)
    assert len(fresh_shapes) == 0
    # one key whose svID changes with every frame stops learning after a while
    for n in range(200):
        pdu = SavPdu(1, [ASDU(f"MU{n:04d}", n, 1, 2, bytes(64))])
        frame = encode_frame(pdu, dst=DST, src=SRC, appid=0x4000)
        assert decode_frame(frame) == walk(frame)
    assert len(fresh_shapes) <= MAX_SHAPES_PER_KEY
    # many streams that do repeat: at most the limit is kept
    for appid in range(100):
        pdu = SavPdu(1, [ASDU("MU01", 0, 1, 2, bytes(64))])
        frame = encode_frame(pdu, dst=DST, src=SRC, appid=0x5000 + appid)
        decode_frame(frame)
        assert decode_frame(frame) == walk(frame)
    assert len(fresh_shapes) <= fresh_shapes.limit


def test_a_frame_with_security_is_not_learned(fresh_shapes: Shapes) -> None:
    pdu = SavPdu(1, [ASDU("MU01", 0, 1, 2, bytes(64))], security=bytes.fromhex("040201ff"))
    frame = encode_frame(pdu, dst=DST, src=SRC, appid=0x4000)
    for _ in range(3):
        assert decode_frame(frame) == walk(frame)
    assert len(fresh_shapes) == 0
