"""The client side of reporting: RCB services and a subscription that survives lost links.

``get_rcb_values`` / ``set_rcb_values`` are GetBRCBValues/GetURCBValues and
SetBRCBValues/SetURCBValues (reads and writes of the RCB's attributes, 8-1 names).
``ReportSubscription`` reserves an RCB (an indexed instance picked when free), sets what
the caller asked (TrgOps, IntgPd, ...), enables it and hands over its reports in order.
When the association is aborted (the XMPP session ended, or the server went away) it
associates again and, for a BRCB, resynchronises: it writes the EntryID of the last report
it received, so the server sends what came after, each entry once (a report seen before,
by EntryID, is not handed over twice). ``stop`` disables the RCB and gives it up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from gen61850.generated.scsm_8_2.bindings import Data, InformationReport
from gen61850.runtime.device import FC, BasicType, DataAttribute
from gen61850.runtime.xmpp.client import AcsiClient, ClientAssociation, variables
from gen61850.runtime.xmpp.errors import (
    DataAccessFailure,
    LocalError,
    PayloadError,
    XmppError,
)
from gen61850.runtime.xmpp.mapping import DataAccessError
from gen61850.runtime.xmpp.reports.codes import OPT_FIELDS, bit
from gen61850.runtime.xmpp.reports.control import BRCB_ATTRIBUTES, URCB_ATTRIBUTES
from gen61850.runtime.xmpp.reports.pdu import Report, parse_report
from gen61850.runtime.xmpp.values import ValueMismatch, data_to_scalar, scalar_to_data

log = logging.getLogger(__name__)
_SEEN = 4096  # EntryIDs remembered to hand each buffered report over once


class RcbNotFound(LocalError):
    """No report control block of that name, or every instance is taken."""


@dataclass(frozen=True)
class RcbName:
    """An RCB instance: its LD (MMS domain), LN, FC (BR or RP) and instance name."""

    domain: str
    ln: str
    fc: str
    name: str

    @property
    def item(self) -> str:
        return f"{self.ln}${self.fc}${self.name}"

    @property
    def buffered(self) -> bool:
        return self.fc == "BR"

    @property
    def reference(self) -> str:
        return f"{self.domain}/{self.item}"

    def attributes(self) -> tuple[tuple[str, BasicType], ...]:
        return BRCB_ATTRIBUTES if self.buffered else URCB_ATTRIBUTES


def parse_rcb_reference(text: str) -> tuple[str, str, str | None, str]:
    """``LD/LN.RCB``, ``LD/LN$BR$RCB`` or ``LD/LN$RP$RCB`` → (LD, LN, FC or None, name)."""
    domain, slash, rest = text.partition("/")
    parts = re.split(r"[.$]", rest) if slash else []
    if len(parts) == 2 and all(parts):
        return domain, parts[0], None, parts[1]
    if len(parts) == 3 and parts[1] in ("BR", "RP") and parts[0] and parts[2]:
        return domain, parts[0], parts[1], parts[2]
    raise LocalError(f"{text!r}: expected LD/LN.RCBName (or LD/LN$BR$RCBName, LD/LN$RP$RCBName)")


async def get_rcb_values(association: ClientAssociation, rcb: RcbName) -> dict[str, Any]:
    """GetBRCBValues / GetURCBValues: every attribute by its 8-1 name."""
    data = await association.get_data_values(rcb.domain, rcb.item)
    items = data.structure.data if data.structure is not None else []
    attributes = rcb.attributes()
    if len(items) != len(attributes):
        raise PayloadError(rcb.item, f"{len(items)} attributes, an RCB has {len(attributes)}")
    values: dict[str, Any] = {}
    for (name, btype), item in zip(attributes, items, strict=True):
        try:
            values[name] = data_to_scalar(btype, item)
        except ValueMismatch as error:
            raise PayloadError(f"{rcb.item}${name}", str(error)) from None
    return values


async def set_rcb_values(
    association: ClientAssociation, rcb: RcbName, values: dict[str, Any]
) -> None:
    """SetBRCBValues / SetURCBValues: the attributes in the order given, in one write;
    DataAccessFailure names the first one refused (those before it were set)."""
    types = dict(rcb.attributes())
    references, data = [], []
    for name, value in values.items():
        if name not in types:
            raise LocalError(f"{rcb.reference}: no attribute {name!r}")
        node = DataAttribute(name, FC.BR, types[name])
        try:
            data.append(scalar_to_data(node.btype, value))
        except ValueMismatch as error:
            raise LocalError(f"{rcb.reference}${name}: {error}") from None
        references.append((rcb.domain, f"{rcb.item}${name}"))
    results = await association.write(references, data)
    for name, code in zip(values, results, strict=True):
        if code is not None:
            raise DataAccessFailure(f"{rcb.reference}${name}", code)


async def find_rcb(association: ClientAssociation, text: str) -> RcbName:
    """The RCB ``text`` names; for an indexed one (``brcbA`` → ``brcbA01``, ...) the first
    instance neither reserved nor enabled by anyone (RcbNotFound when all are taken)."""
    domain, ln, fc, name = parse_rcb_reference(text)
    names = await association.name_list(0, domain)
    found: list[RcbName] = []
    exact: list[RcbName] = []
    pattern = re.compile(re.escape(name) + r"[0-9]{2}")
    for item in names:
        parts = item.split("$")
        if len(parts) != 3 or parts[0] != ln or parts[1] not in ("BR", "RP"):
            continue
        if fc is not None and parts[1] != fc:
            continue
        if parts[2] == name:
            exact.append(RcbName(domain, ln, parts[1], parts[2]))
        elif pattern.fullmatch(parts[2]):
            found.append(RcbName(domain, ln, parts[1], parts[2]))
    if exact:
        return exact[0]
    for candidate in found:
        values = await get_rcb_values(association, candidate)
        if not values["RptEna"] and not values["Owner"] and not values.get("Resv", False):
            return candidate
    if found:
        raise RcbNotFound(f"{text}: every instance ({len(found)}) is reserved or enabled")
    raise RcbNotFound(f"{text}: no report control block of that name in {domain}/{ln}")


class ReportSubscription:
    """One RCB's reports, in order, across lost links (see the module docstring)."""

    def __init__(
        self,
        client: AcsiClient,
        server: str,
        rcb: str,
        *,
        settings: dict[str, Any] | None = None,
        gi: bool = False,
        resv_tms: int = 60,
        retry: float = 1.0,
    ) -> None:
        self.client = client
        self.server = server
        self.text = rcb
        self.settings = dict(settings or {})
        self.gi = gi
        self.resv_tms = resv_tms
        self.retry = retry
        self.rcb: RcbName | None = None
        self.association: ClientAssociation | None = None
        self.last_entry_id: bytes | None = None
        self.reports: asyncio.Queue[Report] = asyncio.Queue()
        self.problems: asyncio.Queue[Exception] = asyncio.Queue()
        self._seen: OrderedDict[tuple[bytes, int], None] = OrderedDict()
        self._stopping = False
        self._again: asyncio.Task[None] | None = None
        client.abort_listeners.append(self._aborted)

    async def start(self) -> RcbName:
        """Associate, pick and set up the RCB, enable it (and ask a GI when wanted)."""
        self.association = await self.client.associate(self.server)
        self.association.report_listeners.append(self._heard)
        self.rcb = await find_rcb(self.association, self.text)
        values = dict(self.settings)
        if self.rcb.buffered:
            if "OptFlds" not in values:  # resynchronising needs the EntryID in each report
                current = await get_rcb_values(self.association, self.rcb)
                values["OptFlds"] = current["OptFlds"] | bit(OPT_FIELDS, "entryID")
                self.settings["OptFlds"] = values["OptFlds"]
            values = {"ResvTms": self.resv_tms, **values}
        else:
            values = {"Resv": True, **values}
        # GI in the same write as RptEna: a change between two writes would be reported
        # before the general interrogation the caller asked to see first
        gi = {"GI": True} if self.gi else {}
        await set_rcb_values(self.association, self.rcb, {**values, "RptEna": True, **gi})
        return self.rcb

    async def _resume(self) -> None:
        """After an abort: associate again, resynchronise by EntryID, enable."""
        assert self.rcb is not None
        while not self._stopping:
            try:
                association = await self.client.associate(self.server)
                association.report_listeners.append(self._heard)
                self.association = association
                rcb = self.rcb
                values = await get_rcb_values(association, rcb)
                if values["RptEna"]:  # still enabled by our old association, unknown to us
                    await set_rcb_values(association, rcb, {"RptEna": False})
                if rcb.buffered and self.last_entry_id is not None:
                    try:
                        await set_rcb_values(association, rcb, {"EntryID": self.last_entry_id})
                    except DataAccessFailure as refused:
                        if refused.code != DataAccessError.OBJECT_VALUE_INVALID:
                            raise
                        log.warning("%s: EntryID unknown to the server, from its oldest", rcb)
                        self._seen.clear()
                settings = {"Resv": True} if not rcb.buffered else {}
                await set_rcb_values(association, rcb, {**settings, **self.settings})
                await set_rcb_values(association, rcb, {"RptEna": True})
                return
            except (XmppError, TimeoutError) as error:
                log.info("report subscription %s: not yet back: %s", self.text, error)
                await asyncio.sleep(self.retry)

    def _aborted(self, association: ClientAssociation, reason: str) -> None:
        if association is not self.association or self._stopping or self.rcb is None:
            return
        if self._again is None or self._again.done():
            self._again = asyncio.ensure_future(self._resume())

    def _heard(self, _sender: str, pdu: InformationReport) -> None:
        try:
            report = parse_report(pdu)
        except PayloadError as error:
            self.problems.put_nowait(error)
            return
        if report.entry_id is not None:
            key = (report.entry_id, report.sub_seq_num or 0)
            if key in self._seen:
                return
            self._seen[key] = None
            while len(self._seen) > _SEEN:
                self._seen.popitem(last=False)
            if not report.more_segments_follow:
                self.last_entry_id = report.entry_id
        self.reports.put_nowait(report)

    async def stop(self) -> None:
        """Disable the RCB and give up its reservation (best effort on a lost link)."""
        self._stopping = True
        if self._again is not None:
            self._again.cancel()
        with contextlib.suppress(ValueError):
            self.client.abort_listeners.remove(self._aborted)
        association, rcb = self.association, self.rcb
        if association is None or rcb is None or not association.is_open:
            return
        with contextlib.suppress(XmppError, TimeoutError):
            await set_rcb_values(association, rcb, {"RptEna": False})
            await set_rcb_values(
                association, rcb, {"ResvTms": 0} if rcb.buffered else {"Resv": False}
            )
        with contextlib.suppress(XmppError, TimeoutError):
            await association.release()


def data_of(report: Report, position: int) -> Data | None:
    """The value of member ``position`` in ``report`` (None when not included or failed)."""
    for member in report.members:
        if member.position == position:
            return member.value.success
    return None


__all__ = [
    "RcbName",
    "RcbNotFound",
    "ReportSubscription",
    "data_of",
    "find_rcb",
    "get_rcb_values",
    "parse_rcb_reference",
    "set_rcb_values",
    "variables",
]
