"""The value store of a served IED: leaf values, one change feed, data sets and who is in them.

Protocol-neutral: 8-2 reads and writes go through it, and so do reports, logs, GOOSE and SV
control blocks, which all need the same three things:

- a leaf index: every basic attribute (or array of them) by its key ``(LD, LN$FC$DO$DA)``,
  the FC-qualified path of IEC 61850-8-1 (``MMXU1$MX$TotW$mag$f``);
- transactions: several leaves change as one (a DO's ``stVal``, ``q`` and ``t``), each
  value normalised on the way in (the ``normalise`` function the protocol layer gives, so
  what is stored is exactly what a client reads back), all checked before any is applied;
- a change feed: per transaction one list of ``Change`` (leaf, old, new, the triggers it
  raises: dchg, qchg, dupd; time; who made it), to every subscriber;
- data sets: created and deleted here, with a membership index (leaf → the data set
  members it belongs to) so a consumer finds in one look-up which members a change hits,
  and guards that refuse deleting a data set a control block uses.

No I/O and no clock of its own: ``clock`` is given (the time of a change the caller does
not date).
"""

from __future__ import annotations

import bisect
import enum
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gen61850.runtime.device.model import DataAttribute
from gen61850.runtime.device.timestamp import Timestamp
from gen61850.runtime.device.types import BasicType

LeafKey = tuple[str, str]  # (logical device = MMS domain, LN$FC$DO$DA)
Owner = tuple[str, str]  # (peer, association id) of a non-persistent data set
StoredValue = Any  # Scalar | list[StoredValue] | dict[str, StoredValue], as ``normalise`` keeps it
Normaliser = Callable[[DataAttribute, Any], Any]
ChangeListener = Callable[[list["Change"]], None]
log = logging.getLogger(__name__)


class Trigger(enum.IntFlag):
    """What a change of a leaf can trigger (IEC 61850-7-2 TrgOps dchg, qchg, dupd)."""

    NONE = 0
    DCHG = 1
    QCHG = 2
    DUPD = 4


class StoreError(ValueError):
    """A key the store does not hold, or a value its attribute cannot take (says which)."""


class Misfit(StoreError):
    """A value its leaf cannot take: ``key`` and the normaliser's ``cause``."""

    def __init__(self, key: LeafKey, value: Any, cause: Exception) -> None:
        self.key = key
        self.value = value
        self.cause = cause
        super().__init__(f"{key[0]}/{key[1]}: {value!r}: {cause}")


@dataclass(frozen=True, slots=True)
class Change:
    """One leaf in one transaction: old and new value, the triggers raised, when, by whom.

    ``trigger`` holds DCHG or QCHG when the value changed (as the leaf's trigger options
    say) and DUPD when it was written at all and the leaf has that option. ``origin`` is
    the client that wrote it (None for the application).
    """

    key: LeafKey
    old: StoredValue
    new: StoredValue
    trigger: Trigger
    time: float
    origin: str | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """One member of a data set: a variable (``domain``, ``item``), or element ``index`` of
    an array. ``refused`` is the error code a member the server cannot serve answers with."""

    domain: str
    item: str
    index: int | None = None
    refused: int | None = None


@dataclass(frozen=True, slots=True)
class DataSetRef:
    """A data set: persistent (``domain``, ``LN$name``) or non-persistent (``domain`` None,
    ``name``, the ``owner`` association)."""

    domain: str | None
    name: str
    owner: Owner | None = None

    @property
    def reference(self) -> str:
        """``LD/LN$name`` or ``@name`` (the 8-1 form of a data set reference)."""
        return f"{self.domain}/{self.name}" if self.domain is not None else f"@{self.name}"


@dataclass
class NamedList:
    """A data set's members, whether a client may delete it, and who made it."""

    members: list[Member]
    deletable: bool
    owner: Owner | None = None  # the association that created it (None: from SCL)


