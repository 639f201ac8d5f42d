"""The client side of logs: QueryLogByTime, QueryLogAfter (paged), GetLogStatusValues."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gen61850.generated.scsm_8_2.bindings import (
    Data,
    DomainSpecificName,
    EntryToStartAfter,
    ObjectName,
    RangeStartSpecification,
    RangeStopSpecification,
    ReadJournalRequest,
)
from gen61850.runtime.xmpp.client import ClientAssociation
from gen61850.runtime.xmpp.errors import PayloadError
from gen61850.runtime.xmpp.logs.engine import LCB_ATTRIBUTES, REASON_TAG, seconds_of, time_of_day
from gen61850.runtime.xmpp.values import ValueMismatch, data_to_scalar, is_true


@dataclass
class LogEntry:
    """One log entry: EntryID, time, and (reference, value, reason code bits) per member."""

    entry_id: bytes
    time: float
    values: list[tuple[str, Data, int]] = field(default_factory=list)


def _entries(response: Any) -> list[LogEntry]:
    out: list[LogEntry] = []
    for item in response.list_of_journal_entry.journal_entry:
        try:
            when = seconds_of(item.entry_content.occurrence_time)
        except ValueMismatch as error:
            raise PayloadError("JournalEntry/occurrenceTime", str(error)) from None
        entry = LogEntry(item.entry_identifier, when)
        data = item.entry_content.entry_form.data
        variables = data.list_of_variables.sequence if data and data.list_of_variables else []
        for variable in variables:
            if variable.variable_tag == REASON_TAG and entry.values:
                reference, value, _ = entry.values[-1]
                bits = variable.value_specification.bit_string or "0"
                entry.values[-1] = (reference, value, int(bits, 2))
            else:
                entry.values.append((variable.variable_tag, variable.value_specification, 0))
        out.append(entry)
    return out


async def query_log(
    association: ClientAssociation,
    domain: str,
    log: str,
    *,
    start: float | None = None,
    stop: float | None = None,
    after: tuple[float, bytes] | None = None,
) -> list[LogEntry]:
    """QueryLogByTime (``start``/``stop``, POSIX seconds, either may be None) or QueryLogAfter
    (``after``: time and EntryID of an entry) on log ``LN$LogName`` of ``domain``; every
    page, following moreFollows."""
    entries: list[LogEntry] = []
    name = ObjectName(domain_specific=DomainSpecificName(domain_id=domain, item_id=log))
    seen: set[bytes] = set()
    while True:
        request = ReadJournalRequest(
            journal_name=name,
            range_start_specification=(
                RangeStartSpecification(starting_time=time_of_day(start))
                if start is not None
                else None
            ),
            range_stop_specification=(
                RangeStopSpecification(ending_time=time_of_day(stop)) if stop is not None else None
            ),
            entry_to_start_after=(
                EntryToStartAfter(
                    time_specification=time_of_day(after[0]), entry_specification=after[1]
                )
                if after is not None
                else None
            ),
        )
        response = await association.read_journal(request)
        page = _entries(response)
        for entry in page:
            if entry.entry_id in seen:
                raise PayloadError(
                    "listOfJournalEntry", "an entry again: the server does not page on"
                )
            seen.add(entry.entry_id)
        entries.extend(page)
        if not page or not is_true(response.more_follows):
            return entries
        after = (page[-1].time, page[-1].entry_id)


async def get_log_status_values(
    association: ClientAssociation, domain: str, lcb: str
) -> dict[str, Any]:
    """GetLogStatusValues (and the rest of GetLCBValues): the LCB ``LN$LG$name``'s
    attributes by name (OldEntrTm, NewEntrTm, OldEnt, NewEnt are the log's status)."""
    data = await association.get_data_values(domain, lcb)
    items = data.structure.data if data.structure is not None else []
    if len(items) != len(LCB_ATTRIBUTES):
        raise PayloadError(lcb, f"{len(items)} attributes, an LCB has {len(LCB_ATTRIBUTES)}")
    values: dict[str, Any] = {}
    for (attribute, btype), item in zip(LCB_ATTRIBUTES, items, strict=True):
        try:
            values[attribute] = data_to_scalar(btype, item)
        except ValueMismatch as error:
            raise PayloadError(f"{lcb}${attribute}", str(error)) from None
    return values


__all__ = ["LogEntry", "get_log_status_values", "query_log"]
