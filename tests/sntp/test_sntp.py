"""SNTP: the packet codec (against scapy's NTP dissector), the client's rules, the test
server, a device clock disciplined over UDP on 127.0.0.1 (offset within 1 ms of the
server's), kiss-of-death and bad packets; and a seeded fuzz of the packet parser."""

from __future__ import annotations

import asyncio
import math
import random
import struct
import time

import pytest

from gen61850.runtime.device import TimeQuality
from gen61850.runtime.device.clock import DeviceClock, accuracy_bits
from gen61850.runtime.sntp.aio import Discipline, SntpTimeout, query, serve
from gen61850.runtime.sntp.client import KissOfDeath, Sample, SntpClient, SntpRefused
from gen61850.runtime.sntp.packet import (
    LENGTH,
    Leap,
    Mode,
    Packet,
    SntpError,
    decode,
    encode,
    from_unix,
    to_unix,
)
from gen61850.runtime.sntp.server import SntpServer
from tests.conftest import fuzz_budget

T = 1_800_000_000.25  # 2027-01-15, a quarter second past


# ---------------------------------------------------------------- the codec


def test_a_packet_as_octets_and_as_scapy_reads_it() -> None:
    packet = Packet(
        leap=Leap.ADD_SECOND,
        version=4,
        mode=Mode.SERVER,
        stratum=2,
        poll=6,
        precision=-20,
        root_delay=0.5,
        root_dispersion=0.25,
        reference_id=b"GPS\0",
        reference=from_unix(T - 10),
        origin=0x0123456789ABCDEF,
        receive=from_unix(T),
        transmit=from_unix(T + 0.001),
    )
    octets = encode(packet)
    assert len(octets) == LENGTH
    assert octets[:12] == bytes.fromhex("64 02 06 ec 00008000 00004000".replace(" ", ""))
    assert octets[24:32] == bytes.fromhex("0123456789abcdef")
    assert decode(octets) == packet
    ntp = pytest.importorskip("scapy.layers.ntp")
    seen = ntp.NTPHeader(octets)
    assert (seen.leap, seen.version, seen.mode, seen.stratum) == (1, 4, 4, 2)
    assert (seen.poll, seen.precision) == (6, -20)
    assert seen.delay == pytest.approx(0.5) and seen.dispersion == pytest.approx(0.25)
    # scapy gives NTP-era seconds as floats
    assert seen.recv - 2_208_988_800 == pytest.approx(T, abs=1e-6)
    assert seen.sent - 2_208_988_800 == pytest.approx(T + 0.001, abs=1e-6)


@pytest.mark.parametrize("seconds", [0.0, T, 2_085_978_496.5, 2_085_978_495.75, 4_000_000_000.0])
def test_timestamps_both_ways_across_the_2036_era(seconds: float) -> None:
    assert to_unix(from_unix(seconds)) == pytest.approx(seconds, abs=1e-9)


@pytest.mark.parametrize(
    ("data", "field", "offset"),
    [
        (b"", "packet", 0),
        (b"\x23" * 47, "packet", 47),
        (b"\x23" + b"\0" * 49, "extension", 48),
        (b"\x23" + b"\0" * 2000, "extension", 48),
        (b"\x03" + b"\0" * 47, "version", 0),
    ],
)
def test_what_is_not_a_packet_says_where(data: bytes, field: str, offset: int) -> None:
    with pytest.raises(SntpError) as refused:
        decode(data)
    assert (refused.value.field, refused.value.offset) == (field, offset)


# ---------------------------------------------------------------- the client's rules


def _answer(request: bytes, **changes: object) -> bytes:
    """The answer a server 2.5 s ahead gives, received 10 ms after ``request`` left."""
    sent = decode(request)
    ahead = round(2.5 * (1 << 32))
    values: dict[str, object] = {
        "leap": Leap.NONE,
        "version": 4,
        "mode": Mode.SERVER,
        "stratum": 1,
        "reference_id": b"LOCL",
        "origin": sent.transmit,
        "receive": sent.transmit + ahead + round(0.004 * (1 << 32)),
        "transmit": sent.transmit + ahead + round(0.006 * (1 << 32)),
    }
    values.update(changes)
    return encode(Packet(**values))  # type: ignore[arg-type]


