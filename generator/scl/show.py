"""A readable tree of an SCL model: IEDs, access points, LDs, LNs, data sets, control blocks.

Used by ``gen61850 scl show``; ``data=True`` also lists every DO/DA with FC, type and
initial value.
"""

from __future__ import annotations

from collections.abc import Iterator

from gen61850.generator.scl.model import SclModel
from gen61850.runtime.device import (
    DataObject,
    EthernetAddress,
    ExtRef,
    Ied,
    IpAddress,
    LogicalNode,
    Node,
)


def _eth(address: EthernetAddress | None, routable: IpAddress | None = None) -> str:
    if routable is not None:
        ip = f"routable {routable.ip}" + (f" APPID {routable.appid:04X}" if routable.appid else "")
        return ip if address is None else f"{_eth(address)}; {ip}"
    if address is None:
        return "no address"
    text = f"{address.mac} APPID {address.appid:04X} VLAN {address.vlan_id} prio {address.vlan_priority}"
    if address.min_time is not None or address.max_time is not None:
        text += f" MinTime {address.min_time} MaxTime {address.max_time}"
    return text


def _node(node: Node, depth: int) -> Iterator[str]:
    pad = "  " * depth
    if isinstance(node, DataObject):
        size = f"[{node.count}]" if node.count else ""
        yield f"{pad}{node.name}{size} ({node.cdc}, {node.type_id})"
        for child in node.children:
            yield from _node(child, depth + 1)
        return
    size = f"[{node.count}]" if node.count else ""
    kind = node.btype.value + (f" {node.type_id}" if node.type_id else "")
    value = ""
    if node.value is not None:
        shown = node.value
        if node.enum is not None and isinstance(shown, int):
            shown = f"{node.enum.literal(shown)} ({shown})"
        value = f" = {shown!r}" if isinstance(shown, bytes) else f" = {shown}"
    yield f"{pad}{node.name}{size} [{node.fc.value}] {kind}{value}"
    for child in node.components:
        yield from _node(child, depth + 1)


def _ln(ln: LogicalNode, data: bool) -> Iterator[str]:
    desc = f"  {ln.desc}" if ln.desc else ""
    yield f"      LN {ln.name} ({ln.ln_type}){desc}"
    if data:
        for do in ln.data_objects:
            yield from _node(do, 4)
    for ds in ln.data_sets:
        yield f"        DataSet {ds.name} ({len(ds.members)} members)"
        for member in ds.members:
            kind = (
                member.btype.value
                if member.btype
                else (member.node.cdc if isinstance(member.node, DataObject) else "LN")
            )
            yield f"          {member.reference} [{member.fc.value}] {kind}"
    for svc in ln.sv_controls:
        yield (
            f"        SampledValueControl {svc.name}: smvID {svc.smv_id}, datSet {svc.dat_set}, "
            f"smpRate {svc.smp_rate} {svc.smp_mod.value}, nofASDU {svc.nof_asdu}, "
            f"confRev {svc.conf_rev}, multicast {svc.multicast} -> "
            f"{_eth(svc.address, svc.routable_address)}"
        )
    for gse in ln.gse_controls:
        yield (
            f"        GSEControl {gse.name} ({gse.type}): appID {gse.app_id}, datSet "
            f"{gse.dat_set}, confRev {gse.conf_rev} -> {_eth(gse.address, gse.routable_address)}"
        )
    for rcb in ln.report_controls:
        kind = "buffered" if rcb.buffered else "unbuffered"
        trg = ",".join(
            k for k in ("dchg", "qchg", "dupd", "period", "gi") if getattr(rcb.trg_ops, k)
        )
        yield (
            f"        ReportControl {rcb.name} ({kind}, max {rcb.max}): rptID {rcb.rpt_id}, "
            f"datSet {rcb.dat_set}, TrgOps {trg or '-'}, intgPd {rcb.intg_pd}"
        )
    for lcb in ln.log_controls:
        yield f"        LogControl {lcb.name}: log {lcb.log_name}, datSet {lcb.dat_set}"
    if ln.setting_control is not None:
        sg = ln.setting_control
        yield f"        SettingControl: {sg.num_of_sgs} groups, active {sg.act_sg}"
    for ext_ref in ln.inputs:
        yield f"        ExtRef {_ext_ref(ext_ref)}"


def _ext_ref(ext_ref: ExtRef) -> str:
    """``IED LD/LN.DO.DA via GOOSE LD/LLN0.CB -> intAddr`` (what SCL gives of it)."""
    source = f"{ext_ref.ied_name} {ext_ref.data_path}" if ext_ref.is_bound else "(unbound)"
    if not ext_ref.is_bound and ext_ref.ied_name:
        source = f"{ext_ref.ied_name} (no data named)"
    parts = [source]
    if ext_ref.service_type:
        parts.append(f"via {ext_ref.service_type}")
    if ext_ref.control_block_path:
        parts.append(f"from {ext_ref.control_block_path}")
    if ext_ref.int_addr:
        parts.append(f"-> {ext_ref.int_addr!r}")
    restrictions = [
        f"{k}={v}"
        for k, v in (
            ("pServT", ext_ref.p_serv_t),
            ("pLN", ext_ref.p_ln),
            ("pDO", ext_ref.p_do),
            ("pDA", ext_ref.p_da),
        )
        if v
    ]
    if restrictions:
        parts.append(f"[{' '.join(restrictions)}]")
    return " ".join(parts)


def ied_lines(ied: Ied, *, data: bool = False) -> Iterator[str]:
    maker = " ".join(x for x in (ied.manufacturer, ied.type) if x)
    yield f"IED {ied.name}" + (f" ({maker})" if maker else "")
    for ap in ied.access_points:
        where = f" on {ap.subnetwork}" if ap.subnetwork else ""
        params = " ".join(f"{k}={v}" for k, v in ap.address.params) if ap.address else ""
        yield f"  AccessPoint {ap.name}{where}" + (f": {params}" if params else "")
        for ld in ap.logical_devices:
            yield f"    LDevice {ld.name} (inst {ld.inst})"
            for ln in ld.logical_nodes:
                yield from _ln(ln, data)


def model_lines(model: SclModel, *, ied: str | None = None, data: bool = False) -> Iterator[str]:
    """The whole tree, or one IED's, line by line."""
    yield f"SCL {model.path.name}: edition {model.edition}, {len(model.ieds)} IED(s)"
    for device in model.ieds:
        if ied is None or device.name == ied:
            yield from ied_lines(device, data=data)


__all__ = ["ied_lines", "model_lines"]
