"""From SCL to the GOOSE runtime: a GSEControl + its GSE address + its data set becomes a
``GooseConfig`` (publisher) and a ``Subscription`` (subscriber); an IED's Inputs/ExtRef
with GOOSE sources become the subscriptions it needs.

References follow IEC 61850-8-1: gocbRef ``LDName/LLN0$GO$name``, datSet
``LDName/LLN0$DataSetName``, goID the GSEControl's ``appID`` (the gocbRef when empty).
Each FCDA's member type is its attribute's basic type, or the structure of the attributes
of its functional constraint under a data object (in SCL order), arrays kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gen61850.generated.goose.iec61850_8_1 import Data
from gen61850.generator.scl.diagnostics import Diagnostic, SclError, Severity
from gen61850.generator.scl.model import SclModel, load_scl
from gen61850.runtime.asn1types import BitString, UtcTime
from gen61850.runtime.device import (
    FC,
    BasicType,
    DataAttribute,
    DataObject,
    DataSet,
    DataSetMember,
    ExtRef,
    GseControl,
    Ied,
    LogicalDevice,
)
from gen61850.runtime.goose.publisher import (
    DEFAULT_MAX_TIME_MS,
    DEFAULT_MIN_TIME_MS,
    GooseConfig,
    PublisherError,
)
from gen61850.runtime.goose.receiver import Subscription
from gen61850.runtime.goose.values import ARRAY, MemberType, to_data
from gen61850.runtime.sv.quality import Quality


@dataclass(frozen=True)
class GooseControlBlock:
    """One GoCB ready for the runtime: how to publish it, how to subscribe to it, the data
    set's initial values (SCL ``Val`` or the type's zero), and where it was found."""

    ied: str
    reference: str
    """``LD/LLN0.NAME`` as the SCL names it (LD: the LDevice inst)."""
    config: GooseConfig
    subscription: Subscription
    initial: tuple[Any, ...]

    def initial_values(self) -> list[Data]:
        members = self.config.members or ()
        return [to_data(v, m) for v, m in zip(self.initial, members, strict=True)]


def _fail(model: SclModel, message: str) -> SclError:
    return SclError((Diagnostic(str(model.path), 0, Severity.ERROR, message),))


def attribute_type(attribute: DataAttribute, name: str | None = None) -> MemberType:
    """The member type of one DA (arrays and structures followed)."""
    label = attribute.name if name is None else name
    if attribute.btype is BasicType.STRUCT:
        inner = MemberType.struct([attribute_type(c) for c in attribute.components], label)
    else:
        inner = MemberType.basic(attribute.btype, label)
    if attribute.count:
        element = MemberType(inner.kind, "", inner.members, inner.count)
        return MemberType.array(element, attribute.count, label)
    return inner


def object_type(data_object: DataObject, fc: FC, name: str | None = None) -> MemberType:
    """A DO at a functional constraint: the structure of its attributes with ``fc`` (and of
    the sub-objects that have some), in SCL order."""
    parts: list[MemberType] = []
    for child in data_object.children:
        if isinstance(child, DataAttribute):
            if child.fc is fc:
                parts.append(attribute_type(child))
        elif fc in child.fcs():
            parts.append(object_type(child, fc))
    label = data_object.name if name is None else name
    inner = MemberType.struct(parts, label)
    if data_object.count:
        return MemberType.array(MemberType(inner.kind, "", inner.members), data_object.count, label)
    return inner


def member_type(member: DataSetMember) -> MemberType | None:
    """The type of one data set member (None when its FCDA names nothing)."""
    node = member.node
    if isinstance(node, DataAttribute):
        return attribute_type(node, member.fcda.path)
    if isinstance(node, DataObject):
        return object_type(node, member.fc, member.fcda.path)
    return None


def initial_value(member: MemberType, node: DataObject | DataAttribute | None) -> Any:
    """The value to publish first: SCL's ``Val`` where it gives one, else the type's zero."""
    if member.kind == ARRAY:
        return [initial_value(member.members[0], None) for _ in range(member.count)]
    if member.kind == BasicType.STRUCT.value:
        children: list[DataObject | DataAttribute | None] = [None] * len(member.members)
        if isinstance(node, DataAttribute | DataObject):
            children = [node.child(m.name) for m in member.members]
        return tuple(initial_value(m, c) for m, c in zip(member.members, children, strict=True))
    value = node.value if isinstance(node, DataAttribute) else None
    kind = BasicType(member.kind)
    if kind is BasicType.BOOLEAN:
        return bool(value) if isinstance(value, bool | int) else False
    if kind is BasicType.QUALITY:
        return Quality()
    if kind in (BasicType.TIMESTAMP, BasicType.ENTRYTIME):
        return UtcTime(0, 0, 0)
    if kind.is_float:
        return float(value) if isinstance(value, int | float) else 0.0
    if kind.is_integer:
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0
    if kind in (BasicType.CHECK, BasicType.TRGOPS, BasicType.OPTFLDS, BasicType.SVOPTFLDS):
        return BitString.from_bits("00" if kind is BasicType.CHECK else "0" * 6)
    if kind.python_type is bytes:
        return value if isinstance(value, bytes) else b""
    return value if isinstance(value, str) else ""


def _members(
    model: SclModel, ied: Ied, data_set: DataSet, where: str
) -> tuple[tuple[MemberType, ...], tuple[Any, ...]]:
    types: list[MemberType] = []
    initial: list[Any] = []
    for member in data_set.members:
        found = member_type(member)
        if found is None:
            raise _fail(model, f"{where}: data set member {member.reference} names nothing")
        types.append(found)
        initial.append(initial_value(found, member.node))
    return tuple(types), tuple(initial)


def gocb_reference(ld: LogicalDevice, gse: GseControl) -> str:
    return f"{ld.name}/LLN0$GO${gse.name}"


def control_block_of(
    model: SclModel, ied: Ied, ld: LogicalDevice, gse: GseControl
) -> GooseControlBlock:
    """The runtime view of one GSEControl of ``ld`` (its LLN0)."""
    where = f"IED {ied.name} {ld.inst}/LLN0.{gse.name}"
    if gse.type != "GOOSE":
        raise _fail(model, f"{where}: type {gse.type} is GSSE, not GOOSE")
    lln0 = ld.lln0
    data_set = lln0.data_set(gse.dat_set) if (lln0 is not None and gse.dat_set) else None
    if data_set is None:
        raise _fail(model, f"{where}: data set {gse.dat_set!r} not found")
    members, initial = _members(model, ied, data_set, where)
    address = gse.address
    if address is None:
        raise _fail(model, f"{where}: no GSE address in the Communication section")
    gocb_ref = gocb_reference(ld, gse)
    dat_set = f"{ld.name}/LLN0${data_set.name}"
    try:
        config = GooseConfig(
            gocb_ref,
            dat_set,
            go_id=gse.app_id or gocb_ref,
            conf_rev=gse.conf_rev,
            appid=address.appid,
            dst_mac=address.mac_colon,
            vlan_id=address.vlan_id,
            vlan_priority=address.vlan_priority,
            min_time_ms=address.min_time or DEFAULT_MIN_TIME_MS,
            max_time_ms=address.max_time or DEFAULT_MAX_TIME_MS,
            fixed_length=gse.fixed_offs,
            members=members,
        )
    except PublisherError as error:
        raise _fail(model, f"{where}: {error}") from None
    subscription = Subscription(
        gocb_ref,
        appid=address.appid,
        dat_set=dat_set,
        go_id=config.go_id,
        conf_rev=gse.conf_rev,
        members=members,
    )
    return GooseControlBlock(ied.name, f"{ld.inst}/LLN0.{gse.name}", config, subscription, initial)


def control_blocks(model: SclModel, ied: Ied) -> Iterator[GooseControlBlock | SclError]:
    """Every GOOSE control block of ``ied``, or the error that keeps it out."""
    for ld in ied.logical_devices:
        lln0 = ld.lln0
        for gse in lln0.gse_controls if lln0 is not None else ():
            try:
                yield control_block_of(model, ied, ld, gse)
            except SclError as error:
                yield error


def _find(model: SclModel, ied: Ied, gocb: str) -> tuple[LogicalDevice, GseControl]:
    ld_name, _, rest = gocb.partition("/")
    ln_name, _, cb_name = rest.partition(".")
    ld = ied.logical_device(ld_name)
    lln0 = ld.lln0 if ld is not None else None
    gse = next((g for g in lln0.gse_controls if g.name == cb_name), None) if lln0 else None
    if ld is None or gse is None or ln_name != "LLN0":
        known = [
            f"{d.inst}/LLN0.{g.name}"
            for d in ied.logical_devices
            for g in (d.lln0.gse_controls if d.lln0 is not None else ())
        ]
        raise _fail(
            model,
            f"no GSEControl {gocb!r} in IED {ied.name} (known: {', '.join(known) or 'none'})",
        )
    return ld, gse


def goose_control_for(scl_path: Path | str, ied: str, gocb: str) -> GooseControlBlock:
    """The GoCB ``LD/LLN0.NAME`` of IED ``ied`` (LD: the LDevice inst or its full name).
    Raises ``SclError`` (located) on any problem."""
    model = load_scl(Path(scl_path), validate=False)
    model.raise_on_errors()
    device = model.ied(ied)
    ld, gse = _find(model, device, gocb)
    return control_block_of(model, device, ld, gse)


@dataclass(frozen=True)
class GooseInput:
    """An ExtRef fed by GOOSE: which control block, and which data set member it reads."""

    ext_ref: ExtRef
    control: GooseControlBlock
    member: int
    """Index of the data set member holding the referenced data (or a structure around it)."""


def _source_control(model: SclModel, ref: ExtRef) -> tuple[GooseControlBlock, int] | None:
    """The GoCB an ExtRef reads from and the member index (None when nothing matches)."""
    try:
        source = model.ied(ref.ied_name)
    except SclError:
        return None
    wanted = ref.data_path
    for ld in source.logical_devices:
        lln0 = ld.lln0
        for gse in lln0.gse_controls if lln0 is not None else ():
            if ref.src_cb_name and (
                gse.name != ref.src_cb_name or ld.inst != (ref.src_ld_inst or ref.ld_inst)
            ):
                continue
            data_set = lln0.data_set(gse.dat_set) if (lln0 and gse.dat_set) else None
            if data_set is None:
                continue
            for index, member in enumerate(data_set.members):
                path = f"{member.fcda.ld_inst}/{member.fcda.path}"
                if path == wanted or wanted.startswith(path + "."):
                    try:
                        return control_block_of(model, source, ld, gse), index
                    except SclError:
                        return None
    return None


def inputs_of(model: SclModel, ied: Ied) -> list[GooseInput]:
    """Every bound Inputs/ExtRef of ``ied`` whose data one of the file's GoCBs carries."""
    found: list[GooseInput] = []
    for ld in ied.logical_devices:
        for ln in ld.logical_nodes:
            for ref in ln.inputs:
                if not ref.is_bound or ref.service_type not in ("", "GOOSE"):
                    continue
                source = _source_control(model, ref)
                if source is not None:
                    found.append(GooseInput(ref, source[0], source[1]))
    return found


