"""Logs of an 8-2 server (sans-I/O): LCBs, the logs they feed, QueryLogByTime/After.

Each LogControl of the SCL is served as an LCB (FC ``LG``) with the attributes of IEC
61850-8-1 Ed. 2, in order: LogEna, LogRef, DatSet, OldEntrTm, NewEntrTm, OldEnt, NewEnt,
TrgOps, IntgPd. GetLogStatusValues reads OldEntrTm, NewEntrTm, OldEnt and NewEnt (the state
of the log LogRef names). A client may write LogEna, and while it is FALSE DatSet, TrgOps and
IntgPd (temporarily-unavailable while logging; LogRef and the status are read-only).

While LogEna is TRUE, every change of a member of the LCB's data set that its TrgOps allow
(dchg, qchg, dupd; stVal, q and t of one transaction are one entry) and, every IntgPd ms
with TrgOps integrity, all members, become one log entry: an EntryID (8 octets, counting
up per log), the time, and per included member its reference and value (and the
``ReasonCode`` variable after it when the LogControl keeps reason codes). A log keeps at
most ``LogSettings.entries`` entries, the oldest going first; with a journal (SQLite, the
file that keeps BRCB buffers) the entries survive a restart and queries read them in the
server's worker thread (a deferred answer), never in the event loop.

QueryLogByTime and QueryLogAfter are readJournal on ``LN$LogName`` of the LD: by time
(rangeStartSpecification startingTime, rangeStopSpecification endingTime, either may be
left out; a start after the stop is refused with service object-constraint-conflict), or
after an entry (entryToStartAfter: its time and EntryID; an EntryID the log no longer holds
starts from the first entry at or after that time). Answers fit the negotiated PDU size;
``moreFollows`` says to ask again after the last entry given.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from gen61850.generated.scsm_8_2.bindings import (
    AccessResult,
    Data,
    EntryContent,
    EntryData,
    EntryForm,
    JournalEntry,
    JournalVariable,
    ListOfJournalEntry,
    ListOfJournalVariable,
    Null,
    ReadJournalRequest,
    ReadJournalResponse,
    TypeDescription,
)
from gen61850.runtime.device import FC, BasicType, DataAttribute, LogControl
from gen61850.runtime.device.store import Change, DataSetRef, Trigger
from gen61850.runtime.xmpp import mapping
from gen61850.runtime.xmpp.core import Deferred, ServerCore
from gen61850.runtime.xmpp.handlers import ServiceFailure
from gen61850.runtime.xmpp.mapping import DataAccessError
from gen61850.runtime.xmpp.model import AccessFailure
from gen61850.runtime.xmpp.outputs import Job
from gen61850.runtime.xmpp.reports.buffer import Entry, entry_octets
from gen61850.runtime.xmpp.reports.codes import REASONS, TRIGGERS, bit, has, mask
from gen61850.runtime.xmpp.reports.journal import ReportJournal
from gen61850.runtime.xmpp.reports.pdu import Included
from gen61850.runtime.xmpp.scope import CallContext
from gen61850.runtime.xmpp.timers import Timer
from gen61850.runtime.xmpp.values import (
    ValueMismatch,
    binary_time,
    boolean,
    data_to_scalar,
    leaf_type_description,
    scalar_to_data,
    structure,
    structure_description,
)

log = logging.getLogger(__name__)
READ_JOURNAL_BIT = 65  # ServiceSupportOptions readJournal (ISO 9506-2)
REASON_TAG = "ReasonCode"
LCB_ATTRIBUTES: tuple[tuple[str, BasicType], ...] = (
    ("LogEna", BasicType.BOOLEAN),
    ("LogRef", BasicType.VISSTRING129),
    ("DatSet", BasicType.VISSTRING129),
    ("OldEntrTm", BasicType.ENTRYTIME),
    ("NewEntrTm", BasicType.ENTRYTIME),
    ("OldEnt", BasicType.ENTRYID),
    ("NewEnt", BasicType.ENTRYID),
    ("TrgOps", BasicType.TRGOPS),
    ("IntgPd", BasicType.INT32U),
)
_WRITABLE = ("LogEna", "DatSet", "TrgOps", "IntgPd")
_JOURNAL_ENTRY_OVERHEAD = 400  # the elements of one JournalEntry around its variables
_PAGE = 256  # entries looked at per answer (then cut to the PDU size)
_TRIGGER_BITS = tuple(
    (int(trigger), bit(TRIGGERS, name), bit(REASONS, name))
    for trigger, name in ((Trigger.DCHG, "dchg"), (Trigger.QCHG, "qchg"), (Trigger.DUPD, "dupd"))
)


@dataclass(frozen=True)
class LogSettings:
    """Entries a log keeps at most (the oldest go first)."""

    entries: int = 10_000


@dataclass
class Log:
    """One log (journal): its reference, the (id, time) of its entries, their bodies when
    no SQLite journal holds them."""

    reference: str  # LD/LN$LogName
    index: deque[tuple[int, float]] = field(default_factory=deque)
    bodies: dict[int, Entry] = field(default_factory=dict)
    next_id: int = 1


@dataclass
class LogControlBlock:
    domain: str
    ln: str
    name: str
    log: Log
    reason_code: bool
    log_ena: bool
    data_set: DataSetRef | None
    trg_ops: int
    intg_pd: int
    timer: Timer | None = None

    @property
    def item(self) -> str:
        return f"{self.ln}$LG${self.name}"


def time_of_day(seconds: float) -> str:
    """TimeOfDay (6 octets) of a POSIX time, as the schema's hex text."""
    return binary_time(seconds).hex().upper()


