"""The reporting engine of an 8-2 server (sans-I/O): control-block rules, triggers, buffers.

It lives beside the server core (``ServerCore``) and uses nothing but it and the served
model: it hears every value change from the store's feed, keeps the report control blocks
of the IEC 61850-7-2 model, and posts informationReports (``Message``) and journal work
(``Job``) to the core, which hands them to the adapter in order. Time comes from outside:
the change's time, the request's, the timer's.

Theory of operation.
- Triggers: a change of a leaf raises dchg, qchg or dupd (the store says which); each data
  set member containing the leaf, of each control block whose DatSet is that data set and
  whose TrgOps hold that trigger, is included with that reason. stVal, q and t set in one
  transaction are one inclusion with every reason. A member of an array element (FCDA
  ``ix``) is included only when its element changed.
- BufTm: inclusions gather for BufTm ms from the first; the same member included again
  before then sends what was gathered at once and starts anew (7-2). BufTm 0: one report
  per transaction. A member's value is taken when it is included.
- Integrity (TrgOps integrity, IntgPd > 0, while enabled): every member, every IntgPd ms.
  GI (written TRUE while enabled, TrgOps gi): every member, once; GI reads FALSE again at
  once. Both send what was gathered first.
- URCB: reports go to the association that enabled it, only while enabled; while the XMPP
  link is down (awaiting resumption) up to ``urcb_held`` reports wait, older ones are lost.
- BRCB: from its first enabling on, every report becomes a buffer entry (at most
  ``buffer_entries``; the oldest goes first, BufOvfl tells the client when an unsent one
  went), enabled or not; while enabled, with the link up, the entries not yet sent go out
  in order. EntryID (written while disabled) says where sending continues. The buffer and
  the state are journaled (SQLite) when a journal is given.
- Reservation: the first client to write an RCB reserves it (URCB: for its association, or
  Resv; BRCB: for its JID, ResvTms seconds beyond its association, 0: until it ends);
  others then get temporarily-unavailable. Owner is the reserving JID (its first 64 octets).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gen61850.generated.scsm_8_2.bindings import AccessResult
from gen61850.runtime.device import ReportControl
from gen61850.runtime.device.store import Change, DataSetRef, Trigger
from gen61850.runtime.xmpp.core import ServerCore
from gen61850.runtime.xmpp.mapping import DataAccessError
from gen61850.runtime.xmpp.model import AccessFailure
from gen61850.runtime.xmpp.outputs import Job, Message
from gen61850.runtime.xmpp.reports.buffer import Entry, EntryBuffer
from gen61850.runtime.xmpp.reports.codes import OPT_FIELDS, REASONS, TRIGGERS, bit, has
from gen61850.runtime.xmpp.reports.control import (
    READ_ONLY,
    RcbProvider,
    ReportControlBlock,
    scl_opt_flds,
    scl_trg_ops,
)
from gen61850.runtime.xmpp.reports.journal import ReportJournal
from gen61850.runtime.xmpp.reports.pdu import Included, ReportHeader, segments
from gen61850.runtime.xmpp.scope import AssociationScope, CallContext

log = logging.getLogger(__name__)
INFORMATION_REPORT_BIT = 79  # ServiceSupportOptions informationReport (ISO 9506-2)
_DENIED = DataAccessError.OBJECT_ACCESS_DENIED
_BUSY = DataAccessError.TEMPORARILY_UNAVAILABLE
_INVALID = DataAccessError.OBJECT_VALUE_INVALID
# store trigger (as an int) → (the TrgOps bit that lets it through, its ReasonCode bit)
_TRIGGER_BITS = tuple(
    (int(trigger), bit(TRIGGERS, name), bit(REASONS, name))
    for trigger, name in ((Trigger.DCHG, "dchg"), (Trigger.QCHG, "qchg"), (Trigger.DUPD, "dupd"))
)


@dataclass(frozen=True)
class ReportSettings:
    """Bounds of the engine: entries per BRCB buffer, URCB reports held while the link is
    down, and the SQLite file that keeps BRCB buffers across restarts (None: memory only)."""

    buffer_entries: int = 1000
    urcb_held: int = 256
    journal: Path | None = None


@dataclass
class _Pending:
    """A report being gathered (BufTm): reasons and values by member position."""

    started: float
    reasons: dict[int, int] = field(default_factory=dict)
    values: dict[int, Included] = field(default_factory=dict)
    timer: Any = None


class ReportEngine:
    """Every report control block of one server and the reports they make."""

    def __init__(self, core: ServerCore, settings: ReportSettings | None = None) -> None:
        self.core = core
        self.model = core.model
        self.store = core.model.store
        self.settings = settings or ReportSettings()
        self.rcbs: dict[str, ReportControlBlock] = {}
        self.buffers: dict[str, EntryBuffer] = {}
        self._pending: dict[str, _Pending] = {}
        self._held: dict[str, deque[tuple[ReportHeader, int, list[Included]]]] = {}
        self._by_data_set: dict[DataSetRef, list[ReportControlBlock]] = {}
        self._dirty: set[str] = set()  # BRCBs whose state is still to be journaled
        self.journal = ReportJournal(self.settings.journal) if self.settings.journal else None
        for ld in self.model.ied.logical_devices:
            for ln in ld.logical_nodes:
                for control in ln.report_controls:
                    for instance in control.instance_names():
                        self._add(ld.name, ln.name, instance, control)
        if self.rcbs:
            core.advertise((INFORMATION_REPORT_BIT,))
        if self.journal is not None:
            self._restore(self.journal.load())
        self.store.subscribe(self._on_changes)
        self.store.guard_deletion(self._data_set_in_use)
        core.on_link(self._on_link)

    # ------------------------------------------------------------ set-up

    def _add(self, domain: str, ln: str, name: str, control: ReportControl) -> None:
        data_set = DataSetRef(domain, f"{ln}${control.dat_set}") if control.dat_set else None
        if data_set is not None and self.store.data_set(data_set) is None:
            data_set = None
        rcb = ReportControlBlock(
            domain=domain,
            ln=ln,
            name=name,
            buffered=control.buffered,
            rpt_id=control.rpt_id,
            dat_set=_dat_set_text(data_set),
            data_set=data_set,
            conf_rev=control.conf_rev,
            opt_flds=scl_opt_flds(control),
            buf_tm=control.buf_time,
            trg_ops=scl_trg_ops(control),
            intg_pd=control.intg_pd,
        )
        self.rcbs[rcb.reference] = rcb
        if rcb.buffered:
            self.buffers[rcb.reference] = EntryBuffer(self.settings.buffer_entries)
        else:
            self._held[rcb.reference] = deque(maxlen=self.settings.urcb_held)
        self._index(rcb)
        provider = RcbProvider(self, rcb)
        self.model.provide(domain, rcb.item, provider, provider.names)

    def _index(self, rcb: ReportControlBlock) -> None:
        for users in self._by_data_set.values():
            if rcb in users:
                users.remove(rcb)
        if rcb.data_set is not None:
            self._by_data_set.setdefault(rcb.data_set, []).append(rcb)

    def _data_set_in_use(self, ref: DataSetRef) -> str | None:
        users = self._by_data_set.get(ref)
        return f"used by {users[0].reference}" if users else None

    # ------------------------------------------------------------ attributes

    def attribute_value(self, rcb: ReportControlBlock, name: str) -> Any:
        """The value of attribute ``name`` as its basic type carries it."""
        values: dict[str, Any] = {
            "RptID": rcb.rpt_id,
            "RptEna": rcb.rpt_ena,
            "Resv": rcb.resv,
            "DatSet": rcb.dat_set,
            "ConfRev": rcb.conf_rev,
            "OptFlds": rcb.opt_flds,
            "BufTm": rcb.buf_tm,
            "SqNum": rcb.sq_num,
            "TrgOps": rcb.trg_ops,
            "IntgPd": rcb.intg_pd,
            "GI": False,
            "PurgeBuf": False,
            "EntryID": rcb.entry_id,
            "TimeOfEntry": rcb.time_of_entry,
            "ResvTms": rcb.resv_tms,
            "Owner": (rcb.owner or "").encode()[:64],
        }
        return values[name]

    def write_attribute(
        self, rcb: ReportControlBlock, name: str, value: Any, call: CallContext
    ) -> None:
        """One attribute of SetBRCBValues/SetURCBValues under the 7-2 rules; AccessFailure
        with the DataAccessError when refused (nothing changed then)."""
        if name in READ_ONLY:
            raise AccessFailure(_DENIED)
        if not self._may_write(rcb, call):
            raise AccessFailure(_BUSY)  # instance-locked-by-other-client
        if rcb.rpt_ena and name not in ("RptEna", "GI"):
            raise AccessFailure(_BUSY)  # access-not-allowed-in-current-state
        getattr(self, f"_set_{name.lower()}")(rcb, value, call)
        if not (name == "Resv" and not value):
            self._reserve(rcb, call)
        self._save(rcb)

    def _may_write(self, rcb: ReportControlBlock, call: CallContext) -> bool:
        if rcb.owner is None:
            return True
        if rcb.buffered:
            return rcb.owner == call.peer
        return rcb.scope is None or rcb.scope is call.scope

    def _reserve(self, rcb: ReportControlBlock, call: CallContext) -> None:
        rcb.owner = call.peer
        if rcb.release_timer is not None:
            rcb.release_timer.cancel()
            rcb.release_timer = None
        if not rcb.buffered:
            rcb.resv = True
            rcb.scope = call.scope
        self._hook(rcb, call.scope)

    def _hook(self, rcb: ReportControlBlock, scope: AssociationScope | None) -> None:
        """Make the end of ``scope`` end what it holds of ``rcb`` (once per association)."""
        if scope is None or scope.owner in rcb.hooked:
            return
        rcb.hooked.add(scope.owner)
        scope.on_close(lambda _why: self._association_ended(rcb, scope))

    def _set_rptid(self, rcb: ReportControlBlock, value: str, call: CallContext) -> None:
        rcb.rpt_id = value

    def _set_datset(self, rcb: ReportControlBlock, value: str, call: CallContext) -> None:
        ref = self._data_set_ref(rcb, value, call)
        if ref == rcb.data_set:
            return
        rcb.data_set, rcb.dat_set = ref, _dat_set_text(ref)
        rcb.conf_rev += 1
        self._index(rcb)
        self._drop_pending(rcb)
        if rcb.buffered:
            self._purge(rcb)

    def _data_set_ref(
        self, rcb: ReportControlBlock, text: str, call: CallContext
    ) -> DataSetRef | None:
        if text == "":
            return None
        if text.startswith("@"):
            if rcb.buffered:  # its buffer outlives the association that owns the data set
                raise AccessFailure(_INVALID)
            ref = DataSetRef(None, text[1:], call.owner)
        else:
            domain, slash, name = text.partition("/")
            if not slash:
                raise AccessFailure(_INVALID)
            ref = DataSetRef(domain, name if "$" in name else name.replace(".", "$", 1))
        if self.store.data_set(ref) is None:
            raise AccessFailure(_INVALID)
        return ref

    def _set_optflds(self, rcb: ReportControlBlock, value: int, call: CallContext) -> None:
        rcb.opt_flds = value & ~bit(OPT_FIELDS, "reserved")

    def _set_buftm(self, rcb: ReportControlBlock, value: int, call: CallContext) -> None:
        rcb.buf_tm = value

    def _set_trgops(self, rcb: ReportControlBlock, value: int, call: CallContext) -> None:
        rcb.trg_ops = value & ~bit(TRIGGERS, "reserved")

    def _set_intgpd(self, rcb: ReportControlBlock, value: int, call: CallContext) -> None:
        rcb.intg_pd = value

    def _set_gi(self, rcb: ReportControlBlock, value: bool, call: CallContext) -> None:
        if value and rcb.rpt_ena and has(TRIGGERS, rcb.trg_ops, "gi"):
            self._whole(rcb, bit(REASONS, "gi"), call.now)

    def _set_purgebuf(self, rcb: ReportControlBlock, value: bool, call: CallContext) -> None:
        if value:
            self._purge(rcb)

    def _set_entryid(self, rcb: ReportControlBlock, value: bytes, call: CallContext) -> None:
        buffer = self.buffers[rcb.reference]
        if len(value) != 8 or not buffer.resync(int.from_bytes(value, "big")):
            raise AccessFailure(_INVALID)
        rcb.entry_id = value
        self._save_buffer(rcb)

    def _set_resvtms(self, rcb: ReportControlBlock, value: int, call: CallContext) -> None:
        if value < 0:  # -1: reserved by configuration, not by a client
            raise AccessFailure(_INVALID)
        rcb.resv_tms = value

    def _set_resv(self, rcb: ReportControlBlock, value: bool, call: CallContext) -> None:
        if not value:
            self._release(rcb)

    def _set_rptena(self, rcb: ReportControlBlock, value: bool, call: CallContext) -> None:
        if not value:
            if rcb.rpt_ena:
                self._disable(rcb, call.now)
            return
        if rcb.data_set is None or self.store.data_set(rcb.data_set) is None:
            raise AccessFailure(_INVALID)
        if rcb.rpt_ena and rcb.scope is call.scope:
            return
        rcb.rpt_ena = True
        rcb.scope = call.scope
        self._hook(rcb, call.scope)
        if rcb.buffered:
            rcb.buffering = True
        self._arm_integrity(rcb, call.now)
        if rcb.buffered:
            self._send_buffered(rcb)

    # ------------------------------------------------------------ life of an RCB

    def _disable(self, rcb: ReportControlBlock, now: float) -> None:
        if rcb.buffered:
            self._flush(rcb, now)  # an event gathered is an entry all the same
        else:
            self._drop_pending(rcb)
            self._held[rcb.reference].clear()
        rcb.rpt_ena = False
        if rcb.buffered:
            rcb.scope = None
        if rcb.integrity_timer is not None:
            rcb.integrity_timer.cancel()
            rcb.integrity_timer = None

    def _release(self, rcb: ReportControlBlock) -> None:
        rcb.owner = None
        rcb.resv = False
        rcb.scope = None

    def _association_ended(self, rcb: ReportControlBlock, scope: AssociationScope) -> None:
        rcb.hooked.discard(scope.owner)
        now = self.core.now
        holds = rcb.scope is scope
        if holds and rcb.rpt_ena:
            self._disable(rcb, now)
        if not rcb.buffered:
            if holds:
                self._release(rcb)
        elif rcb.owner == scope.peer and not any(
            s.peer == scope.peer for s in self.core.scopes.values()
        ):
            if rcb.resv_tms > 0:
                owner = rcb.owner

                def expire(_now: float) -> None:
                    if rcb.owner == owner and not rcb.rpt_ena:
                        self._release(rcb)
                        self._save(rcb)

                rcb.release_timer = self.core.timers.call_at(now + rcb.resv_tms, expire)
            elif rcb.resv_tms == 0:
                self._release(rcb)
        self._save(rcb)

    def _arm_integrity(self, rcb: ReportControlBlock, now: float) -> None:
        if rcb.integrity_timer is not None:
            rcb.integrity_timer.cancel()
            rcb.integrity_timer = None
        if not (rcb.rpt_ena and rcb.intg_pd > 0 and has(TRIGGERS, rcb.trg_ops, "integrity")):
            return

        def tick(at: float) -> None:
            rcb.integrity_timer = None
            if rcb.rpt_ena:
                self._whole(rcb, bit(REASONS, "integrity"), at)
                rcb.integrity_timer = self.core.timers.call_at(at + rcb.intg_pd / 1000, tick)

        rcb.integrity_timer = self.core.timers.call_at(now + rcb.intg_pd / 1000, tick)

    def _purge(self, rcb: ReportControlBlock) -> None:
        self.buffers[rcb.reference].purge()
        reference = rcb.reference
        self._job(lambda journal: journal.purge(reference))
        self._save_buffer(rcb)

    # ------------------------------------------------------------ triggers

    def _on_changes(self, changes: list[Change]) -> None:
        hits: dict[str, dict[int, int]] = {}
        for change in changes:
            raised = int(change.trigger)
            if not raised or not self._by_data_set:
                continue
            for ref, position in self.store.members_of(change.key):
                users = self._by_data_set.get(ref)
                if not users or not self._element_changed(ref, position, change):
                    continue
                for rcb in users:
                    if not (rcb.rpt_ena or rcb.buffering):
                        continue
                    reasons = 0
                    for trigger, enabled_by, reason in _TRIGGER_BITS:
                        if raised & trigger and rcb.trg_ops & enabled_by:
                            reasons |= reason
                    if reasons:
                        mine = hits.setdefault(rcb.reference, {})
                        mine[position] = mine.get(position, 0) | reasons
        for reference, members in hits.items():
            self._include(self.rcbs[reference], members, changes[0].time)

    def _element_changed(self, ref: DataSetRef, position: int, change: Change) -> bool:
        named = self.store.data_set(ref)
        member = named.members[position] if named else None
        if member is None or member.index is None or int(change.trigger) & int(Trigger.DUPD):
            return True
        old, new = change.old, change.new
        if isinstance(old, list) and isinstance(new, list) and member.index < len(new):
            return member.index >= len(old) or old[member.index] != new[member.index]
        return True

    def _include(self, rcb: ReportControlBlock, members: dict[int, int], now: float) -> None:
        pending = self._pending.get(rcb.reference)
        if pending is not None and any(p in pending.reasons for p in members):
            self._flush(rcb, now)  # the same member again: what was gathered goes now
            pending = None
        if pending is None:
            pending = self._pending[rcb.reference] = _Pending(now)
            if rcb.buf_tm > 0:
                pending.timer = self.core.timers.call_at(
                    now + rcb.buf_tm / 1000, lambda at: self._flush(rcb, at)
                )
        for position, reasons in members.items():
            pending.reasons[position] = pending.reasons.get(position, 0) | reasons
            pending.values[position] = self._member(rcb, position, pending.reasons[position])
        if rcb.buf_tm == 0:
            self._flush(rcb, now)

    def _drop_pending(self, rcb: ReportControlBlock) -> None:
        pending = self._pending.pop(rcb.reference, None)
        if pending is not None and pending.timer is not None:
            pending.timer.cancel()

    def _flush(self, rcb: ReportControlBlock, now: float) -> None:
        pending = self._pending.pop(rcb.reference, None)
        if pending is None:
            return
        if pending.timer is not None:
            pending.timer.cancel()
        members = [pending.values[p] for p in sorted(pending.values)]
        self._entry(rcb, members, now)

    def _whole(self, rcb: ReportControlBlock, reason: int, now: float) -> None:
        """A report of every member (GI, integrity), after what was gathered."""
        self._flush(rcb, now)
        named = self.store.data_set(rcb.data_set) if rcb.data_set else None
        if named is None:
            return
        members = [self._member(rcb, p, reason) for p in range(len(named.members))]
        self._entry(rcb, members, now)

    def _member(self, rcb: ReportControlBlock, position: int, reasons: int) -> Included:
        assert rcb.data_set is not None
        named = self.store.data_set(rcb.data_set)
        assert named is not None
        member = named.members[position]
        reference = f"{member.domain}/{member.item}"
        if member.index is not None:
            reference += f"({member.index})"
        try:
            value = AccessResult(success=self.model.read_member(member))
        except AccessFailure as failure:
            value = AccessResult(failure=int(failure.code))
        return Included(position, reference, value, reasons)

    def _member_count(self, rcb: ReportControlBlock) -> int:
        named = self.store.data_set(rcb.data_set) if rcb.data_set else None
        return len(named.members) if named else 0

    # ------------------------------------------------------------ entries and sending

    def _entry(self, rcb: ReportControlBlock, members: list[Included], now: float) -> None:
        if not members:
            return
        count = self._member_count(rcb)
        if not rcb.buffered:
            if rcb.rpt_ena and rcb.scope is not None:
                header = self._header(rcb, now)
                if self.core.link_up:
                    self._send(rcb, header, count, members)
                else:
                    self._held[rcb.reference].append((header, count, members))
            return
        buffer = self.buffers[rcb.reference]
        entry = Entry(buffer.next_id, now, count, members)
        evicted = buffer.append(entry)
        reference = rcb.reference
        self._job(lambda journal: journal.append(reference, entry))
        if evicted:
            last = evicted[-1].entry_id
            self._job(lambda journal: journal.evict(reference, last))
        self._send_buffered(rcb)
        self._save_buffer(rcb)

    def _header(self, rcb: ReportControlBlock, now: float) -> ReportHeader:
        header = ReportHeader(
            rpt_id=rcb.report_id,
            opt_flds=rcb.opt_flds,
            seq_num=rcb.sq_num,
            time_of_entry=now,
            dat_set=rcb.dat_set,
            conf_rev=rcb.conf_rev,
            buffered=rcb.buffered,
        )
        rcb.sq_num = (rcb.sq_num + 1) % (65536 if rcb.buffered else 256)
        return header

    def _send_buffered(self, rcb: ReportControlBlock) -> None:
        scope = rcb.scope
        if not (rcb.rpt_ena and scope is not None and self.core.link_up):
            return
        if self.core.scopes.get(scope.owner) is not scope:
            return
        buffer = self.buffers[rcb.reference]
        for entry in buffer.unsent():
            header = ReportHeader(
                rpt_id=rcb.report_id,
                opt_flds=rcb.opt_flds,
                seq_num=rcb.sq_num,
                time_of_entry=entry.time,
                dat_set=rcb.dat_set,
                conf_rev=rcb.conf_rev,
                buffered=True,
                buf_ovfl=buffer.overflowed,
                entry_id=entry.entry_octets,
            )
            rcb.sq_num = (rcb.sq_num + 1) % 65536
            buffer.overflowed = False
            self._send(rcb, header, entry.member_count, entry.members)
            buffer.sent(entry)
            rcb.entry_id, rcb.time_of_entry = entry.entry_octets, entry.time

    def _send(
        self, rcb: ReportControlBlock, header: ReportHeader, count: int, members: list[Included]
    ) -> None:
        scope = rcb.scope
        assert scope is not None
        limit = scope.max_pdu_size or self.core.max_pdu_size
        for payload in segments(header, count, members, limit, scope.association_id):
            self.core.post(Message(scope.peer, self.core.sent(payload)))

    def _on_link(self, up: bool, now: float) -> None:
        if not up:
            return
        for rcb in self.rcbs.values():
            if rcb.buffered:
                self._send_buffered(rcb)
            elif rcb.rpt_ena and rcb.scope is not None:
                held = self._held[rcb.reference]
                while held:
                    self._send(rcb, *held.popleft())

    # ------------------------------------------------------------ the journal

    def _job(self, work: Any) -> None:
        journal = self.journal
        if journal is not None:
            self.core.post(Job(0, lambda: work(journal)))

    def _state(self, rcb: ReportControlBlock) -> dict[str, Any]:
        buffer = self.buffers[rcb.reference]
        return {
            "rpt_id": rcb.rpt_id,
            "dat_set": rcb.dat_set,
            "conf_rev": rcb.conf_rev,
            "opt_flds": rcb.opt_flds,
            "buf_tm": rcb.buf_tm,
            "trg_ops": rcb.trg_ops,
            "intg_pd": rcb.intg_pd,
            "resv_tms": rcb.resv_tms,
            "owner": rcb.owner,
            "sq_num": rcb.sq_num,
            "entry_id": rcb.entry_id.hex(),
            "time_of_entry": rcb.time_of_entry,
            "buffering": rcb.buffering,
            "next_id": buffer.next_id,
            "next_to_send": buffer.next_to_send,
            "overflowed": buffer.overflowed,
        }

    def _save(self, rcb: ReportControlBlock) -> None:
        if rcb.buffered:
            self._save_buffer(rcb)

    def _save_buffer(self, rcb: ReportControlBlock) -> None:
        """Journal the BRCB's state once the changes being handled are through (one write
        for a burst of entries): a timer due now runs at the adapter's next call."""
        if self.journal is None or rcb.reference in self._dirty:
            return
        self._dirty.add(rcb.reference)
        if len(self._dirty) == 1:
            self.core.timers.call_at(self.core.now, lambda _now: self._save_dirty())

    def _save_dirty(self) -> None:
        dirty, self._dirty = self._dirty, set()
        for reference in sorted(dirty):
            state = self._state(self.rcbs[reference])
            self._job(lambda journal, r=reference, s=state: journal.save_state(r, s))

    def _restore(self, saved: dict[str, tuple[dict[str, Any], list[Entry]]]) -> None:
        """BRCBs as the journal left them; reservations end ResvTms after the restart."""
        for reference, (state, entries) in saved.items():
            rcb = self.rcbs.get(reference)
            if rcb is None or not rcb.buffered:
                log.warning("report store: %s is not a BRCB of this IED, ignored", reference)
                continue
            try:
                data_set = self._restored_data_set(state["dat_set"])
                rcb.rpt_id = state["rpt_id"]
                rcb.data_set, rcb.dat_set = data_set, _dat_set_text(data_set)
                rcb.conf_rev = int(state["conf_rev"])
                rcb.opt_flds, rcb.buf_tm = int(state["opt_flds"]), int(state["buf_tm"])
                rcb.trg_ops, rcb.intg_pd = int(state["trg_ops"]), int(state["intg_pd"])
                rcb.resv_tms, rcb.sq_num = int(state["resv_tms"]), int(state["sq_num"])
                rcb.entry_id = bytes.fromhex(state["entry_id"])
                rcb.time_of_entry = float(state["time_of_entry"])
                rcb.buffering = bool(state["buffering"])
                owner = state.get("owner")
                buffer = self.buffers[reference]
                buffer.entries.extend(entries[-buffer.capacity :])
                buffer.next_id = int(state["next_id"])
                buffer.next_to_send = int(state["next_to_send"])
                buffer.overflowed = bool(state["overflowed"]) or len(entries) > buffer.capacity
            except (KeyError, TypeError, ValueError) as error:
                log.warning("report store: %s not restored: %s", reference, error)
                continue
            self._index(rcb)
            if owner and rcb.resv_tms > 0:
                rcb.owner = owner

                def expire(_now: float, rcb: ReportControlBlock = rcb, owner: str = owner) -> None:
                    if rcb.owner == owner and not rcb.rpt_ena:
                        self._release(rcb)

                rcb.release_timer = self.core.timers.call_at(
                    self.model.store.clock() + rcb.resv_tms, expire
                )

    def _restored_data_set(self, text: str) -> DataSetRef | None:
        if not text or text.startswith("@"):
            return None
        domain, _, name = text.partition("/")
        ref = DataSetRef(domain, name)
        return ref if self.store.data_set(ref) is not None else None

    def close(self) -> None:
        """Write what is left to journal and close it (after the adapter ran the last jobs)."""
        if self.journal is not None:
            for reference in sorted(self._dirty):
                self.journal.save_state(reference, self._state(self.rcbs[reference]))
            self._dirty.clear()
            self.journal.close()


def _dat_set_text(ref: DataSetRef | None) -> str:
    if ref is None:
        return ""
    return ref.reference


__all__ = ["INFORMATION_REPORT_BIT", "ReportEngine", "ReportSettings"]