def test_offset_and_delay_from_the_four_timestamps() -> None:
    client = SntpClient()
    request = client.request(T, nonce=0x1234)
    assert decode(request).mode == Mode.CLIENT and decode(request).transmit & 0xFFFF == 0x1234
    sample = client.receive(_answer(request), T + 0.010)
    assert isinstance(sample, Sample)
    # a float of POSIX seconds in 2027 holds 2^-22 s (0.24 µs): that is the bound here
    assert sample.offset == pytest.approx(2.5, abs=2e-6)
    assert sample.delay == pytest.approx(0.008, abs=2e-6)
    with pytest.raises(SntpRefused):  # taken once
        client.receive(_answer(request), T + 0.011)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"mode": Mode.CLIENT}, "mode"),
        ({"version": 2}, "version"),
        ({"origin": 12345}, "origin"),
        ({"stratum": 16}, "stratum"),
        ({"leap": Leap.ALARM}, "li_vn_mode"),
        ({"transmit": 0}, "transmit"),
        ({"receive": 0}, "receive"),
    ],
)
def test_answers_that_are_refused(changes: dict[str, object], field: str) -> None:
    client = SntpClient()
    request = client.request(T)
    with pytest.raises(SntpRefused) as refused:
        client.receive(_answer(request, **changes), T + 0.01)
    assert refused.value.field == field


def test_kiss_of_death_stops_or_slows_the_client() -> None:
    client = SntpClient(poll=64)
    request = client.request(T)
    kiss = client.receive(_answer(request, stratum=0, reference_id=b"RATE"), T + 0.01)
    assert kiss == KissOfDeath("RATE") and client.poll == 128 and client.stopped is None
    request = client.request(T)
    kiss = client.receive(_answer(request, stratum=0, reference_id=b"DENY"), T + 0.01)
    assert isinstance(kiss, KissOfDeath) and kiss.stops and client.stopped == "DENY"
    with pytest.raises(SntpRefused):
        client.request(T)


# ---------------------------------------------------------------- the server


def test_the_server_answers_clients_and_drops_the_rest() -> None:
    server = SntpServer(lambda: T + 5.0)
    request = SntpClient().request(T)
    answer = decode(server.answer(request, T + 5.0) or b"")
    assert (answer.mode, answer.stratum, answer.version) == (Mode.SERVER, 1, 4)
    assert answer.origin == decode(request).transmit
    assert to_unix(answer.transmit) == pytest.approx(T + 5.0, abs=1e-6)
    assert server.answer(request[:40], T) is None
    assert server.answer(_answer(request), T) is None  # a server packet is no request
    assert (server.answered, server.dropped) == (1, 2)
    kissing = SntpServer(time.time, kiss="RSTR")
    kissed = decode(kissing.answer(request, T) or b"")
    assert (kissed.stratum, kissed.kiss_code, kissed.leap) == (0, "RSTR", Leap.ALARM)
    with pytest.raises(ValueError):
        SntpServer(time.time, kiss="TOO LONG")


# ---------------------------------------------------------------- the device clock


def test_the_device_clock_and_its_time_quality() -> None:
    source = [T]
    clock = DeviceClock(source=lambda: source[0], hold=100.0)
    assert clock.quality() == TimeQuality(clock_not_synchronized=True, accuracy=31)
    clock.discipline(2.5, 0.0004, 0)
    assert clock.now() == pytest.approx(T + 2.5)
    quality = clock.quality()
    assert quality.leap_seconds_known and not quality.clock_not_synchronized
    assert quality.accuracy == 11  # 2^-11 s = 0.49 ms covers 0.4 ms
    source[0] += 101
    assert clock.quality().clock_not_synchronized  # no sample for longer than hold
    clock.discipline(0.0, 0.001, int(Leap.ALARM))
    assert clock.quality().clock_not_synchronized
    assert [accuracy_bits(e) for e in (1.0, 0.001, 1e-9, math.inf, 0.0)] == [0, 9, 24, 0, 24]


def test_time_stamps_the_server_takes_carry_the_clocks_quality() -> None:
    from tests.xmpp.conftest import OWN_SCL, served_model

    model = served_model(OWN_SCL)
    clock = DeviceClock(source=lambda: T)
    model.store.clock = clock.now
    model.time_quality = clock.quality
    model.set_status("XIEDLD0/XCBR1.Pos.stVal[ST]", 2)
    stamp = model.get_value("XIEDLD0/XCBR1.Pos.t[ST]")
    assert stamp.quality.clock_not_synchronized  # type: ignore[union-attr]
    clock.discipline(1.0, 0.0001, 0)
    model.set_status("XIEDLD0/XCBR1.Pos.stVal[ST]", 1)
    stamp = model.get_value("XIEDLD0/XCBR1.Pos.t[ST]")
    assert stamp.seconds == pytest.approx(T + 1.0, abs=1e-6)  # type: ignore[union-attr]
    assert stamp.quality == TimeQuality(True, False, False, 13)  # type: ignore[union-attr]