def seconds_of(text: str) -> float:
    """The POSIX time of a TimeOfDay (6 octets; 4 octets: today, UTC)."""
    raw = bytes.fromhex(text)
    if len(raw) == 4:
        raise ValueMismatch("a TimeOfDay of 4 octets has no date")
    value = data_to_scalar(BasicType.ENTRYTIME, Data(binary_time=raw))
    assert isinstance(value, float)
    return value


class LogEngine:
    """Every LCB and log of one server; the readJournal service over them."""

    def __init__(
        self,
        core: ServerCore,
        journal: ReportJournal | None = None,
        settings: LogSettings | None = None,
    ) -> None:
        self.core = core
        self.model = core.model
        self.store = core.model.store
        self.journal = journal
        self.settings = settings or LogSettings()
        self.logs: dict[str, Log] = {}
        self.lcbs: dict[str, LogControlBlock] = {}
        for ld in self.model.ied.logical_devices:
            for ln in ld.logical_nodes:
                for control in ln.log_controls:
                    self._add(ld.name, ln.name, control)
        if journal is not None:
            for reference, index in journal.log_index().items():
                found = self.logs.get(reference)
                if found is not None:
                    found.index.extend(index[-self.settings.entries :])
                    found.next_id = index[-1][0] + 1 if index else 1
        if self.lcbs:
            core.advertise((READ_JOURNAL_BIT,))
            self.store.subscribe(self._on_changes)
            self.store.guard_deletion(self._data_set_in_use)
            for lcb in self.lcbs.values():
                self._arm(lcb, self.store.clock())
        core.handlers.journals = self

    # ------------------------------------------------------------ set-up

    def _add(self, domain: str, ln: str, control: LogControl) -> None:
        log_domain = domain
        if control.ld_inst:
            found = self.model.ied.logical_device(control.ld_inst)
            log_domain = found.name if found is not None else domain
        log_ln = f"{control.prefix}{control.ln_class}{control.ln_inst}" or "LLN0"
        reference = f"{log_domain}/{log_ln}${control.log_name}"
        the_log = self.logs.setdefault(reference, Log(reference))
        data_set = DataSetRef(domain, f"{ln}${control.dat_set}") if control.dat_set else None
        if data_set is not None and self.store.data_set(data_set) is None:
            data_set = None
        trg = control.trg_ops
        lcb = LogControlBlock(
            domain=domain,
            ln=ln,
            name=control.name,
            log=the_log,
            reason_code=control.reason_code,
            log_ena=control.log_ena,
            data_set=data_set,
            trg_ops=mask(
                TRIGGERS,
                [
                    n
                    for n, on in (
                        ("dchg", trg.dchg),
                        ("qchg", trg.qchg),
                        ("dupd", trg.dupd),
                        ("integrity", trg.period),
                        ("gi", trg.gi),
                    )
                    if on
                ],
            ),
            intg_pd=control.intg_pd,
        )
        self.lcbs[f"{domain}/{lcb.item}"] = lcb
        names = [lcb.item, *(f"{lcb.item}${n}" for n, _ in LCB_ATTRIBUTES)]
        self.model.provide(domain, lcb.item, LcbProvider(self, lcb), names)

    def _data_set_in_use(self, ref: DataSetRef) -> str | None:
        user = next((lcb for lcb in self.lcbs.values() if lcb.data_set == ref), None)
        return f"used by {user.domain}/{user.item}" if user is not None else None

    # ------------------------------------------------------------ attributes

    def value(self, lcb: LogControlBlock, name: str) -> Any:
        index = lcb.log.index
        oldest, newest = (index[0], index[-1]) if index else ((0, 0.0), (0, 0.0))
        values: dict[str, Any] = {
            "LogEna": lcb.log_ena,
            "LogRef": lcb.log.reference,
            "DatSet": lcb.data_set.reference if lcb.data_set else "",
            "OldEntrTm": oldest[1],
            "NewEntrTm": newest[1],
            "OldEnt": entry_octets(oldest[0]),
            "NewEnt": entry_octets(newest[0]),
            "TrgOps": lcb.trg_ops,
            "IntgPd": lcb.intg_pd,
        }
        return values[name]

    def write(self, lcb: LogControlBlock, name: str, value: Any, call: CallContext) -> None:
        """SetLCBValues of one attribute (AccessFailure when refused)."""
        if name not in _WRITABLE:
            raise AccessFailure(DataAccessError.OBJECT_ACCESS_DENIED)
        if lcb.log_ena and name != "LogEna":
            raise AccessFailure(DataAccessError.TEMPORARILY_UNAVAILABLE)
        if name == "LogEna":
            if value and lcb.data_set is None:
                raise AccessFailure(DataAccessError.OBJECT_VALUE_INVALID)
            lcb.log_ena = bool(value)
        elif name == "DatSet":
            domain, slash, rest = str(value).partition("/")
            ref = DataSetRef(domain, rest) if slash else None
            if value and (ref is None or self.store.data_set(ref) is None):
                raise AccessFailure(DataAccessError.OBJECT_VALUE_INVALID)
            lcb.data_set = ref
        elif name == "TrgOps":
            lcb.trg_ops = int(value) & ~bit(TRIGGERS, "reserved")
        else:
            lcb.intg_pd = int(value)
        self._arm(lcb, call.now)

    def _arm(self, lcb: LogControlBlock, now: float) -> None:
        if lcb.timer is not None:
            lcb.timer.cancel()
            lcb.timer = None
        if not (lcb.log_ena and lcb.intg_pd > 0 and has(TRIGGERS, lcb.trg_ops, "integrity")):
            return

        def tick(at: float) -> None:
            lcb.timer = None
            if lcb.log_ena:
                self._log_all(lcb, at)
                lcb.timer = self.core.timers.call_at(at + lcb.intg_pd / 1000, tick)

        lcb.timer = self.core.timers.call_at(now + lcb.intg_pd / 1000, tick)

    # ------------------------------------------------------------ entries

    def _on_changes(self, changes: list[Change]) -> None:
        hits: dict[str, dict[int, int]] = {}
        users: dict[DataSetRef, list[str]] = {}
        for reference, lcb in self.lcbs.items():
            if lcb.log_ena and lcb.data_set is not None:
                users.setdefault(lcb.data_set, []).append(reference)
        if not users:
            return
        for change in changes:
            raised = int(change.trigger)
            if not raised:
                continue
            for ref, position in self.store.members_of(change.key):
                for reference in users.get(ref, ()):
                    lcb = self.lcbs[reference]
                    reasons = 0
                    for trigger, enabled_by, reason in _TRIGGER_BITS:
                        if raised & trigger and lcb.trg_ops & enabled_by:
                            reasons |= reason
                    if reasons:
                        mine = hits.setdefault(reference, {})
                        mine[position] = mine.get(position, 0) | reasons
        for reference, members in hits.items():
            lcb = self.lcbs[reference]
            included = [self._member(lcb, p, r) for p, r in sorted(members.items())]
            self._append(lcb, included, changes[0].time)

    def _log_all(self, lcb: LogControlBlock, now: float) -> None:
        named = self.store.data_set(lcb.data_set) if lcb.data_set else None
        if named is None:
            return
        reason = bit(REASONS, "integrity")
        self._append(lcb, [self._member(lcb, p, reason) for p in range(len(named.members))], now)

    def _member(self, lcb: LogControlBlock, position: int, reasons: int) -> Included:
        assert lcb.data_set is not None
        named = self.store.data_set(lcb.data_set)
        assert named is not None
        member = named.members[position]
        reference = f"{member.domain}/{member.item}"
        if member.index is not None:
            reference += f"({member.index})"
        try:
            value = AccessResult(success=self.model.read_member(member))
        except AccessFailure as failure:
            value = AccessResult(failure=int(failure.code))
        return Included(position, reference, value, reasons if lcb.reason_code else 0)

    def _append(self, lcb: LogControlBlock, members: list[Included], now: float) -> None:
        the_log = lcb.log
        entry = Entry(the_log.next_id, now, len(members), members)
        the_log.next_id += 1
        the_log.index.append((entry.entry_id, now))
        evicted: int | None = None
        while len(the_log.index) > self.settings.entries:
            evicted = the_log.index.popleft()[0]
            the_log.bodies.pop(evicted, None)
        journal, reference = self.journal, the_log.reference
        if journal is None:
            the_log.bodies[entry.entry_id] = entry
            return
        self.core.post(Job(0, lambda: journal.log_append(reference, entry)))
        if evicted is not None:
            last = evicted
            self.core.post(Job(0, lambda: journal.log_evict(reference, last)))

    # ------------------------------------------------------------ QueryLogByTime / After

    def read_journal(self, call: CallContext, request: ReadJournalRequest) -> ReadJournalResponse:
        name = request.journal_name.domain_specific
        the_log = self.logs.get(f"{name.domain_id}/{name.item_id}") if name is not None else None
        if the_log is None:
            raise ServiceFailure(mapping.ACCESS_OBJECT_NON_EXISTENT, "no such log")
        ids = self._select(the_log, request)
        more = len(ids) > _PAGE
        ids = ids[:_PAGE]
        if self.journal is None or not ids:
            entries = [the_log.bodies[i] for i in ids if i in the_log.bodies]
            return self._answer(call, entries, more)
        journal, reference = self.journal, the_log.reference
        raise Deferred(
            lambda: journal.log_entries(reference, ids),
            lambda entries: self._answer(call, entries, more),
        )

    def _select(self, the_log: Log, request: ReadJournalRequest) -> list[int]:
        """The ids the request asks for, oldest first."""
        try:
            start = stop = None
            if request.range_start_specification is not None:
                starting = request.range_start_specification
                if starting.starting_time is not None:
                    start = seconds_of(starting.starting_time)
                elif starting.starting_entry is not None:
                    first = int.from_bytes(starting.starting_entry, "big")
                    return [i for i, _ in the_log.index if i >= first]
            if request.range_stop_specification is not None:
                stopping = request.range_stop_specification
                if stopping.ending_time is not None:
                    stop = seconds_of(stopping.ending_time)
                elif stopping.number_of_entries is not None:
                    count = stopping.number_of_entries
                    if count < 0:
                        raise ValueMismatch("numberOfEntries below 0")
            after = request.entry_to_start_after
            if after is not None:
                after_time = seconds_of(after.time_specification)
                after_id = int.from_bytes(after.entry_specification, "big")
        except (ValueMismatch, ValueError) as error:
            raise ServiceFailure(mapping.SERVICE_OBJECT_CONSTRAINT_CONFLICT, str(error)) from None
        if start is not None and stop is not None and start > stop:
            raise ServiceFailure(
                mapping.SERVICE_OBJECT_CONSTRAINT_CONFLICT, "the start is after the stop"
            )
        chosen = [
            i
            for i, at in the_log.index
            if (start is None or at >= start) and (stop is None or at <= stop)
        ]
        if after is not None:
            if any(i == after_id for i, _ in the_log.index):
                chosen = [i for i in chosen if i > after_id]
            else:  # no longer held: from the first entry at or after its time
                times = dict(the_log.index)
                chosen = [i for i in chosen if times[i] >= after_time and i > after_id]
        limit = request.range_stop_specification
        if limit is not None and limit.number_of_entries is not None:
            chosen = chosen[: limit.number_of_entries]
        return chosen

    def _answer(self, call: CallContext, entries: list[Entry], more: bool) -> ReadJournalResponse:
        budget = max(call.max_pdu_size - 600, 300)
        out: list[JournalEntry] = []
        for entry in entries:
            journal_entry = _journal_entry(entry)
            cost = _size(journal_entry)
            if cost > budget and out:
                more = True
                break
            budget -= cost
            out.append(journal_entry)
        return ReadJournalResponse(
            list_of_journal_entry=ListOfJournalEntry(journal_entry=out),
            more_follows=boolean(more),
        )


