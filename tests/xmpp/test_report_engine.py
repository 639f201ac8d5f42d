"""The reporting engine without XMPP: the clock in, outputs out; the buffer, the report
layout and its segments, the SQLite journal, all as tables."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from gen61850.generated.scsm_8_2 import codec, services
from gen61850.generated.scsm_8_2.bindings import AccessResult, Data, DataList, WriteRequest
from gen61850.runtime.device import BasicType
from gen61850.runtime.xmpp import pdus
from gen61850.runtime.xmpp.client import variables
from gen61850.runtime.xmpp.core import ServerCore
from gen61850.runtime.xmpp.outputs import IqResult, Job, Message, Output
from gen61850.runtime.xmpp.reports.buffer import Entry, EntryBuffer
from gen61850.runtime.xmpp.reports.codes import OPT_FIELDS, REASONS, TRIGGERS, mask, names_of
from gen61850.runtime.xmpp.reports.engine import ReportEngine, ReportSettings
from gen61850.runtime.xmpp.reports.journal import ReportJournal, data_json, json_data
from gen61850.runtime.xmpp.reports.pdu import (
    Included,
    Report,
    ReportHeader,
    parse_report,
    report_pdu,
    segments,
)
from gen61850.runtime.xmpp.values import boolean, scalar_to_data
from tests.xmpp.conftest import SchemaCheck, served_model

HERE = Path(__file__).parent
LD = "RIEDLD0"
PEER = "client1@iec61850.test/IEC"
NS = "{" + codec.NAMESPACE + "}"


# ---------------------------------------------------------------- the buffer


def _entry(entry_id: int) -> Entry:
    return Entry(entry_id, float(entry_id), 1, [])


@pytest.mark.parametrize(
    ("appended", "resync", "accepted", "unsent", "overflowed"),
    [
        (5, None, None, [1, 2, 3, 4, 5], False),
        (7, None, None, [3, 4, 5, 6, 7], True),  # capacity 5: 1 and 2 unsent and gone
        (5, 3, True, [4, 5], False),
        (5, 0, True, [1, 2, 3, 4, 5], False),  # zero: from the oldest buffered
        (8, 2, True, [4, 5, 6, 7, 8], True),  # issued, gone, and 3 after it gone too
        (8, 3, True, [4, 5, 6, 7, 8], False),  # issued, gone, nothing after it lost
        (5, 6, False, [1, 2, 3, 4, 5], False),  # never issued
    ],
)
def test_the_buffer_drops_its_oldest_and_resyncs(
    appended: int, resync: int | None, accepted: bool | None, unsent: list[int], overflowed: bool
) -> None:
    buffer = EntryBuffer(5)
    for n in range(1, appended + 1):
        buffer.append(_entry(n))
    if resync is not None:
        buffer.overflowed = False
        assert buffer.resync(resync) is accepted
    assert [e.entry_id for e in buffer.unsent()] == unsent
    assert buffer.overflowed is overflowed


# ---------------------------------------------------------------- the report on the wire


def _member(position: int, value: int = 1) -> Included:
    return Included(
        position, f"{LD}/GGIO1$ST$Ind{position}", AccessResult(success=Data(integer=value)), 32
    )


@pytest.mark.parametrize("flag", [n for n in OPT_FIELDS if n not in ("reserved", "segmentation")])
@pytest.mark.parametrize("buffered", [True, False])
def test_each_opt_fld_adds_its_field_and_the_report_reads_back(flag: str, buffered: bool) -> None:
    header = ReportHeader(
        rpt_id="R",
        opt_flds=mask(OPT_FIELDS, [flag]),
        seq_num=7,
        time_of_entry=1_700_000_000.25,
        dat_set=f"{LD}/LLN0$Events",
        conf_rev=3,
        buffered=buffered,
        buf_ovfl=True,
        entry_id=(9).to_bytes(8, "big"),
    )
    pdu = report_pdu(header, 4, [_member(1), _member(3, 5)])
    assert pdu.unconfirmed_pdu is not None
    report = pdu.unconfirmed_pdu.unconfirmed_service.information_report
    assert report is not None
    read = parse_report(report)
    expected = {
        "seq-num": ("seq_num", 7),
        "report-time-stamp": ("time_of_entry", 1_700_000_000.25),
        "data-set-name": ("dat_set", f"{LD}/LLN0$Events"),
        "buffer-overflow": ("buf_ovfl", True),
        "entryID": ("entry_id", (9).to_bytes(8, "big")),
        "conf-revision": ("conf_rev", 3),
    }
    carried = flag not in ("buffer-overflow", "entryID") or buffered  # buffered only
    for name, (attribute, value) in expected.items():
        assert getattr(read, attribute) == (value if name == flag and carried else None)
    assert read.inclusion == "0101"
    assert [m.position for m in read.members] == [1, 3]
    assert [m.value.success for m in read.members] == [Data(integer=1), Data(integer=5)]
    references = [m.reference for m in read.members]
    reasons = [m.reasons for m in read.members]
    assert references == (
        [f"{LD}/GGIO1$ST$Ind1", f"{LD}/GGIO1$ST$Ind3"] if flag == "data-reference" else ["", ""]
    )
    assert reasons == ([32, 32] if flag == "reason-for-inclusion" else [0, 0])
    check = SchemaCheck()
    check("sent", codec.encode(pdus.context("a1", pdu)))
    check.assert_clean()


@pytest.mark.parametrize("limit", [1_024, 2_000, 4_000, 100_000])
def test_segments_fit_the_limit_and_cover_every_member_once(limit: int) -> None:
    """Every segment fits, or (1,024: the header alone is larger here) holds one member."""
    header = ReportHeader("R", ~0 & 0x3FF, 1, 0.0, "LD/LLN0$X", 1, True)
    members = [_member(i, i) for i in range(60)]
    parts = segments(header, 60, members, limit, "a1")
    read: list[Report] = []
    for payload in parts:
        size = pdus.payload_size(payload)
        pdu = codec.decode(payload).pdu
        assert pdu.unconfirmed_pdu is not None
        report = pdu.unconfirmed_pdu.unconfirmed_service.information_report
        assert report is not None
        read.append(parse_report(report))
        assert size <= limit or len(read[-1].members) == 1
    assert [m.position for r in read for m in r.members] == list(range(60))
    if len(parts) == 1:
        assert read[0].sub_seq_num is None
    else:
        assert [r.sub_seq_num for r in read] == list(range(len(parts)))
        assert [r.more_segments_follow for r in read][-1] is False


def test_the_journal_keeps_entries_and_state(tmp_path: Path) -> None:
    data = Data(
        structure=DataList(
            data=[
                Data(bit_string="10"),
                Data(floating_point=bytes.fromhex("0841200000")),
                Data(utc_time=bytes(8)),
                Data(boolean=boolean(True)),
                Data(visible_string="x"),
                Data(array=DataList(data=[Data(integer=-3), Data(unsigned=4)])),
            ]
        )
    )
    assert json_data(data_json(data)) == data
    journal = ReportJournal(tmp_path / "r.sqlite")
    entry = Entry(
        3,
        12.5,
        5,
        [
            Included(0, "LD/X", AccessResult(success=data), 32),
            Included(1, "", AccessResult(failure=9), 2),
        ],
    )
    journal.append("LD/LLN0$BR$b01", entry)
    journal.append("LD/LLN0$BR$b01", Entry(4, 13.0, 5, []))
    journal.save_state("LD/LLN0$BR$b01", {"next_id": 5})
    journal.evict("LD/LLN0$BR$b01", 3)
    journal.close()
    again = ReportJournal(tmp_path / "r.sqlite")
    ((state, entries),) = again.load().values()
    assert state == {"next_id": 5} and [e.entry_id for e in entries] == [4]
    again.append("LD/LLN0$BR$b01", entry)
    (_, entries) = again.load()["LD/LLN0$BR$b01"]
    assert entries[0] == entry
    again.close()


# ---------------------------------------------------------------- the engine on a clock


class Bench:
    """A core and its report engine on a clock the test moves; outputs collected."""

    def __init__(self, settings: ReportSettings | None = None) -> None:
        self.now = 1_000.0
        self.model = served_model(HERE / "report_ied.icd")
        self.model.store.clock = lambda: self.now
        self.core = ServerCore(self.model, local_jid="ied@x/IEC")
        self.check = SchemaCheck()
        self.core.inspect = lambda d, e: self.check(d, e) if d == "sent" else None
        self.engine = ReportEngine(self.core, settings)
        self.jobs: list[Job] = []
        self.reports: list[Report] = []
        self.count = 0
        answer = self.core.receive(
            PEER,
            "set",
            "i",
            codec.encode(pdus.context("a1", pdus.initiate_request(65_000, 5))),
            self.now,
        )
        assert any(isinstance(o, IqResult) for o in answer)

    def take(self, outputs: list[Output]) -> list[Output]:
        for output in outputs:
            if isinstance(output, Message):
                pdu = codec.decode(output.payload).pdu
                if pdu.unconfirmed_pdu is not None:
                    report = pdu.unconfirmed_pdu.unconfirmed_service.information_report
                    assert report is not None
                    self.reports.append(parse_report(report))
            elif isinstance(output, Job):
                self.jobs.append(output)
                output.work()
        return outputs

    def write(self, item: str, btype: BasicType, value: Any) -> list[int | None]:
        self.count += 1
        request = services.write_request(
            self.count,
            WriteRequest(
                variable_access_specification=variables([(LD, item)]),
                list_of_data=DataList(data=[scalar_to_data(btype, value)]),
            ),
        )
        outputs = self.take(
            self.core.receive(
                PEER, "set", f"w{self.count}", codec.encode(pdus.context("a1", request)), self.now
            )
        )
        answer = next(o for o in outputs if isinstance(o, IqResult))
        # the answer comes before the reports a write made
        assert outputs.index(answer) == 0
        results = codec.decode(answer.payload).pdu.confirmed_response_pdu
        assert results is not None and results.service.write is not None
        return [r.failure for r in results.service.write.choice]

    def at(self, now: float) -> None:
        self.now = now
        self.take(self.core.handle_timer(now))

    def change(self, reference: str, value: Any) -> None:
        self.model.set_status(reference, value)
        self.take(self.core.handle_timer(self.now))


def test_buftm_and_integrity_on_the_clock() -> None:
    bench = Bench()
    rcb = "LLN0$RP$urcbMeas"
    assert bench.write(f"{rcb}$IntgPd", BasicType.INT32U, 1000) == [None]
    assert bench.write(f"{rcb}$RptEna", BasicType.BOOLEAN, True) == [None]
    bench.change(f"{LD}/MMXU1.TotW.mag.f[MX]", 1.0)
    bench.at(1000.1)
    bench.change(f"{LD}/MMXU1.Hz.mag.f[MX]", 50.0)
    assert bench.reports == []  # BufTm 200 ms from the first change
    bench.at(1000.2)
    assert [r.inclusion for r in bench.reports] == ["11"]
    assert bench.core.next_deadline() == 1001.0  # integrity
    bench.at(1001.0)
    bench.at(1002.0)
    assert [names_of(REASONS, r.members[0].reasons) for r in bench.reports[1:]] == [
        ["integrity"],
        ["integrity"],
    ]
    assert bench.write(f"{rcb}$RptEna", BasicType.BOOLEAN, False) == [None]
    assert bench.core.next_deadline() is None
    bench.check.assert_clean()


def test_a_brcb_reservation_outlives_its_association_by_resv_tms(tmp_path: Path) -> None:
    bench = Bench(ReportSettings(journal=tmp_path / "j.sqlite"))
    rcb = "LLN0$BR$brcbEv01"
    assert bench.write(f"{rcb}$ResvTms", BasicType.INT16, 30) == [None]
    assert bench.write(f"{rcb}$RptEna", BasicType.BOOLEAN, True) == [None]
    bench.change(f"{LD}/GGIO1.Cnt.stVal[ST]", 5)
    assert len(bench.reports) == 1 and bench.jobs  # sent, and journaled
    bench.take(bench.core.session_lost(bench.now))  # the association ends
    state = bench.engine.rcbs[f"{LD}/{rcb}"]
    assert not state.rpt_ena and state.owner == PEER
    bench.change(f"{LD}/GGIO1.Cnt.stVal[ST]", 6)  # buffered while disabled
    assert len(bench.reports) == 1
    bench.at(bench.now + 29)
    assert state.owner == PEER
    bench.at(bench.now + 2)
    assert state.owner is None
    # what the journal holds is what a restarted server starts from
    restarted = Bench(ReportSettings(journal=tmp_path / "j.sqlite"))
    again = restarted.engine.rcbs[f"{LD}/{rcb}"]
    assert again.buffering and again.resv_tms == 30
    buffer = restarted.engine.buffers[f"{LD}/{rcb}"]
    assert [e.entry_id for e in buffer.unsent()] == [2]
    assert restarted.write(f"{rcb}$RptEna", BasicType.BOOLEAN, True) == [None]
    assert [r.entry_id for r in restarted.reports] == [(2).to_bytes(8, "big")]


@pytest.mark.parametrize(
    ("trg_ops", "value", "reasons"),
    [
        (["dchg", "dupd"], 5, [["dchg", "dupd"]]),
        (["dchg"], 5, [["dchg"]]),
        (["dupd"], 0, [["dupd"]]),  # the same value: dupd only
        (["dchg"], 0, []),
        (["qchg"], 5, []),
    ],
)
def test_trgops_decide_what_a_change_reports(
    trg_ops: list[str], value: int, reasons: list[list[str]]
) -> None:
    bench = Bench()
    rcb = "LLN0$RP$urcbEv01"
    assert bench.write(f"{rcb}$TrgOps", BasicType.TRGOPS, mask(TRIGGERS, trg_ops)) == [None]
    assert bench.write(f"{rcb}$RptEna", BasicType.BOOLEAN, True) == [None]
    bench.change(f"{LD}/GGIO1.Cnt.stVal[ST]", value)
    assert [names_of(REASONS, m.reasons) for r in bench.reports for m in r.members] == reasons


def test_the_answer_to_a_gi_write_comes_before_the_gi_report() -> None:
    bench = Bench()
    rcb = "LLN0$RP$urcbEv01"
    assert bench.write(f"{rcb}$RptEna", BasicType.BOOLEAN, True) == [None]
    assert bench.write(f"{rcb}$GI", BasicType.BOOLEAN, True) == [None]  # asserts the order
    assert [r.inclusion for r in bench.reports] == ["11111"]
    element = ET.fromstring(ET.tostring(codec.encode(pdus.context("a1", pdus.conclude_request()))))
    assert element.tag == f"{NS}AssociationContext"
