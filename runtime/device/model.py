"""The data model tree of one IED: IED → access point → LD → LN → DO → DA, types resolved.

Plain frozen dataclasses, built by the SCL reader (``gen61850.generator.scl``) and by the
device packages it generates; the 8-2 server serves them. Every node knows its name; its
object reference (``LD/LN.DO.DA``) is computed while walking, so subtrees stay shareable.
Look-ups: ``ied.find("LD0/LLN0.Mod.stVal")``; walking: ``ied.walk()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gen61850.runtime.device.address import Address, EthernetAddress
from gen61850.runtime.device.controls import (
    DataSet,
    GseControl,
    LogControl,
    ReportControl,
    SampledValueControl,
    SettingControl,
)
from gen61850.runtime.device.inputs import ExtRef
from gen61850.runtime.device.types import FC, BasicType, Value
from gen61850.runtime.errors import Gen61850Error


class ReferenceError61850(Gen61850Error, LookupError):
    """An object reference that names nothing in the model."""


@dataclass(frozen=True, slots=True)
class EnumType:
    """An SCL EnumType: ordinal → literal, in declaration order."""

    id: str
    values: tuple[tuple[int, str], ...]

    def literal(self, ordinal: int) -> str | None:
        return next((name for o, name in self.values if o == ordinal), None)

    def ordinal(self, literal: str) -> int | None:
        return next((o for o, name in self.values if name == literal), None)


@dataclass(frozen=True, slots=True)
class DataAttribute:
    """A DA (or BDA inside a struct): functional constraint, basic type, array size, value.

    ``count`` is 0 for a scalar and the array size otherwise. ``type_id`` names the DAType
    (for ``Struct``) or EnumType (for ``Enum``); ``components`` are the BDAs of a struct,
    which share the attribute's FC. ``value`` is the initial value (DAI over DA default);
    for an array of a basic type it is a tuple of ``count`` element values. ``elements``:
    for an array of structs given per-element values (``SDI ix=``), one scalar copy per
    element with its values; empty when every element is like ``components``.
    ``group_values``: a setting's value per setting group, (group, value) from the DAI's
    ``Val sGroup=``, in group order; empty when the DAI gives none.
    """

    name: str
    fc: FC
    btype: BasicType
    type_id: str | None = None
    count: int = 0
    value: Value | None = None
    enum: EnumType | None = None
    components: tuple[DataAttribute, ...] = ()
    dchg: bool = False
    qchg: bool = False
    dupd: bool = False
    value_kind: str = "Set"
    elements: tuple[DataAttribute, ...] = ()
    group_values: tuple[tuple[int, Value], ...] = ()

    @property
    def is_struct(self) -> bool:
        return self.btype is BasicType.STRUCT

    def child(self, name: str) -> DataAttribute | None:
        return next((c for c in self.components if c.name == name), None)


@dataclass(frozen=True, slots=True)
class DataObject:
    """A DO or SDO: its DOType id, CDC, array size, and children (SDOs and DAs) in order.

    ``elements``: for an array given per-element values (``SDI ix=``), one scalar copy per
    element with its values; empty when every element is like ``children``.
    """

    name: str
    type_id: str
    cdc: str
    count: int = 0
    children: tuple[DataObject | DataAttribute, ...] = ()
    elements: tuple[DataObject, ...] = ()

    @property
    def attributes(self) -> tuple[DataAttribute, ...]:
        return tuple(c for c in self.children if isinstance(c, DataAttribute))

    @property
    def sub_objects(self) -> tuple[DataObject, ...]:
        return tuple(c for c in self.children if isinstance(c, DataObject))

    def child(self, name: str) -> DataObject | DataAttribute | None:
        return next((c for c in self.children if c.name == name), None)

    def fcs(self) -> frozenset[FC]:
        """Every functional constraint used below this object."""
        found: set[FC] = set()
        for node in self.children:
            if isinstance(node, DataAttribute):
                found.add(node.fc)
            else:
                found |= node.fcs()
        return frozenset(found)


Node = DataObject | DataAttribute


@dataclass(frozen=True, slots=True)
class LogicalNode:
    """An LN or LN0: class, prefix, instance, resolved data objects, its control blocks and
    its external references (``inputs``: the Inputs/ExtRef it subscribes to)."""

    ln_class: str
    ln_type: str
    prefix: str = ""
    inst: str = ""
    desc: str = ""
    data_objects: tuple[DataObject, ...] = ()
    data_sets: tuple[DataSet, ...] = ()
    report_controls: tuple[ReportControl, ...] = ()
    log_controls: tuple[LogControl, ...] = ()
    gse_controls: tuple[GseControl, ...] = ()
    sv_controls: tuple[SampledValueControl, ...] = ()
    setting_control: SettingControl | None = None
    inputs: tuple[ExtRef, ...] = ()

    @property
    def name(self) -> str:
        """``prefix + lnClass + inst`` (``LLN0``, ``MMXU1``, ``PTOC2``)."""
        return f"{self.prefix}{self.ln_class}{self.inst}"

    def child(self, name: str) -> DataObject | None:
        return next((d for d in self.data_objects if d.name == name), None)

    def data_set(self, name: str) -> DataSet | None:
        return next((d for d in self.data_sets if d.name == name), None)

    def control(
        self, name: str
    ) -> ReportControl | LogControl | GseControl | SampledValueControl | None:
        """A control block of this LN by name."""
        blocks: tuple[ReportControl | LogControl | GseControl | SampledValueControl, ...] = (
            *self.report_controls,
            *self.log_controls,
            *self.gse_controls,
            *self.sv_controls,
        )
        return next((b for b in blocks if b.name == name), None)


@dataclass(frozen=True, slots=True)
class LogicalDevice:
    """An LDevice: ``name`` is its full name (ldName, or IED name + inst), LLN0 first."""

    inst: str
    name: str
    desc: str = ""
    logical_nodes: tuple[LogicalNode, ...] = ()

    def child(self, name: str) -> LogicalNode | None:
        return next((n for n in self.logical_nodes if n.name == name), None)

    @property
    def lln0(self) -> LogicalNode | None:
        return self.child("LLN0")


@dataclass(frozen=True, slots=True)
class AccessPoint:
    """An access point with its server's LDs and, when the SCL connects it, its addresses."""

    name: str
    logical_devices: tuple[LogicalDevice, ...] = ()
    subnetwork: str | None = None
    address: Address | None = None
    gse_addresses: tuple[tuple[str, str, EthernetAddress], ...] = ()
    smv_addresses: tuple[tuple[str, str, EthernetAddress], ...] = ()


