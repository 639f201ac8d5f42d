"""Logs over 8-2 against Prosody and ejabberd: LCB values and rules, entries from triggers and
integrity, QueryLogByTime and QueryLogAfter (paged), GetLogStatusValues, bounded logs,
logs kept in SQLite across a restart, the `log` command."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gen61850.generated.scsm_8_2.bindings import Data
from gen61850.runtime.device import BasicType
from gen61850.runtime.xmpp.client import AcsiClient, ClientAssociation
from gen61850.runtime.xmpp.errors import DataAccessFailure, ServiceErrorResponse
from gen61850.runtime.xmpp.logs.engine import LogSettings
from gen61850.runtime.xmpp.logs.query import get_log_status_values, query_log
from gen61850.runtime.xmpp.reports.codes import REASONS, TRIGGERS, mask, names_of
from gen61850.runtime.xmpp.reports.engine import ReportSettings
from gen61850.runtime.xmpp.server import AcsiServer
from gen61850.runtime.xmpp.values import scalar_to_data
from tests.xmpp.conftest import Env, SchemaCheck, run, served_model

SCL = Path(__file__).parent / "report_ied.icd"
LD = "RIEDLD0"
EV_LOG, MEAS_LOG = "LLN0$EvLog", "LLN0$MeasLog"
LCB_EV, LCB_MEAS = "LLN0$LG$lcbEv", "LLN0$LG$lcbMeas"
T0 = 1_800_000_000.0  # the changes are dated: 2027-01-15T08:00:00Z and on
COUNTER = f"{LD}/GGIO1.Cnt.stVal[ST]"


@contextlib.asynccontextmanager
async def logging_server(env: Env, **options: Any) -> Any:
    check = SchemaCheck()
    client_options = options.pop("client_options", {})
    server = AcsiServer(env.settings("xied"), served_model(SCL), inspect=check, **options)
    client = AcsiClient(env.settings("client1"), inspect=check, **client_options)
    await server.start()
    try:
        await client.start()
        try:
            yield server, await client.associate(env.jid("xied")), check
        finally:
            await client.stop()
    finally:
        await server.stop()


def count_up(server: AcsiServer, first: int, last: int, step: float = 10.0) -> None:
    """Cnt.stVal = first .. last, change n at T0 + n * step seconds."""
    for n in range(first, last + 1):
        server.model.set_status(COUNTER, n, time=T0 + n * step)


def counts(entries: list[Any]) -> list[int | None]:
    return [
        next((v.integer for ref, v, _ in e.values if ref.endswith("Cnt$stVal")), None)
        for e in entries
    ]


async def write(a: ClientAssociation, lcb: str, name: str, value: Any, btype: BasicType) -> None:
    await a.set_data_values(LD, f"{lcb}${name}", scalar_to_data(btype, value))


def test_lcb_values_and_rules(xmpp_env: Env) -> None:
    async def body() -> None:
        async with logging_server(xmpp_env) as (_server, a, check):
            assert await a.get_data_directory(LD, LCB_EV) == [
                "LogEna", "LogRef", "DatSet", "OldEntrTm", "NewEntrTm", "OldEnt", "NewEnt",
                "TrgOps", "IntgPd",
            ]  # fmt: skip
            values = await get_log_status_values(a, LD, LCB_EV)
            assert (values["LogEna"], values["LogRef"], values["DatSet"]) == (
                True,
                f"{LD}/LLN0$EvLog",
                f"{LD}/LLN0$Events",
            )
            assert (values["OldEnt"], values["NewEnt"], values["IntgPd"]) == (bytes(8), bytes(8), 0)
            assert values["TrgOps"] == mask(TRIGGERS, ["dchg", "qchg", "dupd", "gi"])
            for name, value, btype, code in (
                ("LogRef", "x", BasicType.VISSTRING129, 3),
                ("OldEnt", bytes(8), BasicType.ENTRYID, 3),
                ("NewEntrTm", 0.0, BasicType.ENTRYTIME, 3),
                ("DatSet", f"{LD}/LLN0$Meas", BasicType.VISSTRING129, 2),  # while logging
                ("TrgOps", 2, BasicType.TRGOPS, 2),
            ):
                with pytest.raises(DataAccessFailure) as refused:
                    await write(a, LCB_EV, name, value, btype)
                assert refused.value.code == code, name
            await write(a, LCB_EV, "LogEna", False, BasicType.BOOLEAN)
            with pytest.raises(DataAccessFailure) as refused:
                await write(a, LCB_EV, "DatSet", f"{LD}/LLN0$Nope", BasicType.VISSTRING129)
            assert refused.value.code == 11
            await write(a, LCB_EV, "DatSet", "", BasicType.VISSTRING129)
            with pytest.raises(DataAccessFailure) as refused:
                await write(a, LCB_EV, "LogEna", True, BasicType.BOOLEAN)
            assert refused.value.code == 11  # no data set to log
            await write(a, LCB_EV, "DatSet", f"{LD}/LLN0$Events", BasicType.VISSTRING129)
            await write(a, LCB_EV, "LogEna", True, BasicType.BOOLEAN)
            assert await a.delete_data_set(LD, "LLN0$Events") is False  # in use
            check.assert_clean()

    run(body())


def test_logged_changes_are_queried_by_time_and_after_an_entry(xmpp_env: Env) -> None:
    async def body() -> None:
        async with logging_server(xmpp_env) as (server, a, check):
            count_up(server, 1, 6)
            server.model.set_status(f"{LD}/XCBR1.Pos.stVal[ST]", 2, quality=1, time=T0 + 100)
            everything = await query_log(a, LD, EV_LOG)
            assert counts(everything[:6]) == [1, 2, 3, 4, 5, 6]
            assert [e.entry_id for e in everything] == [n.to_bytes(8, "big") for n in range(1, 8)]
            assert [e.time for e in everything[:2]] == [T0 + 10, T0 + 20]
            ref, value, reasons = everything[0].values[0]
            assert (ref, value, names_of(REASONS, reasons)) == (
                f"{LD}/GGIO1$ST$Cnt$stVal",
                Data(integer=1),
                ["dchg", "dupd"],
            )
            (pos_ref, pos_value, pos_reasons) = everything[6].values[0]
            assert pos_ref == f"{LD}/XCBR1$ST$Pos" and pos_value.structure is not None
            assert names_of(REASONS, pos_reasons) == ["dchg", "qchg"]
            by_time = await query_log(a, LD, EV_LOG, start=T0 + 20, stop=T0 + 40)
            assert counts(by_time) == [2, 3, 4]
            assert counts(await query_log(a, LD, EV_LOG, start=T0 + 55)) == [6, None]
            assert counts(await query_log(a, LD, EV_LOG, stop=T0 + 15)) == [1]
            after = await query_log(a, LD, EV_LOG, after=(T0 + 30, (3).to_bytes(8, "big")))
            assert counts(after) == [4, 5, 6, None]
            status = await get_log_status_values(a, LD, LCB_EV)
            assert (status["OldEnt"], status["NewEnt"]) == (
                (1).to_bytes(8, "big"),
                (7).to_bytes(8, "big"),
            )
            assert (status["OldEntrTm"], status["NewEntrTm"]) == (T0 + 10, T0 + 100)
            # bad requests
            with pytest.raises(ServiceErrorResponse) as refused:
                await query_log(a, LD, EV_LOG, start=T0 + 40, stop=T0 + 20)
            assert (refused.value.error_class, refused.value.code) == ("service", 5)
            with pytest.raises(ServiceErrorResponse) as refused:
                await query_log(a, LD, "LLN0$NoLog")
            assert (refused.value.error_class, refused.value.code) == ("access", 2)
            check.assert_clean()

    run(body())


def test_a_long_answer_is_paged_and_a_log_keeps_its_newest(xmpp_env: Env) -> None:
    async def body() -> None:
        options: dict[str, Any] = {
            "logs": LogSettings(entries=25),
            "client_options": {"max_pdu_size": 1024},
        }
        async with logging_server(xmpp_env, **options) as (server, a, check):
            count_up(server, 1, 40)
            entries = await query_log(a, LD, EV_LOG)
            assert counts(entries) == list(range(16, 41))  # the oldest 15 went
            status = await get_log_status_values(a, LD, LCB_EV)
            assert status["OldEnt"] == (16).to_bytes(8, "big")
            # an entry no longer held: from the first at or after its time
            after = await query_log(a, LD, EV_LOG, after=(T0 + 30, (3).to_bytes(8, "big")))
            assert counts(after) == list(range(16, 41))
            check.assert_clean()

    run(body())


def test_integrity_logs_every_member(xmpp_env: Env) -> None:
    async def body() -> None:
        async with logging_server(xmpp_env) as (_server, a, check):
            await write(a, LCB_MEAS, "LogEna", True, BasicType.BOOLEAN)
            await asyncio.sleep(0.8)
            await write(a, LCB_MEAS, "LogEna", False, BasicType.BOOLEAN)
            entries = await query_log(a, LD, MEAS_LOG)
            assert len(entries) >= 2
            assert all(len(e.values) == 2 and e.values[0][2] == 0 for e in entries)  # no reasons
            await asyncio.sleep(0.5)
            assert len(await query_log(a, LD, MEAS_LOG)) == len(entries)  # stopped
            check.assert_clean()

    run(body())


def test_logs_are_kept_in_sqlite_across_a_restart(xmpp_env: Env, tmp_path: Path) -> None:
    journal = tmp_path / "store.sqlite"

    async def body() -> None:
        settings = ReportSettings(journal=journal)
        async with logging_server(xmpp_env, reports=settings) as (server, a, check):
            count_up(server, 1, 3)
            assert counts(await query_log(a, LD, EV_LOG)) == [1, 2, 3]  # a deferred answer
        async with logging_server(xmpp_env, reports=settings) as (server, a, check):
            count_up(server, 4, 5)
            entries = await query_log(a, LD, EV_LOG)
            assert counts(entries) == [1, 2, 3, 4, 5]
            assert [e.entry_id for e in entries] == [n.to_bytes(8, "big") for n in range(1, 6)]
            check.assert_clean()

    run(body())


def test_the_log_command(xmpp_env: Env, tmp_path: Path) -> None:
    from tests.xmpp.test_cli import CLI, ENV, cli, config, stop

    ied, client = config(xmpp_env, tmp_path, "ied1"), config(xmpp_env, tmp_path, "client2")
    serve = subprocess.Popen(
        [*CLI, "serve", str(SCL), "--simulate", "0.1", "--config", str(ied)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert serve.stdout is not None
        assert serve.stdout.readline().startswith("serving IED RIED")
        target = f"ied1@{xmpp_env.server.domain}"
        for _ in range(50):
            got = cli(
                "log", target, f"{LD}/LLN0.EvLog", "--format", "jsonl", "--config", str(client)
            )
            assert got.returncode == 0, got.stderr
            if len(got.stdout.splitlines()) >= 3:
                break
        lines = [json.loads(line) for line in got.stdout.splitlines()]
        assert len(lines) >= 3
        assert set(lines[0]) == {"entryID", "time", "entries"}
        assert lines[0]["entryID"] == "0000000000000001" and lines[0]["time"].endswith("+00:00")
        assert all(set(e) == {"ref", "value", "reason"} for line in lines for e in line["entries"])
        second = lines[1]
        after = cli(
            "log", target, f"{LD}/LLN0.EvLog", "--after", second["entryID"], "--since",
            second["time"], "--config", str(client),
        )  # fmt: skip
        assert after.returncode == 0, after.stderr
        assert after.stdout.splitlines()[0].startswith("0000000000000003 ")
        inverted = cli(
            "log", target, f"{LD}/LLN0.EvLog", "--since", "2030-01-01T00:00:00",
            "--until", "2029-01-01T00:00:00", "--config", str(client),
        )  # fmt: skip
        assert inverted.returncode == 1 and "service error service=5" in inverted.stderr
        bad = cli("log", target, "nolog", "--config", str(client))
        assert bad.returncode == 1 and "LD/LN.LogName" in bad.stderr
    finally:
        assert stop(serve) == 0
