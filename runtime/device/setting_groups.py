"""Setting groups (IEC 61850-7-2 clause 16) over the value store: protocol-neutral, no I/O.

A logical device whose LLN0 has a SettingControl keeps ``NumOfSG`` groups of values for
each setting (a DA of FC SG or SE). The store holds two views of each setting: FC SG, the
values of the *active* group (what protection reads; a change of ActSG is one store
transaction, so reports see it), and FC SE, the *edit buffer* of the group being edited.

Rules (7-2): SelectActiveSG makes group 1..NumOfSG active (LActTm = now). SelectEditSG
reserves editing for one client and loads that group into SE (0 ends the edit); another
client is refused until the reservation ends (EditSG 0, ResvTms seconds pass, or the
client's association ends). SetEditSGValue writes SE, only by the reserving client.
ConfirmEditSGValues copies SE into the edited group, and into SG when that group is the
active one. Group values start from the SCL (DAI ``Val sGroup="n"``; a group the DAI does
not give starts with the attribute's value).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from gen61850.runtime.device.control import Cancellable, Scheduler
from gen61850.runtime.device.controls import SettingControl
from gen61850.runtime.device.model import DataAttribute, DataObject, Ied, LogicalDevice
from gen61850.runtime.device.store import LeafKey, ValueStore
from gen61850.runtime.device.timestamp import Timestamp
from gen61850.runtime.device.types import FC, BasicType

SETTING_FCS = (FC.SG, FC.SE)


class SgRefusal(enum.Enum):
    """Why a setting-group service is refused."""

    NO_SUCH_GROUP = "no such setting group"
    RESERVED = "another client edits the setting groups"
    NOT_EDITING = "this client has not selected a group for editing"


class SettingGroupRefused(Exception):
    def __init__(self, reason: SgRefusal, detail: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason.value}{': ' + detail if detail else ''}")


def with_setting_views(ied: Ied) -> Ied:
    """``ied`` with both views of every setting in an LD that has a SettingControl: a DA
    declared with FC SG gets an FC SE twin and the other way round (SCL declares one)."""
    access_points = []
    changed = False
    for ap in ied.access_points:
        devices = []
        for ld in ap.logical_devices:
            twinned = _ld_views(ld)
            changed = changed or twinned is not ld
            devices.append(twinned)
        access_points.append(replace(ap, logical_devices=tuple(devices)))
    return replace(ied, access_points=tuple(access_points)) if changed else ied


def _ld_views(ld: LogicalDevice) -> LogicalDevice:
    lln0 = ld.lln0
    if lln0 is None or lln0.setting_control is None:
        return ld
    nodes = []
    for ln in ld.logical_nodes:
        objects = tuple(_do_views(do) for do in ln.data_objects)
        nodes.append(replace(ln, data_objects=objects))
    return replace(ld, logical_nodes=tuple(nodes))


def _do_views(do: DataObject) -> DataObject:
    present = {(c.name, c.fc) for c in do.children if isinstance(c, DataAttribute)}
    children: list[DataObject | DataAttribute] = []
    for child in do.children:
        if isinstance(child, DataObject):
            children.append(_do_views(child))
            continue
        children.append(child)
        if child.fc in SETTING_FCS:
            other = FC.SE if child.fc is FC.SG else FC.SG
            if (child.name, other) not in present:
                children.append(_with_fc(child, other))
    return replace(do, children=tuple(children))


def _with_fc(attribute: DataAttribute, fc: FC) -> DataAttribute:
    return replace(
        attribute, fc=fc, components=tuple(_with_fc(c, fc) for c in attribute.components)
    )


@dataclass
class SettingGroups:
    """The setting groups of one logical device (``domain``) over ``store``."""

    store: ValueStore
    domain: str
    control: SettingControl
    now: Callable[[], Timestamp]
    scheduler: Scheduler
    act_sg: int = 0
    edit_sg: int = 0
    editor: str | None = None  # the client that reserved editing (its JID)
    lact_tm: Timestamp = field(default_factory=lambda: Timestamp(0.0))
    groups: dict[int, dict[LeafKey, Any]] = field(default_factory=dict)
    settings: list[tuple[LeafKey, LeafKey]] = field(default_factory=list)  # (SG, SE) pairs
    _reservation: Cancellable | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for key, leaf in list(self.store.leaves.items()):
            domain, item = key
            parts = item.split("$")
            if domain != self.domain or len(parts) < 3 or parts[1] != FC.SG.value:
                continue
            twin = (domain, "$".join([parts[0], FC.SE.value, *parts[2:]]))
            if twin not in self.store.leaves:
                continue
            self.settings.append((key, twin))
            attribute = leaf.attribute
            given = dict(attribute.group_values)
            for group in range(1, self.num_of_sg + 1):
                value = given.get(group, self.store.values[key])
                self.groups.setdefault(group, {})[key] = self._normalised(attribute, value)
        self.act_sg = min(max(self.control.act_sg, 1), self.num_of_sg)
        self._load(self.act_sg, FC.SG)
        self._load(self.act_sg, FC.SE)
        self.lact_tm = self.now()

    @property
    def num_of_sg(self) -> int:
        return max(self.control.num_of_sgs, 1)

    @property
    def resv_tms(self) -> int | None:
        return self.control.resv_tms

    def _normalised(self, attribute: DataAttribute, value: Any) -> Any:
        if attribute.btype is BasicType.TIMESTAMP and isinstance(value, int | float):
            value = Timestamp(float(value))
        return self.store.normalise(attribute, value)

    def _load(self, group: int, fc: FC) -> None:
        """Group ``group``'s values into the SG (active) or SE (edit) view: one transaction."""
        values = self.groups.get(group, {})  # an SGCB may have no SG/SE data at all
        updates = {
            (sg if fc is FC.SG else se): values[sg] for sg, se in self.settings if sg in values
        }
        if updates:
            self.store.set_many(updates, time=self.now().seconds)

    def _check_group(self, group: int, *, zero: bool = False) -> None:
        if not (0 if zero else 1) <= group <= self.num_of_sg:
            raise SettingGroupRefused(
                SgRefusal.NO_SUCH_GROUP, f"{group}, this LD has 1..{self.num_of_sg}"
            )

    # ------------------------------------------------------------ the services

    def select_active(self, group: int) -> None:
        """SelectActiveSG: ``group`` becomes active; FC SG shows its values."""
        self._check_group(group)
        self.act_sg = group
        self._load(group, FC.SG)
        self.lact_tm = self.now()

    def select_edit(self, group: int, client: str, now: float) -> None:
        """SelectEditSG: ``client`` reserves editing and SE shows ``group``; 0 ends it."""
        self._check_group(group, zero=True)
        if self.editor is not None and self.editor != client:
            raise SettingGroupRefused(SgRefusal.RESERVED)
        if group == 0:
            self.release(client)
            return
        self.editor, self.edit_sg = client, group
        self._load(group, FC.SE)
        if self._reservation is not None:
            self._reservation.cancel()
            self._reservation = None
        if self.resv_tms:
            self._reservation = self.scheduler.call_at(
                now + self.resv_tms, lambda _now: self.release(client)
            )

    def may_edit(self, client: str) -> None:
        """SetEditSGValue is allowed to ``client`` only (SettingGroupRefused otherwise)."""
        if self.edit_sg == 0 or self.editor != client:
            raise SettingGroupRefused(SgRefusal.NOT_EDITING)

    def confirm(self, client: str) -> None:
        """ConfirmEditSGValues: SE into the edited group (and into SG when it is active)."""
        self.may_edit(client)
        values = {sg: self.store.values[se] for sg, se in self.settings}
        self.groups[self.edit_sg] = values
        if self.edit_sg == self.act_sg:
            self._load(self.act_sg, FC.SG)

    def release(self, client: str) -> None:
        """``client``'s reservation ends (EditSG 0, ResvTms over, its association ended)."""
        if self.editor != client:
            return
        self.editor, self.edit_sg = None, 0
        if self._reservation is not None:
            self._reservation.cancel()
            self._reservation = None

    def value(self, group: int, key: LeafKey) -> Any:
        """The value of SG leaf ``key`` in group ``group`` (what ActSG = group would show)."""
        self._check_group(group)
        return self.groups[group][key]


__all__ = [
    "SETTING_FCS",
    "SettingGroupRefused",
    "SettingGroups",
    "SgRefusal",
    "with_setting_views",
]