# ---------------------------------------------------------------- over UDP on 127.0.0.1


OFFSET = 37.25  # how far ahead the test server's clock runs


def test_a_clock_disciplined_over_udp_is_within_a_millisecond() -> None:
    async def body() -> None:
        server = SntpServer(lambda: time.time() + OFFSET)
        transport, port = await serve(server)
        try:
            clock = DeviceClock()
            discipline = Discipline(clock, "127.0.0.1", port)
            best = await discipline.once(burst=8)
            assert isinstance(best, Sample), best
            # the error of an SNTP offset is at most half the round trip: the best of the
            # burst bounds it; 1 ms is a correctness bound on loopback, not a speed claim
            assert abs(clock.offset - OFFSET) <= best.delay / 2 + 1e-5
            assert abs(clock.offset - OFFSET) < 1e-3
            assert not clock.quality().clock_not_synchronized
            assert clock.quality().accuracy >= 9  # better than 2^-9 s (1.95 ms)
        finally:
            transport.close()

    asyncio.run(body())


def test_kiss_of_death_alarm_and_silence_over_udp() -> None:
    async def body() -> None:
        deny, deny_port = await serve(SntpServer(time.time, kiss="DENY"))
        alarm, alarm_port = await serve(SntpServer(time.time, leap=Leap.ALARM))
        try:
            clock = DeviceClock()
            clock.discipline(0.0, 0.001, 0)
            discipline = Discipline(clock, "127.0.0.1", deny_port)
            assert await discipline.once() == KissOfDeath("DENY")
            assert clock.quality().clock_not_synchronized and discipline.client.stopped == "DENY"
            await asyncio.wait_for(discipline.run(), 1.0)  # stopped: returns at once
            clock.discipline(0.0, 0.001, 0)
            refused = await Discipline(clock, "127.0.0.1", alarm_port).once()
            assert isinstance(refused, SntpRefused) and refused.field == "li_vn_mode"
            assert clock.quality().clock_not_synchronized
        finally:
            deny.close()
            alarm.close()
        silent, silent_port = await serve(SntpServer(time.time, stratum=3))
        silent.close()  # nobody answers on that port now
        with pytest.raises(SntpTimeout):
            await query("127.0.0.1", silent_port, timeout=0.3)

    asyncio.run(body())


# ---------------------------------------------------------------- fuzz


def _mutated(rng: random.Random, valid: bytes) -> bytes:
    data = bytearray(valid)
    choice = rng.randrange(6)
    if choice == 0:
        return bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 120)))
    if choice == 1:
        return bytes(data[: rng.randrange(0, len(data))])
    if choice == 2:
        return bytes(data) + bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 80)))
    for _ in range(rng.randrange(1, 6)):
        data[rng.randrange(len(data))] = rng.getrandbits(8)
    if choice == 4:
        data[0] = rng.getrandbits(8)
    if choice == 5:
        struct.pack_into(">Q", data, 8 * rng.randrange(2, 6), rng.getrandbits(64))
    return bytes(data)


@pytest.mark.fuzz
def test_fuzz_the_packet_parser(fuzz_rng: random.Random) -> None:
    server = SntpServer(lambda: T)
    for _ in range(fuzz_budget(3000)):
        client = SntpClient()
        request = client.request(T, fuzz_rng.getrandbits(16))
        data = _mutated(fuzz_rng, _answer(request) if fuzz_rng.random() < 0.7 else request)
        try:
            packet = decode(data)
        except SntpError as error:
            assert error.offset >= 0 and error.field
            packet = None
        if packet is not None:
            assert encode(packet) == data[:LENGTH]
        try:
            result = client.receive(data, T + 0.01)
        except SntpError:
            result = None
        if isinstance(result, Sample):
            assert math.isfinite(result.offset) and result.delay >= 0
        reply = server.answer(data, T)  # never raises; answers only requests
        if reply is not None:
            assert decode(reply).mode == Mode.SERVER
