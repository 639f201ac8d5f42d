"""Report control blocks as named variables: their attributes, types and state.

A ReportControl of the SCL becomes a BRCB (``buffered``, FC ``BR``) or a URCB (FC ``RP``)
in its logical node, one instance per RptEnabled ``max`` (``name01`` ... when indexed). Its
attributes, in IEC 61850-8-1 order, are the components of the MMS structure:

- URCB: RptID, RptEna, Resv, DatSet, ConfRev, OptFlds, BufTm, SqNum (INT8U), TrgOps,
  IntgPd, GI, Owner;
- BRCB: RptID, RptEna, DatSet, ConfRev, OptFlds, BufTm, SqNum (INT16U), TrgOps, IntgPd,
  GI, PurgeBuf, EntryID, TimeOfEntry, ResvTms, Owner.

``RcbProvider`` answers reads and writes of these names; what a write may do (the IEC
61850-7-2 rules) is the reporting engine's business (``engine.ReportEngine``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gen61850.generated.scsm_8_2.bindings import Data, TypeDescription
from gen61850.runtime.device import FC, BasicType, DataAttribute, ReportControl
from gen61850.runtime.device.store import DataSetRef
from gen61850.runtime.xmpp.mapping import DataAccessError
from gen61850.runtime.xmpp.model import AccessFailure
from gen61850.runtime.xmpp.reports.codes import OPT_FIELDS, TRIGGERS, mask
from gen61850.runtime.xmpp.scope import AssociationScope, CallContext
from gen61850.runtime.xmpp.timers import Timer
from gen61850.runtime.xmpp.values import (
    ValueMismatch,
    data_to_scalar,
    leaf_type_description,
    scalar_to_data,
    structure,
    structure_description,
)

if TYPE_CHECKING:
    from gen61850.runtime.xmpp.reports.engine import ReportEngine

URCB_ATTRIBUTES: tuple[tuple[str, BasicType], ...] = (
    ("RptID", BasicType.VISSTRING129),
    ("RptEna", BasicType.BOOLEAN),
    ("Resv", BasicType.BOOLEAN),
    ("DatSet", BasicType.VISSTRING129),
    ("ConfRev", BasicType.INT32U),
    ("OptFlds", BasicType.OPTFLDS),
    ("BufTm", BasicType.INT32U),
    ("SqNum", BasicType.INT8U),
    ("TrgOps", BasicType.TRGOPS),
    ("IntgPd", BasicType.INT32U),
    ("GI", BasicType.BOOLEAN),
    ("Owner", BasicType.OCTET64),
)
BRCB_ATTRIBUTES: tuple[tuple[str, BasicType], ...] = (
    ("RptID", BasicType.VISSTRING129),
    ("RptEna", BasicType.BOOLEAN),
    ("DatSet", BasicType.VISSTRING129),
    ("ConfRev", BasicType.INT32U),
    ("OptFlds", BasicType.OPTFLDS),
    ("BufTm", BasicType.INT32U),
    ("SqNum", BasicType.INT16U),
    ("TrgOps", BasicType.TRGOPS),
    ("IntgPd", BasicType.INT32U),
    ("GI", BasicType.BOOLEAN),
    ("PurgeBuf", BasicType.BOOLEAN),
    ("EntryID", BasicType.ENTRYID),
    ("TimeOfEntry", BasicType.ENTRYTIME),
    ("ResvTms", BasicType.INT16),
    ("Owner", BasicType.OCTET64),
)
READ_ONLY = frozenset({"ConfRev", "SqNum", "Owner", "TimeOfEntry"})


def scl_opt_flds(rcb: ReportControl) -> int:
    """The OptFlds bits an SCL ReportControl's OptFields say."""
    opt = rcb.opt_fields
    chosen = [
        name
        for name, on in (
            ("seq-num", opt.seq_num),
            ("report-time-stamp", opt.time_stamp),
            ("reason-for-inclusion", opt.reason_code),
            ("data-set-name", opt.data_set),
            ("data-reference", opt.data_ref),
            ("buffer-overflow", opt.buf_ovfl and rcb.buffered),
            ("entryID", opt.entry_id and rcb.buffered),
            ("conf-revision", opt.config_ref),
            ("segmentation", opt.segmentation),
        )
        if on
    ]
    return mask(OPT_FIELDS, chosen)


