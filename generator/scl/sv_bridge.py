"""From an SCL SampledValueControl to the SV runtime's ``StreamConfig`` and ``DataSetLayout``.

Each data set member becomes one channel: a data object (``TCTR1.Amp`` at FC MX) gives its
measured value (``instMag.i`` INT32 or ``instMag.f`` FLOAT32) followed by its quality; a
single attribute gives its value, and a ``q`` member right after it becomes that channel's
quality. The scale is ``1 / sVC.scaleFactor`` when the model states it, otherwise the 9-2LE
convention (current ×1000, voltage ×100, by TCTR/TVTR or the Amp/Vol names).
"""

from __future__ import annotations

import math
from pathlib import Path

from gen61850.generator.scl.diagnostics import Diagnostic, SclError, Severity
from gen61850.generator.scl.model import SclModel, load_scl
from gen61850.runtime.device import (
    FC,
    BasicType,
    DataAttribute,
    DataObject,
    DataSet,
    Ied,
    LogicalDevice,
    SampledValueControl,
    SmpMod,
)
from gen61850.runtime.sv.dataset import Channel, ChannelType, DataSetLayout
from gen61850.runtime.sv.stream import StreamConfig

_WIRE_TYPES = {BasicType.INT32: ChannelType.INT32, BasicType.FLOAT32: ChannelType.FLOAT32}
_CURRENT_NAMES = ("Amp", "A", "AmpSv")
_VOLTAGE_NAMES = ("Vol", "PhV", "VolSv", "PPV")


def _fail(model: SclModel | str, message: str) -> SclError:
    file = str(model.path) if isinstance(model, SclModel) else model
    return SclError((Diagnostic(file, 0, Severity.ERROR, message),))


def _kind(ln_class: str, do_name: str) -> str:
    if ln_class == "TCTR" or do_name in _CURRENT_NAMES:
        return "current"
    if ln_class == "TVTR" or do_name in _VOLTAGE_NAMES:
        return "voltage"
    return "other"


def _scale(do: DataObject | None, kind: str, wire: ChannelType) -> float:
    if do is not None:
        svc = do.child("sVC")
        factor = svc.child("scaleFactor") if isinstance(svc, DataAttribute) else None
        if isinstance(factor, DataAttribute) and isinstance(factor.value, int | float):
            value = float(factor.value)
            if value != 0 and math.isfinite(value):
                return 1.0 / value
    if wire is ChannelType.FLOAT32:
        return 1.0
    return {"current": 1000.0, "voltage": 100.0}.get(kind, 1.0)


def _value_leaf(node: DataObject | DataAttribute, fc: FC) -> DataAttribute | None:
    """The first INT32/FLOAT32 attribute with ``fc`` below ``node`` (``instMag.i``)."""
    if isinstance(node, DataAttribute):
        if node.fc is fc and node.btype in _WIRE_TYPES and not node.count:
            return node
        return next((x for c in node.components if (x := _value_leaf(c, fc))), None)
    for child in node.children:
        if isinstance(child, DataAttribute) and child.btype is BasicType.QUALITY:
            continue
        found = _value_leaf(child, fc)
        if found is not None:
            return found
    return None


def layout_of(ied: Ied, data_set: DataSet, file: str) -> DataSetLayout:
    """The SV layout of ``data_set`` (members in order, one channel per value)."""
    channels: list[Channel] = []
    previous_do: str | None = None
    for member in data_set.members:
        fcda = member.fcda
        node = member.node
        ln_do = f"{fcda.ln_name}.{fcda.do_name}" if fcda.do_name else fcda.ln_name
        if isinstance(node, DataAttribute) and node.btype is BasicType.QUALITY:
            if channels and previous_do == ln_do and not channels[-1].quality:
                last = channels[-1]
                channels[-1] = Channel(last.name, last.type, last.scale, True, last.kind)
                continue
            raise _fail(
                file, f"data set {data_set.name}: quality {member.reference} follows no value"
            )
        if node is None:
            raise _fail(file, f"data set {data_set.name}: member {member.reference} is a whole LN")
        leaf = _value_leaf(node, fcda.fc)
        if leaf is None:
            raise _fail(
                file,
                f"data set {data_set.name}: member {member.reference} has no "
                "INT32/FLOAT32 value for an SV channel",
            )
        wire = _WIRE_TYPES[leaf.btype]
        kind = _kind(fcda.ln_class, fcda.do_name.split(".")[0])
        do = node if isinstance(node, DataObject) else None
        if do is None:
            owner = (
                ied.find(member.reference.rsplit(".", len(fcda.da_name.split(".")))[0])
                if fcda.da_name
                else None
            )
            do = owner if isinstance(owner, DataObject) else None
        has_quality = isinstance(node, DataObject) and any(
            isinstance(c, DataAttribute) and c.btype is BasicType.QUALITY and c.fc is fcda.fc
            for c in node.children
        )
        name = ".".join(p for p in (fcda.ln_name, fcda.do_name, fcda.da_name) if p)
        channels.append(Channel(name, wire, _scale(do, kind, wire), has_quality, kind))
        previous_do = ln_do
    if not channels:
        raise _fail(file, f"data set {data_set.name} has no members usable as SV channels")
    return DataSetLayout(data_set.name, tuple(channels))