def subscriptions_for(scl_path: Path | str, ied: str) -> list[Subscription]:
    """The GOOSE subscriptions IED ``ied`` needs for its Inputs (one per control block)."""
    model = load_scl(Path(scl_path), validate=False)
    model.raise_on_errors()
    device = model.ied(ied)
    unique: dict[str, Subscription] = {}
    for goose_input in inputs_of(model, device):
        subscription = goose_input.control.subscription
        unique.setdefault(subscription.gocb_ref, subscription)
    return list(unique.values())


__all__ = [
    "GooseControlBlock",
    "GooseInput",
    "attribute_type",
    "control_block_of",
    "control_blocks",
    "goose_control_for",
    "inputs_of",
    "member_type",
    "object_type",
    "subscriptions_for",
]


@dataclass(frozen=True)
class GooseView:
    """What ``templates/device/goose.py.j2`` prints for one IED: Python expressions."""

    ied_name: str
    publishers: tuple[tuple[str, str], ...]
    subscriptions: tuple[tuple[str, str], ...]
    inputs: tuple[tuple[str, tuple[tuple[str, str, int], ...]], ...]
    left_out: tuple[str, ...]


def goose_view(model: SclModel, ied: Ied) -> GooseView:
    """The GOOSE part of an IED's device package (control blocks that cannot be used are
    listed in ``left_out`` with the reason, not generated)."""
    publishers: list[tuple[str, str]] = []
    left_out: list[str] = []
    for block in control_blocks(model, ied):
        if isinstance(block, SclError):
            left_out += [d.message for d in block.diagnostics]
        else:
            publishers.append((block.reference, repr(block.config)))
    subscriptions: dict[str, str] = {}
    inputs: dict[str, list[tuple[str, str, int]]] = {}
    for goose_input in inputs_of(model, ied):
        subscription = goose_input.control.subscription
        subscriptions.setdefault(subscription.gocb_ref, repr(subscription))
        ref = goose_input.ext_ref
        owner = next(
            f"{ld.inst}/{ln.name}"
            for ld in ied.logical_devices
            for ln in ld.logical_nodes
            if ref in ln.inputs
        )
        inputs.setdefault(owner, []).append(
            (ref.int_addr, subscription.gocb_ref, goose_input.member)
        )
    return GooseView(
        ied.name,
        tuple(publishers),
        tuple(sorted(subscriptions.items())),
        tuple((k, tuple(v)) for k, v in inputs.items()),
        tuple(left_out),
    )