def scl_trg_ops(rcb: ReportControl) -> int:
    """The TrgOps bits an SCL ReportControl's TrgOps say (``period`` is integrity)."""
    trg = rcb.trg_ops
    chosen = [
        name
        for name, on in (
            ("dchg", trg.dchg),
            ("qchg", trg.qchg),
            ("dupd", trg.dupd),
            ("integrity", trg.period),
            ("gi", trg.gi),
        )
        if on
    ]
    return mask(TRIGGERS, chosen)


@dataclass
class ReportControlBlock:
    """One RCB instance: where it is, what the SCL configured, and its state now."""

    domain: str
    ln: str
    name: str
    buffered: bool
    rpt_id: str
    dat_set: str  # the DatSet attribute as the client reads it ("" when none)
    data_set: DataSetRef | None
    conf_rev: int
    opt_flds: int
    buf_tm: int  # ms
    trg_ops: int
    intg_pd: int  # ms
    rpt_ena: bool = False
    resv: bool = False  # URCB: reserved (Resv)
    resv_tms: int = 0  # BRCB: seconds a reservation outlives its association (-1: by SCL)
    owner: str | None = None  # the JID that reserved it
    scope: AssociationScope | None = None  # the association reports go to (while enabled)
    sq_num: int = 0
    entry_id: bytes = bytes(8)  # last sent (BRCB)
    time_of_entry: float = 0.0
    buffering: bool = False  # BRCB: buffers events (from its first enabling on)
    release_timer: Timer | None = None
    integrity_timer: Timer | None = None
    hooked: set[tuple[str, str]] = field(default_factory=set)  # associations (peer, id)

    @property
    def fc(self) -> str:
        return "BR" if self.buffered else "RP"

    @property
    def item(self) -> str:
        """``LLN0$BR$brcbA01``: the named variable."""
        return f"{self.ln}${self.fc}${self.name}"

    @property
    def reference(self) -> str:
        return f"{self.domain}/{self.item}"

    @property
    def attributes(self) -> tuple[tuple[str, BasicType], ...]:
        return BRCB_ATTRIBUTES if self.buffered else URCB_ATTRIBUTES

    @property
    def report_id(self) -> str:
        """The RptID reports carry: the attribute, or the RCB's reference when it is empty."""
        return self.rpt_id or self.reference


def attribute_node(rcb: ReportControlBlock, name: str) -> DataAttribute:
    btype = dict(rcb.attributes)[name]
    return DataAttribute(name, FC.BR if rcb.buffered else FC.RP, btype)


class RcbProvider:
    """The named variables of one RCB: reads from its state, writes through the engine."""

    def __init__(self, engine: ReportEngine, rcb: ReportControlBlock) -> None:
        self.engine = engine
        self.rcb = rcb
        self.names = [rcb.item, *(f"{rcb.item}${name}" for name, _ in rcb.attributes)]

    def _attribute(self, item: str) -> str | None:
        """The attribute ``item`` names, None for the whole RCB."""
        if item == self.rcb.item:
            return None
        name = item.removeprefix(self.rcb.item + "$")
        if name not in dict(self.rcb.attributes):
            raise AccessFailure(DataAccessError.OBJECT_NON_EXISTENT)
        return name

    def read(self, domain: str, item: str, call: CallContext | None) -> Data:
        name = self._attribute(item)
        if name is None:
            return structure([self._value(n) for n, _ in self.rcb.attributes])
        return self._value(name)

    def _value(self, name: str) -> Data:
        node = attribute_node(self.rcb, name)
        return scalar_to_data(node.btype, self.engine.attribute_value(self.rcb, name))

    def write(self, domain: str, item: str, data: Data, call: CallContext) -> None:
        name = self._attribute(item)
        if name is None:  # SetBRCBValues / SetURCBValues write attributes one by one
            raise AccessFailure(DataAccessError.OBJECT_ACCESS_DENIED)
        node = attribute_node(self.rcb, name)
        try:
            value = data_to_scalar(node.btype, data)
        except ValueMismatch:
            raise AccessFailure(DataAccessError.TYPE_INCONSISTENT) from None
        self.engine.write_attribute(self.rcb, name, value, call)

    def type_description(self, domain: str, item: str) -> TypeDescription:
        name = self._attribute(item)
        if name is None:
            return structure_description(
                [
                    (n, leaf_type_description(attribute_node(self.rcb, n)))
                    for n, _ in self.rcb.attributes
                ]
            )
        return leaf_type_description(attribute_node(self.rcb, name))


__all__ = [
    "BRCB_ATTRIBUTES",
    "READ_ONLY",
    "URCB_ATTRIBUTES",
    "RcbProvider",
    "ReportControlBlock",
    "attribute_node",
    "scl_opt_flds",
    "scl_trg_ops",
]