def _find_svc(
    model: SclModel, ied: Ied, msvcb_ref: str
) -> tuple[LogicalDevice, SampledValueControl]:
    ld_name, _, rest = msvcb_ref.partition("/")
    ln_name, _, cb_name = rest.partition(".")
    ld = ied.logical_device(ld_name)
    ln = ld.child(ln_name) if ld is not None else None
    svc = next((s for s in ln.sv_controls if s.name == cb_name), None) if ln else None
    if ld is None or svc is None:
        known = [
            f"{d.inst}/{n.name}.{s.name}"
            for d in ied.logical_devices
            for n in d.logical_nodes
            for s in n.sv_controls
        ]
        raise _fail(
            model,
            f"no SampledValueControl {msvcb_ref!r} in IED {ied.name} "
            f"(known: {', '.join(known) or 'none'})",
        )
    return ld, svc


def _data_set(model: SclModel, ld: LogicalDevice, svc: SampledValueControl) -> DataSet:
    lln0 = ld.lln0
    found = lln0.data_set(svc.dat_set) if (lln0 and svc.dat_set) else None
    if found is None:
        raise _fail(model, f"SampledValueControl {svc.name}: data set {svc.dat_set!r} not found")
    return found


def stream_config_of(
    model: SclModel,
    device: Ied,
    ld: LogicalDevice,
    svc: SampledValueControl,
    *,
    signal_frequency: float = 50.0,
) -> StreamConfig:
    """The runtime stream description of one resolved SampledValueControl."""
    ref = f"{ld.inst}/LLN0.{svc.name}"
    if svc.address is None:
        raise _fail(model, f"SampledValueControl {ref}: no SMV address in Communication")
    layout = layout_of(device, _data_set(model, ld, svc), str(model.path))
    if svc.smp_mod is SmpMod.SMP_PER_PERIOD:
        per_period = svc.smp_rate
    elif svc.smp_mod is SmpMod.SMP_PER_SEC:
        ratio = svc.smp_rate / signal_frequency
        if not ratio.is_integer():
            raise _fail(
                model,
                f"{ref}: {svc.smp_rate} samples/s is not a whole number "
                f"of samples per {signal_frequency:g} Hz period",
            )
        per_period = int(ratio)
    else:
        raise _fail(
            model,
            f"{ref}: smpMod SecPerSmp (one sample every {svc.smp_rate} s) cannot be published: "
            "the SV runtime sends at least 1 sample/s, a whole number per signal period",
        )
    opts = svc.opts
    return StreamConfig(
        sv_id=svc.smv_id,
        layout=layout,
        dat_set=f"{ld.name}/LLN0${svc.dat_set}" if opts.data_set else None,
        conf_rev=svc.conf_rev,
        smp_rate=svc.smp_rate if opts.sample_rate else None,
        smp_mod=svc.smp_mod.code
        if opts.sample_rate and svc.smp_mod is not SmpMod.SMP_PER_PERIOD
        else None,
        refr_tm=opts.refresh_time,
        signal_frequency=signal_frequency,
        samples_per_period=per_period,
        asdus_per_frame=svc.nof_asdu,
        dst_mac=svc.address.mac,
        appid=svc.address.appid,
        vlan_id=svc.address.vlan_id,
        vlan_priority=svc.address.vlan_priority,
    )


def stream_config_for(
    scl_path: Path | str, ied: str, msvcb_ref: str, *, signal_frequency: float = 50.0
) -> StreamConfig:
    """The stream ``LD/LLN0.NAME`` of IED ``ied`` as the SV runtime describes it.

    ``LD`` is the LDevice inst or its full name. ``signal_frequency`` turns ``SmpPerSec``
    rates into samples per period. Raises ``SclError`` (located) on any problem.
    """
    model = load_scl(Path(scl_path), validate=False)
    model.raise_on_errors()
    device = model.ied(ied)
    ld, svc = _find_svc(model, device, msvcb_ref)
    return stream_config_of(model, device, ld, svc, signal_frequency=signal_frequency)


def layouts_for(scl_path: Path | str) -> dict[str, DataSetLayout]:
    """Every usable SV data set layout in the file, keyed by svID (first one wins)."""
    model = load_scl(Path(scl_path), validate=False)
    model.raise_on_errors()
    layouts: dict[str, DataSetLayout] = {}
    for device in model.ieds:
        for ld in device.logical_devices:
            for ln in ld.logical_nodes:
                for svc in ln.sv_controls:
                    if svc.smv_id in layouts or not svc.dat_set:
                        continue
                    data_set = ln.data_set(svc.dat_set)
                    if data_set is None:
                        continue
                    try:
                        layouts[svc.smv_id] = layout_of(device, data_set, str(model.path))
                    except SclError:
                        continue
    return layouts


__all__ = ["layout_of", "layouts_for", "stream_config_for", "stream_config_of"]
