"""The model an 8-2 server serves: an IED's data as MMS domains and named variables, with values.

Built from the typed device model (``gen61850.runtime.device.Ied``, read from SCL): a logical
device is a domain, a logical node a named variable whose first level is the functional
constraint (MMS order), data sets named variable lists. Values live here, start from the
SCL initial values, can be set by the application (``set_value``) and by clients (writes on
writable FCs, of attributes whose valKind allows it); the application is told of client
writes (``on_write``). This is the store's boundary: every value that enters (SCL, client,
application) is checked here and kept normalised, and data sets are created and deleted
here under the naming rules and limits. No I/O.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from gen61850.generated.scsm_8_2.bindings import Data, TypeDescription
from gen61850.runtime.device import (
    FC,
    MAX_NAME_LENGTH,
    MMS_FC_ORDER,
    BasicType,
    DataAttribute,
    DataObject,
    DataSetMember,
    Ied,
    LogicalNode,
    Node,
    mms_items,
)
from gen61850.runtime.device.timestamp import Timestamp
from gen61850.runtime.xmpp import mapping
from gen61850.runtime.xmpp.errors import LocalError
from gen61850.runtime.xmpp.mapping import DataAccessError
from gen61850.runtime.xmpp.references import parse_reference
from gen61850.runtime.xmpp.values import (
    Scalar,
    ValueMismatch,
    array,
    array_description,
    data_to_scalar,
    default_value,
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
Owner = tuple[str, str]  # (peer JID, association id) of a non-persistent data set
DATA_SET_NAME = re.compile(r"[A-Za-z][0-9A-Za-z_]{0,31}")  # SCL tDataSetName, 7-2 ObjectName
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
    """One named variable: the LN, an ``LN$FC`` group, or a DO/DA below it.

    ``position`` is its index in the domain's name list (where getNameList continues).
    """

    domain: str
    name: str
    ln: LogicalNode
    fc: FC | None
    node: Node | None
    position: int


@dataclass(frozen=True)
class Member:
    """One member of a data set: a named variable, or one element of an array (``index``).

    ``refused`` marks a member the server cannot serve (an FCDA ``ix`` below a data-object
    array, or into a component of an array element): reading or writing it gives that
    DataAccessError, never the whole array in its place.
    """

    domain: str
    item: str
    index: int | None = None
    refused: DataAccessError | None = None


@dataclass
class NamedList:
    """A data set as MMS sees it: its members, whether a client may delete it, who made it."""

    members: list[Member]
    deletable: bool
    owner: Owner | None = None  # the association that created it (None: from SCL)


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


@dataclass
class ServedModel:
    """Domains, variables, values and data sets of one IED."""

    ied: Ied
    variables: dict[tuple[str, str], Variable] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)
    values: dict[tuple[str, str], StoredValue] = field(default_factory=dict)
    lists: dict[tuple[str, str], NamedList] = field(default_factory=dict)
    aa_lists: dict[Owner, dict[str, NamedList]] = field(default_factory=dict)
    listeners: list[WriteListener] = field(default_factory=list)
    files: dict[str, FileInfo] = field(default_factory=dict)
    limits: DataSetLimits = field(default_factory=DataSetLimits)

    @classmethod
    def from_ied(cls, ied: Ied) -> ServedModel:
        model = cls(ied)
        for ld in ied.logical_devices:
            model.names[ld.name] = []
            for ln in ld.logical_nodes:
                model._add_ln(ld.name, ln)
        for ld in ied.logical_devices:
            for ln in ld.logical_nodes:
                for ds in ln.data_sets:
                    members = [model._scl_member(m) for m in ds.members]
                    model.lists[(ld.name, f"{ln.name}${ds.name}")] = NamedList(members, False)
        model._check_initial_values()
        return model

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

    def _check_initial_values(self) -> None:
        """SCL initial values the served types cannot carry are refused here, not sent."""
        for (domain, item), value in self.values.items():
            node = self.variables[(domain, item)].node
            assert isinstance(node, DataAttribute)
            try:
                self.values[(domain, item)] = _stored_from_data(node, _value_data(node, value))
            except ValueMismatch as error:
                raise ModelError(
                    f"{domain}/{item}: SCL initial value {value!r} does not fit "
                    f"{node.btype.value}: {error}"
                ) from None

    def _add_ln(self, domain: str, ln: LogicalNode) -> None:
        """The LN, then its MMS items in MMS order; elements of arrays are reached by index."""
        self._add(domain, ln.name, ln, None, None)
        arrays: list[str] = []
        for item in mms_items(ln):
            if arrays and any(item.name.startswith(f"{a}$") for a in arrays):
                continue
            self._add(domain, item.name, ln, item.fc, item.node)
            node = item.node
            if isinstance(node, DataAttribute) and node.count:
                self.values[(domain, item.name)] = [_initial(node, i) for i in range(node.count)]
                arrays.append(item.name)
            elif isinstance(node, DataAttribute) and not node.components:
                self.values[(domain, item.name)] = _initial_scalar(node, node.value)

    def _add(
        self, domain: str, name: str, ln: LogicalNode, fc: FC | None, node: Node | None
    ) -> None:
        names = self.names[domain]
        self.variables[(domain, name)] = Variable(domain, name, ln, fc, node, len(names))
        names.append(name)

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
        ld, item = parse_reference(reference)
        domain = _domain_of(self.ied, ld)
        if (domain, item) not in self.variables:
            raise ModelError(f"{reference}: no such variable in {self.ied.name}")
        return domain, item

    # ------------------------------------------------------------ values

    def read(self, domain: str, name: str, index: int | None = None) -> Data:
        """The Data of a variable (or of one array element); AccessFailure when impossible."""
        variable = self.variable(domain, name)
        try:
            data = self._data(variable)
        except ValueMismatch:  # an initial value from SCL that its type cannot carry
            raise AccessFailure(DataAccessError.OBJECT_VALUE_INVALID) from None
        if index is None:
            return data
        if data.array is None:
            raise AccessFailure(DataAccessError.OBJECT_ACCESS_UNSUPPORTED)
        if index >= len(data.array.data):
            raise AccessFailure(DataAccessError.OBJECT_NON_EXISTENT)
        return data.array.data[index]

    def _data(self, variable: Variable) -> Data:
        node = variable.node
        if isinstance(node, DataAttribute) and (node.count or not node.components):
            return _value_data(node, self.values[(variable.domain, variable.name)])
        return structure(
            [self._data(self.variables[(variable.domain, c)]) for c in self._children(variable)]
        )

    def write(
        self, domain: str, name: str, data: Data, peer: str, index: int | None = None
    ) -> None:
        """A client write: all of the variable or nothing; listeners hear each changed leaf.

        Refused (AccessFailure) on a read-only FC, on an attribute whose valKind is RO or
        Conf (``VALUE_KIND_REFUSALS``), and for a value its type cannot carry. Once the
        values are committed the write has succeeded: a listener that raises is logged,
        the other listeners still hear of it.
        """
        variable = self.variable(domain, name)
        if variable.fc is None or variable.fc not in WRITABLE_FCS:
            raise AccessFailure(DataAccessError.OBJECT_ACCESS_DENIED)
        updates: list[tuple[tuple[str, str], StoredValue]] = []
        try:
            if index is not None:
                node = variable.node
                if not isinstance(node, DataAttribute) or not node.count:
                    raise AccessFailure(DataAccessError.OBJECT_ACCESS_UNSUPPORTED)
                if index >= node.count:
                    raise AccessFailure(DataAccessError.OBJECT_NON_EXISTENT)
                current = self.values[(domain, name)]
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
        for key, value in updates:
            self.values[key] = value
        for (dom, item), value in updates:
            for listener in self.listeners:
                try:
                    listener(dom, item, value, peer)
                except Exception:  # the write is committed: it succeeded for the client
                    log.exception("8-2 model: a write listener failed on %s/%s", dom, item)

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
            self._collect(self.variables[(variable.domain, child_name)], child_data, out)

    def set_value(self, reference: str, value: StoredValue) -> None:
        """The application sets a leaf (any FC and valKind, read-only ones included).

        The value is checked as a client write is (kind, range, length, characters) and
        kept as a client would read it back: a FLOAT32 rounded to single precision, a
        Timestamp (a float is taken as its seconds), lists copied.
        """
        domain, item = self.resolve(reference)
        node = self.variables[(domain, item)].node
        if not isinstance(node, DataAttribute) or (node.components and not node.count):
            raise ModelError(f"{reference}: not a basic attribute")
        try:  # to Data and back: the checks of a client write, and the normalised value
            stored = _stored_from_data(node, _value_data(node, value))
        except (ValueMismatch, TypeError, ValueError, OverflowError) as error:
            raise ModelError(
                f"{reference}: {value!r} does not fit {node.btype.value}: {error}"
            ) from None
        self.values[(domain, item)] = stored

    def get_value(self, reference: str) -> StoredValue:
        domain, item = self.resolve(reference)
        if (domain, item) not in self.values:
            raise ModelError(f"{reference}: not a basic attribute")
        return self.values[(domain, item)]

    # ------------------------------------------------------------ data sets

    def data_set(self, domain: str | None, name: str, owner: Owner) -> NamedList | None:
        """A persistent data set (``domain``, ``LN$name``) or, with ``domain`` None, a
        non-persistent one of the association ``owner``."""
        if domain is None:
            return self.aa_lists.get(owner, {}).get(name)
        return self.lists.get((domain, name))

    def data_set_names(self, domain: str | None, owner: Owner) -> list[str]:
        if domain is None:
            return list(self.aa_lists.get(owner, {}))
        return [item for (dom, item) in self.lists if dom == domain]

    def member(self, domain: str, item: str, index: int | None = None) -> Member:
        """A member a client names for a new data set; DataSetRefused when it cannot be one."""
        found = self.variables.get((domain, item))
        if found is None or found.fc is None:
            what = "not functionally constrained" if found else "no such variable"
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
        made_by_owner = sum(1 for n in self.lists.values() if n.owner == owner) + len(
            self.aa_lists.get(owner, {})
        )
        if made_by_owner >= self.limits.per_association:
            raise DataSetRefused(
                mapping.RESOURCE_CAPABILITY_UNAVAILABLE,
                f"this association made {made_by_owner} data sets, at most "
                f"{self.limits.per_association}",
            )
        if domain is not None:
            made = sum(1 for n in self.lists.values() if n.owner is not None)
            if made >= self.limits.persistent:
                raise DataSetRefused(
                    mapping.RESOURCE_CAPABILITY_UNAVAILABLE,
                    f"clients made {made} persistent data sets, at most {self.limits.persistent}",
                )
            self.lists[(domain, name)] = NamedList(list(members), True, owner)
            return
        made = sum(len(lists) for lists in self.aa_lists.values())
        if made >= self.limits.non_persistent:
            raise DataSetRefused(
                mapping.RESOURCE_CAPABILITY_UNAVAILABLE,
                f"{made} non-persistent data sets, at most {self.limits.non_persistent}",
            )
        self.aa_lists.setdefault(owner, {})[name] = NamedList(list(members), True, owner)

    def delete_data_set(self, domain: str | None, name: str, owner: Owner) -> bool | None:
        """DeleteDataSet: True when deleted, False when it may not be (from SCL), None when
        there is no such data set."""
        found = self.data_set(domain, name, owner)
        if found is None:
            return None
        if not found.deletable:
            return False
        if domain is None:
            del self.aa_lists[owner][name]
        else:
            del self.lists[(domain, name)]
        return True

    def association_closed(self, owner: Owner) -> None:
        """Non-persistent data sets end with their association (persistent ones stay)."""
        self.aa_lists.pop(owner, None)

    def read_member(self, member: Member) -> Data:
        if member.refused is not None:
            raise AccessFailure(member.refused)
        return self.read(member.domain, member.item, member.index)

    def write_member(self, member: Member, data: Data, peer: str) -> None:
        if member.refused is not None:
            raise AccessFailure(member.refused)
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

    def _type(self, variable: Variable) -> TypeDescription:
        node = variable.node
        if isinstance(node, DataAttribute) and (node.count or not node.components):
            return _attribute_type(node)
        return structure_description(
            [
                (name.rsplit("$", 1)[1], self._type(self.variables[(variable.domain, name)]))
                for name in self._children(variable)
            ]
        )

    def _children(self, variable: Variable) -> Iterator[str]:
        if variable.node is None and variable.fc is None:
            candidates = [f"{variable.name}${fc.value}" for fc in MMS_FC_ORDER]
        elif variable.node is None:
            candidates = [f"{variable.name}${do.name}" for do in variable.ln.data_objects]
        elif isinstance(variable.node, DataObject):
            candidates = [f"{variable.name}${c.name}" for c in variable.node.children]
        else:
            candidates = [f"{variable.name}${c.name}" for c in variable.node.components]
        return (c for c in candidates if (variable.domain, c) in self.variables)


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
]
