"""Reports for people and programs: one line of text, or one JSON object, per report.

JSON (``gen61850 xmpp report --format jsonl``): ``rptID``, ``seqNum``, ``subSeqNum``,
``entryID`` (hex), ``timeOfEntry`` (ISO-8601), ``datSet``, ``confRev``, ``bufOvfl`` (null
when the report does not carry the field), and ``entries``: per included member ``ref``
(its reference as in the data set), ``value`` (a plain JSON value: structures as objects
by component name, arrays as lists, bit strings and Quality as 0/1 strings, times as
ISO-8601, octets as hex; what ``get`` prints, as JSON) and ``reason`` (reason names).
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from gen61850.generated.scsm_8_2.bindings import Data, TypeDescription
from gen61850.runtime.device import BitString, Timestamp
from gen61850.runtime.sv.quality import Quality
from gen61850.runtime.xmpp.errors import PayloadError
from gen61850.runtime.xmpp.mapping import data_access_error_name
from gen61850.runtime.xmpp.reports.codes import REASONS, names_of
from gen61850.runtime.xmpp.reports.pdu import Report
from gen61850.runtime.xmpp.tools import show
from gen61850.runtime.xmpp.typed import plain_value, quality_bits


def iso_time(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds")


def json_value(value: Any) -> Any:
    """A plain value (``typed.plain_value``) as JSON."""
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_value(v) for v in value]
    if isinstance(value, Quality):
        return quality_bits(value)
    if isinstance(value, BitString):
        return value.bits
    if isinstance(value, Timestamp):
        return value.datetime.isoformat(timespec="microseconds")
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, bytes):
        return value.hex()
    return value


def member_value(data: Data, description: TypeDescription | None, where: str) -> Any:
    """``data`` as JSON, guided by its type description when there is one."""
    if description is not None:
        try:
            return json_value(plain_value(description, data, where))
        except PayloadError:
            pass
    return show(data)


class ReportRenderer:
    """Renders reports with the data set's member references and type descriptions."""

    def __init__(
        self, references: list[str], descriptions: dict[int, TypeDescription] | None = None
    ) -> None:
        self.references = references
        self.descriptions = descriptions or {}

    def _reference(self, position: int, sent: str) -> str:
        if position < len(self.references):
            return self.references[position]
        return sent or f"#{position}"

    def entries(self, report: Report) -> list[dict[str, Any]]:
        out = []
        for member in report.members:
            reference = self._reference(member.position, member.reference)
            if member.value.success is not None:
                value = member_value(
                    member.value.success, self.descriptions.get(member.position), reference
                )
            else:
                code = member.value.failure if member.value.failure is not None else -1
                value = {"failure": code, "name": data_access_error_name(code)}
            out.append(
                {"ref": reference, "value": value, "reason": names_of(REASONS, member.reasons)}
            )
        return out

    def json(self, report: Report) -> str:
        return json.dumps(
            {
                "rptID": report.rpt_id,
                "seqNum": report.seq_num,
                "subSeqNum": report.sub_seq_num,
                "entryID": report.entry_id.hex() if report.entry_id is not None else None,
                "timeOfEntry": iso_time(report.time_of_entry),
                "datSet": report.dat_set,
                "confRev": report.conf_rev,
                "bufOvfl": report.buf_ovfl,
                "entries": self.entries(report),
            },
            ensure_ascii=False,
        )

    def text(self, report: Report) -> str:
        head = [report.rpt_id]
        if report.seq_num is not None:
            head.append(f"#{report.seq_num}")
            if report.sub_seq_num is not None:
                head[-1] += f".{report.sub_seq_num}"
        if report.entry_id is not None:
            head.append(f"entry {report.entry_id.hex()}")
        if report.time_of_entry is not None:
            head.append(str(iso_time(report.time_of_entry)))
        if report.buf_ovfl:
            head.append("(buffer overflowed)")
        parts = []
        for entry in self.entries(report):
            value = entry["value"]
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            reasons = f" ({', '.join(entry['reason'])})" if entry["reason"] else ""
            parts.append(f"{entry['ref']} = {shown}{reasons}")
        return " ".join(head) + ": " + "; ".join(parts)


__all__ = ["ReportRenderer", "iso_time", "json_value", "member_value"]
