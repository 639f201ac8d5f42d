"""Setting groups: SGCB from SettingControl, values per group from DAI sGroup, the 7-2 edit,
confirm and activate rules, through the sans-I/O core and over Prosody and ejabberd."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from gen61850.generated.scsm_8_2.bindings import Data
from gen61850.generator.scl.model import load_scl
from gen61850.runtime.device import BasicType, Timestamp
from gen61850.runtime.device.store import Change
from gen61850.runtime.xmpp.client import AcsiClient
from gen61850.runtime.xmpp.core import ServerCore
from gen61850.runtime.xmpp.errors import DataAccessFailure
from gen61850.runtime.xmpp.mapping import DataAccessError
from gen61850.runtime.xmpp.model import ServedModel
from gen61850.runtime.xmpp.server import AcsiServer
from gen61850.runtime.xmpp.setting_groups import SettingGroupService
from gen61850.runtime.xmpp.sg_client import SettingGroupClient
from gen61850.runtime.xmpp.values import boolean, scalar_to_data
from tests.xmpp.conftest import Env, SchemaCheck, run
from tests.xmpp.controls_harness import LD, T0, A, B, ControlDriver, control_model

BUSY = int(DataAccessError.TEMPORARILY_UNAVAILABLE)
INVALID = int(DataAccessError.OBJECT_VALUE_INVALID)
DENIED = int(DataAccessError.OBJECT_ACCESS_DENIED)
STRVAL = "PTOC1$SG$StrVal$setMag$f"  # declared SG in the SCL
DELAY = "PTOC1$SG$OpDlTmms$setVal"  # declared SE in the SCL: its SG view is made


def driver() -> ControlDriver:
    d = ControlDriver()
    d.associate(A)
    d.associate(B)
    return d


def sgcb(d: ControlDriver) -> list[Any]:
    (result,) = d.read("LLN0$SP$SGCB").read_results()
    assert result.success is not None and result.success.structure is not None
    out: list[Any] = []
    for part in result.success.structure.data:
        if part.unsigned is not None:
            out.append(part.unsigned)
        elif part.boolean is not None:
            out.append(part.boolean.true is not None)
        else:
            out.append(part.utc_time)
    return out


def write(d: ControlDriver, item: str, data: Data, peer: str = A) -> int | None:
    (code,) = d.write(item, data, peer).write_codes()
    return code


def test_sgcb_and_the_groups_from_the_scl() -> None:
    d = driver()
    num, act, edit, cnf, _lact, resv = sgcb(d)
    assert (num, act, edit, cnf, resv) == (3, 1, 0, False, 60)
    assert (d.value(STRVAL), d.value(DELAY)) == (100.5, 10)
    groups = d.settings.devices[LD]
    assert [groups.value(g, (LD, STRVAL)) for g in (1, 2, 3)] == [100.5, 200.5, 300.5]
    assert [groups.value(g, (LD, DELAY)) for g in (1, 2, 3)] == [10, 20, 30]
    names = d.model.names[LD]
    assert names.index("LLN0$SP$SGCB") < names.index("LLN0$SP$SGCB$NumOfSG")
    d.check.assert_clean()


def test_select_active_sg_changes_what_sg_reads_in_one_transaction() -> None:
    d = driver()
    seen: list[list[Change]] = []
    d.model.store.subscribe(seen.append)
    d.now += 10
    assert write(d, "LLN0$SP$SGCB$ActSG", Data(unsigned=2)) is None
    assert (d.value(STRVAL), d.value(DELAY)) == (200.5, 20)
    (transaction,) = seen
    assert {c.key[1] for c in transaction} == {STRVAL, DELAY}
    assert sgcb(d)[1] == 2
    lact = d.settings.devices[LD].lact_tm
    assert isinstance(lact, Timestamp) and lact.seconds == pytest.approx(T0 + 10)
    for bad in (0, 4):
        assert write(d, "LLN0$SP$SGCB$ActSG", Data(unsigned=bad)) == INVALID
    assert sgcb(d)[1] == 2


def test_edit_confirm_activate_and_the_reservation() -> None:
    d = driver()
    f32 = scalar_to_data(BasicType.FLOAT32, 333.25)
    assert write(d, "PTOC1$SE$StrVal$setMag$f", f32) == BUSY  # nobody selected a group to edit
    assert write(d, "LLN0$SP$SGCB$EditSG", Data(unsigned=3)) is None
    assert d.value("PTOC1$SE$StrVal$setMag$f") == 300.5  # SE shows group 3
    assert write(d, "LLN0$SP$SGCB$EditSG", Data(unsigned=2), B) == BUSY  # A holds it
    assert write(d, "PTOC1$SE$StrVal$setMag$f", f32, B) == BUSY
    assert write(d, "PTOC1$SE$StrVal$setMag$f", f32) is None
    assert write(d, "PTOC1$SE$OpDlTmms$setVal", scalar_to_data(BasicType.INT32, 33)) is None
    assert d.value(STRVAL) == 100.5  # the active group (1) is untouched
    assert write(d, "LLN0$SP$SGCB$CnfEdit", Data(boolean=boolean(True)), B) == BUSY
    assert write(d, "LLN0$SP$SGCB$CnfEdit", Data(boolean=boolean(True))) is None
    assert d.value(STRVAL) == 100.5  # group 3 is not active
    assert write(d, "LLN0$SP$SGCB$ActSG", Data(unsigned=3), B) is None  # anyone may activate
    assert (d.value(STRVAL), d.value(DELAY)) == (333.25, 33)
    # editing the active group: the confirm shows at once in SG
    assert write(d, "PTOC1$SE$StrVal$setMag$f", scalar_to_data(BasicType.FLOAT32, 1.5)) is None
    assert write(d, "LLN0$SP$SGCB$CnfEdit", Data(boolean=boolean(True))) is None
    assert d.value(STRVAL) == 1.5
    assert write(d, "LLN0$SP$SGCB$EditSG", Data(unsigned=0)) is None
    assert write(d, "LLN0$SP$SGCB$EditSG", Data(unsigned=1), B) is None  # free again
    d.check.assert_clean()


def test_the_reservation_ends_with_resv_tms_and_with_the_association() -> None:
    d = driver()
    assert write(d, "LLN0$SP$SGCB$EditSG", Data(unsigned=2)) is None
    d.advance(59)
    assert write(d, "LLN0$SP$SGCB$EditSG", Data(unsigned=2), B) == BUSY
    d.advance(2)  # ResvTms 60 s
    assert sgcb(d)[2] == 0
    assert write(d, "LLN0$SP$SGCB$EditSG", Data(unsigned=2), B) is None
    d.release(B)
    assert sgcb(d)[2] == 0
    assert write(d, "LLN0$SP$SGCB$EditSG", Data(unsigned=1)) is None


def test_what_may_not_be_written() -> None:
    d = driver()
    assert write(d, "LLN0$SP$SGCB$NumOfSG", Data(unsigned=4)) == DENIED
    assert write(d, STRVAL, scalar_to_data(BasicType.FLOAT32, 1.0)) == DENIED  # FC SG
    assert write(d, "LLN0$SP$SGCB$ActSG", Data(integer=2)) == int(DataAccessError.TYPE_INCONSISTENT)


def test_setting_groups_over_xmpp(xmpp_env: Env) -> None:
    async def body() -> None:
        check = SchemaCheck()
        server = AcsiServer(xmpp_env.settings("ied1"), control_model(time.time), inspect=check)
        SettingGroupService(server.core)
        clients = [AcsiClient(xmpp_env.settings(u), inspect=check) for u in ("client1", "client2")]
        await server.start()
        try:
            for client in clients:
                await client.start()
            one = SettingGroupClient(await clients[0].associate(xmpp_env.jid("ied1")))
            two = SettingGroupClient(await clients[1].associate(xmpp_env.jid("ied1")))
            values = await one.get_sgcb_values(LD)
            assert (values.num_of_sg, values.act_sg, values.edit_sg) == (3, 1, 0)
            await one.select_edit_sg(LD, 2)
            assert await one.get_edit_sg_value(LD, "PTOC1.StrVal.setMag.f") == 200.5
            with pytest.raises(DataAccessFailure) as refused:
                await two.select_edit_sg(LD, 3)
            assert refused.value.code == BUSY
            await one.set_edit_sg_value(LD, "PTOC1.StrVal.setMag.f", 222.5)
            await one.set_edit_sg_value(LD, "PTOC1.OpDlTmms.setVal", 22)
            with pytest.raises(DataAccessFailure):
                await two.set_edit_sg_value(LD, "PTOC1.StrVal.setMag.f", 9.0)
            await one.confirm_edit_sg_values(LD)
            assert await two.get_edit_sg_value(LD, "PTOC1.StrVal.setMag.f", "SG") == 100.5
            await two.select_active_sg(LD, 2)
            assert await two.get_edit_sg_value(LD, "PTOC1.StrVal.setMag.f", "SG") == 222.5
            assert await two.get_edit_sg_value(LD, "PTOC1.OpDlTmms.setVal", "SG") == 22
            values = await two.get_sgcb_values(LD)
            assert (values.act_sg, values.edit_sg) == (2, 2)
            await one.association.release()  # the reservation ends with it
            await two.select_edit_sg(LD, 3)
        finally:
            for client in clients:
                await client.stop()
            await server.stop()
        check.assert_clean()

    run(body())


def test_an_sgcb_without_setting_data_serves_its_active_group() -> None:
    """reports.scd has SettingControl numOfSGs=4 actSG=2 but no SG/SE data: the SGCB is
    served (ActSG 2, switchable) and nothing fails at start."""
    scl = load_scl(Path(__file__).parents[2] / "specs" / "scl" / "reports.scd")
    scl.raise_on_errors()
    model = ServedModel.from_ied(scl.ieds[0], clock=lambda: T0)
    service = SettingGroupService(ServerCore(model, local_jid="ried@iec61850.test/IEC"))
    (groups,) = service.devices.values()
    assert (groups.num_of_sg, groups.act_sg, groups.settings) == (4, 2, [])
