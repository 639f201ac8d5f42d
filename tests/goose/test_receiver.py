"""The sans-I/O receive path: filters, quick parse of repetitions, typed values per the
data set, mismatches as events, bad frames counted."""

from __future__ import annotations

from gen61850.generated.goose.iec61850_8_1 import DataBitString, DataBoolean, DataInteger
from gen61850.runtime.asn1types import BitString
from gen61850.runtime.goose.publisher import GooseConfig, PublisherCore
from gen61850.runtime.goose.receiver import GooseReceiver, Subscription
from gen61850.runtime.goose.supervision import (
    ConfRevMismatch,
    DataSetMismatch,
    NewStream,
    StateChanged,
    Step,
)
from gen61850.runtime.goose.values import MemberType
from gen61850.runtime.sv.quality import Quality, Validity

T0 = 1_700_000_000_000_000_000
CONFIG = GooseConfig("IED1LD0/LLN0$GO$gcb1", "IED1LD0/LLN0$DS1", appid=7, min_time_ms=2)
VALUES = [DataBoolean(True), DataBitString(BitString.from_bits("0100000000000"))]
MEMBERS = (MemberType.basic("BOOLEAN", "stVal"), MemberType.basic("Quality", "q"))


def frames(count: int, config: GooseConfig = CONFIG) -> list[bytes]:
    core = PublisherCore(config, VALUES)
    out = [core.start(T0)]
    while len(out) < count:
        out += core.poll(core.due_ns or 0)
    return out


def test_repetitions_take_the_quick_path_with_the_same_result() -> None:
    quick, full = GooseReceiver(), GooseReceiver(quick=False)
    sent = frames(6)
    for index, frame in enumerate(sent):
        a, b = quick.feed(frame, index), full.feed(frame, index)
        assert a is not None and b is not None
        assert a.pdu == b.pdu and a.header == b.header and a.step is b.step
    # TAL 8..64 keep the frame's length; TAL 128 takes two octets: that one is decoded anew.
    assert [decode_tal(f) for f in sent] == [4, 8, 16, 32, 64, 128]
    assert quick.stats.quick == 4 and full.stats.quick == 0
    assert [m for m in quick.take_events()] == [NewStream((7, CONFIG.gocb_ref), 0, 1, 0)]


def decode_tal(frame: bytes) -> int:
    from gen61850.runtime.goose.frame import decode_frame

    return decode_frame(frame).pdu.timeAllowedtoLive


def test_a_state_change_is_decoded_in_full() -> None:
    core = PublisherCore(CONFIG, VALUES)
    receiver = GooseReceiver()
    receiver.feed(core.start(T0), 0.0)
    changed = core.change([DataBoolean(False), VALUES[1]], T0 + 10**9)
    message = receiver.feed(changed, 1.0)
    assert message is not None and message.step is Step.NEW_STATE
    assert message.pdu.allData[0] == DataBoolean(False)
    assert receiver.stats.quick == 0
    assert StateChanged((7, CONFIG.gocb_ref), 1.0, 2, 0) in receiver.take_events()


def test_subscription_types_the_values() -> None:
    receiver = GooseReceiver([Subscription(CONFIG.gocb_ref, members=MEMBERS, conf_rev=1)])
    first, second = (receiver.feed(f, i) for i, f in enumerate(frames(2)))
    assert first is not None and second is not None
    assert first.values == [True, Quality(validity=Validity.INVALID)]
    assert second.values == first.values  # repetitions reuse them


def test_mismatches_are_events_and_leave_values_untyped() -> None:
    wrong_type = GooseReceiver([Subscription(CONFIG.gocb_ref, members=(MEMBERS[1], MEMBERS[0]))])
    message = wrong_type.feed(frames(1)[0], 0.0)
    assert message is not None and message.values is None
    (mismatch,) = [e for e in wrong_type.take_events() if isinstance(e, DataSetMismatch)]
    assert mismatch.reason == "q: Quality travels as DataBitString, got DataBoolean"
    wrong_rev = GooseReceiver([Subscription(CONFIG.gocb_ref, members=MEMBERS, conf_rev=3)])
    wrong_rev.feed(frames(1)[0], 0.0)
    assert ConfRevMismatch((7, CONFIG.gocb_ref), 0.0, 3, 1) in wrong_rev.take_events()


def test_filters_and_bad_frames_are_counted() -> None:
    by_appid = GooseReceiver(appids=[8])
    by_ref = GooseReceiver(gocb_refs=["other"])
    frame = frames(1)[0]
    assert by_appid.feed(frame, 0) is None and by_appid.stats.filtered == 1
    assert by_ref.feed(frame, 0) is None and by_ref.stats.filtered == 1
    receiver = GooseReceiver()
    assert receiver.feed(frame[:30], 0) is None
    assert receiver.feed(frame.replace(b"\xab\x08", b"\xac\x08"), 0) is None
    assert receiver.stats.decode_errors == 2
    assert receiver.stats.errors_by_field == {"GOOSE": 1, "IECGoosePdu": 1}
    assert (
        receiver.stats.last_error
        == "IECGoosePdu.allData at offset 99: expected tag 0xab, found 0xac"
    )


def test_quick_parse_is_not_fooled_by_a_changed_value_of_the_same_length() -> None:
    receiver = GooseReceiver()
    sent = frames(2)
    receiver.feed(sent[0], 0.0)
    forged = bytearray(sent[1])
    forged[-1] ^= 0x01  # a value octet (last bit-string octet), same length
    message = receiver.feed(bytes(forged), 1.0)
    assert message is not None and receiver.stats.quick == 0
    assert message.pdu.allData[1] != VALUES[1]
    assert isinstance(message.pdu.allData[0], DataBoolean)
    assert DataInteger(1) != message.pdu.allData[0]


def test_remembered_frames_are_bounded() -> None:
    from gen61850.runtime.goose.receiver import QUICK_STREAMS

    receiver = GooseReceiver()
    for appid in range(QUICK_STREAMS + 10):
        config = GooseConfig("IED1LD0/LLN0$GO$gcb1", "IED1LD0/LLN0$DS1", appid=appid)
        receiver.feed(PublisherCore(config, VALUES).start(T0), 0.0)
    assert len(receiver._known) <= QUICK_STREAMS
