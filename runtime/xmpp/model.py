"""The model an 8-2 server serves: an IED's data as MMS domains and named variables, with values.

Built from the typed device model (``gen61850.runtime.device.Ied``, read from SCL): a logical
device is a domain, a logical node a named variable whose first level is the functional
constraint (MMS order), data sets named variable lists, control blocks named variables that
object providers answer for. Values start from the SCL initial values, can be set by the
application (``set_value``, ``set_values``, ``set_status``) and by clients (writes on
writable FCs, of attributes whose valKind allows it); the application is told of client
writes (``on_write``).

Values and data sets live in a protocol-neutral ``ValueStore`` (``runtime/device/store.py``:
leaf index, transactions, change feed, data-set membership) that reports, logs and control
blocks subscribe to. This module is its 8-2 boundary: every value that enters (SCL, client,
application) is checked as MMS carries it and kept normalised; data sets are created and
deleted under the 7-2/8-1 naming rules and limits; object providers (control blocks,
control objects) answer for the names they own. No I/O.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gen61850.generated.scsm_8_2.bindings import Data, TypeDescription
from gen61850.runtime.device import (
    FC,
    MAX_NAME_LENGTH,
    BasicType,
    DataAttribute,
    DataObject,
    DataSetMember,
    Ied,
    LogicalNode,
    Node,
    TimeQuality,
    mms_items,
)
from gen61850.runtime.device.setting_groups import with_setting_views
from gen61850.runtime.device.store import (
    Change,
    DataSetRef,
    Member,
    Misfit,
    NamedList,
    Owner,
    ValueStore,
)
from gen61850.runtime.device.timestamp import Timestamp
from gen61850.runtime.sv.quality import Quality
from gen61850.runtime.xmpp import mapping
from gen61850.runtime.xmpp.errors import LocalError
from gen61850.runtime.xmpp.mapping import DataAccessError
from gen61850.runtime.xmpp.providers import ObjectProvider, ProviderRegistry
from gen61850.runtime.xmpp.references import parse_reference
from gen61850.runtime.xmpp.scope import CallContext
from gen61850.runtime.xmpp.typed import quality_bits
from gen61850.runtime.xmpp.values import (
    Scalar,
    ValueMismatch,
    array,
    array_description,
    data_to_scalar,
    default_value,
    direct_normaliser,
    leaf_type_description,
    scalar_to_data,
    structure,
    structure_description,
)

WRITABLE_FCS = frozenset({FC.CF, FC.DC, FC.SP, FC.SV, FC.BL, FC.SE, FC.EX})
# valKind (IEC 61850-6): Set and Spec values may be written online (on a writable FC); RO
# values only change inside the IED, so a write is an access violation (object-access-
# denied); Conf values change only by configuration (a new SCL), so online the access is
# not allowed in the current state (temporarily-unavailable). valImport is an engineering
# permission (may a tool import values from an SCD) and grants nothing online.
VALUE_KIND_REFUSALS = {
    "RO": DataAccessError.OBJECT_ACCESS_DENIED,
    "Conf": DataAccessError.TEMPORARILY_UNAVAILABLE,
}
StoredValue = Scalar | list["StoredValue"] | dict[str, "StoredValue"]
WriteListener = Callable[[str, str, StoredValue, str], None]
MAX_RESOLVED = 4096  # references ``resolve`` remembers (only ones that name a variable)
DATA_SET_NAME = re.compile(r"[A-Za-z][0-9A-Za-z_]{0,31}")  # SCL tDataSetName, 7-2 ObjectName
# Where the FCs of control blocks that FC does not list go in a logical node's MMS order
# (IEC 61850-8-1: MSVCB "MS", USVCB "US"): after GS.
EXTRA_FC_RANK = {"MS": FC.GS.mms_rank + 0.1, "US": FC.GS.mms_rank + 0.2}
log = logging.getLogger(__name__)


class ModelError(LocalError):
    """A reference the application gave that names nothing served, or a value that does not fit."""


class AccessFailure(Exception):
    """One variable could not be read or written: the DataAccessError to answer with."""

    def __init__(self, code: DataAccessError) -> None:
        self.code = code
        super().__init__(code.name)


@dataclass(frozen=True)
class Variable:
    """One named variable: the LN, an ``LN$FC`` group, or a DO/DA below it (or a control
    block or one of its attributes, which an object provider answers for).

    ``position`` is its index in the domain's name list (where getNameList continues);
    ``fc_name`` the FC of the group it is in (also ``MS``/``US``, which ``FC`` lacks).
    """

    domain: str
    name: str
    ln: LogicalNode
    fc: FC | None
    node: Node | None
    position: int
    fc_name: str | None = None


@dataclass(frozen=True)
class DataSetLimits:
    """What clients may create: members per data set, data sets per association (persistent
    and non-persistent together), client-made persistent ones per server, and non-persistent
    ones per server (all associations together)."""

    members: int = 256
    per_association: int = 16
    persistent: int = 64
    non_persistent: int = 1024


class DataSetRefused(Exception):
    """A data set cannot be created or deleted: the ServiceError (class, code) to answer."""

    def __init__(self, error: tuple[str, int], description: str) -> None:
        self.error = error
        self.description = description
        super().__init__(description)


@dataclass(frozen=True)
class FileInfo:
    """A file the server lists in its file directory: size in octets, modification time."""

    size: int
    modified: float


_DIRECT = {btype: d for btype in BasicType if (d := direct_normaliser(btype)) is not None}


def normalise(attribute: DataAttribute, value: Any) -> StoredValue:
    """A value as the store keeps it: through MMS Data and back, so it is checked as a client
    write is (kind, range, length, characters) and kept as a client reads it (FLOAT32 in
    single precision, a Timestamp to 2^-24 s, lists copied). ``ValueMismatch`` (or the
    TypeError/ValueError/OverflowError of a conversion) when it does not fit. A scalar of
    the usual type takes the direct way (``values.direct_normaliser``: the same result)."""
    if not attribute.count and not attribute.components:
        direct = _DIRECT.get(attribute.btype)
        if direct is not None:
            found = direct(value)
            if found is not None:
                return found
    return _stored_from_data(attribute, _value_data(attribute, value))


@dataclass
class ServedModel:
    """Domains, variables, values and data sets of one IED."""

    ied: Ied
    store: ValueStore
    variables: dict[tuple[str, str], Variable] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)
    children: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    providers: ProviderRegistry = field(default_factory=ProviderRegistry)
    listeners: list[WriteListener] = field(default_factory=list)
    files: dict[str, FileInfo] = field(default_factory=dict)
    limits: DataSetLimits = field(default_factory=DataSetLimits)
    # The TimeQuality of time stamps the server takes now (``t`` of set_status, controls):
    # a clock disciplined by SNTP (``runtime.time.DeviceClock.quality``) says how good it is.
    time_quality: Callable[[], TimeQuality] = TimeQuality
    # references the application used, resolved (the variables never change once served)
    _resolved: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)
    # the layout tables are shared with twins (``twin``): control blocks may already be there
    layout_shared: bool = False

    @classmethod
    def from_ied(cls, ied: Ied, *, clock: Callable[[], float] = time.time) -> ServedModel:
        """Serve ``ied``; ``clock`` dates the changes the application does not date.

        An LD with a SettingControl serves each setting in both views, FC SG (active group)
        and FC SE (edit buffer), whichever one the SCL declares (``with_setting_views``).
        """
        ied = with_setting_views(ied)
        model = cls(ied, ValueStore(normalise, clock))
        initial: dict[tuple[str, str], StoredValue] = {}
        for ld in ied.logical_devices:
            model.names[ld.name] = []
            for ln in ld.logical_nodes:
                model._add_ln(ld.name, ln, initial)
        model._check_initial_values(initial)
        for ld in ied.logical_devices:
            for ln in ld.logical_nodes:
                for ds in ln.data_sets:
                    members = [model._scl_member(m) for m in ds.members]
                    model.store.add_data_set(
                        DataSetRef(ld.name, f"{ln.name}${ds.name}"), NamedList(members, False)
                    )
        model.store.subscribe(model._tell_writers)
        return model

    def twin(self, *, clock: Callable[[], float] = time.time) -> ServedModel:
        """Another IED of this model's layout, for a fleet that serves one IED many times.

        The layout (variables, names, children, the store's leaf index) is shared, not
        copied, so a twin costs its values; they start as this model's are now, and the
        data sets as its own (twin before serving: a client's data sets would be copied
        too). The first server over any of them adds its control blocks to the shared
        layout and every other finds them there (``provide``).
        """
        self.layout_shared = True
        source = self.store
        store = source.twin(clock)
        for ref, named in source.data_sets.items():
            store.add_data_set(ref, NamedList(list(named.members), named.deletable, named.owner))
        model = ServedModel(
            self.ied,
            store,
            variables=self.variables,
            names=self.names,
            children=self.children,
            limits=self.limits,
            layout_shared=True,
        )
        store.subscribe(model._tell_writers)
        return model

    @property
    def values(self) -> dict[tuple[str, str], StoredValue]:
        """Every leaf value by (domain, item): the store's."""
        return self.store.values

    def _scl_member(self, member: DataSetMember) -> Member:
        """The member an FCDA names; with ``ix``, one element of the array on its path."""
        ld_name, _, _path = member.reference.partition("/")
        domain = _domain_of(self.ied, ld_name)
        fcda = member.fcda
        parts = [p for p in (*fcda.do_name.split("."), *fcda.da_name.split(".")) if p]
        item = "$".join([fcda.ln_name, member.fc.value, *parts])
        if fcda.ix is None:
            return Member(domain, item)
        for end in range(1, len(parts) + 1):  # the first array on the path takes the index
            prefix = "$".join([fcda.ln_name, member.fc.value, *parts[:end]])
            found = self.variables.get((domain, prefix))
            node = found.node if found else None
            if node is not None and node.count:
                if isinstance(node, DataAttribute) and end == len(parts):
                    return Member(domain, prefix, fcda.ix)
                return Member(domain, prefix, fcda.ix, DataAccessError.OBJECT_ACCESS_UNSUPPORTED)
        return Member(domain, item, fcda.ix, DataAccessError.OBJECT_NON_EXISTENT)

    def _check_initial_values(self, initial: dict[tuple[str, str], StoredValue]) -> None:
        """SCL initial values the served types cannot carry are refused here, not sent."""
        for (domain, item), value in initial.items():
            node = self.variables[(domain, item)].node
            assert isinstance(node, DataAttribute)
            try:
                stored = normalise(node, value)
            except ValueMismatch as error:
                raise ModelError(
                    f"{domain}/{item}: SCL initial value {value!r} does not fit "
                    f"{node.btype.value}: {error}"
                ) from None
            self.store.add_leaf((domain, item), node, stored)

    def _add_ln(
        self, domain: str, ln: LogicalNode, initial: dict[tuple[str, str], StoredValue]
    ) -> None:
        """The LN, then its MMS items in MMS order; elements of arrays are reached by index."""
        self._add(domain, ln.name, ln, None, None)
        arrays: list[str] = []
        for item in mms_items(ln):
            if arrays and any(item.name.startswith(f"{a}$") for a in arrays):
                continue
            self._add(domain, item.name, ln, item.fc, item.node)
            node = item.node
            if isinstance(node, DataAttribute) and node.count:
                initial[(domain, item.name)] = [_initial(node, i) for i in range(node.count)]
                arrays.append(item.name)
            elif isinstance(node, DataAttribute) and not node.components:
                initial[(domain, item.name)] = _initial_scalar(node, node.value)

    def _add(
        self,
        domain: str,
        name: str,
        ln: LogicalNode,
        fc: FC | None,
        node: Node | None,
        fc_name: str | None = None,
    ) -> None:
        names = self.names[domain]
        fc_name = fc_name or (fc.value if fc is not None else None)
        self.variables[(domain, name)] = Variable(domain, name, ln, fc, node, len(names), fc_name)
        names.append(name)
        parent, dollar, _ = name.rpartition("$")
        if dollar:
            self.children.setdefault((domain, parent), []).append(name)

    # ------------------------------------------------------------ providers

    def provide(
        self,
        domain: str,
        prefix: str,
        provider: ObjectProvider,
        names: list[str] | None = None,
    ) -> None:
        """Let ``provider`` answer for ``prefix`` and every name below it.

        ``names`` (``LN$FC$CB``, ``LN$FC$CB$Attr``, ...) are new named variables (control
        blocks) added to the logical node in MMS FC order, the ``LN$FC`` group made when
        missing; without them the provider takes over existing variables (control objects).
        """
        if names:
            present = [(domain, name) in self.variables for name in names]
            if self.providers.owner(domain, prefix) is not None or (
                any(present) and not (self.layout_shared and all(present))
            ):
                raise ModelError(f"{domain}/{prefix}: already served (one server per model)")
            if not any(present):
                self._insert(domain, names)
        elif (domain, prefix) not in self.variables:
            raise ModelError(f"{domain}/{prefix}: no such variable to provide for")
        self.providers.register(domain, prefix, provider)

    def _insert(self, domain: str, new: list[str]) -> None:
        """Add ``new`` names (all of one LN and FC) to a domain's list, in MMS order."""
        if domain not in self.names:
            raise ModelError(f"no domain {domain!r}")
        ln_name, fc_name = new[0].split("$")[:2]
        ln_var = self.variables.get((domain, ln_name))
        if ln_var is None or ln_var.node is not None or ln_var.fc is not None:
            raise ModelError(f"{domain}/{ln_name}: no such logical node")
        group = f"{ln_name}${fc_name}"
        wanted = [n for n in ([group] if (domain, group) not in self.variables else []) + new]
        fc = FC(fc_name) if fc_name in FC.__members__ else None
        rank = fc.mms_rank if fc is not None else EXTRA_FC_RANK.get(fc_name, 99.0)
        names = self.names[domain]
        start = ln_var.position + 1
        at = start
        while at < len(names) and names[at].startswith(ln_name + "$"):
            name_fc = names[at].split("$")[1]
            if _rank(name_fc) > rank:
                break
            at += 1
        names[at:at] = wanted
        for name in wanted:
            parent, _, _ = name.rpartition("$")
            siblings = self.children.setdefault((domain, parent), [])
            if parent == ln_name:  # the group among the LN's FC groups, in MMS order
                index = next(
                    (i for i, s in enumerate(siblings) if _rank(s.split("$")[1]) > rank),
                    len(siblings),
                )
                siblings.insert(index, name)
            else:
                siblings.append(name)
            self.variables[(domain, name)] = Variable(domain, name, ln_var.ln, fc, None, 0, fc_name)
        for position, name in enumerate(names):  # where getNameList continues
            variable = self.variables[(domain, name)]
            if variable.position != position:
                self.variables[(domain, name)] = Variable(
                    variable.domain,
                    variable.name,
                    variable.ln,
                    variable.fc,
                    variable.node,
                    position,
                    variable.fc_name,
                )

    # ------------------------------------------------------------ look-ups

    @property
    def nesting_level(self) -> int:
        """How deep the served data nests (structures and arrays): a logical node read whole
        is a structure of FC structures of data objects. Clients must accept this much."""
        deepest = 0
        for ld in self.ied.logical_devices:
            for ln in ld.logical_nodes:
                deepest = max(deepest, 1)  # the LN itself, even without data
                for do in ln.data_objects:
                    if do.fcs():  # a DO without attributes is not served
                        deepest = max(deepest, 2 + _nesting(do))
        return deepest

    @property
    def domains(self) -> list[str]:
        return list(self.names)

    def variable(self, domain: str, name: str) -> Variable:
        if len(name) > MAX_NAME_LENGTH:
            raise AccessFailure(DataAccessError.OBJECT_NON_EXISTENT)
        found = self.variables.get((domain, name))
        if found is None:
            raise AccessFailure(DataAccessError.OBJECT_NON_EXISTENT)
        return found

    def resolve(self, reference: str) -> tuple[str, str]:
        """``LD/LN$FC$DO$DA`` or ``LD/LN.DO.DA[FC]`` → (domain, item); ModelError if unknown."""
        known = self._resolved.get(reference)
        if known is not None:
            return known
        ld, item = parse_reference(reference)
        domain = _domain_of(self.ied, ld)
        if (domain, item) not in self.variables:
            raise ModelError(f"{reference}: no such variable in {self.ied.name}")
        if len(self._resolved) < MAX_RESOLVED:
            self._resolved[reference] = (domain, item)
        return domain, item

    def data_object_of(self, domain: str, item: str) -> str | None:
        """The nearest data object (DO or SDO) at or above ``item``, or None."""
        parts = item.split("$")
        for end in range(len(parts), 2, -1):
            found = self.variables.get((domain, "$".join(parts[:end])))
            if found is not None and isinstance(found.node, DataObject):
                return found.name
        return None

    # ------------------------------------------------------------ values

    def read(
        self,
        domain: str,
        name: str,
        index: int | None = None,
        call: CallContext | None = None,
    ) -> Data:
        """The Data of a variable (or of one array element); AccessFailure when impossible."""
        variable = self.variable(domain, name)
        try:
            data = self._data(variable, call)
        except ValueMismatch:  # an initial value from SCL that its type cannot carry
            raise AccessFailure(DataAccessError.OBJECT_VALUE_INVALID) from None
        if index is None:
            return data
        if data.array is None:
            raise AccessFailure(DataAccessError.OBJECT_ACCESS_UNSUPPORTED)
        if index >= len(data.array.data):
            raise AccessFailure(DataAccessError.OBJECT_NON_EXISTENT)
        return data.array.data[index]

    def _data(
        self, variable: Variable, call: CallContext | None = None, *, providers: bool = True
    ) -> Data:
        if providers:
            provided = self.providers.find(variable.domain, variable.name)
            if provided is not None:
                return provided[1].read(variable.domain, variable.name, call)
            providers = self.providers.may_own_below(variable.name)  # else none below
        node = variable.node
        if isinstance(node, DataAttribute) and (node.count or not node.components):
            return _value_data(node, self.store.values[(variable.domain, variable.name)])
        return structure(
            [
                self._data(self.variables[(variable.domain, c)], call, providers=providers)
                for c in self._children(variable)
            ]
        )

    def stored_data(self, domain: str, name: str) -> Data:
        """The Data of a variable as the store holds it, whatever provider owns the name
        (a provider answers its plain reads with this)."""
        try:
            return self._data(self.variable(domain, name), providers=False)
        except ValueMismatch:
            raise AccessFailure(DataAccessError.OBJECT_VALUE_INVALID) from None

    def write(
        self,
        domain: str,
        name: str,
        data: Data,
        peer: str | CallContext,
        index: int | None = None,
    ) -> None:
        """A client write: all of the variable or nothing; listeners hear each changed leaf.

        Refused (AccessFailure) on a read-only FC, on an attribute whose valKind is RO or
        Conf (``VALUE_KIND_REFUSALS``), and for a value its type cannot carry. A variable an
        object provider owns is written by the provider, under its rules. Once the values
        are committed the write has succeeded: a listener that raises is logged, the other
        listeners still hear of it.
        """
        call = peer if isinstance(peer, CallContext) else CallContext(peer=peer)
        variable = self.variable(domain, name)
        provided = self.providers.find(domain, name)
        if provided is not None:
            if index is not None:
                raise AccessFailure(DataAccessError.OBJECT_ACCESS_UNSUPPORTED)
            provided[1].write(domain, name, data, call)
            return
        if variable.fc is None or variable.fc not in WRITABLE_FCS:
            raise AccessFailure(DataAccessError.OBJECT_ACCESS_DENIED)
        self.write_stored(domain, name, data, call, index)

    def write_stored(
        self,
        domain: str,
        name: str,
        data: Data,
        call: CallContext,
        index: int | None = None,
    ) -> None:
        """A client write into the store under the store's rules (type, valKind), for a
        provider that has checked its own (a setting group's edit reservation)."""
        variable = self.variable(domain, name)
        updates: list[tuple[tuple[str, str], StoredValue]] = []
        try:
            if index is not None:
                node = variable.node
                if not isinstance(node, DataAttribute) or not node.count:
                    raise AccessFailure(DataAccessError.OBJECT_ACCESS_UNSUPPORTED)
                if index >= node.count:
                    raise AccessFailure(DataAccessError.OBJECT_NON_EXISTENT)
                current = self.store.values[(domain, name)]
                assert isinstance(current, list)
                element = _element_value(node, data)
                updates.append(((domain, name), [*current[:index], element, *current[index + 1 :]]))
            else:
                self._collect(variable, data, updates)
        except ValueMismatch:
            raise AccessFailure(DataAccessError.TYPE_INCONSISTENT) from None
        changed = {key for key, _ in updates}
        refusal = _value_kind_refusal(
            [self.variables[key].node for key in changed],
            [self.variables.get((d, p)) for d, item in changed for p in _prefixes(item)],
        )
        if refusal is not None:
            raise AccessFailure(refusal)
        self.store.set_many(dict(updates), time=call.now or None, origin=call.peer)

    def _tell_writers(self, changes: list[Change]) -> None:
        """``on_write`` listeners hear each leaf a client wrote (not the application's)."""
        for change in changes:
            if change.origin is None:
                continue
            domain, item = change.key
            for listener in self.listeners:
                try:
                    listener(domain, item, change.new, change.origin)
                except Exception:  # the write is committed: it succeeded for the client
                    log.exception("8-2 model: a write listener failed on %s/%s", domain, item)

    def _collect(
        self, variable: Variable, data: Data, out: list[tuple[tuple[str, str], StoredValue]]
    ) -> None:
        node = variable.node
        if isinstance(node, DataAttribute) and (node.count or not node.components):
            out.append(((variable.domain, variable.name), _stored_from_data(node, data)))
            return
        if data.structure is None:
            raise ValueMismatch("expected structure")
        names = list(self._children(variable))
        if len(names) != len(data.structure.data):
            raise ValueMismatch("structure has the wrong number of components")
        for child_name, child_data in zip(names, data.structure.data, strict=True):
            child = self.variables[(variable.domain, child_name)]
            if self.providers.find(child.domain, child.name) is not None:
                raise AccessFailure(DataAccessError.OBJECT_ACCESS_DENIED)
            self._collect(child, child_data, out)

    def _leaf(self, reference: str) -> tuple[str, str]:
        domain, item = self.resolve(reference)
        node = self.variables[(domain, item)].node
        if not isinstance(node, DataAttribute) or (node.components and not node.count):
            raise ModelError(f"{reference}: not a basic attribute")
        return domain, item

    def set_value(self, reference: str, value: StoredValue, *, time: float | None = None) -> None:
        """The application sets a leaf (any FC and valKind, read-only ones included).

        The value is checked as a client write is (kind, range, length, characters) and
        kept as a client would read it back: a FLOAT32 rounded to single precision, a
        Timestamp (a float is taken as its seconds), lists copied. Reports and logs hear
        of it (dchg, qchg or dupd as the attribute's trigger options say).
        """
        self.set_values({reference: value}, time=time)

    def set_values(self, values: Mapping[str, StoredValue], *, time: float | None = None) -> None:
        """Several leaves as one change (``{"LD/XCBR1.Pos.stVal[ST]": 2, ...}``): all are
        checked first, none is set when one does not fit (ModelError); reports see one
        change with every reason it carries. ``time`` dates the change (default: now)."""
        keys: dict[tuple[str, str], StoredValue] = {}
        shown: dict[tuple[str, str], str] = {}
        for reference, value in values.items():
            key = self._leaf(reference)
            keys[key], shown[key] = value, reference
        self._commit(keys, time, shown)

    def set_status(
        self,
        reference: str,
        value: StoredValue | None = None,
        *,
        quality: int | Quality | None = None,
        time: float | Timestamp | None = None,
    ) -> None:
        """Set a data object's value, its quality ``q`` and its time stamp ``t`` as one change.

        ``reference`` names the value attribute (``LD/XCBR1.Pos.stVal[ST]``,
        ``LD/MMXU1.TotW.mag.f[MX]``); ``q`` and ``t`` are the siblings of the same data
        object and FC. ``value`` None leaves the value as it is (a quality change alone);
        ``quality`` is a ``Quality`` or the 13 bits of IEC 61850-8-1 as an int
        (``0b0100000000000`` is invalid), left as it is when None; ``t`` becomes ``time`` (a
        Timestamp, or seconds with the model's ``time_quality()``), now when not given,
        whenever the data object has a ``t``.
        """
        domain, item = self.resolve(reference)
        owner = self.data_object_of(domain, item)
        if owner is None:
            raise ModelError(f"{reference}: not inside a data object")
        keys: dict[tuple[str, str], StoredValue] = {}
        shown: dict[tuple[str, str], str] = {}
        if value is not None:
            key = self._leaf(reference)
            keys[key], shown[key] = value, reference
        if quality is not None:
            if (domain, f"{owner}$q") not in self.store.leaves:
                raise ModelError(f"{reference}: its data object has no q")
            keys[(domain, f"{owner}$q")] = (
                int(quality_bits(quality), 2) if isinstance(quality, Quality) else quality
            )
        when = self.store.clock() if time is None else time
        if (domain, f"{owner}$t") in self.store.leaves:
            keys[(domain, f"{owner}$t")] = (
                when if isinstance(when, Timestamp) else Timestamp(when, self.time_quality())
            )
        seconds = when.seconds if isinstance(when, Timestamp) else when
        self._commit(keys, seconds, shown)

    def _commit(
        self,
        keys: dict[tuple[str, str], StoredValue],
        time: float | None,
        shown: dict[tuple[str, str], str],
    ) -> None:
        """One transaction; ModelError names the first value that does not fit (nothing set)."""
        try:
            self.store.set_many(keys, time=time)
        except Misfit as misfit:
            where = shown.get(misfit.key, f"{misfit.key[0]}/{misfit.key[1]}")
            btype = self.store.attribute(misfit.key).btype.value
            raise ModelError(
                f"{where}: {misfit.value!r} does not fit {btype}: {misfit.cause}"
            ) from None

    def now(self) -> Timestamp:
        """The time now, with the TimeQuality of the clock that gives it."""
        return Timestamp(self.store.clock(), self.time_quality())

    def get_value(self, reference: str) -> StoredValue:
        domain, item = self.resolve(reference)
        if (domain, item) not in self.store.values:
            raise ModelError(f"{reference}: not a basic attribute")
        value: StoredValue = self.store.values[(domain, item)]
        return value

    # ------------------------------------------------------------ data sets

    def data_set(self, domain: str | None, name: str, owner: Owner) -> NamedList | None:
        """A persistent data set (``domain``, ``LN$name``) or, with ``domain`` None, a
        non-persistent one of the association ``owner``."""
        return self.store.data_set(_ref(domain, name, owner))

    def data_set_names(self, domain: str | None, owner: Owner) -> list[str]:
        if domain is None:
            return [r.name for r in self.store.data_sets_of(owner) if r.domain is None]
        return [r.name for r in self.store.data_sets if r.domain == domain]

    def member(self, domain: str, item: str, index: int | None = None) -> Member:
        """A member a client names for a new data set; DataSetRefused when it cannot be one."""
        found = self.variables.get((domain, item))
        if found is None or found.fc is None or self.providers.find(domain, item):
            what = "not functionally constrained data" if found else "no such variable"
            raise DataSetRefused(
                mapping.DEFINITION_OBJECT_UNDEFINED, f"{domain[:64]}/{item[:64]}: {what}"
            )
        if index is not None:
            count = found.node.count if isinstance(found.node, DataAttribute) else 0
            if index >= count:
                raise DataSetRefused(
                    mapping.DEFINITION_OBJECT_UNDEFINED,
                    f"{domain}/{item}: no element {index} (an array of {count})",
                )
        return Member(domain, item, index)

    def create_data_set(
        self, domain: str | None, name: str, members: list[Member], owner: Owner
    ) -> None:
        """CreateDataSet, under IEC 61850-7-2/8-1 naming and this server's limits.

        Persistent (``domain`` given): ``name`` is ``LN$DataSetName`` with LN a logical node
        of the domain; visible to every client until deleted. Non-persistent (``domain``
        None, ``@DataSetName`` in ACSI): visible to its association only, gone when it ends.
        DataSetName is 1 to 32 characters, a letter then letters, digits or ``_``.
        Refusals (DataSetRefused): a name against these rules → service object-constraint-
        conflict; an LN or member that does not exist → definition object-undefined; no
        members → definition object-undefined; a name in use → definition object-exists;
        over a limit (``DataSetLimits``) → resource capability-unavailable.
        """
        if domain is None:
            ds_name = name
        else:
            if domain not in self.names:
                raise DataSetRefused(mapping.ACCESS_OBJECT_NON_EXISTENT, f"no domain {domain!r}")
            ln, dollar, ds_name = name.partition("$")
            if not dollar:
                raise DataSetRefused(
                    mapping.SERVICE_OBJECT_CONSTRAINT_CONFLICT,
                    f"{name!r}: a persistent data set is named LN$DataSetName",
                )
        if DATA_SET_NAME.fullmatch(ds_name) is None:
            raise DataSetRefused(
                mapping.SERVICE_OBJECT_CONSTRAINT_CONFLICT,
                f"data set name {ds_name[:64]!r}: 1 to 32 characters, a letter then letters, "
                "digits or _",
            )
        if domain is not None:
            found = self.variables.get((domain, ln))
            if found is None or found.node is not None or found.fc is not None:
                raise DataSetRefused(
                    mapping.DEFINITION_OBJECT_UNDEFINED, f"no logical node {ln!r} in {domain}"
                )
        if not members:
            raise DataSetRefused(mapping.DEFINITION_OBJECT_UNDEFINED, "a data set needs members")
        if len(members) > self.limits.members:
            raise DataSetRefused(
                mapping.RESOURCE_CAPABILITY_UNAVAILABLE,
                f"{len(members)} members, at most {self.limits.members}",
            )
        if self.data_set(domain, name, owner) is not None:
            shown = f"{domain}/{name}" if domain else f"@{name}"
            raise DataSetRefused(mapping.DEFINITION_OBJECT_EXISTS, f"{shown} exists")
        made_by_owner = sum(1 for n in self.store.data_sets.values() if n.owner == owner)
        if made_by_owner >= self.limits.per_association:
            raise DataSetRefused(
                mapping.RESOURCE_CAPABILITY_UNAVAILABLE,
                f"this association made {made_by_owner} data sets, at most "
                f"{self.limits.per_association}",
            )
        if domain is not None:
            made = sum(
                1 for r, n in self.store.data_sets.items() if r.domain and n.owner is not None
            )
            if made >= self.limits.persistent:
                raise DataSetRefused(
                    mapping.RESOURCE_CAPABILITY_UNAVAILABLE,
                    f"clients made {made} persistent data sets, at most {self.limits.persistent}",
                )
        else:
            made = sum(1 for r in self.store.data_sets if r.domain is None)
            if made >= self.limits.non_persistent:
                raise DataSetRefused(
                    mapping.RESOURCE_CAPABILITY_UNAVAILABLE,
                    f"{made} non-persistent data sets, at most {self.limits.non_persistent}",
                )
        self.store.add_data_set(_ref(domain, name, owner), NamedList(list(members), True, owner))

    def delete_data_set(self, domain: str | None, name: str, owner: Owner) -> bool | None:
        """DeleteDataSet: True when deleted, False when it may not be (from SCL, or a control
        block uses it), None when there is no such data set."""
        ref = _ref(domain, name, owner)
        found = self.store.data_set(ref)
        if found is None:
            return None
        if not found.deletable or self.store.deletion_refusal(ref) is not None:
            return False
        self.store.remove_data_set(ref)
        return True

    def association_closed(self, owner: Owner) -> None:
        """Non-persistent data sets end with their association (persistent ones stay)."""
        self.store.drop_owner(owner)

    def read_member(self, member: Member, call: CallContext | None = None) -> Data:
        if member.refused is not None:
            raise AccessFailure(DataAccessError(member.refused))
        return self.read(member.domain, member.item, member.index, call)

    def write_member(self, member: Member, data: Data, peer: str | CallContext) -> None:
        if member.refused is not None:
            raise AccessFailure(DataAccessError(member.refused))
        self.write(member.domain, member.item, data, peer, member.index)

    def add_file(self, name: str, size: int, modified: float = 0.0) -> None:
        """List a file in the server's file directory (GetServerDirectory FILE)."""
        if not name or len(name) > 255:
            raise ModelError(f"file name {name[:80]!r}: 1 to 255 characters")
        self.files[name] = FileInfo(size, modified)

    def on_write(self, listener: WriteListener) -> None:
        """Call ``listener(domain, item, value, peer)`` after each leaf a client writes."""
        self.listeners.append(listener)

    # ------------------------------------------------------------ types

    def type_description(self, domain: str, name: str) -> TypeDescription:
        return self._type(self.variable(domain, name))

    def stored_type(self, domain: str, name: str) -> TypeDescription:
        """The MMS type of a variable from the model, whatever provider owns the name."""
        return self._type(self.variable(domain, name), providers=False)

    def _type(self, variable: Variable, *, providers: bool = True) -> TypeDescription:
        if providers:
            provided = self.providers.find(variable.domain, variable.name)
            if provided is not None:
                return provided[1].type_description(variable.domain, variable.name)
        node = variable.node
        if isinstance(node, DataAttribute) and (node.count or not node.components):
            return _attribute_type(node)
        return structure_description(
            [
                (
                    name.rsplit("$", 1)[1],
                    self._type(self.variables[(variable.domain, name)], providers=providers),
                )
                for name in self._children(variable)
            ]
        )

    def _children(self, variable: Variable) -> Iterator[str]:
        return iter(self.children.get((variable.domain, variable.name), ()))


def _rank(fc_name: str) -> float:
    if fc_name in FC.__members__:
        return float(FC(fc_name).mms_rank)
    return EXTRA_FC_RANK.get(fc_name, 99.0)


def _ref(domain: str | None, name: str, owner: Owner) -> DataSetRef:
    return DataSetRef(domain, name, None if domain is not None else owner)


def _prefixes(item: str) -> Iterator[str]:
    """``LN$FC$DO$DA`` → ``LN$FC$DO``, ``LN$FC$DO$DA`` (the DO and everything below it)."""
    parts = item.split("$")
    for end in range(3, len(parts) + 1):
        yield "$".join(parts[:end])


def _value_kind_refusal(
    changed: list[Node | None], containers: list[Variable | None]
) -> DataAccessError | None:
    """The DataAccessError a write meets for valKind (RO before Conf), None when it may go on:
    the changed attributes and their components, and the attributes that contain them."""
    found: set[DataAccessError] = set()
    stack = [n for n in changed if isinstance(n, DataAttribute)]
    while stack:
        node = stack.pop()
        if node.value_kind in VALUE_KIND_REFUSALS:
            found.add(VALUE_KIND_REFUSALS[node.value_kind])
        stack.extend(node.components)
    for variable in containers:
        container = variable.node if variable is not None else None
        if isinstance(container, DataAttribute) and container.value_kind in VALUE_KIND_REFUSALS:
            found.add(VALUE_KIND_REFUSALS[container.value_kind])
    return next((code for code in VALUE_KIND_REFUSALS.values() if code in found), None)


def _nesting(node: Node) -> int:
    """Structure/array levels of a node's Data (0 for a basic value)."""
    if isinstance(node, DataObject):
        served = [c for c in node.children if isinstance(c, DataAttribute) or c.fcs()]
        inner = 1 + max((_nesting(c) for c in served), default=0)
    elif node.components:
        inner = 1 + max((_nesting(c) for c in node.components), default=0)
    else:
        inner = 0
    return inner + (1 if isinstance(node, DataAttribute) and node.count else 0)


def _domain_of(ied: Ied, ld_name: str) -> str:
    ld = ied.logical_device(ld_name)
    if ld is None:
        raise ModelError(f"no logical device {ld_name!r} in {ied.name}")
    return ld.name


def _initial_scalar(attribute: DataAttribute, value: object) -> Scalar:
    if value is None or isinstance(value, tuple):
        return default_value(attribute.btype)
    if attribute.btype is BasicType.TIMESTAMP and isinstance(value, int | float):
        return Timestamp(float(value))
    if attribute.btype is BasicType.ENUM and isinstance(value, str):
        ordinal = attribute.enum.ordinal(value) if attribute.enum else None
        return ordinal if ordinal is not None else 0
    if isinstance(value, bool | int | float | str | bytes):
        return value
    return default_value(attribute.btype)


def _initial(attribute: DataAttribute, index: int) -> StoredValue:
    if attribute.components:
        return {
            c.name: _initial(c, 0) if c.count == 0 else [_initial(c, i) for i in range(c.count)]
            for c in attribute.components
        }
    value = attribute.value
    if isinstance(value, tuple) and index < len(value):
        return _initial_scalar(attribute, value[index])
    return default_value(attribute.btype)


def value_of(attribute: DataAttribute, data: Data) -> StoredValue:
    """The stored value of ``data`` for ``attribute`` (a dict for a structure, a list for
    an array); ``ValueMismatch`` when it does not fit."""
    return _stored_from_data(attribute, data)


def data_of(attribute: DataAttribute, value: StoredValue) -> Data:
    """The Data of a stored value of ``attribute``; ``ValueMismatch`` when it does not fit."""
    return _value_data(attribute, value)


def _value_data(attribute: DataAttribute, value: StoredValue) -> Data:
    """Data of a stored value: scalar, array (list) or struct element (dict)."""
    if attribute.count:
        if not isinstance(value, list):
            raise ValueMismatch("expected a list")
        return array([_element_data(attribute, v) for v in value])
    return _element_data(attribute, value)


def _element_data(attribute: DataAttribute, value: StoredValue) -> Data:
    if attribute.components:
        if not isinstance(value, dict):
            raise ValueMismatch("expected components")
        return structure(
            [
                array([_element_data(c, v) for v in value[c.name]])  # type: ignore[union-attr]
                if c.count
                else _element_data(c, value[c.name])
                for c in attribute.components
            ]
        )
    if isinstance(value, list | dict):
        raise ValueMismatch("expected a basic value")
    return scalar_to_data(attribute.btype, value)


def _element_value(attribute: DataAttribute, data: Data) -> StoredValue:
    if attribute.components:
        if data.structure is None or len(data.structure.data) != len(attribute.components):
            raise ValueMismatch("expected structure")
        out: dict[str, StoredValue] = {}
        for c, d in zip(attribute.components, data.structure.data, strict=True):
            if c.count:
                if d.array is None or len(d.array.data) != c.count:
                    raise ValueMismatch("expected array")
                out[c.name] = [_element_value(c, e) for e in d.array.data]
            else:
                out[c.name] = _element_value(c, d)
        return out
    return data_to_scalar(attribute.btype, data)


def _stored_from_data(attribute: DataAttribute, data: Data) -> StoredValue:
    if attribute.count:
        if data.array is None or len(data.array.data) != attribute.count:
            raise ValueMismatch(f"expected array of {attribute.count}")
        return [_element_value(attribute, d) for d in data.array.data]
    return _element_value(attribute, data)


def _attribute_type(attribute: DataAttribute) -> TypeDescription:
    if attribute.components:
        element = structure_description(
            [(c.name, _attribute_type(c)) for c in attribute.components]
        )
    else:
        element = leaf_type_description(attribute)
    if attribute.count:
        return array_description(attribute.count, element)
    return element


__all__ = [
    "EXTRA_FC_RANK",
    "VALUE_KIND_REFUSALS",
    "WRITABLE_FCS",
    "AccessFailure",
    "DataSetLimits",
    "DataSetRefused",
    "FileInfo",
    "Member",
    "ModelError",
    "NamedList",
    "ServedModel",
    "StoredValue",
    "Variable",
    "data_of",
    "value_of",
]
