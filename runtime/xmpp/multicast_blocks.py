"""GOOSE and SV control blocks over 8-2: Get/SetGoCBValues and Get/SetMSVCBValues.

Each GSEControl of type GOOSE is a GoCB (FC ``GO``) and each multicast SampledValueControl
an MSVCB (FC ``MS``) of its logical node, named variables with these attributes, in order:

- GoCB: GoEna, GoID, DatSet, ConfRev, NdsCom, DstAddress, MinTime, MaxTime, FixedOffs
- MSVCB: SvEna, MsvID, DatSet, ConfRev, SmpMod, SmpRate, OptFlds, DstAddress, noASDU

DstAddress is the structure Addr (6 octets), PRIORITY, VID, APPID, from the SCL's
Communication section. A client may write GoEna, GoID and DatSet of a GoCB, and SvEna,
MsvID, SmpMod, SmpRate and OptFlds of an MSVCB; the rest is read-only (object-access-
denied); while enabled only the enabling attribute (temporarily-unavailable otherwise).
GoEna TRUE starts the real GOOSE publisher of the GoCB (``goose_runner``) on the interface
the server was given, with the GSEControl and GSE address of the SCL, GoID, DatSet, ConfRev
and NdsCom as they are now and the data set's values; every later transaction of the value
store that raises a trigger (dchg, qchg, dupd) on a member of that data set is a new GOOSE
state. SvEna TRUE starts the real SV publisher of the MSVCB (``sv_runner``) likewise, with
the stream the SCL describes and MsvID, ConfRev, SmpRate and the OptFlds as they are now.
FALSE stops either. A server given no interface for it refuses the enable with
temporarily-unavailable: nothing would be sent.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from gen61850.generated.goose import iec61850_8_1 as goose
from gen61850.generated.scsm_8_2.bindings import Data, TypeDescription
from gen61850.runtime.device import (
    FC,
    BasicType,
    DataAttribute,
    EthernetAddress,
    GseControl,
    SampledValueControl,
    SmpMod,
)
from gen61850.runtime.device.store import Change, DataSetRef, Trigger
from gen61850.runtime.goose.publisher import GooseConfig, PublisherError
from gen61850.runtime.sv.frame import parse_mac
from gen61850.runtime.sv.stream import StreamConfig, StreamConfigError
from gen61850.runtime.xmpp.goose_runner import GooseValueError, goose_data
from gen61850.runtime.xmpp.mapping import DataAccessError
from gen61850.runtime.xmpp.model import AccessFailure, ServedModel
from gen61850.runtime.xmpp.scope import CallContext
from gen61850.runtime.xmpp.values import (
    ValueMismatch,
    data_to_scalar,
    leaf_type_description,
    scalar_to_data,
    structure,
    structure_description,
)

log = logging.getLogger(__name__)
DST_ADDRESS = (
    ("Addr", BasicType.OCTET6),
    ("PRIORITY", BasicType.INT8U),
    ("VID", BasicType.INT16U),
    ("APPID", BasicType.INT16U),
)
GOCB_ATTRIBUTES: tuple[tuple[str, BasicType], ...] = (
    ("GoEna", BasicType.BOOLEAN),
    ("GoID", BasicType.VISSTRING129),
    ("DatSet", BasicType.VISSTRING129),
    ("ConfRev", BasicType.INT32U),
    ("NdsCom", BasicType.BOOLEAN),
    ("DstAddress", BasicType.STRUCT),
    ("MinTime", BasicType.INT32U),
    ("MaxTime", BasicType.INT32U),
    ("FixedOffs", BasicType.BOOLEAN),
)
MSVCB_ATTRIBUTES: tuple[tuple[str, BasicType], ...] = (
    ("SvEna", BasicType.BOOLEAN),
    ("MsvID", BasicType.VISSTRING129),
    ("DatSet", BasicType.VISSTRING129),
    ("ConfRev", BasicType.INT32U),
    ("SmpMod", BasicType.ENUM),
    ("SmpRate", BasicType.INT16U),
    ("OptFlds", BasicType.SVOPTFLDS),
    ("DstAddress", BasicType.STRUCT),
    ("noASDU", BasicType.INT16U),
)
WRITABLE = {
    "GO": ("GoEna", "GoID", "DatSet"),
    "MS": ("SvEna", "MsvID", "SmpMod", "SmpRate", "OptFlds"),
}
# SvOptFlds (5 bits): refresh-time, sample-synchronized (reserved in Ed. 2), sample-rate,
# data-set, security
SV_OPT_FIELDS = ("refresh-time", "sample-synchronized", "sample-rate", "data-set", "security")


class SvControl(Protocol):
    """What starts and stops the SV publisher of an MSVCB (``sv_runner.SvRunner`` per block)."""

    def start(self, config: StreamConfig) -> None: ...
    def stop(self) -> None: ...


class GooseControl(Protocol):
    """What starts, feeds and stops the GOOSE publisher of a GoCB (``GooseRunner``)."""

    def start(self, config: GooseConfig, values: list[goose.Data]) -> None: ...
    def publish(self, values: list[goose.Data]) -> None: ...
    def stop(self) -> None: ...


@dataclass
class MulticastBlock:
    """A GoCB or MSVCB: where it is and its attribute values now."""

    fc: str  # "GO" or "MS"
    domain: str
    ln: str
    name: str
    values: dict[str, Any]
    stream: StreamConfig | None = None  # MSVCB: what the SCL describes
    runner: SvControl | None = None
    goose: GooseConfig | None = None  # GoCB: what the SCL describes
    goose_runner: GooseControl | None = None
    data_set: DataSetRef | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def item(self) -> str:
        return f"{self.ln}${self.fc}${self.name}"

    @property
    def reference(self) -> str:
        return f"{self.domain}/{self.item}"

    @property
    def attributes(self) -> tuple[tuple[str, BasicType], ...]:
        return GOCB_ATTRIBUTES if self.fc == "GO" else MSVCB_ATTRIBUTES

    @property
    def enable(self) -> str:
        return "GoEna" if self.fc == "GO" else "SvEna"


def _dst_address(address: EthernetAddress | None) -> dict[str, Any]:
    if address is None:
        return {"Addr": bytes(6), "PRIORITY": 0, "VID": 0, "APPID": 0}
    return {
        "Addr": parse_mac(address.mac),
        "PRIORITY": address.vlan_priority,
        "VID": address.vlan_id,
        "APPID": address.appid,
    }


def _sv_opt_flds(svc: SampledValueControl) -> int:
    opts = svc.opts
    flags = (
        opts.refresh_time,
        opts.sample_synchronized,
        opts.sample_rate,
        opts.data_set,
        opts.security,
    )
    return int("".join("1" if f else "0" for f in flags), 2)


class MulticastBlocks:
    """Every GoCB and MSVCB of one served model, as named variables with their rules.

    ``streams`` maps an MSVCB reference (``LD/LLN0$MS$name``) to the stream the SV runtime
    publishes for it, ``runners`` the same references to what starts and stops it;
    ``gooses`` and ``goose_runners`` the same for GoCBs (``LD/LLN0$GO$name``).
    """

    def __init__(
        self,
        model: ServedModel,
        streams: dict[str, StreamConfig] | None = None,
        runners: dict[str, SvControl] | None = None,
        gooses: dict[str, GooseConfig] | None = None,
        goose_runners: dict[str, GooseControl] | None = None,
    ) -> None:
        self.model = model
        self.blocks: dict[str, MulticastBlock] = {}
        self._guarding = False
        self._publishing: dict[str, MulticastBlock] = {}  # GoCBs with GoEna TRUE
        streams, runners = streams or {}, runners or {}
        gooses, goose_runners = gooses or {}, goose_runners or {}
        for ld in model.ied.logical_devices:
            for ln in ld.logical_nodes:
                for gse in ln.gse_controls:
                    if gse.type == "GOOSE":
                        block = self._gocb(ld.name, ln.name, gse)
                        block.goose = gooses.get(block.reference)
                        block.goose_runner = goose_runners.get(block.reference)
                        self._add(block)
                for svc in ln.sv_controls:
                    if svc.multicast:
                        block = self._msvcb(ld.name, ln.name, svc)
                        block.stream = streams.get(block.reference)
                        block.runner = runners.get(block.reference)
                        self._add(block)

    def _data_set(self, domain: str, ln: str, name: str | None) -> DataSetRef | None:
        if not name:
            return None
        ref = DataSetRef(domain, f"{ln}${name}")
        return ref if self.model.store.data_set(ref) is not None else None

    def _gocb(self, domain: str, ln: str, gse: GseControl) -> MulticastBlock:
        data_set = self._data_set(domain, ln, gse.dat_set)
        address = gse.address
        return MulticastBlock(
            "GO",
            domain,
            ln,
            gse.name,
            {
                "GoEna": False,
                "GoID": gse.app_id,
                "DatSet": data_set.reference if data_set else "",
                "ConfRev": gse.conf_rev,
                "NdsCom": data_set is None,
                "DstAddress": _dst_address(address),
                "MinTime": (address.min_time if address and address.min_time else 0),
                "MaxTime": (address.max_time if address and address.max_time else 0),
                "FixedOffs": gse.fixed_offs,
            },
            data_set=data_set,
        )

    def _msvcb(self, domain: str, ln: str, svc: SampledValueControl) -> MulticastBlock:
        data_set = self._data_set(domain, ln, svc.dat_set)
        return MulticastBlock(
            "MS",
            domain,
            ln,
            svc.name,
            {
                "SvEna": False,
                "MsvID": svc.smv_id,
                "DatSet": data_set.reference if data_set else "",
                "ConfRev": svc.conf_rev,
                "SmpMod": svc.smp_mod.code,
                "SmpRate": svc.smp_rate,
                "OptFlds": _sv_opt_flds(svc),
                "DstAddress": _dst_address(svc.address),
                "noASDU": svc.nof_asdu,
            },
            data_set=data_set,
        )

    def _add(self, block: MulticastBlock) -> None:
        self.blocks[block.reference] = block
        names = [block.item]
        for name, btype in block.attributes:
            names.append(f"{block.item}${name}")
            if btype is BasicType.STRUCT:
                names.extend(f"{block.item}${name}${c}" for c, _ in DST_ADDRESS)
        provider = MulticastBlockProvider(self, block)
        self.model.provide(block.domain, block.item, provider, names)
        if not self._guarding:
            self._guarding = True
            self.model.store.guard_deletion(self._data_set_in_use)
            self.model.store.subscribe(self._changed)

    def _data_set_in_use(self, ref: DataSetRef) -> str | None:
        user = next((b for b in self.blocks.values() if b.data_set == ref), None)
        return f"used by {user.reference}" if user is not None else None

    # ------------------------------------------------------------ writes

    def write(self, block: MulticastBlock, name: str, value: Any, call: CallContext) -> None:
        """One attribute of SetGoCBValues / SetMSVCBValues (AccessFailure when refused)."""
        if name not in WRITABLE[block.fc]:
            raise AccessFailure(DataAccessError.OBJECT_ACCESS_DENIED)
        enabled = bool(block.values[block.enable])
        if enabled and name != block.enable:
            raise AccessFailure(DataAccessError.TEMPORARILY_UNAVAILABLE)
        if name == "DatSet":
            self._set_data_set(block, str(value))
        elif name == "GoEna":
            self._goose_enable(block, bool(value))
        elif name == "SvEna":
            self._sv_enable(block, bool(value))
        elif name == "SmpMod":
            if value not in (code.code for code in SmpMod):
                raise AccessFailure(DataAccessError.OBJECT_VALUE_INVALID)
            block.values[name] = value
        elif name == "SmpRate" and value < 1:
            raise AccessFailure(DataAccessError.OBJECT_VALUE_INVALID)
        else:
            block.values[name] = value

    def _set_data_set(self, block: MulticastBlock, text: str) -> None:
        domain, slash, name = text.partition("/")
        ref = DataSetRef(domain, name) if slash else None
        if text and (ref is None or self.model.store.data_set(ref) is None):
            raise AccessFailure(DataAccessError.OBJECT_VALUE_INVALID)
        if ref != block.data_set:
            block.data_set = ref
            block.values["DatSet"] = ref.reference if ref else ""
            block.values["ConfRev"] += 1
            block.values["NdsCom"] = ref is None

    def _goose_enable(self, block: MulticastBlock, on: bool) -> None:
        if not on:
            if block.goose_runner is not None:
                block.goose_runner.stop()
            block.values["GoEna"] = False
            self._publishing.pop(block.reference, None)
            return
        if block.values["GoEna"]:  # already publishing: the curve goes on as it is
            return
        if block.values["NdsCom"]:  # needs commissioning: no valid data set
            raise AccessFailure(DataAccessError.OBJECT_VALUE_INVALID)
        if block.goose_runner is None or block.goose is None:
            # this server publishes no GOOSE for it (no interface, or no address in the SCL)
            raise AccessFailure(DataAccessError.TEMPORARILY_UNAVAILABLE)
        try:
            config = self.goose_now(block)
            block.goose_runner.start(config, self.goose_values(block))
        except (PublisherError, GooseValueError) as error:
            log.error("%s: GOOSE cannot be published: %s", block.reference, error)
            raise AccessFailure(DataAccessError.OBJECT_VALUE_INVALID) from None
        except AccessFailure as failure:  # a data set member that cannot be read
            log.error("%s: a data set member cannot be read: %s", block.reference, failure)
            raise AccessFailure(DataAccessError.OBJECT_VALUE_INVALID) from None
        except OSError as error:  # NetError included
            log.error("%s: the GOOSE publisher did not start: %s", block.reference, error)
            raise AccessFailure(DataAccessError.TEMPORARILY_UNAVAILABLE) from None
        block.values["GoEna"] = True
        self._publishing[block.reference] = block

    def goose_now(self, block: MulticastBlock) -> GooseConfig:
        """The SCL's GoCB with GoID, DatSet and ConfRev as they are now. Another data set
        than the SCL's with FixedOffs cannot be laid out: PublisherError."""
        assert block.goose is not None
        values, base = block.values, block.goose
        dat_set = str(values["DatSet"])
        members = base.members
        if dat_set != base.dat_set:
            if base.fixed_length:
                raise PublisherError(
                    f"FixedOffs with data set {dat_set} (the SCL lays out {base.dat_set} only)"
                )
            members = None
        return dataclasses.replace(
            base,
            go_id=str(values["GoID"]) or None,
            dat_set=dat_set,
            conf_rev=int(values["ConfRev"]),
            nds_com=bool(values["NdsCom"]),
            members=members,
        )

    def goose_values(self, block: MulticastBlock) -> list[goose.Data]:
        """The GoCB's data set values now, as GOOSE carries them."""
        assert block.data_set is not None
        named = self.model.store.data_set(block.data_set)
        assert named is not None
        return [
            goose_data(self.model.read_member(member), f"{block.data_set.reference}[{i}]")
            for i, member in enumerate(named.members)
        ]

    def _changed(self, changes: list[Change]) -> None:
        """A transaction of the value store: a new GOOSE state of each enabled GoCB whose
        data set it touches with a trigger."""
        if not self._publishing:  # the common case: no GOOSE is being published
            return
        touched: set[DataSetRef] = set()
        store = self.model.store
        for change in changes:
            if change.trigger is not Trigger.NONE:
                touched.update(ref for ref, _ in store.members_of(change.key))
        if not touched:
            return
        for block in list(self._publishing.values()):
            if block.data_set in touched and block.goose_runner is not None:
                try:
                    block.goose_runner.publish(self.goose_values(block))
                except (AccessFailure, GooseValueError, OSError) as error:
                    log.error("%s: GOOSE state not sent: %s", block.reference, error)

    def _sv_enable(self, block: MulticastBlock, on: bool) -> None:
        if not on:
            if block.runner is not None:
                block.runner.stop()
            block.values["SvEna"] = False
            return
        if block.runner is None or block.stream is None:
            # this server publishes no SV for it (no interface, or no stream from the SCL)
            raise AccessFailure(DataAccessError.TEMPORARILY_UNAVAILABLE)
        try:
            config = self.stream_now(block)
            block.runner.start(config)
        except (StreamConfigError, ValueError):
            raise AccessFailure(DataAccessError.OBJECT_VALUE_INVALID) from None
        except OSError as error:
            log.error("%s: the SV publisher did not start: %s", block.reference, error)
            raise AccessFailure(DataAccessError.TEMPORARILY_UNAVAILABLE) from None
        block.values["SvEna"] = True

    def stream_now(self, block: MulticastBlock) -> StreamConfig:
        """The SCL's stream with MsvID, ConfRev, SmpMod/SmpRate and OptFlds as they are."""
        assert block.stream is not None
        values, base = block.values, block.stream
        opts = values["OptFlds"]
        rate, mode = values["SmpRate"], values["SmpMod"]
        if mode == SmpMod.SMP_PER_PERIOD.code:
            per_period = rate
        elif (
            mode == SmpMod.SMP_PER_SEC.code
            and rate / base.signal_frequency == rate // base.signal_frequency
        ):
            per_period = int(rate // base.signal_frequency)
        else:
            raise ValueError(f"SmpMod {mode} with SmpRate {rate} cannot be published")
        return dataclasses.replace(
            base,
            sv_id=values["MsvID"],
            conf_rev=values["ConfRev"],
            samples_per_period=per_period,
            refr_tm=bool(opts & 0b10000),
            smp_rate=rate if opts & 0b00100 else None,
            smp_mod=(mode if mode else None) if opts & 0b00100 else None,
            dat_set=values["DatSet"] or None if opts & 0b00010 else None,
        )

    def close(self) -> None:
        """Stop every GOOSE and SV publisher (the server stops)."""
        for block in self.blocks.values():
            if block.runner is not None and block.values.get("SvEna"):
                block.runner.stop()
                block.values["SvEna"] = False
            if block.goose_runner is not None and block.values.get("GoEna"):
                block.goose_runner.stop()
                block.values["GoEna"] = False
        self._publishing.clear()


class MulticastBlockProvider:
    """The named variables of one GoCB or MSVCB."""

    def __init__(self, blocks: MulticastBlocks, block: MulticastBlock) -> None:
        self.blocks = blocks
        self.block = block

    def _path(self, item: str) -> list[str]:
        rest = item.removeprefix(self.block.item)
        path = [p for p in rest.split("$") if p]
        types = dict(self.block.attributes)
        if path and (
            path[0] not in types
            or (
                len(path) == 2
                and (types[path[0]] is not BasicType.STRUCT or path[1] not in dict(DST_ADDRESS))
            )
            or len(path) > 2
        ):
            raise AccessFailure(DataAccessError.OBJECT_NON_EXISTENT)
        return path

    def read(self, domain: str, item: str, call: CallContext | None) -> Data:
        path = self._path(item)
        values = self.block.values
        if not path:
            return structure([self._value(n, t, values[n]) for n, t in self.block.attributes])
        name = path[0]
        btype = dict(self.block.attributes)[name]
        if len(path) == 2:
            return scalar_to_data(dict(DST_ADDRESS)[path[1]], values[name][path[1]])
        return self._value(name, btype, values[name])

    def _value(self, name: str, btype: BasicType, value: Any) -> Data:
        if btype is BasicType.STRUCT:
            return structure([scalar_to_data(t, value[c]) for c, t in DST_ADDRESS])
        return scalar_to_data(btype, value)

    def write(self, domain: str, item: str, data: Data, call: CallContext) -> None:
        path = self._path(item)
        if len(path) != 1:
            raise AccessFailure(DataAccessError.OBJECT_ACCESS_DENIED)
        btype = dict(self.block.attributes)[path[0]]
        if btype is BasicType.STRUCT:
            raise AccessFailure(DataAccessError.OBJECT_ACCESS_DENIED)
        try:
            value = data_to_scalar(btype, data)
        except ValueMismatch:
            raise AccessFailure(DataAccessError.TYPE_INCONSISTENT) from None
        self.blocks.write(self.block, path[0], value, call)

    def type_description(self, domain: str, item: str) -> TypeDescription:
        path = self._path(item)
        fc = FC.GO if self.block.fc == "GO" else FC.SV

        def leaf(name: str, btype: BasicType) -> TypeDescription:
            return leaf_type_description(DataAttribute(name, fc, btype))

        def dst() -> TypeDescription:
            return structure_description([(c, leaf(c, t)) for c, t in DST_ADDRESS])

        if not path:
            return structure_description(
                [
                    (n, dst() if t is BasicType.STRUCT else leaf(n, t))
                    for n, t in self.block.attributes
                ]
            )
        btype = dict(self.block.attributes)[path[0]]
        if len(path) == 2:
            return leaf(path[1], dict(DST_ADDRESS)[path[1]])
        return dst() if btype is BasicType.STRUCT else leaf(path[0], btype)


__all__ = [
    "GOCB_ATTRIBUTES",
    "MSVCB_ATTRIBUTES",
    "GooseControl",
    "MulticastBlock",
    "MulticastBlockProvider",
    "MulticastBlocks",
    "SvControl",
]