def default_triggers(attribute: DataAttribute) -> Trigger:
    """The trigger options of a leaf: as the SCL declares them (DA ``dchg``/``qchg``/``dupd``),
    else by kind: a Quality raises qchg, a Timestamp nothing, anything else dchg."""
    declared = (
        (Trigger.DCHG if attribute.dchg else Trigger.NONE)
        | (Trigger.QCHG if attribute.qchg else Trigger.NONE)
        | (Trigger.DUPD if attribute.dupd else Trigger.NONE)
    )
    if declared:
        return declared
    if attribute.btype is BasicType.QUALITY:
        return Trigger.QCHG
    if attribute.btype is BasicType.TIMESTAMP:
        return Trigger.NONE
    return Trigger.DCHG


@dataclass
class _Leaf:
    attribute: DataAttribute
    triggers: Trigger


class Transaction:
    """Leaves set together; ``commit`` checks them all, then applies and reports them as one."""

    def __init__(self, store: ValueStore, time: float | None, origin: str | None) -> None:
        self._store = store
        self.time = time
        self.origin = origin
        self._updates: dict[LeafKey, Any] = {}
        self.changes: list[Change] = []

    def set(self, key: LeafKey, value: Any) -> None:
        """Set leaf ``key`` (checked and normalised at commit)."""
        if key not in self._store.leaves:
            raise StoreError(f"{key[0]}/{key[1]}: no such leaf")
        self._updates[key] = value

    def commit(self) -> list[Change]:
        """Apply the leaves set (all or none: a value that does not fit raises first)."""
        self.changes = self._store._commit(self._updates, self.time, self.origin)
        self._updates = {}
        return self.changes

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, kind: object, error: object, tb: object) -> None:
        if kind is None:
            self.commit()


