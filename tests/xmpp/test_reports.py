"""Reporting over 8-2 against Prosody and ejabberd: RCB attributes and their rules, every
trigger, GI and integrity, BufTm, segmentation, members that are whole data objects or
attributes across two logical devices, reservation; every payload schema-checked."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gen61850.generated.scsm_8_2.bindings import Data, InformationReport
from gen61850.runtime.xmpp.client import AcsiClient, ClientAssociation
from gen61850.runtime.xmpp.errors import DataAccessFailure
from gen61850.runtime.xmpp.reports.codes import OPT_FIELDS, REASONS, TRIGGERS, mask, names_of
from gen61850.runtime.xmpp.reports.engine import ReportSettings
from gen61850.runtime.xmpp.reports.pdu import Report, parse_report
from gen61850.runtime.xmpp.reports.subscription import (
    RcbName,
    RcbNotFound,
    ReportSubscription,
    find_rcb,
    get_rcb_values,
    set_rcb_values,
)
from gen61850.runtime.xmpp.server import AcsiServer
from gen61850.runtime.xmpp.values import is_true
from tests.xmpp.conftest import Env, SchemaCheck, run, served_model
from tests.xmpp.relay import until

HERE = Path(__file__).parent
REPORT_SCL = HERE / "report_ied.icd"
LD, LD1 = "RIEDLD0", "RIEDLD1"
BRCB = RcbName(LD, "LLN0", "BR", "brcbEv01")
URCB = RcbName(LD, "LLN0", "RP", "urcbEv01")
MEAS = RcbName(LD, "LLN0", "RP", "urcbMeas")
MANY = RcbName(LD, "LLN0", "BR", "brcbMany")
ALL_OPT = mask(OPT_FIELDS, [n for n in OPT_FIELDS if n not in ("reserved", "segmentation")])


@dataclass
class Reporting:
    server: AcsiServer
    client: AcsiClient
    association: ClientAssociation
    check: SchemaCheck
    env: Env
    heard: list[Report]

    def set(self, reference: str, value: Any = None, **extra: Any) -> None:
        self.server.model.set_status(reference, value, **extra)

    async def reports(self, count: int, seconds: float = 10.0) -> list[Report]:
        assert await until(lambda: len(self.heard) >= count, seconds), (
            f"{len(self.heard)} of {count} reports"
        )
        return list(self.heard)


@contextlib.asynccontextmanager
async def reporting(
    env: Env,
    *,
    client_user: str = "client1",
    server_options: dict[str, Any] | None = None,
    client_options: dict[str, Any] | None = None,
) -> AsyncIterator[Reporting]:
    check = SchemaCheck()
    server = AcsiServer(
        env.settings("xied"), served_model(REPORT_SCL), inspect=check, **(server_options or {})
    )
    client = AcsiClient(env.settings(client_user), inspect=check, **(client_options or {}))
    await server.start()
    try:
        await client.start()
        try:
            association = await client.associate(env.jid("xied"))
            heard: list[Report] = []

            def listen(_sender: str, pdu: InformationReport) -> None:
                heard.append(parse_report(pdu))

            association.report_listeners.append(listen)
            yield Reporting(server, client, association, check, env, heard)
        finally:
            await client.stop()
    finally:
        await server.stop()


def values_of(report: Report) -> dict[str, Data | None]:
    return {m.reference: m.value.success for m in report.members}


def reasons_of(report: Report) -> dict[str, list[str]]:
    return {m.reference: names_of(REASONS, m.reasons) for m in report.members}


# ---------------------------------------------------------------- the control blocks


def test_rcbs_are_served_with_every_attribute_in_8_1_order(xmpp_env: Env) -> None:
    async def body() -> None:
        async with reporting(xmpp_env) as t:
            a = t.association
            names = await a.name_list(0, LD)
            lln0 = [n for n in names if n.startswith("LLN0$") and n.count("$") == 1]
            assert lln0 == [
                "LLN0$ST",
                "LLN0$RP",
                "LLN0$LG",
                "LLN0$BR",
                "LLN0$GO",
                "LLN0$MS",
            ]  # MMS order
            assert {n for n in names if n.count("$") == 2 and n.startswith("LLN0$")} >= {
                "LLN0$BR$brcbEv01",
                "LLN0$BR$brcbEv02",
                "LLN0$RP$urcbEv01",
                "LLN0$RP$urcbEv02",
                "LLN0$RP$urcbMeas",
                "LLN0$BR$brcbMany",
            }
            assert await a.get_data_directory(LD, BRCB.item) == [
                "RptID", "RptEna", "DatSet", "ConfRev", "OptFlds", "BufTm", "SqNum", "TrgOps",
                "IntgPd", "GI", "PurgeBuf", "EntryID", "TimeOfEntry", "ResvTms", "Owner",
            ]  # fmt: skip
            assert await a.get_data_directory(LD, URCB.item) == [
                "RptID", "RptEna", "Resv", "DatSet", "ConfRev", "OptFlds", "BufTm", "SqNum",
                "TrgOps", "IntgPd", "GI", "Owner",
            ]  # fmt: skip
            brcb = await get_rcb_values(a, BRCB)
            assert brcb == {
                "RptID": "EvRpt",
                "RptEna": False,
                "DatSet": f"{LD}/LLN0$Events",
                "ConfRev": 1,
                "OptFlds": ALL_OPT,
                "BufTm": 0,
                "SqNum": 0,
                "TrgOps": mask(TRIGGERS, ["dchg", "qchg", "dupd", "integrity", "gi"]),
                "IntgPd": 0,
                "GI": False,
                "PurgeBuf": False,
                "EntryID": bytes(8),
                "TimeOfEntry": brcb["TimeOfEntry"],
                "ResvTms": 0,
                "Owner": b"",
            }
            meas = await get_rcb_values(a, MEAS)
            assert (meas["RptID"], meas["ConfRev"], meas["BufTm"], meas["IntgPd"]) == (
                "",
                3,
                200,
                1000,
            )
            # the whole LN reads, the RCBs in it
            lln0_data = await a.get_all_data_values(LD, "LLN0")
            assert lln0_data.structure is not None and len(lln0_data.structure.data) == 6
            assert await find_rcb(a, f"{LD}/LLN0.brcbEv") == BRCB
            assert await find_rcb(a, f"{LD}/LLN0.urcbMeas") == MEAS
            with pytest.raises(RcbNotFound):
                await find_rcb(a, f"{LD}/LLN0.nope")
            t.check.assert_clean()

    run(body())


@pytest.mark.parametrize(
    ("rcb", "attribute", "value", "code"),
    [
        (BRCB, "ConfRev", 5, 3),  # read-only: object-access-denied
        (BRCB, "SqNum", 1, 3),
        (BRCB, "Owner", b"me", 3),
        (BRCB, "TimeOfEntry", 0.0, 3),
        (URCB, "SqNum", 1, 3),
        (BRCB, "DatSet", f"{LD}/LLN0$Nope", 11),  # unknown data set: object-value-invalid
        (BRCB, "DatSet", "no slash", 11),
        (BRCB, "DatSet", "@Mine", 11),  # a non-persistent data set cannot feed a buffer
        (BRCB, "ResvTms", -1, 11),  # -1 is reserved by configuration
        (BRCB, "EntryID", bytes.fromhex("00000000000000ff"), 11),  # never issued
        (BRCB, "EntryID", b"\x01", 11),  # an EntryID is 8 octets
    ],
)
def test_rcb_writes_refused_by_rule(
    xmpp_env: Env, rcb: RcbName, attribute: str, value: Any, code: int
) -> None:
    async def body() -> None:
        async with reporting(xmpp_env) as t:
            with pytest.raises(DataAccessFailure) as refused:
                await set_rcb_values(t.association, rcb, {attribute: value})
            assert refused.value.code == code
            t.check.assert_clean()

    run(body())


def test_rcb_rules_while_enabled_and_between_clients(xmpp_env: Env) -> None:
    async def body() -> None:
        async with reporting(xmpp_env) as t:
            a = t.association
            # a type that does not fit, an IntgPd beyond INT32U, the whole RCB at once
            from gen61850.runtime.device import BasicType
            from gen61850.runtime.xmpp.values import scalar_to_data

            codes = await a.write(
                [
                    (LD, f"{BRCB.item}$IntgPd"),
                    (LD, f"{BRCB.item}$IntgPd"),
                    (LD, BRCB.item),
                ],
                [
                    scalar_to_data(BasicType.VISSTRING32, "x"),
                    Data(unsigned=1 << 32),
                    Data(boolean=scalar_to_data(BasicType.BOOLEAN, True).boolean),
                ],
            )
            assert codes == [7, 7, 3]
            # no data set: cannot be enabled
            await set_rcb_values(a, BRCB, {"DatSet": ""})
            assert (await get_rcb_values(a, BRCB))["ConfRev"] == 2  # DatSet changed
            with pytest.raises(DataAccessFailure) as refused:
                await set_rcb_values(a, BRCB, {"RptEna": True})
            assert refused.value.code == 11
            await set_rcb_values(
                a, BRCB, {"DatSet": f"{LD}/LLN0$Events", "IntgPd": 0xFFFFFFFF, "RptEna": True}
            )
            values = await get_rcb_values(a, BRCB)
            assert values["RptEna"] and values["ConfRev"] == 3
            assert values["Owner"] == str(t.client.boundjid).encode()
            # while enabled only RptEna and GI may change
            for attribute, value in (
                ("DatSet", f"{LD}/LLN0$Meas"),
                ("TrgOps", 2),
                ("IntgPd", 5),
                ("BufTm", 5),
                ("OptFlds", 2),
                ("EntryID", bytes(8)),
                ("PurgeBuf", True),
                ("RptID", "x"),
                ("ResvTms", 5),
            ):
                with pytest.raises(DataAccessFailure) as refused:
                    await set_rcb_values(a, BRCB, {attribute: value})
                assert refused.value.code == 2, attribute  # temporarily-unavailable
            # the data set an RCB uses cannot be deleted
            assert await a.delete_data_set(LD, "LLN0$Events") is False
            # another client: the RCB is reserved (instance-locked-by-other-client)
            other = AcsiClient(xmpp_env.settings("client2"), inspect=t.check)
            await other.start()
            try:
                theirs = await other.associate(xmpp_env.jid("xied"))
                for rcb, attribute, value in (
                    (BRCB, "RptEna", False),
                    (BRCB, "RptID", "mine"),
                ):
                    with pytest.raises(DataAccessFailure) as refused:
                        await set_rcb_values(theirs, rcb, {attribute: value})
                    assert refused.value.code == 2
                await set_rcb_values(a, URCB, {"Resv": True})
                with pytest.raises(DataAccessFailure) as refused:
                    await set_rcb_values(theirs, URCB, {"RptEna": True})
                assert refused.value.code == 2
                # picking an indexed instance skips those taken
                assert await find_rcb(theirs, f"{LD}/LLN0.brcbEv") == RcbName(
                    LD, "LLN0", "BR", "brcbEv02"
                )
                assert await find_rcb(theirs, f"{LD}/LLN0.urcbEv") == RcbName(
                    LD, "LLN0", "RP", "urcbEv02"
                )
                # released: the other client may take it
                await set_rcb_values(a, URCB, {"Resv": False})
                await set_rcb_values(theirs, URCB, {"Resv": True})
                owner = (await get_rcb_values(theirs, URCB))["Owner"]
                assert owner == str(other.boundjid).encode()
            finally:
                await other.stop()
            # the other client is gone: its URCB reservation ended with its association
            assert await until(lambda: not t.server.associations.get((str(other.boundjid), "")), 1)
            t.check.assert_clean()

    run(body())


# ---------------------------------------------------------------- triggers


def test_each_trigger_makes_its_report(xmpp_env: Env) -> None:
    """dchg, qchg (stVal, q, t as one change), dupd, TrgOps filtering; members that are whole
    data objects, attributes, MX under a structure, and in another logical device."""

    async def body() -> None:
        async with reporting(xmpp_env) as t:
            await set_rcb_values(t.association, URCB, {"RptEna": True})
            t.set(f"{LD}/XCBR1.Pos.stVal[ST]", 2, quality=0b0100000000000)  # one change
            t.set(f"{LD}/GGIO1.Ind1.stVal[ST]", None, quality=0b1100000000000)  # q alone
            t.set(f"{LD}/GGIO1.Cnt.stVal[ST]", 0)  # the same value: dupd only
            t.set(f"{LD}/MMXU1.TotW.mag.f[MX]", 7.5)
            t.set(f"{LD1}/GGIO2.Alm.stVal[ST]", True)
            t.set(f"{LD}/GGIO1.Ind2.stVal[ST]", True)  # in no data set of this RCB
            reports = await t.reports(5)
            assert [reasons_of(r) for r in reports] == [
                {f"{LD}/XCBR1$ST$Pos": ["dchg", "qchg"]},
                {f"{LD}/GGIO1$ST$Ind1": ["qchg"]},
                {f"{LD}/GGIO1$ST$Cnt$stVal": ["dupd"]},
                {f"{LD}/MMXU1$MX$TotW$mag$f": ["dchg"]},
                {f"{LD1}/GGIO2$ST$Alm": ["dchg"]},
            ]
            first = reports[0]
            assert (first.rpt_id, first.dat_set, first.conf_rev) == (
                "EvURpt",
                f"{LD}/LLN0$Events",
                1,
            )
            assert first.inclusion == "10000" and first.entry_id is None
            assert first.buf_ovfl is None  # unbuffered: no BufOvfl, no EntryID
            pos = values_of(first)[f"{LD}/XCBR1$ST$Pos"]
            assert pos is not None and pos.structure is not None
            assert pos.structure.data[0] == Data(bit_string="10")  # the whole DO: stVal, q, t
            assert [r.seq_num for r in reports] == [0, 1, 2, 3, 4]
            assert values_of(reports[3])[f"{LD}/MMXU1$MX$TotW$mag$f"] == Data(
                floating_point=bytes.fromhex("0840f00000")
            )
            # TrgOps without dupd and qchg: the same value and a quality change say nothing
            await set_rcb_values(t.association, URCB, {"RptEna": False})
            await set_rcb_values(
                t.association,
                URCB,
                {"TrgOps": mask(TRIGGERS, ["dchg"]), "OptFlds": 0, "RptEna": True},
            )
            t.set(f"{LD}/GGIO1.Cnt.stVal[ST]", 0)
            t.set(f"{LD}/GGIO1.Ind1.stVal[ST]", None, quality=0)
            t.set(f"{LD}/GGIO1.Cnt.stVal[ST]", 9)
            reports = await t.reports(6)
            last = reports[5]
            assert last.opt_flds == 0 and last.seq_num is None and last.dat_set is None
            assert last.inclusion == "00100" and last.members[0].reasons == 0
            await asyncio.sleep(0.2)
            assert len(t.heard) == 6
            t.check.assert_clean()

    run(body())


def test_gi_and_integrity_report_every_member(xmpp_env: Env) -> None:
    async def body() -> None:
        async with reporting(xmpp_env) as t:
            a = t.association
            # GI while disabled does nothing; while enabled, one report of every member
            await set_rcb_values(a, URCB, {"GI": True})
            await set_rcb_values(a, URCB, {"RptEna": True})
            await set_rcb_values(a, URCB, {"GI": True})
            (gi,) = await t.reports(1)
            assert gi.inclusion == "11111"
            assert {tuple(r) for r in reasons_of(gi).values()} == {("gi",)}
            assert (await get_rcb_values(a, URCB))["GI"] is False
            # integrity every 150 ms; IntgPd 0 makes none
            await set_rcb_values(a, URCB, {"RptEna": False})
            await set_rcb_values(a, URCB, {"IntgPd": 150, "RptEna": True})
            reports = await t.reports(3)
            assert {tuple(r) for r in reasons_of(reports[2]).values()} == {("integrity",)}
            await set_rcb_values(a, URCB, {"RptEna": False})
            await set_rcb_values(a, URCB, {"IntgPd": 0, "RptEna": True})
            count = len(t.heard)
            await asyncio.sleep(0.5)
            assert len(t.heard) == count
            t.check.assert_clean()

    run(body())


def test_a_subscription_asking_gi_hears_the_gi_first_while_values_move(xmpp_env: Env) -> None:
    """`ReportSubscription(gi=True)` enables and interrogates in one write, so a value that
    changes every millisecond cannot slip a dchg report in before the GI."""

    async def body() -> None:
        async with reporting(xmpp_env) as t:
            moving = True

            async def move() -> None:
                n = 0
                while moving:
                    n += 1
                    t.set(f"{LD}/GGIO1.Cnt.stVal[ST]", n)
                    await asyncio.sleep(0.001)

            mover = asyncio.ensure_future(move())
            try:
                for _ in range(3):
                    sub = ReportSubscription(
                        t.client, xmpp_env.jid("xied"), f"{LD}/LLN0.urcbEv", gi=True
                    )
                    await sub.start()
                    first = await asyncio.wait_for(sub.reports.get(), 10)
                    assert {tuple(r) for r in reasons_of(first).values()} == {("gi",)}
                    await sub.stop()
            finally:
                moving = False
                await mover

    run(body())


def test_buftm_gathers_changes_and_a_second_change_sends_at_once(xmpp_env: Env) -> None:
    async def body() -> None:
        async with reporting(xmpp_env) as t:
            a = t.association
            await set_rcb_values(a, MEAS, {"IntgPd": 0, "BufTm": 300, "RptEna": True})
            t.set(f"{LD}/MMXU1.TotW.mag.f[MX]", 1.0)
            t.set(f"{LD}/MMXU1.Hz.mag.f[MX]", 50.0)
            (gathered,) = await t.reports(1)
            assert gathered.inclusion == "11" and gathered.rpt_id == f"{LD}/LLN0$RP$urcbMeas"
            t.set(f"{LD}/MMXU1.TotW.mag.f[MX]", 2.0)
            t.set(f"{LD}/MMXU1.TotW.mag.f[MX]", 3.0)  # the same member: the first goes now
            reports = await t.reports(3)
            assert [r.inclusion for r in reports[1:]] == ["10", "10"]
            totw = [r.members[0].value.success for r in reports[1:]]  # no data references
            assert [d.structure.data[0].structure.data[0] for d in totw if d and d.structure] == [  # type: ignore[union-attr]
                Data(floating_point=bytes.fromhex("0840000000")),
                Data(floating_point=bytes.fromhex("0840400000")),
            ]
            t.check.assert_clean()

    run(body())


def test_a_report_larger_than_the_pdu_size_is_segmented(xmpp_env: Env) -> None:
    async def body() -> None:
        async with reporting(xmpp_env, client_options={"max_pdu_size": 2000}) as t:
            await set_rcb_values(t.association, MANY, {"RptEna": True})
            await set_rcb_values(t.association, MANY, {"GI": True})
            assert await until(lambda: t.heard and not t.heard[-1].more_segments_follow, 10)
            segments = list(t.heard)
            assert len(segments) > 2
            assert {s.seq_num for s in segments} == {0}
            assert [s.sub_seq_num for s in segments] == list(range(len(segments)))
            assert [s.more_segments_follow for s in segments] == [True] * (len(segments) - 1) + [
                False
            ]
            assert all(s.opt_flds & mask(OPT_FIELDS, ["segmentation"]) for s in segments)
            assert {s.entry_id for s in segments} == {bytes.fromhex("0000000000000001")}
            positions = [m.position for s in segments for m in s.members]
            assert positions == list(range(24))
            for s in segments:
                assert s.inclusion.count("1") == len(s.members)
            # a change of one member fits: one report, no segment fields
            t.set(f"{LD}/GGIO1.Ind7.stVal[ST]", True)
            assert await until(lambda: len(t.heard) > len(segments), 10)
            single = t.heard[-1]
            assert single.sub_seq_num is None and single.inclusion.count("1") == 1
            assert single.seq_num == 1
            t.check.assert_clean()

    run(body())


# ---------------------------------------------------------------- buffered reports


def test_a_brcb_buffers_while_its_client_is_gone_and_resyncs_by_entry_id(xmpp_env: Env) -> None:
    """Client A takes some reports and goes (no release); changes are buffered; client A
    back (same JID) writes its last EntryID and gets the rest, once and in order."""

    async def body() -> None:
        async with reporting(xmpp_env) as t:
            server = t.server
            sub = ReportSubscription(t.client, xmpp_env.jid("xied"), f"{LD}/LLN0.brcbEv")
            await sub.start()
            for n in range(1, 4):
                t.set(f"{LD}/GGIO1.Cnt.stVal[ST]", n)
            got = [await asyncio.wait_for(sub.reports.get(), 10) for _ in range(3)]
            last = got[-1].entry_id
            await t.client.stop()  # gone without a word; its association ends with the session
            assert await until(lambda: not server.associations, 15)
            for n in range(4, 9):
                t.set(f"{LD}/GGIO1.Cnt.stVal[ST]", n)
            client = AcsiClient(xmpp_env.settings("client1"), inspect=t.check)
            await client.start()
            try:
                back = await client.associate(xmpp_env.jid("xied"))
                heard: list[Report] = []
                back.report_listeners.append(lambda _s, pdu: heard.append(parse_report(pdu)))
                assert (await get_rcb_values(back, BRCB))["EntryID"] == last
                await set_rcb_values(back, BRCB, {"EntryID": last, "RptEna": True})
                assert await until(lambda: len(heard) >= 5, 10)
                await asyncio.sleep(0.2)
                counts = [values_of(r)[f"{LD}/GGIO1$ST$Cnt$stVal"] for r in heard]
                assert counts == [Data(integer=n) for n in range(4, 9)]
                assert [r.buf_ovfl for r in heard] == [False] * 5
                ids = [int.from_bytes(r.entry_id or b"", "big") for r in heard]
                assert ids == list(range(int.from_bytes(last or b"", "big") + 1, ids[0] + 5))
                # another JID cannot take the reserved BRCB meanwhile (ResvTms 60)
            finally:
                await client.stop()
            t.check.assert_clean()

    run(body(), timeout=90)


def test_a_full_buffer_drops_its_oldest_and_says_buf_ovfl(xmpp_env: Env) -> None:
    async def body() -> None:
        options = {"reports": ReportSettings(buffer_entries=4)}
        async with reporting(xmpp_env, server_options=options) as t:
            a = t.association
            await set_rcb_values(a, BRCB, {"RptEna": True})
            await set_rcb_values(a, BRCB, {"RptEna": False})
            for n in range(1, 11):  # 10 entries into a buffer of 4
                t.set(f"{LD}/GGIO1.Cnt.stVal[ST]", n)
            await set_rcb_values(a, BRCB, {"RptEna": True})
            reports = await t.reports(4)
            await asyncio.sleep(0.2)
            assert len(t.heard) == 4
            counts = [values_of(r)[f"{LD}/GGIO1$ST$Cnt$stVal"] for r in reports]
            assert counts == [Data(integer=n) for n in range(7, 11)]
            assert [r.buf_ovfl for r in reports] == [True, False, False, False]
            # resynchronising to an entry that was issued but is gone: from the oldest, BufOvfl
            await set_rcb_values(a, BRCB, {"RptEna": False})
            await set_rcb_values(a, BRCB, {"EntryID": (2).to_bytes(8, "big"), "RptEna": True})
            reports = await t.reports(8)
            assert [r.buf_ovfl for r in reports[4:]] == [True, False, False, False]
            # PurgeBuf, then nothing to send
            await set_rcb_values(a, BRCB, {"RptEna": False})
            await set_rcb_values(a, BRCB, {"PurgeBuf": True, "EntryID": bytes(8), "RptEna": True})
            await asyncio.sleep(0.3)
            assert len(t.heard) == 8
            t.check.assert_clean()

    run(body())


def test_what_a_report_carries_follows_opt_flds(xmpp_env: Env) -> None:
    async def body() -> None:
        async with reporting(xmpp_env) as t:
            a = t.association
            await set_rcb_values(
                a,
                BRCB,
                {"OptFlds": mask(OPT_FIELDS, ["entryID", "data-reference"]), "RptEna": True},
            )
            t.set(f"{LD}/GGIO1.Cnt.stVal[ST]", 3)
            (report,) = await t.reports(1)
            assert report.opt_flds == mask(OPT_FIELDS, ["entryID", "data-reference"])
            assert report.entry_id == (1).to_bytes(8, "big")
            assert (report.seq_num, report.time_of_entry, report.dat_set, report.conf_rev) == (
                None,
                None,
                None,
                None,
            )
            assert report.members[0].reference == f"{LD}/GGIO1$ST$Cnt$stVal"
            assert report.members[0].reasons == 0  # no reason codes sent
            assert is_true(Data(boolean=None).boolean) is False
            t.check.assert_clean()

    run(body())


# ---------------------------------------------------------------- nothing lost


def test_every_report_once_and_in_order_across_resumed_and_full_reconnects(
    xmpp_env: Env,
) -> None:
    """The client's link is cut mid-stream with reports in flight (XEP-0198 resumes it),
    then cut and kept down past the server's resumption window (a full reconnect: the
    subscription associates again and resynchronises by EntryID), then the IED's own link
    is cut (resumed). The application changes a counter all along: every value arrives
    once, in order."""
    from gen61850.runtime.xmpp.transport import XmppSettings
    from tests.xmpp.relay import Relay

    async def body() -> None:
        client_relay, ied_relay = Relay(xmpp_env.server.port), Relay(xmpp_env.server.port)
        await client_relay.start()
        await ied_relay.start()
        check = SchemaCheck()
        server = AcsiServer(
            xmpp_env.settings("xied", port=ied_relay.port), served_model(REPORT_SCL), inspect=check
        )
        settings: XmppSettings = xmpp_env.settings("client1", port=client_relay.port)
        client = AcsiClient(settings, inspect=check)
        starts: list[object] = []
        client.add_event_handler("session_start", starts.append)
        await server.start()
        await client.start()
        sub = ReportSubscription(client, xmpp_env.jid("xied"), f"{LD}/LLN0.brcbEv", retry=0.3)
        try:
            await sub.start()
            counts: list[int] = []

            async def collect() -> None:
                while True:
                    report = await sub.reports.get()
                    value = values_of(report).get(f"{LD}/GGIO1$ST$Cnt$stVal")
                    if value is not None and value.integer is not None:
                        counts.append(value.integer)

            collector = asyncio.ensure_future(collect())
            total = 300
            for n in range(1, total + 1):
                server.model.set_status(f"{LD}/GGIO1.Cnt.stVal[ST]", n)
                if n == 80:  # reports in flight to the client are lost on this link
                    client_relay.swallow(True, down=True)
                elif n == 90:
                    client_relay.swallow(False, down=True)
                    client_relay.cut()
                elif n == 160:  # down past the resumption window: a new session
                    client_relay.refuse(True)
                    client_relay.cut()
                elif n == 200:
                    await asyncio.sleep(3.0)
                    client_relay.refuse(False)
                elif n == 250:  # the IED's link, with reports in flight
                    ied_relay.swallow(True)
                elif n == 255:
                    ied_relay.swallow(False)
                    ied_relay.cut()
                await asyncio.sleep(0.01)
            assert await until(lambda: len(counts) >= total, 30), f"{len(counts)} of {total}"
            await asyncio.sleep(0.5)
            collector.cancel()
            assert counts == list(range(1, total + 1))
            assert len(starts) == 2  # the second drop made a new session
            assert check.errors == []
        finally:
            await sub.stop()
            await client.stop()
            await server.stop()
            await client_relay.stop()
            await ied_relay.stop()

    run(body(), timeout=120)


def test_a_brcb_buffer_survives_a_server_restart(xmpp_env: Env, tmp_path: Path) -> None:
    """BRCB buffer and state in SQLite: a restarted server sends the entries after the
    EntryID the client last saw, those made before the restart and after it, once."""
    journal = tmp_path / "reports.sqlite"

    def server() -> AcsiServer:
        return AcsiServer(
            xmpp_env.settings("xied"),
            served_model(REPORT_SCL),
            reports=ReportSettings(journal=journal),
        )

    async def body() -> None:
        first = server()
        await first.start()
        client = AcsiClient(xmpp_env.settings("client1"))
        await client.start()
        sub = ReportSubscription(client, xmpp_env.jid("xied"), f"{LD}/LLN0.brcbEv")
        await sub.start()
        for n in range(1, 4):
            first.model.set_status(f"{LD}/GGIO1.Cnt.stVal[ST]", n)
        got = [await asyncio.wait_for(sub.reports.get(), 10) for _ in range(3)]
        last = got[-1].entry_id
        await client.stop()  # the client goes; the BRCB buffers
        assert await until(lambda: not first.associations, 15)
        for n in range(4, 7):
            first.model.set_status(f"{LD}/GGIO1.Cnt.stVal[ST]", n)
        await first.stop()  # the server goes
        second = server()  # and comes back from its journal
        await second.start()
        try:
            for n in range(7, 9):
                second.model.set_status(f"{LD}/GGIO1.Cnt.stVal[ST]", n)
            client = AcsiClient(xmpp_env.settings("client1"))
            await client.start()
            try:
                back = await client.associate(xmpp_env.jid("xied"))
                heard: list[Report] = []
                back.report_listeners.append(lambda _s, pdu: heard.append(parse_report(pdu)))
                values = await get_rcb_values(back, BRCB)
                assert values["EntryID"] == last and values["ResvTms"] == 60
                assert values["Owner"] == str(client.boundjid).encode()  # kept its reservation
                await set_rcb_values(back, BRCB, {"EntryID": last, "RptEna": True})
                assert await until(lambda: len(heard) >= 5, 10)
                await asyncio.sleep(0.2)
                counts = [values_of(r)[f"{LD}/GGIO1$ST$Cnt$stVal"] for r in heard]
                assert counts == [Data(integer=n) for n in range(4, 9)]
                ids = [int.from_bytes(r.entry_id or b"", "big") for r in heard]
                assert ids == sorted(set(ids)) and ids[0] == int.from_bytes(last or b"", "big") + 1
            finally:
                await client.stop()
        finally:
            await second.stop()

    run(body(), timeout=90)
