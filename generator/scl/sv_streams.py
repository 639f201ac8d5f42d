"""SampledValueControl → the SV runtime's ``StreamConfig`` and ``DataSetLayout``, or why not.

Each data set member becomes one channel: a data object (``TCTR1.Amp`` at FC MX) gives its
measured value (``instMag.i`` INT32 or ``instMag.f`` FLOAT32) followed by its quality; a
single attribute gives its value, and a ``q`` member right after it becomes that channel's
quality. The scale is ``1 / sVC.scaleFactor`` when the model states it, otherwise the 9-2LE
convention (current ×1000, voltage ×100, by TCTR/TVTR or the Amp/Vol names).

``layout_or_reason`` and ``stream_or_reason`` return a value or the reason there is none
(a stream the runtime cannot carry is described, not refused at load): the loader reports
the reasons as located warnings, ``scl generate`` records them in the package (publishing
such a stream raises with the reason), and ``sv_bridge.stream_config_for`` raises them
(publish time). One function for all three, so ``check`` and ``generate`` agree.

Edition semantics: ``smpRate`` counts what ``smpMod`` says (Ed. 2; default samples per
period); an Edition 1 file has no ``smpMod`` and counts samples per period.
"""

from __future__ import annotations

import math
import re

from gen61850.runtime.device import (
    FC,
    BasicType,
    DataAttribute,
    DataObject,
    DataSet,
    Ied,
    LogicalDevice,
    ReferenceError61850,
    SampledValueControl,
    SmpMod,
)
from gen61850.runtime.sv.dataset import Channel, ChannelType, DataSetLayout, LayoutError
from gen61850.runtime.sv.stream import StreamConfig, StreamConfigError

_WIRE_TYPES = {BasicType.INT32: ChannelType.INT32, BasicType.FLOAT32: ChannelType.FLOAT32}
_CURRENT_NAMES = ("Amp", "A", "AmpSv")
_VOLTAGE_NAMES = ("Vol", "PhV", "VolSv", "PPV")
_SMP_CNT_LIMIT = 65536


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


def layout_or_reason(ied: Ied, data_set: DataSet) -> DataSetLayout | str:
    """The SV layout of ``data_set`` (members in order, one channel per value), or why the
    data set cannot be sent as sampled values."""
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
            return f"data set {data_set.name}: quality {member.reference} follows no value"
        if node is None:
            return f"data set {data_set.name}: member {member.reference} is a whole LN"
        leaf = _value_leaf(node, fcda.fc)
        if leaf is None:
            return (
                f"data set {data_set.name}: member {member.reference} has no INT32/FLOAT32 "
                "value for an SV channel"
            )
        wire = _WIRE_TYPES[leaf.btype]
        kind = _kind(fcda.ln_class, fcda.do_name.split(".")[0])
        do = node if isinstance(node, DataObject) else None
        if do is None and fcda.da_name:
            owner_path = member.reference.rsplit(".", len(fcda.da_name.split(".")))[0]
            owner = _find(ied, owner_path)
            do = owner if isinstance(owner, DataObject) else None
        has_quality = isinstance(node, DataObject) and any(
            isinstance(c, DataAttribute) and c.btype is BasicType.QUALITY and c.fc is fcda.fc
            for c in node.children
        )
        name = ".".join(p for p in (fcda.ln_name, fcda.do_name, fcda.da_name) if p)
        channels.append(Channel(name, wire, _scale(do, kind, wire), has_quality, kind))
        previous_do = ln_do
    if not channels:
        return f"data set {data_set.name} has no members usable as SV channels"
    channels = _with_phases_and_ratings(ied, data_set, channels)
    try:
        return DataSetLayout(data_set.name, tuple(channels))
    except LayoutError as error:
        return f"data set {data_set.name}: {error}"


_PHASE_HINT = re.compile(r"(?:phs|Phs|PHS)?([ABCN])$")
_RATINGS = {"current": "ARtg", "voltage": "VRtg"}


def _rated(ied: Ied, member_reference: str, kind: str) -> float | None:
    """The rated value (ARtg of a TCTR, VRtg of a TVTR: setMag) of the member's LN."""
    name = _RATINGS.get(kind)
    if name is None:
        return None
    ln_reference = member_reference.split(".", 1)[0]
    rating = _find(ied, f"{ln_reference}.{name}")
    if not isinstance(rating, DataObject):
        return None
    magnitude = rating.child("setMag")
    if isinstance(magnitude, DataAttribute):
        for leaf in ("f", "i"):
            value = magnitude.child(leaf)
            if isinstance(value, DataAttribute) and isinstance(value.value, int | float):
                rated = float(value.value)
                return rated if rated > 0 and math.isfinite(rated) else None
    return None