@dataclass
class ValueStore:
    """Leaves, values, the change feed and the data sets of one IED (see the module doc)."""

    normalise: Normaliser
    clock: Callable[[], float]
    leaves: dict[LeafKey, _Leaf] = field(default_factory=dict)
    values: dict[LeafKey, StoredValue] = field(default_factory=dict)
    data_sets: dict[DataSetRef, NamedList] = field(default_factory=dict)
    _listeners: list[ChangeListener] = field(default_factory=list)
    _sorted: dict[str, list[str]] = field(default_factory=dict)
    _membership: dict[LeafKey, list[tuple[DataSetRef, int]]] = field(default_factory=dict)
    _guards: list[Callable[[DataSetRef], str | None]] = field(default_factory=list)

    # ------------------------------------------------------------ leaves

    def add_leaf(self, key: LeafKey, attribute: DataAttribute, value: StoredValue) -> None:
        """Index a leaf with its initial value (taken as given: the caller checked it)."""
        self.leaves[key] = _Leaf(attribute, default_triggers(attribute))
        self.values[key] = value
        bisect.insort(self._sorted.setdefault(key[0], []), key[1])

    def attribute(self, key: LeafKey) -> DataAttribute:
        leaf = self.leaves.get(key)
        if leaf is None:
            raise StoreError(f"{key[0]}/{key[1]}: no such leaf")
        return leaf.attribute

    def triggers(self, key: LeafKey) -> Trigger:
        return self.leaves[key].triggers

    def get(self, key: LeafKey) -> StoredValue:
        if key not in self.values:
            raise StoreError(f"{key[0]}/{key[1]}: no such leaf")
        return self.values[key]

    def leaves_below(self, domain: str, item: str) -> list[str]:
        """The leaf items at or below ``item`` (``item`` itself or ``item$...``), in order."""
        names = self._sorted.get(domain, [])
        start = bisect.bisect_left(names, item)
        found = []
        for name in names[start:]:
            if name == item or name.startswith(item + "$"):
                found.append(name)
            elif not name.startswith(item):
                break
        return found

    # ------------------------------------------------------------ writing

    def transaction(self, *, time: float | None = None, origin: str | None = None) -> Transaction:
        """``with store.transaction() as tx: tx.set(k1, v1); tx.set(k2, v2)``: one change."""
        return Transaction(self, time, origin)

    def set(
        self, key: LeafKey, value: Any, *, time: float | None = None, origin: str | None = None
    ) -> list[Change]:
        return self.set_many({key: value}, time=time, origin=origin)

    def set_many(
        self,
        updates: Mapping[LeafKey, Any],
        *,
        time: float | None = None,
        origin: str | None = None,
    ) -> list[Change]:
        """Set several leaves as one transaction; returns the changes reported."""
        for key in updates:
            if key not in self.leaves:
                raise StoreError(f"{key[0]}/{key[1]}: no such leaf")
        return self._commit(dict(updates), time, origin)

    def _commit(
        self, updates: dict[LeafKey, Any], time: float | None, origin: str | None
    ) -> list[Change]:
        normalised: dict[LeafKey, Any] = {}
        for key, value in updates.items():  # all checked before anything is applied
            try:
                normalised[key] = self.normalise(self.leaves[key].attribute, value)
            except (ValueError, TypeError, OverflowError) as error:
                raise Misfit(key, value, error) from None
        when = self.clock() if time is None else time
        changes: list[Change] = []
        for key, new in normalised.items():
            old = self.values[key]
            self.values[key] = new
            options = self.leaves[key].triggers
            trigger = Trigger.NONE
            if old != new:
                trigger |= options & (Trigger.DCHG | Trigger.QCHG)
            trigger |= options & Trigger.DUPD
            changes.append(Change(key, old, new, trigger, when, origin))
        if changes:
            for listener in list(self._listeners):
                try:
                    listener(changes)
                except Exception:  # the values are committed: a listener's failure is its own
                    log.exception("value store: a change listener failed")
        return changes

    def subscribe(self, listener: ChangeListener) -> Callable[[], None]:
        """Call ``listener(changes)`` after each transaction; returns the unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # ------------------------------------------------------------ data sets

    def add_data_set(self, ref: DataSetRef, named: NamedList) -> None:
        """Register a data set (the caller checked names and limits) and index its members."""
        if ref in self.data_sets:
            raise StoreError(f"{ref.reference}: exists")
        self.data_sets[ref] = named
        for position, member in enumerate(named.members):
            if member.refused is not None:
                continue
            for item in self.leaves_below(member.domain, member.item):
                self._membership.setdefault((member.domain, item), []).append((ref, position))

    def data_set(self, ref: DataSetRef) -> NamedList | None:
        return self.data_sets.get(ref)

    def deletion_refusal(self, ref: DataSetRef) -> str | None:
        """Why ``ref`` may not be deleted now (a control block uses it), or None."""
        for guard in self._guards:
            reason = guard(ref)
            if reason:
                return reason
        return None

    def guard_deletion(self, guard: Callable[[DataSetRef], str | None]) -> None:
        """``guard(ref)`` returns why a data set may not be deleted (or None)."""
        self._guards.append(guard)

    def remove_data_set(self, ref: DataSetRef) -> NamedList | None:
        named = self.data_sets.pop(ref, None)
        if named is None:
            return None
        for member in named.members:
            for item in self.leaves_below(member.domain, member.item):
                entries = self._membership.get((member.domain, item))
                if entries:
                    entries[:] = [e for e in entries if e[0] != ref]
                    if not entries:
                        del self._membership[(member.domain, item)]
        return named

    def members_of(self, key: LeafKey) -> list[tuple[DataSetRef, int]]:
        """The (data set, member position) pairs leaf ``key`` belongs to."""
        return self._membership.get(key, [])

    def data_sets_of(self, owner: Owner) -> Iterator[DataSetRef]:
        return (ref for ref in list(self.data_sets) if ref.owner == owner)

    def drop_owner(self, owner: Owner) -> None:
        """Remove the non-persistent data sets of association ``owner`` (it ended)."""
        for ref in list(self.data_sets_of(owner)):
            if ref.domain is None:
                self.remove_data_set(ref)

    def refs(self, domains: Iterable[str | None] | None = None) -> list[DataSetRef]:
        wanted = None if domains is None else set(domains)
        return [r for r in self.data_sets if wanted is None or r.domain in wanted]


def stamped(seconds: float) -> Timestamp:
    """A Timestamp of ``seconds`` with the default TimeQuality (for a ``t`` set to now)."""
    return Timestamp(seconds)


__all__ = [
    "Change",
    "ChangeListener",
    "DataSetRef",
    "LeafKey",
    "Member",
    "Misfit",
    "NamedList",
    "Normaliser",
    "Owner",
    "StoreError",
    "StoredValue",
    "Transaction",
    "Trigger",
    "ValueStore",
    "default_triggers",
    "stamped",
]