@dataclass(frozen=True, slots=True)
class Ied:
    """One IED: identity, access points and the enum types its model uses."""

    name: str
    manufacturer: str = ""
    type: str = ""
    config_version: str = ""
    desc: str = ""
    access_points: tuple[AccessPoint, ...] = ()
    enum_types: tuple[EnumType, ...] = field(default=())

    @property
    def logical_devices(self) -> tuple[LogicalDevice, ...]:
        """The LDs of every access point, in document order."""
        return tuple(ld for ap in self.access_points for ld in ap.logical_devices)

    def logical_device(self, name: str) -> LogicalDevice | None:
        """By full name (``IED1LD0``) or by inst (``LD0``)."""
        lds = self.logical_devices
        return next((ld for ld in lds if ld.name == name), None) or next(
            (ld for ld in lds if ld.inst == name), None
        )

    def access_point_of(self, ld: LogicalDevice) -> AccessPoint | None:
        return next((ap for ap in self.access_points if ld in ap.logical_devices), None)

    def find(
        self, reference: str
    ) -> (
        LogicalDevice
        | LogicalNode
        | DataObject
        | DataAttribute
        | DataSet
        | ReportControl
        | LogControl
        | GseControl
        | SampledValueControl
    ):
        """Resolve ``LD``, ``LD/LN``, ``LD/LN.DO[.SDO][.DA[.BDA]]`` or ``LD/LN.CB_or_DS``.

        Raises ``ReferenceError61850`` naming the first part that does not exist.
        """
        ld_name, _, rest = reference.partition("/")
        ld = self.logical_device(ld_name)
        if ld is None:
            raise ReferenceError61850(f"{reference}: no logical device {ld_name!r} in {self.name}")
        if not rest:
            return ld
        ln_name, *path = rest.split(".")
        ln = ld.child(ln_name)
        if ln is None:
            raise ReferenceError61850(f"{reference}: no logical node {ln_name!r} in {ld.name}")
        if not path:
            return ln
        first = ln.child(path[0])
        if first is None:
            other = ln.data_set(path[0]) or ln.control(path[0])
            if other is not None and len(path) == 1:
                return other
            raise ReferenceError61850(f"{reference}: no {path[0]!r} in {ld.name}/{ln.name}")
        node: Node = first
        for part in path[1:]:
            nxt = node.child(part)
            if nxt is None:
                raise ReferenceError61850(f"{reference}: no {part!r} below {node.name!r}")
            node = nxt
        return node

    def walk(self) -> Iterator[tuple[str, Node]]:
        """Every DO and DA with its object reference, depth first, in document order."""
        for ld in self.logical_devices:
            for ln in ld.logical_nodes:
                for do in ln.data_objects:
                    yield from walk_node(f"{ld.name}/{ln.name}", do)


def walk_node(parent: str, node: Node) -> Iterator[tuple[str, Node]]:
    """``node`` and everything below it, with references built from ``parent``."""
    reference = f"{parent}.{node.name}"
    yield reference, node
    children: tuple[Node, ...] = node.children if isinstance(node, DataObject) else node.components
    for child in children:
        yield from walk_node(reference, child)


__all__ = [
    "AccessPoint",
    "DataAttribute",
    "DataObject",
    "EnumType",
    "Ied",
    "LogicalDevice",
    "LogicalNode",
    "Node",
    "ReferenceError61850",
    "walk_node",
]
