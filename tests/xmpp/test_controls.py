"""Controls end to end through a real XMPP server (Prosody and ejabberd, TLS): a served IED
with its control service, clients that Select, Operate and Cancel, and every payload of
both sides checked against the schema. The machines' rules in detail are
``test_controls_core.py``; here each model and refusal goes over the wire once, with the
LastApplError and CommandTermination reports arriving where 8-2 puts them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from gen61850.runtime.device.control import (
    AddCause,
    Check,
    Command,
    Completion,
    ControlHandler,
    ControlObject,
    Decision,
    Later,
)
from gen61850.runtime.device.controllable import FollowCtlVal
from gen61850.runtime.xmpp.client import AcsiClient, ClientAssociation
from gen61850.runtime.xmpp.control_client import ControlClient, ControlResult
from gen61850.runtime.xmpp.controls import ControlService
from gen61850.runtime.xmpp.mapping import DataAccessError
from gen61850.runtime.xmpp.server import AcsiServer
from tests.xmpp.conftest import Env, SchemaCheck, run
from tests.xmpp.controls_harness import LD, control_model


@dataclass
class Bench:
    server: AcsiServer
    service: ControlService
    one: ControlClient
    two: ControlClient
    first: ClientAssociation
    check: SchemaCheck


@contextlib.asynccontextmanager
async def served(
    env: Env, handler: ControlHandler | None = None, *, sbo_timeout_ms: int = 30_000
) -> AsyncIterator[Bench]:
    """The control IED served over XMPP. SPCSO2's sboTimeout (400 ms in the SCL, which the
    sans-I/O tests use) is ``sbo_timeout_ms`` here: a select followed by two round trips
    through a loaded XMPP server must not expire unless a test means it to."""
    check = SchemaCheck()
    model = control_model(time.time)
    model.set_value(f"{LD}/GGIO1.SPCSO2.sboTimeout[CF]", sbo_timeout_ms)
    server = AcsiServer(env.settings("ied1"), model, inspect=check)
    service = ControlService(server.core, handler)
    clients = [AcsiClient(env.settings(u), inspect=check) for u in ("client1", "client2")]
    await server.start()
    try:
        for client in clients:
            await client.start()
        first = await clients[0].associate(env.jid("ied1"))
        second = await clients[1].associate(env.jid("ied1"))
        yield Bench(server, service, ControlClient(first), ControlClient(second), first, check)
    finally:
        for client in clients:
            await client.stop()
        await server.stop()


def _refused(result: ControlResult, code: DataAccessError, cause: AddCause) -> None:
    assert not result.accepted, result
    assert result.code == code
    assert result.error is not None and result.error.add_cause == cause, result.describe()


async def _bits(association: ClientAssociation, item: str) -> Any:
    data = await association.get_data_values(LD, item)
    return data.boolean.true is not None if data.boolean else data.bit_string


def test_each_control_model_over_xmpp(xmpp_env: Env) -> None:
    async def body() -> None:
        async with served(xmpp_env) as bench:
            one = bench.one
            result = await one.operate(f"{LD}/GGIO1.SPCSO1", True)  # direct, normal
            assert result.succeeded and result.terminated is None
            assert await _bits(bench.first, "GGIO1$ST$SPCSO1$stVal") is True

            _refused(  # SBO, normal: Operate without Select
                await one.operate(f"{LD}/GGIO1.SPCSO2", True),
                DataAccessError.OBJECT_ACCESS_DENIED,
                AddCause.OBJECT_NOT_SELECTED,
            )
            assert (await one.select(f"{LD}/GGIO1.SPCSO2")).accepted
            assert await _bits(bench.first, "GGIO1$ST$SPCSO2$stSeld") is True
            assert (await one.operate(f"{LD}/GGIO1.SPCSO2", True)).succeeded

            result = await one.operate(f"{LD}/GGIO1.SPCSO3", True)  # direct, enhanced
            assert result.accepted and result.terminated is True

            assert (await one.select_with_value(f"{LD}/XCBR1.Pos", True)).accepted  # SBO, enh.
            result = await one.operate(f"{LD}/XCBR1.Pos", True)
            assert result.terminated is True, result.describe()
            assert await _bits(bench.first, "XCBR1$ST$Pos$stVal") == "10"  # on

            _refused(
                await one.operate(f"{LD}/GGIO1.SPCSO5", True),  # status-only
                DataAccessError.OBJECT_ACCESS_DENIED,
                AddCause.NOT_SUPPORTED,
            )
        bench.check.assert_clean()

    run(body())


def test_another_client_cannot_operate_what_one_selected(xmpp_env: Env) -> None:
    async def body() -> None:
        async with served(xmpp_env) as bench:
            assert (await bench.one.select(f"{LD}/GGIO1.SPCSO2")).accepted
            assert not (await bench.two.select(f"{LD}/GGIO1.SPCSO2")).accepted
            _refused(
                await bench.two.operate(f"{LD}/GGIO1.SPCSO2", True),
                DataAccessError.TEMPORARILY_UNAVAILABLE,
                AddCause.LOCKED_BY_OTHER_CLIENT,
            )
            assert (await bench.one.operate(f"{LD}/GGIO1.SPCSO2", True)).succeeded
        bench.check.assert_clean()

    run(body())


def test_sbo_timeout_and_cancel(xmpp_env: Env) -> None:
    async def body() -> None:
        async with served(xmpp_env, sbo_timeout_ms=400) as bench:
            one = bench.one
            assert (await one.select(f"{LD}/GGIO1.SPCSO2")).accepted  # sboTimeout 400 ms
            await asyncio.sleep(1.0)
            assert await _bits(bench.first, "GGIO1$ST$SPCSO2$stSeld") is False
            _refused(
                await one.operate(f"{LD}/GGIO1.SPCSO2", True),
                DataAccessError.OBJECT_ACCESS_DENIED,
                AddCause.OBJECT_NOT_SELECTED,
            )
            assert (await one.select_with_value(f"{LD}/XCBR1.Pos", True)).accepted
            assert (await one.cancel(f"{LD}/XCBR1.Pos", True)).accepted
            _refused(
                await one.operate(f"{LD}/XCBR1.Pos", True),
                DataAccessError.OBJECT_ACCESS_DENIED,
                AddCause.OBJECT_NOT_SELECTED,
            )
        bench.check.assert_clean()

    run(body())


def test_time_activated_operate_terminates_at_oper_tm(xmpp_env: Env) -> None:
    async def body() -> None:
        async with served(xmpp_env) as bench:
            one = bench.one
            when = time.time() + 0.5
            assert (await one.select_with_value(f"{LD}/XCBR1.Pos", True, oper_tm=when)).accepted
            result = await one.operate(f"{LD}/XCBR1.Pos", True, oper_tm=when)
            assert result.terminated is True, result.describe()
            assert time.time() >= when  # the termination came after operTm, not before
            assert await _bits(bench.first, "XCBR1$ST$Pos$stVal") == "10"
        bench.check.assert_clean()

    run(body())


class FailLater(FollowCtlVal):
    """Refuses interlocked Operates at once and fails every other one a moment later."""

    def __init__(self) -> None:
        super().__init__(refuse_checks=True)

    def operate(self, control: ControlObject, command: Command, completion: Completion) -> Decision:
        if command.check.interlock:
            return super().operate(control, command, completion)
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, completion.fail, AddCause.BLOCKED_BY_PROCESS)
        return Later()


def test_interlock_refused_and_command_termination_negative(xmpp_env: Env) -> None:
    async def body() -> None:
        async with served(xmpp_env, FailLater()) as bench:
            one = bench.one
            _refused(
                await one.operate(f"{LD}/GGIO1.SPCSO3", True, check=Check(interlock=True)),
                DataAccessError.OBJECT_ACCESS_DENIED,
                AddCause.BLOCKED_BY_INTERLOCKING,
            )
            result = await one.operate(f"{LD}/GGIO1.SPCSO3", True)
            assert result.accepted and result.terminated is False
            assert result.error is not None
            assert result.error.add_cause == AddCause.BLOCKED_BY_PROCESS
            assert result.error.control_object == f"{LD}/GGIO1$CO$SPCSO3$Oper"
            assert "CommandTermination negative" in result.describe()
        bench.check.assert_clean()

    run(body())


def test_bad_control_input_over_xmpp(xmpp_env: Env) -> None:
    async def body() -> None:
        async with served(xmpp_env) as bench:
            one = bench.one
            _refused(  # an operTm ten years ahead
                await one.select_with_value(
                    f"{LD}/XCBR1.Pos", True, oper_tm=time.time() + 10 * 365 * 86_400
                ),
                DataAccessError.OBJECT_VALUE_INVALID,
                AddCause.INCONSISTENT_PARAMETERS,
            )
            # a ctlVal of the wrong type: an INT32 where the SPC takes a BOOLEAN
            oper = await bench.first.get_data_values(LD, "GGIO2$CO$IntCtl$Oper")
            assert oper.structure is not None
            codes = await bench.first.write([(LD, "GGIO1$CO$SPCSO1$Oper")], [oper])
            assert codes == [DataAccessError.TYPE_INCONSISTENT]
            _refused(  # an Enum ordinal its EnumType does not list
                await one.operate(f"{LD}/GGIO2.EnumCtl", 9),
                DataAccessError.OBJECT_VALUE_INVALID,
                AddCause.INCONSISTENT_PARAMETERS,
            )
            assert await _bits(bench.first, "GGIO1$ST$SPCSO1$stVal") is False
        bench.check.assert_clean()

    run(body())
