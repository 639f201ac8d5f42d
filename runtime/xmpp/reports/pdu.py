"""The informationReport of a report, built (and segmented) by the server, read by the client.

IEC 61850-8-1 (and 8-2, which carries it in a ``message`` normal): the vmd-specific list name
``RPT`` and access results in a fixed order, each present as the report's OptFlds say:
RptID, OptFlds, SeqNum, TimeOfEntry, DatSet, BufOvfl, EntryID, ConfRev, SubSeqNum,
MoreSegmentsFollow, the inclusion bit string (one bit per data set member), the data
references, the values, the reason codes (of the included members, in member order).

A report larger than the negotiated PDU size is split into segments with one SeqNum and
SubSeqNum 0, 1, ...; the OptFlds of a segmented report have bit ``segmentation`` set and
carry SubSeqNum and MoreSegmentsFollow, an unsegmented one has it clear and carries
neither. BufOvfl and EntryID belong to buffered reports only: an unbuffered report clears
those bits, so a reader needs nothing but the report itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from gen61850.generated.scsm_8_2 import codec
from gen61850.generated.scsm_8_2.bindings import (
    AccessResult,
    Data,
    InformationReport,
    ListOfAccessResult,
    Mmspdu,
    ObjectName,
    UnconfirmedPdu,
    UnconfirmedService,
    VariableAccessSpecification,
)
from gen61850.runtime.device import BasicType
from gen61850.runtime.xmpp import pdus
from gen61850.runtime.xmpp.errors import PayloadError
from gen61850.runtime.xmpp.reports.codes import OPT_FIELDS, REASONS, bit, has
from gen61850.runtime.xmpp.values import ValueMismatch, binary_time, boolean, data_to_scalar

REPORT_LIST_NAME = "RPT"
SEGMENT_FIELDS = bit(OPT_FIELDS, "segmentation")
BUFFERED_ONLY = bit(OPT_FIELDS, "buffer-overflow") | bit(OPT_FIELDS, "entryID")
_RESERVED = bit(OPT_FIELDS, "reserved")
_SEQ_NUM, _TIME, _REASON, _DAT_SET, _REFERENCE, _OVERFLOW, _ENTRY_ID, _CONF_REV = (
    bit(OPT_FIELDS, name)
    for name in (
        "seq-num",
        "report-time-stamp",
        "reason-for-inclusion",
        "data-set-name",
        "data-reference",
        "buffer-overflow",
        "entryID",
        "conf-revision",
    )
)


@dataclass(frozen=True)
class ReportHeader:
    """What a report says about itself: ``opt_flds`` as the control block holds them."""

    rpt_id: str
    opt_flds: int
    seq_num: int
    time_of_entry: float
    dat_set: str
    conf_rev: int
    buffered: bool
    buf_ovfl: bool = False
    entry_id: bytes = bytes(8)


@dataclass(frozen=True)
class Included:
    """One included member: its position in the data set, reference, value, ReasonCode."""

    position: int
    reference: str
    value: AccessResult
    reasons: int


@dataclass
class Report:
    """A report (or one segment of it) as a client reads it."""

    rpt_id: str
    opt_flds: int
    seq_num: int | None = None
    time_of_entry: float | None = None
    dat_set: str | None = None
    buf_ovfl: bool | None = None
    entry_id: bytes | None = None
    conf_rev: int | None = None
    sub_seq_num: int | None = None
    more_segments_follow: bool | None = None
    inclusion: str = ""
    members: list[Included] = field(default_factory=list)


def _report_pdu(results: list[AccessResult]) -> Mmspdu:
    return Mmspdu(
        unconfirmed_pdu=UnconfirmedPdu(
            unconfirmed_service=UnconfirmedService(
                information_report=InformationReport(
                    variable_access_specification=VariableAccessSpecification(
                        variable_list_name=ObjectName(vmd_specific=REPORT_LIST_NAME)
                    ),
                    list_of_access_result=ListOfAccessResult(access_result=results),
                )
            )
        )
    )


def _ok(data: Data) -> AccessResult:
    return AccessResult(success=data)


def report_pdu(
    header: ReportHeader,
    member_count: int,
    members: list[Included],
    segment: tuple[int, bool] | None = None,
) -> Mmspdu:
    """The informationReport of ``members`` (one segment: (SubSeqNum, more follow))."""
    opt = header.opt_flds & ~SEGMENT_FIELDS & ~_RESERVED
    if not header.buffered:
        opt &= ~BUFFERED_ONLY
    if segment is not None:
        opt |= SEGMENT_FIELDS
    results = [
        _ok(Data(visible_string=header.rpt_id)),
        _ok(Data(bit_string=format(opt, f"0{len(OPT_FIELDS)}b"))),
    ]
    if opt & _SEQ_NUM:
        results.append(_ok(Data(unsigned=header.seq_num)))
    if opt & _TIME:
        results.append(_ok(Data(binary_time=binary_time(header.time_of_entry))))
    if opt & _DAT_SET:
        results.append(_ok(Data(visible_string=header.dat_set)))
    if opt & _OVERFLOW:
        results.append(_ok(Data(boolean=boolean(header.buf_ovfl))))
    if opt & _ENTRY_ID:
        results.append(_ok(Data(octet_string=header.entry_id)))
    if opt & _CONF_REV:
        results.append(_ok(Data(unsigned=header.conf_rev)))
    if segment is not None:
        results.append(_ok(Data(unsigned=segment[0])))
        results.append(_ok(Data(boolean=boolean(segment[1]))))
    included = {m.position for m in members}
    inclusion = "".join("1" if i in included else "0" for i in range(member_count))
    results.append(_ok(Data(bit_string=inclusion or "0")))
    ordered = sorted(members, key=lambda m: m.position)
    if opt & _REFERENCE:
        results.extend(_ok(Data(visible_string=m.reference)) for m in ordered)
    results.extend(m.value for m in ordered)
    if opt & _REASON:
        results.extend(
            _ok(Data(bit_string=format(m.reasons, f"0{len(REASONS)}b"))) for m in ordered
        )
    return _report_pdu(results)


def _size(association_id: str, pdu: Mmspdu) -> int:
    return pdus.payload_size(codec.encode(pdus.context(association_id, pdu)))


def segments(
    header: ReportHeader,
    member_count: int,
    members: list[Included],
    max_pdu_size: int,
    association_id: str,
) -> list[Element]:
    """The report's payload (``AssociationContext``): one informationReport, or segments that
    each fit ``max_pdu_size``. A member too large for a segment of its own still goes, alone
    (the limit cannot be met for it; the client decides)."""
    whole = codec.encode(pdus.context(association_id, report_pdu(header, member_count, members)))
    if len(members) <= 1 or pdus.payload_size(whole) <= max_pdu_size:
        return [whole]
    ordered = sorted(members, key=lambda m: m.position)
    base = _size(association_id, report_pdu(header, member_count, [], (0, True)))
    costs = [
        _size(association_id, report_pdu(header, member_count, [m], (0, True))) - base
        for m in ordered
    ]
    groups: list[list[Included]] = []
    start = 0
    while start < len(ordered):
        end, used = start, base
        while end < len(ordered) and (end == start or used + costs[end] <= max_pdu_size):
            used += costs[end]
            end += 1
        while (
            end - start > 1
            and _size(
                association_id, report_pdu(header, member_count, ordered[start:end], (0, True))
            )
            > max_pdu_size
        ):
            end -= 1
        groups.append(ordered[start:end])
        start = end
    return [
        codec.encode(
            pdus.context(
                association_id,
                report_pdu(header, member_count, group, (number, number < len(groups) - 1)),
            )
        )
        for number, group in enumerate(groups)
    ]


# ---------------------------------------------------------------- reading


def _take(results: list[AccessResult], at: int, what: str) -> Data:
    if at >= len(results):
        raise PayloadError(f"informationReport/{what}", "missing")
    data = results[at].success
    if data is None:
        raise PayloadError(f"informationReport/{what}", "a failure where a value must be")
    return data


def _scalar(results: list[AccessResult], at: int, what: str, btype: BasicType) -> object:
    try:
        return data_to_scalar(btype, _take(results, at, what))
    except ValueMismatch as error:
        raise PayloadError(f"informationReport/{what}", str(error)) from None


def parse_report(report: InformationReport) -> Report:
    """A report as its OptFlds lay it out; PayloadError naming the field that does not fit."""
    name = report.variable_access_specification.variable_list_name
    if name is None or name.vmd_specific != REPORT_LIST_NAME:
        raise PayloadError("informationReport/variableListName", "not the report list RPT")
    results = report.list_of_access_result.access_result
    rpt_id = _take(results, 0, "RptID").visible_string
    opt_bits = _take(results, 1, "OptFlds").bit_string
    if rpt_id is None or opt_bits is None or len(opt_bits) != len(OPT_FIELDS):
        raise PayloadError("informationReport", "RptID and OptFlds (10 bits) must lead")
    opt = int(opt_bits, 2)
    out = Report(rpt_id=rpt_id, opt_flds=opt)
    at = 2
    fields: list[tuple[str, str, BasicType]] = [
        ("seq-num", "seq_num", BasicType.INT32U),
        ("report-time-stamp", "time_of_entry", BasicType.ENTRYTIME),
        ("data-set-name", "dat_set", BasicType.VISSTRING129),
        ("buffer-overflow", "buf_ovfl", BasicType.BOOLEAN),
        ("entryID", "entry_id", BasicType.ENTRYID),
        ("conf-revision", "conf_rev", BasicType.INT32U),
    ]
    for flag, attribute, btype in fields:
        if has(OPT_FIELDS, opt, flag):
            setattr(out, attribute, _scalar(results, at, flag, btype))
            at += 1
    if has(OPT_FIELDS, opt, "segmentation"):
        out.sub_seq_num = int(_scalar(results, at, "SubSeqNum", BasicType.INT32U))  # type: ignore[call-overload]
        out.more_segments_follow = bool(
            _scalar(results, at + 1, "MoreSegmentsFollow", BasicType.BOOLEAN)
        )
        at += 2
    inclusion = _take(results, at, "inclusion").bit_string
    if inclusion is None or inclusion.strip("01"):
        raise PayloadError("informationReport/inclusion", "expected a bit string")
    out.inclusion = inclusion
    at += 1
    positions = [i for i, b in enumerate(inclusion) if b == "1"]
    count = len(positions)
    references = [""] * count
    if has(OPT_FIELDS, opt, "data-reference"):
        references = [
            str(_scalar(results, at + i, "data-reference", BasicType.VISSTRING255))
            for i in range(count)
        ]
        at += count
    if at + count > len(results):
        raise PayloadError("informationReport", f"{count} values announced, fewer sent")
    values = results[at : at + count]
    at += count
    reasons = [0] * count
    if has(OPT_FIELDS, opt, "reason-for-inclusion"):
        reasons = []
        for i in range(count):
            code = _take(results, at + i, "reason-for-inclusion").bit_string
            if code is None or len(code) != len(REASONS) or code.strip("01"):
                raise PayloadError("informationReport/reason-for-inclusion", "7 bits expected")
            reasons.append(int(code, 2))
        at += count
    if at != len(results):
        raise PayloadError("informationReport", f"{len(results) - at} access results too many")
    out.members = [
        Included(p, r, v, c)
        for p, r, v, c in zip(positions, references, values, reasons, strict=True)
    ]
    return out


__all__ = [
    "REPORT_LIST_NAME",
    "Included",
    "Report",
    "ReportHeader",
    "parse_report",
    "report_pdu",
    "segments",
]
