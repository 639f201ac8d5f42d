"""Pass 4: one IED's records, linked and checked, become the runtime model (``Ied``).

``IedBuilder.build(record)`` runs the passes in order for one IED section while it is in
memory: ``link`` each LN (data objects), ``check`` the LNs (MMS names, one per name),
``link`` the data sets and control blocks once every LN of the IED is known, assemble the
``Ied`` with its access points and addresses, then ``check`` its SV streams. What did not
survive is reported where it was found; the result carries what the package needs besides
the model (streams or their reasons, data sets that lost members, the types used).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from gen61850.generator.scl.check import StreamKey, check_logical_nodes, check_streams
from gen61850.generator.scl.communication import ConnectedAp
from gen61850.generator.scl.diagnostics import Diagnostics
from gen61850.generator.scl.guard import guarded
from gen61850.generator.scl.inputs import PendingExtRef, read_inputs
from gen61850.generator.scl.link import LinkedControls, Linker
from gen61850.generator.scl.link_types import TypeInstantiator
from gen61850.generator.scl.mmslength import MmsLengthCheck
from gen61850.generator.scl.read import ControlRecord, IedRecord, LdRecord, LnRecord
from gen61850.runtime.device import (
    AccessPoint,
    EnumType,
    Ied,
    LogControl,
    LogicalDevice,
    LogicalNode,
    ReportControl,
    SampledValueControl,
)

if TYPE_CHECKING:  # the SV runtime (and numpy) is imported only when a file has SV streams
    from gen61850.runtime.sv.stream import StreamConfig


@dataclass
class BuiltIed:
    """An IED of the model and what its package needs besides it."""

    ied: Ied
    line: int
    streams: dict[StreamKey, tuple[int, StreamConfig | str]] = field(default_factory=dict)
    incomplete: set[tuple[str, str, str]] = field(default_factory=set)  # (LD inst, LN, DS)
    ln_types: frozenset[str] = frozenset()  # LNodeType ids it uses


class IedBuilder:
    """Links, checks and assembles IED records (one file; shares the linker's caches)."""

    def __init__(
        self,
        types: TypeInstantiator,
        linker: Linker,
        mms: MmsLengthCheck,
        connected: Mapping[tuple[str, str], ConnectedAp],
        edition: str,
        diagnostics: Diagnostics,
    ) -> None:
        self.types = types
        self.linker = linker
        self.mms = mms
        self.connected = connected
        self.edition = edition
        self.diagnostics = diagnostics
        self.pending_inputs: list[PendingExtRef] = []  # checked once every IED is read

    def build(self, record: IedRecord) -> BuiltIed:
        d = self.diagnostics
        self.linker.cache.start_ied()
        lds: dict[str, LogicalDevice] = {}
        pending: list[tuple[str, LdRecord, list[tuple[LnRecord, LogicalNode]]]] = []
        for ap in record.aps:
            for ld_record in ap.lds:
                if ld_record.inst in lds:
                    continue  # reported with the IED's clashes (LDeviceInIEDKey)
                linked: list[tuple[LnRecord, LogicalNode]] = []
                for ln_record in ld_record.lns:
                    where = f"LN {ld_record.name}/{ln_record.name}"
                    ln = guarded(
                        d,
                        ln_record.line,
                        where,
                        self.linker.logical_node,
                        ln_record,
                        ld_record.name,
                    )
                    if ln is not None:
                        linked.append((ln_record, ln))
                kept = check_logical_nodes(linked, ld_record.name, self.types.typedefs, self.mms, d)
                lds[ld_record.inst] = LogicalDevice(
                    ld_record.inst,
                    ld_record.name,
                    ld_record.desc,
                    tuple(ln for _, ln in kept),
                )
                pending.append((ap.name, ld_record, kept))
        self.linker.structure = self.linker.structure_of(lds)
        built = BuiltIed(Ied(record.name), record.line)
        svcs: list[tuple[str, ControlRecord, SampledValueControl]] = []
        by_ap: dict[str, list[LogicalDevice]] = {}
        for ap_name, ld_record, kept in pending:
            ld = lds[ld_record.inst]
            finished: list[LogicalNode] = []
            for ln_record, ln in kept:
                if not ln_record.parts:
                    finished.append(ln)
                    continue
                where = f"{ld.name}/{ln.name}"
                done = guarded(
                    d,
                    ln_record.line,
                    f"LN {where}",
                    self._ln_parts,
                    ln_record,
                    ln,
                    record.name,
                    ap_name,
                    ld,
                    lds,
                    built,
                    svcs,
                )
                finished.append(done if done is not None else ln)
            by_ap.setdefault(ap_name, []).append(replace(ld, logical_nodes=tuple(finished)))
        access_points = []
        for ap in record.aps:
            cap = self.connected.get((record.name, ap.name))
            access_points.append(
                AccessPoint(
                    name=ap.name,
                    logical_devices=tuple(by_ap.get(ap.name, [])),
                    subnetwork=cap.subnetwork if cap else None,
                    address=cap.address if cap else None,
                    gse_addresses=tuple((k[0], k[1], v) for k, v in sorted(cap.gse.items()))
                    if cap
                    else (),
                    smv_addresses=tuple((k[0], k[1], v) for k, v in sorted(cap.smv.items()))
                    if cap
                    else (),
                )
            )
        enum_ids: dict[str, EnumType] = {}
        scopes: set[str] = set()
        for ld in (x for ld_list in by_ap.values() for x in ld_list):
            for ln in ld.logical_nodes:
                enum_ids.update(self.types.enums_of("LN", ln.ln_type))
                scopes.add(ln.ln_type)
        built.ln_types = frozenset(scopes)
        built.ied = Ied(
            name=record.name,
            manufacturer=record.manufacturer,
            type=record.type,
            config_version=record.config_version,
            desc=record.desc,
            access_points=tuple(access_points),
            enum_types=tuple(enum_ids[k] for k in sorted(enum_ids)),
        )
        incomplete: dict[tuple[str, str], frozenset[str]] = {}
        for ld_inst, ln_name, ds_name in built.incomplete:
            key = (ld_inst, ln_name)
            incomplete[key] = incomplete.get(key, frozenset()) | {ds_name}
        built.streams = check_streams(built.ied, svcs, incomplete, self.edition, d)
        return built

    def _ln_parts(
        self,
        record: LnRecord,
        ln: LogicalNode,
        ied_name: str,
        ap_name: str,
        ld: LogicalDevice,
        lds: Mapping[str, LogicalDevice],
        built: BuiltIed,
        svcs: list[tuple[str, ControlRecord, SampledValueControl]],
    ) -> LogicalNode:
        """``ln`` with its data sets, control blocks and inputs."""
        where = f"{ld.name}/{ln.name}"
        linked = LinkedControls()
        self.linker.data_sets(record, ied_name, lds, where, linked)
        self.linker.controls(record, ied_name, ap_name, ld.inst, where, linked)
        built.incomplete.update((ld.inst, ln.name, name) for name in linked.incomplete)
        svcs.extend((ld.inst, made, block) for made, block in linked.sv)
        inputs = ln.inputs
        if "Inputs" in record.parts:
            ext_refs, waiting = read_inputs(
                record.parts["Inputs"], f"{ied_name} {where}", self.diagnostics
            )
            self.pending_inputs.extend(waiting)
            inputs = tuple(ext_refs)
        return replace(
            ln,
            data_sets=linked.data_sets,
            sv_controls=tuple(block for _, block in linked.sv),
            gse_controls=tuple(block for _, block in linked.gse),
            report_controls=tuple(
                r.block for r in linked.others if isinstance(r.block, ReportControl)
            ),
            log_controls=tuple(r.block for r in linked.others if isinstance(r.block, LogControl)),
            setting_control=linked.setting,
            inputs=inputs,
        )


__all__ = ["BuiltIed", "IedBuilder"]
