"""GOOSE and SV control blocks over 8-2 (Prosody and ejabberd): Get/SetGoCBValues,
Get/SetMSVCBValues and their rules; GoEna and SvEna set by a client start and stop the real
GOOSE and SV publishers, whose frames arrive at the other end of a veth pair."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gen61850.generated.scsm_8_2.bindings import Data
from gen61850.runtime.device import BasicType
from gen61850.runtime.goose.frame import GooseFrame, is_goose
from gen61850.runtime.goose.frame import decode_frame as decode_goose
from gen61850.runtime.goose.values import plain
from gen61850.runtime.net.netns import VethPair, inside
from gen61850.runtime.net.packet import PacketSocket
from gen61850.runtime.sv.frame import decode_frame
from gen61850.runtime.xmpp.client import AcsiClient, ClientAssociation
from gen61850.runtime.xmpp.errors import DataAccessFailure
from gen61850.runtime.xmpp.goose_runner import GooseOutput
from gen61850.runtime.xmpp.server import AcsiServer
from gen61850.runtime.xmpp.sv_runner import SvOutput
from gen61850.runtime.xmpp.values import data_to_scalar, scalar_to_data
from tests.conftest import veth_pair
from tests.xmpp.conftest import Env, SchemaCheck, run, served_model
from tests.xmpp.relay import until

SCL = Path(__file__).parent / "report_ied.icd"
LD = "RIEDLD0"
GOCB, MSVCB = "LLN0$GO$gcbA", "LLN0$MS$svcbA"
TYPES = {
    "GoEna": BasicType.BOOLEAN,
    "GoID": BasicType.VISSTRING129,
    "DatSet": BasicType.VISSTRING129,
    "ConfRev": BasicType.INT32U,
    "NdsCom": BasicType.BOOLEAN,
    "MinTime": BasicType.INT32U,
    "MaxTime": BasicType.INT32U,
    "FixedOffs": BasicType.BOOLEAN,
    "SvEna": BasicType.BOOLEAN,
    "MsvID": BasicType.VISSTRING129,
    "SmpMod": BasicType.ENUM,
    "SmpRate": BasicType.INT16U,
    "OptFlds": BasicType.SVOPTFLDS,
    "noASDU": BasicType.INT16U,
}


async def get(association: ClientAssociation, block: str, name: str) -> Any:
    data = await association.get_data_values(LD, f"{block}${name}")
    return data_to_scalar(TYPES[name], data)


async def put(association: ClientAssociation, block: str, name: str, value: Any) -> None:
    await association.set_data_values(LD, f"{block}${name}", scalar_to_data(TYPES[name], value))


@contextlib.asynccontextmanager
async def serving(env: Env, **options: Any) -> Any:
    check = SchemaCheck()
    server = AcsiServer(env.settings("xied"), served_model(SCL), inspect=check, **options)
    client = AcsiClient(env.settings("client1"), inspect=check)
    await server.start()
    try:
        await client.start()
        try:
            yield server, await client.associate(env.jid("xied")), check
        finally:
            await client.stop()
    finally:
        await server.stop()


def test_gocb_and_msvcb_values_and_rules(xmpp_env: Env) -> None:
    async def body() -> None:
        async with serving(xmpp_env) as (_server, a, check):
            names = await a.name_list(0, LD)
            assert [n for n in names if n.startswith("LLN0$") and n.count("$") == 1] == [
                "LLN0$ST", "LLN0$RP", "LLN0$LG", "LLN0$BR", "LLN0$GO", "LLN0$MS",
            ]  # fmt: skip
            assert await a.get_data_directory(LD, GOCB) == [
                "GoEna", "GoID", "DatSet", "ConfRev", "NdsCom", "DstAddress", "MinTime",
                "MaxTime", "FixedOffs",
            ]  # fmt: skip
            assert await a.get_data_directory(LD, MSVCB) == [
                "SvEna", "MsvID", "DatSet", "ConfRev", "SmpMod", "SmpRate", "OptFlds",
                "DstAddress", "noASDU",
            ]  # fmt: skip
            assert [
                await get(a, GOCB, n)
                for n in ("GoEna", "GoID", "DatSet", "ConfRev", "NdsCom", "MinTime", "MaxTime")
            ] == [False, "RIED/LLN0.gcbA", f"{LD}/LLN0$Gse", 2, False, 4, 1000]
            assert [
                await get(a, MSVCB, n)
                for n in ("SvEna", "MsvID", "DatSet", "ConfRev", "SmpMod", "SmpRate", "OptFlds")
            ] == [False, "RIED_SV01", f"{LD}/LLN0$SvData", 1, 0, 80, 0b01100]
            address = await a.get_data_values(LD, f"{MSVCB}$DstAddress")
            assert address.structure is not None
            assert [d for d in address.structure.data] == [
                Data(octet_string=bytes.fromhex("010ccd040001")),
                Data(unsigned=4),
                Data(unsigned=5),
                Data(unsigned=0x4001),
            ]
            assert await a.get_data_values(LD, f"{GOCB}$DstAddress$APPID") == Data(unsigned=1)
            # read-only attributes
            for block, name, value in (
                (GOCB, "ConfRev", 9),
                (GOCB, "NdsCom", True),
                (GOCB, "MinTime", 1),
                (GOCB, "FixedOffs", True),
                (MSVCB, "DatSet", f"{LD}/LLN0$Gse"),
                (MSVCB, "noASDU", 2),
                (MSVCB, "ConfRev", 3),
            ):
                with pytest.raises(DataAccessFailure) as refused:
                    await put(a, block, name, value)
                assert refused.value.code == 3, name
            with pytest.raises(DataAccessFailure) as refused:
                await a.set_data_values(LD, f"{GOCB}$DstAddress$VID", Data(unsigned=2))
            assert refused.value.code == 3
            # values a block cannot take
            for block, name, value, code in (
                (GOCB, "DatSet", f"{LD}/LLN0$Nope", 11),
                (MSVCB, "SmpMod", 7, 11),
                (MSVCB, "SmpRate", 0, 11),
            ):
                with pytest.raises(DataAccessFailure) as refused:
                    await put(a, block, name, value)
                assert refused.value.code == code, name
            # GoCB: DatSet changes ConfRev; no data set → NdsCom, and GoEna is refused
            await put(a, GOCB, "GoID", "mine")
            await put(a, GOCB, "DatSet", f"{LD}/LLN0$Events")
            assert (await get(a, GOCB, "ConfRev"), await get(a, GOCB, "NdsCom")) == (3, False)
            await put(a, GOCB, "DatSet", "")
            assert await get(a, GOCB, "NdsCom") is True
            with pytest.raises(DataAccessFailure) as refused:
                await put(a, GOCB, "GoEna", True)
            assert refused.value.code == 11
            await put(a, GOCB, "DatSet", f"{LD}/LLN0$Gse")
            assert await a.delete_data_set(LD, "LLN0$Gse") is False  # in use
            # GoCB: this server was given no interface to publish on
            with pytest.raises(DataAccessFailure) as refused:
                await put(a, GOCB, "GoEna", True)
            assert refused.value.code == 2
            assert await get(a, GOCB, "GoEna") is False
            # MSVCB: this server was given no interface to publish on
            with pytest.raises(DataAccessFailure) as refused:
                await put(a, MSVCB, "SvEna", True)
            assert refused.value.code == 2
            assert await get(a, MSVCB, "SvEna") is False
            check.assert_clean()

    run(body())


@pytest.fixture(scope="module")
def veth() -> Iterator[VethPair]:
    with veth_pair("g61xsv") as pair:
        yield pair


@pytest.mark.netns
def test_sv_ena_over_8_2_starts_and_stops_the_sv_publisher(xmpp_env: Env, veth: VethPair) -> None:
    from gen61850.generator.scl.model import load_scl
    from gen61850.generator.scl.sv_streams import stream_or_reason

    scl = load_scl(SCL)
    ied = scl.ieds[0]
    ld = ied.logical_device("LD0")
    assert ld is not None and ld.lln0 is not None
    stream = stream_or_reason(ied, ld, ld.lln0.sv_controls[0], edition=scl.edition)
    assert not isinstance(stream, str), stream
    with inside(veth.ns_b):
        receiver = PacketSocket(veth.if_b)
    frames: list[tuple[str, int, int]] = []
    listening = threading.Event()
    listening.set()

    def listen() -> None:
        while listening.is_set():
            got = receiver.receive(0.2)
            if got is None:
                continue
            try:
                frame = decode_frame(got[0])
            except Exception:  # other traffic (IPv6 neighbour discovery, ...)
                continue
            asdu = frame.pdu.asdu[0]
            frames.append((asdu.svID, asdu.confRev, frame.header.appid))

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()

    async def body() -> None:
        options = {
            "sv_output": SvOutput(veth.if_a, veth.ns_a),
            "sv_streams": {f"{LD}/{MSVCB}": stream},
        }
        async with serving(xmpp_env, **options) as (server, a, check):
            await put(a, MSVCB, "MsvID", "RIED_SV02")
            await put(a, MSVCB, "SvEna", True)
            assert await get(a, MSVCB, "SvEna") is True
            assert await until(lambda: len(frames) >= 20, 10), f"{len(frames)} SV frames"
            with pytest.raises(DataAccessFailure) as refused:
                await put(a, MSVCB, "SmpRate", 40)
            assert refused.value.code == 2  # not while enabled
            await put(a, MSVCB, "SvEna", False)
            await asyncio.sleep(0.3)
            stopped_at = len(frames)
            await asyncio.sleep(0.5)
            assert len(frames) == stopped_at  # no frame after SvEna FALSE
            assert {f for f in frames} == {("RIED_SV02", 1, 0x4001)}
            # again, with another svID; stopping the server stops it too
            await put(a, MSVCB, "MsvID", "RIED_SV03")
            await put(a, MSVCB, "SvEna", True)
            assert await until(lambda: ("RIED_SV03", 1, 0x4001) in frames, 10)
            check.assert_clean()
        count = len(frames)
        await asyncio.sleep(0.5)
        assert len(frames) == count
        assert server.multicast.blocks[f"{LD}/{MSVCB}"].values["SvEna"] is False

    try:
        run(body())
    finally:
        listening.clear()
        thread.join(2)
        receiver.close()


@pytest.mark.netns
def test_go_ena_over_8_2_starts_and_stops_the_goose_publisher(
    xmpp_env: Env, veth: VethPair
) -> None:
    from gen61850.generator.scl.goose_bridge import goose_control_for

    config = goose_control_for(SCL, "RIED", "LD0/LLN0.gcbA").config
    with inside(veth.ns_b):
        receiver = PacketSocket(veth.if_b)
    frames: list[GooseFrame] = []
    listening = threading.Event()
    listening.set()

    def listen() -> None:
        while listening.is_set():
            got = receiver.receive(0.2)
            if got is not None and is_goose(got[0]):
                frames.append(decode_goose(got[0]))

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()

    def seen(st_num: int) -> list[GooseFrame]:
        return [f for f in frames if f.pdu.stNum == st_num]

    async def body() -> None:
        options = {
            "goose_output": GooseOutput(veth.if_a, veth.ns_a),
            "gooses": {f"{LD}/{GOCB}": config},
        }
        async with serving(xmpp_env, **options) as (server, a, check):
            await put(a, GOCB, "GoID", "RIED_GO7")
            await put(a, GOCB, "GoEna", True)
            assert await get(a, GOCB, "GoEna") is True
            assert await until(lambda: len(frames) >= 3, 10), f"{len(frames)} GOOSE frames"
            first = frames[0]
            assert (first.header.appid, first.header.vlan_id) == (1, 0)
            pdu = first.pdu
            assert (pdu.gocbRef, pdu.datSet, pdu.goID, pdu.confRev) == (
                f"{LD}/LLN0$GO$gcbA",
                f"{LD}/LLN0$Gse",
                "RIED_GO7",
                2,
            )
            assert (pdu.stNum, pdu.sqNum, pdu.ndsCom, pdu.numDatSetEntries) == (1, 0, False, 2)
            assert [plain(v) for v in pdu.allData] == [False, "0000000000000"]
            assert [f.pdu.sqNum for f in seen(1)][:3] == [0, 1, 2]  # the retransmission curve
            await put(a, GOCB, "GoEna", True)  # again TRUE: no restart, no new state
            await asyncio.sleep(0.1)
            assert [f.pdu.sqNum for f in seen(1)].count(0) == 1
            with pytest.raises(DataAccessFailure) as refused:
                await put(a, GOCB, "GoID", "other")
            assert refused.value.code == 2  # not while enabled
            # a change of a member is a new state with the new values
            server.model.set_status(f"{LD}/GGIO1.Ind1.stVal[ST]", True, quality=0b0100000000000)
            assert await until(lambda: bool(seen(2)), 10)
            changed = seen(2)[0].pdu
            assert (changed.sqNum, [plain(v) for v in changed.allData]) == (
                0,
                [True, "0100000000000"],
            )
            # a leaf outside the data set changes nothing
            server.model.set_value(f"{LD}/GGIO1.Ind2.stVal[ST]", True)
            await asyncio.sleep(0.2)
            assert not seen(3)
            await put(a, GOCB, "GoEna", False)
            await asyncio.sleep(0.3)
            stopped_at = len(frames)
            await asyncio.sleep(1.2)  # longer than MaxTime: a repetition would have come
            assert len(frames) == stopped_at
            # again: a new start is stNum 1; stopping the server stops it too
            await put(a, GOCB, "GoEna", True)
            assert await until(lambda: len(frames) > stopped_at, 10)
            assert frames[stopped_at].pdu.stNum == 1
            check.assert_clean()
        count = len(frames)
        await asyncio.sleep(1.2)
        assert len(frames) == count
        assert server.multicast.blocks[f"{LD}/{GOCB}"].values["GoEna"] is False

    try:
        run(body())
    finally:
        listening.clear()
        thread.join(2)
        receiver.close()
