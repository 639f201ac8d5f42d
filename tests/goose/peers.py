"""Other GOOSE stacks as processes, for the live tests: libiec61850 (pyiec61850-ng) and
open61850, each publishing or receiving in a network namespace.

``python -m tests.goose.peers ROLE ARGS...`` (run inside the namespace with ``ip netns
exec``). Receivers print one JSON line per message: stNum, sqNum, gocbRef and the values
as plain JSON (booleans, numbers, bit strings as 0/1 text, UtcTime as ms since the epoch,
structures as lists). Publishers send the states of ``STATES`` below.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC
from typing import Any

GOCB_REF = "G61PEERLD0/LLN0$GO$gcbPeer"
DAT_SET = "G61PEERLD0/LLN0$PeerSet"
GO_ID = "PeerId"
UTC_MS = 1_700_000_000_250
STATES: list[list[Any]] = [
    # boolean, integer, unsigned, float, quality (13 bits), Dbpos (2 bits), string, utc (ms)
    [True, -7, 1234, 1.25, "0000000000000", "10", "abc", UTC_MS],
    [False, 42, 7, -0.5, "0100000000000", "01", "xyz", UTC_MS + 1000],
]


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


# ----------------------------------------------------------------------- libiec61850


def _iec() -> Any:
    import pyiec61850.pyiec61850 as iec

    return iec


def libiec_value(iec: Any, value: Any) -> Any:
    kind = iec.MmsValue_getType(value)
    if kind == iec.MMS_BOOLEAN:
        return bool(iec.MmsValue_getBoolean(value))
    if kind in (iec.MMS_INTEGER, iec.MMS_UNSIGNED):
        return int(iec.MmsValue_toInt64(value))
    if kind == iec.MMS_FLOAT:
        return float(iec.MmsValue_toDouble(value))
    if kind == iec.MMS_BIT_STRING:
        size = iec.MmsValue_getBitStringSize(value)
        return "".join("1" if iec.MmsValue_getBitStringBit(value, i) else "0" for i in range(size))
    if kind in (iec.MMS_VISIBLE_STRING, iec.MMS_STRING):
        return str(iec.MmsValue_toString(value))
    if kind == iec.MMS_UTC_TIME:
        return int(iec.MmsValue_getUtcTimeInMs(value))
    if kind in (iec.MMS_STRUCTURE, iec.MMS_ARRAY):
        return [
            libiec_value(iec, iec.MmsValue_getElement(value, i))
            for i in range(iec.MmsValue_getArraySize(value))
        ]
    return f"type {kind}"


def libiec_receive(iface: str, appid: str, count: str, timeout: str) -> None:
    iec = _iec()
    messages: list[dict[str, Any]] = []

    class Handler(iec.GooseHandler):  # type: ignore[misc, name-defined]
        def trigger(self) -> None:
            subscriber = self._libiec61850_goose_subscriber
            values = iec.GooseSubscriber_getDataSetValues(subscriber)
            messages.append(
                {
                    "stNum": int(iec.GooseSubscriber_getStNum(subscriber)),
                    "sqNum": int(iec.GooseSubscriber_getSqNum(subscriber)),
                    "valid": bool(iec.GooseSubscriber_isValid(subscriber)),
                    "confRev": int(iec.GooseSubscriber_getConfRev(subscriber)),
                    "datSet": str(iec.GooseSubscriber_getDataSet(subscriber)),
                    "goID": str(iec.GooseSubscriber_getGoId(subscriber)),
                    "simulation": bool(iec.GooseSubscriber_isTest(subscriber)),
                    "values": libiec_value(iec, values) if values else None,
                }
            )

    subscriber = iec.GooseSubscriber_create(GOCB_REF, None)
    iec.GooseSubscriber_setAppId(subscriber, int(appid, 0))
    handler = Handler()
    bridge = iec.GooseSubscriberForPython()
    bridge.setLibiec61850GooseSubscriber(subscriber)
    bridge.setEventHandler(handler)
    bridge.subscribe()
    receiver = iec.GooseReceiver_create()
    iec.GooseReceiver_addSubscriber(receiver, subscriber)
    iec.GooseReceiver_setInterfaceId(receiver, iface)
    iec.GooseReceiver_start(receiver)
    if not iec.GooseReceiver_isRunning(receiver):
        print("libiec61850 receiver did not start", file=sys.stderr)
        sys.exit(2)
    print("ready", file=sys.stderr, flush=True)
    deadline = time.monotonic() + float(timeout)
    while len(messages) < int(count) and time.monotonic() < deadline:
        time.sleep(0.01)
    for message in list(messages)[: int(count)]:
        emit(message)
    # GooseReceiver_stop joins libiec61850's thread, which may wait for the GIL inside our
    # handler: end the process instead (the kernel closes its socket).
    sys.stdout.flush()
    os._exit(0)


def libiec_values(iec: Any, state: list[Any]) -> Any:
    boolean, integer, unsigned, number, quality, dbpos, text, utc_ms = state
    items = [
        iec.MmsValue_newBoolean(boolean),
        iec.MmsValue_newIntegerFromInt32(integer),
        iec.MmsValue_newUnsignedFromUint32(unsigned),
        iec.MmsValue_newFloat(number),
    ]
    for bits in (quality, dbpos):
        value = iec.MmsValue_newBitString(len(bits))
        for index, bit in enumerate(bits):
            iec.MmsValue_setBitStringBit(value, index, bit == "1")
        items.append(value)
    items.append(iec.MmsValue_newVisibleString(text))
    items.append(iec.MmsValue_newUtcTimeByMsTime(utc_ms))
    values = iec.LinkedList_create()
    for item in items:
        iec.LinkedList_add(values, item)
    return values


def libiec_publish(iface: str, appid: str, repeats: str) -> None:
    iec = _iec()
    params = iec.CommParameters()
    params.appId = int(appid, 0)
    params.vlanId = 0
    params.vlanPriority = 4
    iec.CommParameters_setDstAddress(params, 0x01, 0x0C, 0xCD, 0x01, 0x00, 0x21)
    publisher = iec.GoosePublisher_createEx(params, iface, True)
    iec.GoosePublisher_setGoCbRef(publisher, GOCB_REF)
    iec.GoosePublisher_setDataSetRef(publisher, DAT_SET)
    iec.GoosePublisher_setGoID(publisher, GO_ID)
    iec.GoosePublisher_setConfRev(publisher, 3)
    iec.GoosePublisher_setTimeAllowedToLive(publisher, 500)
    time.sleep(0.3)  # the subscriber on the other side is listening by now
    for index, state in enumerate(STATES):
        if index:
            iec.GoosePublisher_increaseStNum(publisher)
        values = libiec_values(iec, state)
        for _ in range(int(repeats)):
            iec.GoosePublisher_publish(publisher, values)
            time.sleep(0.02)
    iec.GoosePublisher_destroy(publisher)


# -------------------------------------------------------------------------- open61850


def open_value(value: Any) -> Any:
    from open61850 import data as d

    if isinstance(value, d.StructureData):
        return [open_value(v) for v in value.members]
    if isinstance(value, d.ArrayData):
        return [open_value(v) for v in value.elements]
    if isinstance(value, d.BitStringData):
        text = "".join(f"{b:08b}" for b in value.value)
        return text[: len(text) - value.unused_bits]
    if isinstance(value, d.TimestampData):
        return int(value.value.timestamp() * 1000 + 0.5)
    if isinstance(value, d.FloatData):
        return float(value.value)
    return value.value


def open_receive(iface: str, count: str, timeout: str) -> None:
    from open61850 import goose
    from open61850.capture import PacketCapture

    capture = PacketCapture(iface, ethertypes=(0x88B8,), low_latency=True)
    print("ready", file=sys.stderr, flush=True)
    deadline = time.monotonic() + float(timeout)
    got = 0
    try:
        while got < int(count) and time.monotonic() < deadline:
            frame = capture.recv()
            if frame is not None:
                decoded = goose.decode_goose_frame(frame.data)
                if decoded is None:
                    continue
                _, pdu = decoded
                emit(
                    {
                        "stNum": pdu.st_num,
                        "sqNum": pdu.sq_num,
                        "gocbRef": pdu.gocb_ref,
                        "datSet": pdu.dat_set,
                        "goID": pdu.go_id,
                        "confRev": pdu.conf_rev,
                        "simulation": pdu.simulation,
                        "ndsCom": pdu.nds_com,
                        "timeAllowedtoLive": pdu.time_allowed_to_live,
                        "values": [open_value(v) for v in pdu.all_data],
                    }
                )
                got += 1
    finally:
        capture.close()


def open_state(state: list[Any]) -> list[Any]:
    from datetime import datetime

    from open61850 import data as d

    boolean, integer, unsigned, number, quality, dbpos, text, utc_ms = state

    def bits(text: str) -> Any:
        padded = text + "0" * (-len(text) % 8)
        octets = bytes(int(padded[i : i + 8], 2) for i in range(0, len(padded), 8))
        return d.BitStringData(octets, len(padded) - len(text))

    return [
        d.BoolData(boolean),
        d.IntData(integer),
        d.UIntData(unsigned),
        d.FloatData(number),
        bits(quality),
        bits(dbpos),
        d.VisibleStringData(text),
        d.TimestampData(datetime.fromtimestamp(utc_ms / 1000, tz=UTC)),
    ]


def open_publish(iface: str, appid: str, change_after: str, duration: str) -> None:
    from open61850.goose_publisher import GooseControl, GoosePublisher

    control = GooseControl(
        GOCB_REF,
        DAT_SET,
        app_id=int(appid, 0),
        dst_mac="01:0c:cd:01:00:22",
        src_mac="02:00:00:00:00:22",
        go_id=GO_ID,
        conf_rev=3,
        vlan_id=0,
        vlan_priority=4,
        min_time_ms=10,
        max_time_ms=200,
    )
    time.sleep(0.3)
    with GoosePublisher(iface, control, open_state(STATES[0])) as publisher:
        publisher.start()
        time.sleep(float(change_after))
        publisher.publish(open_state(STATES[1]), send_now=True)
        time.sleep(float(duration) - float(change_after))


ROLES = {
    "libiec-receive": libiec_receive,
    "libiec-publish": libiec_publish,
    "open61850-receive": open_receive,
    "open61850-publish": open_publish,
}

if __name__ == "__main__":
    ROLES[sys.argv[1]](*sys.argv[2:])