def _journal_entry(entry: Entry) -> JournalEntry:
    variables: list[JournalVariable] = []
    for member in entry.members:
        data = member.value.success
        if data is None:
            continue  # a member that could not be read is not logged
        variables.append(JournalVariable(variable_tag=member.reference, value_specification=data))
        if member.reasons:
            variables.append(
                JournalVariable(
                    variable_tag=REASON_TAG,
                    value_specification=Data(bit_string=format(member.reasons, "07b")),
                )
            )
    return JournalEntry(
        entry_identifier=entry.entry_octets,
        originating_application=Null(),
        entry_content=EntryContent(
            occurrence_time=time_of_day(entry.time),
            entry_form=EntryForm(
                data=EntryData(list_of_variables=ListOfJournalVariable(sequence=variables))
            ),
        ),
    )


def _size(entry: JournalEntry) -> int:
    """About the octets a JournalEntry takes (its variables' text and elements)."""
    size = _JOURNAL_ENTRY_OVERHEAD
    content = entry.entry_content.entry_form.data
    if content is None or content.list_of_variables is None:
        return size
    for variable in content.list_of_variables.sequence:
        size += 120 + len(variable.variable_tag) + _data_size(variable.value_specification)
    return size


def _data_size(data: Data) -> int:
    inner = data.structure or data.array
    if inner is not None:
        return 40 + sum(_data_size(d) for d in inner.data)
    return 60