def _with_phases_and_ratings(ied: Ied, data_set: DataSet, channels: list[Channel]) -> list[Channel]:
    """Each current and voltage channel's phase (a phase letter ending the LN prefix or a
    data name, else by order within its kind: 1st A, 2nd B, 3rd C, 4th N, the 9-2LE
    TCTR1..4/TVTR1..4 arrangement, when the kind has 3 or 4 channels) and the rated value
    of its LN, so that publishing from SCL sends a balanced three-phase set."""
    kinds = [c.kind for c in channels]
    members = [m for m in data_set.members if not _is_quality(m)]
    out = []
    for index, channel in enumerate(channels):
        if channel.kind not in _RATINGS:
            out.append(channel)
            continue
        member = members[index] if index < len(members) else None
        phase = None
        if member is not None:
            for text in (member.fcda.prefix, member.fcda.do_name, member.fcda.da_name):
                hint = _PHASE_HINT.search(text.split(".")[-1]) if text else None
                if hint is not None:
                    phase = hint.group(1)
                    break
        same = [i for i, k in enumerate(kinds) if k == channel.kind]
        if phase is None and len(same) in (3, 4):
            phase = "ABCN"[same.index(index)]
        rated = None if member is None else _rated(ied, member.reference, channel.kind)
        out.append(
            Channel(
                channel.name,
                channel.type,
                channel.scale,
                channel.quality,
                channel.kind,
                phase,
                rated,
            )
        )
    return out


def _is_quality(member: object) -> bool:
    node = getattr(member, "node", None)
    return isinstance(node, DataAttribute) and node.btype is BasicType.QUALITY


def _find(ied: Ied, reference: str) -> object:
    try:
        return ied.find(reference)
    except ReferenceError61850:
        return None


def samples_per_period(
    svc: SampledValueControl, signal_frequency: float, edition: str = "2"
) -> int | str:
    """Samples per signal period of ``svc`` (what the SV runtime times frames with), or why
    the rate cannot be sent."""
    rate = svc.smp_rate
    if rate <= 0:
        return f"smpRate {rate}: a stream needs at least one sample"
    if svc.smp_mod is SmpMod.SEC_PER_SMP:
        return (
            f"smpMod SecPerSmp (one sample every {rate} s): the SV runtime sends at least "
            "1 sample/s, a whole number per signal period"
        )
    if svc.smp_mod is SmpMod.SMP_PER_SEC:
        ratio = rate / signal_frequency
        if not ratio.is_integer():
            return (
                f"{rate} samples/s is not a whole number of samples per "
                f"{signal_frequency:g} Hz period"
            )
        return int(ratio)
    per_second = rate * signal_frequency
    if per_second > _SMP_CNT_LIMIT:
        counted = (
            "an Edition 1 smpRate counts samples per period (Edition 1 has no smpMod)"
            if edition == "1"
            else "smpMod SmpPerPeriod"
        )
        hint = (
            f'; if {rate} is meant per second, the file needs version 2007 and smpMod="SmpPerSec"'
            if edition == "1"
            else ""
        )
        return (
            f"smpRate {rate}: {counted}, so {per_second:g} samples/s at {signal_frequency:g} "
            f"Hz, more than smpCnt (16 bits) can count{hint}"
        )
    return rate


def stream_or_reason(
    device: Ied,
    ld: LogicalDevice,
    svc: SampledValueControl,
    *,
    edition: str = "2",
    incomplete: frozenset[str] = frozenset(),
    signal_frequency: float = 50.0,
) -> StreamConfig | str:
    """The runtime stream description of one resolved SampledValueControl, or why the SV
    runtime cannot publish it."""
    if svc.address is None:
        if svc.routable_address is not None:
            return (
                f"routable SV (IEC 61850-90-5) to {svc.routable_address.ip}: described, "
                "the SV runtime publishes layer-2 streams only"
            )
        return "no SMV address in Communication"
    if not svc.dat_set:
        return "no data set"
    lln0 = ld.lln0
    data_set = lln0.data_set(svc.dat_set) if lln0 is not None else None
    if data_set is None:
        return f"data set {svc.dat_set!r} not found"
    if svc.dat_set in incomplete:
        return f"data set {svc.dat_set} lost members (see the errors at its FCDAs)"
    layout = layout_or_reason(device, data_set)
    if isinstance(layout, str):
        return layout
    per_period = samples_per_period(svc, signal_frequency, edition)
    if isinstance(per_period, str):
        return per_period
    if not 1 <= svc.nof_asdu <= 8:
        return f"nofASDU {svc.nof_asdu}: the SV runtime sends 1 to 8 ASDUs per frame"
    opts = svc.opts
    try:
        return StreamConfig(
            sv_id=svc.smv_id,
            layout=layout,
            dat_set=f"{ld.name}/LLN0${svc.dat_set}" if opts.data_set else None,
            conf_rev=svc.conf_rev,
            smp_rate=svc.smp_rate if opts.sample_rate and svc.smp_rate <= 0xFFFF else None,
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
    except StreamConfigError as error:
        return str(error)


__all__ = ["layout_or_reason", "samples_per_period", "stream_or_reason"]