def attribute_node(name: str) -> DataAttribute:
    return DataAttribute(name, FC.LG, dict(LCB_ATTRIBUTES)[name])


class LcbProvider:
    """The named variables of one LCB."""

    def __init__(self, engine: LogEngine, lcb: LogControlBlock) -> None:
        self.engine = engine
        self.lcb = lcb

    def _attribute(self, item: str) -> str | None:
        if item == self.lcb.item:
            return None
        name = item.removeprefix(self.lcb.item + "$")
        if name not in dict(LCB_ATTRIBUTES):
            raise AccessFailure(DataAccessError.OBJECT_NON_EXISTENT)
        return name

    def read(self, domain: str, item: str, call: CallContext | None) -> Data:
        name = self._attribute(item)
        names = [name] if name is not None else [n for n, _ in LCB_ATTRIBUTES]
        values = [
            scalar_to_data(attribute_node(n).btype, self.engine.value(self.lcb, n)) for n in names
        ]
        return values[0] if name is not None else structure(values)

    def write(self, domain: str, item: str, data: Data, call: CallContext) -> None:
        name = self._attribute(item)
        if name is None:
            raise AccessFailure(DataAccessError.OBJECT_ACCESS_DENIED)
        try:
            value = data_to_scalar(attribute_node(name).btype, data)
        except ValueMismatch:
            raise AccessFailure(DataAccessError.TYPE_INCONSISTENT) from None
        self.engine.write(self.lcb, name, value, call)

    def type_description(self, domain: str, item: str) -> TypeDescription:
        name = self._attribute(item)
        if name is not None:
            return leaf_type_description(attribute_node(name))
        return structure_description(
            [(n, leaf_type_description(attribute_node(n))) for n, _ in LCB_ATTRIBUTES]
        )


__all__ = [
    "LCB_ATTRIBUTES",
    "READ_JOURNAL_BIT",
    "REASON_TAG",
    "LogEngine",
    "LogSettings",
    "seconds_of",
    "time_of_day",
]
