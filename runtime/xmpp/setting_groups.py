"""Setting groups over 8-2: the SGCB and the edit buffer as object providers (8-1 mapping).

- GetSGCBValues = read of ``LLN0$SP$SGCB`` (NumOfSG, ActSG, EditSG, CnfEdit, LActTm,
  ResvTms); SelectActiveSG = write of ``LLN0$SP$SGCB$ActSG``; SelectEditSG = write of
  ``$EditSG``; ConfirmEditSGValues = write of ``$CnfEdit`` true.
- SetEditSGValue = write of FC SE data (by the client that selected a group for editing);
  GetEditSGValue = read of FC SE (the edit buffer) or FC SG (the active group).

Refusals (``REFUSALS``): a group outside 1..NumOfSG (0 too for ActSG) → object-value-
invalid (11); another client edits, or SE written / confirmed without having selected a
group for editing → temporarily-unavailable (2, the ACSI access-not-allowed-in-current-
state); NumOfSG, LActTm, ResvTms and the SGCB as a whole → object-access-denied (3).
"""

from __future__ import annotations

from gen61850.generated.scsm_8_2.bindings import Data, TypeDescription
from gen61850.runtime.device import FC, BasicType, DataAttribute
from gen61850.runtime.device.setting_groups import SettingGroupRefused, SettingGroups, SgRefusal
from gen61850.runtime.xmpp.core import ServerCore
from gen61850.runtime.xmpp.mapping import DataAccessError
from gen61850.runtime.xmpp.model import AccessFailure, ServedModel
from gen61850.runtime.xmpp.scope import CallContext
from gen61850.runtime.xmpp.values import (
    Scalar,
    ValueMismatch,
    data_to_scalar,
    leaf_type_description,
    scalar_to_data,
    structure,
    structure_description,
)

SGCB = "LLN0$SP$SGCB"
REFUSALS = {
    SgRefusal.NO_SUCH_GROUP: DataAccessError.OBJECT_VALUE_INVALID,
    SgRefusal.RESERVED: DataAccessError.TEMPORARILY_UNAVAILABLE,
    SgRefusal.NOT_EDITING: DataAccessError.TEMPORARILY_UNAVAILABLE,
}
# The SGCB's attributes in 8-1 order, with their basic types.
SGCB_ATTRIBUTES: tuple[tuple[str, BasicType], ...] = (
    ("NumOfSG", BasicType.INT8U),
    ("ActSG", BasicType.INT8U),
    ("EditSG", BasicType.INT8U),
    ("CnfEdit", BasicType.BOOLEAN),
    ("LActTm", BasicType.TIMESTAMP),
    ("ResvTms", BasicType.INT16U),
)


def _refused(refusal: SettingGroupRefused) -> AccessFailure:
    return AccessFailure(REFUSALS[refusal.reason])


class SgcbProvider:
    """``LLN0$SP$SGCB`` and its attributes."""

    def __init__(self, groups: SettingGroups, service: SettingGroupService) -> None:
        self.groups = groups
        self.service = service

    def _values(self) -> dict[str, Scalar]:
        groups = self.groups
        return {
            "NumOfSG": groups.num_of_sg,
            "ActSG": groups.act_sg,
            "EditSG": groups.edit_sg,
            "CnfEdit": False,
            "LActTm": groups.lact_tm,
            "ResvTms": groups.resv_tms or 0,
        }

    def read(self, domain: str, item: str, call: CallContext | None) -> Data:
        values = self._values()
        name = item.removeprefix(SGCB).lstrip("$")
        if not name:
            return structure([scalar_to_data(b, values[n]) for n, b in SGCB_ATTRIBUTES])
        return scalar_to_data(dict(SGCB_ATTRIBUTES)[name], values[name])

    def write(self, domain: str, item: str, data: Data, call: CallContext) -> None:
        name = item.removeprefix(SGCB).lstrip("$")
        if name not in ("ActSG", "EditSG", "CnfEdit"):
            raise AccessFailure(DataAccessError.OBJECT_ACCESS_DENIED)
        try:
            value = data_to_scalar(dict(SGCB_ATTRIBUTES)[name], data)
        except ValueMismatch:
            raise AccessFailure(DataAccessError.TYPE_INCONSISTENT) from None
        try:
            if name == "ActSG":
                assert isinstance(value, int)
                self.groups.select_active(value)
            elif name == "EditSG":
                assert isinstance(value, int)
                self.groups.select_edit(value, call.peer, call.now)
                self.service.hook(self.groups, call)
            elif value is True:
                self.groups.confirm(call.peer)
        except SettingGroupRefused as refusal:
            raise _refused(refusal) from None

    def type_description(self, domain: str, item: str) -> TypeDescription:
        name = item.removeprefix(SGCB).lstrip("$")
        types = {n: leaf_type_description(DataAttribute(n, FC.SP, b)) for n, b in SGCB_ATTRIBUTES}
        return types[name] if name else structure_description(list(types.items()))


class EditProvider:
    """The FC SE data of one logical node: writable by the client that edits."""

    def __init__(self, groups: SettingGroups, model: ServedModel) -> None:
        self.groups = groups
        self.model = model

    def read(self, domain: str, item: str, call: CallContext | None) -> Data:
        return self.model.stored_data(domain, item)

    def write(self, domain: str, item: str, data: Data, call: CallContext) -> None:
        try:
            self.groups.may_edit(call.peer)
        except SettingGroupRefused as refusal:
            raise _refused(refusal) from None
        self.model.write_stored(domain, item, data, call)

    def type_description(self, domain: str, item: str) -> TypeDescription:
        return self.model.stored_type(domain, item)


class SettingGroupService:
    """The setting groups of every LD of a served IED that has a SettingControl."""

    def __init__(self, core: ServerCore) -> None:
        self.core = core
        self.model = core.model
        self.devices: dict[str, SettingGroups] = {}
        self._hooked: set[tuple[str, str, str]] = set()
        for ld in self.model.ied.logical_devices:
            lln0 = ld.lln0
            if lln0 is None or lln0.setting_control is None:
                continue
            groups = SettingGroups(
                self.model.store, ld.name, lln0.setting_control, self.model.now, core
            )
            self.devices[ld.name] = groups
            names = [SGCB] + [f"{SGCB}${n}" for n, _ in SGCB_ATTRIBUTES]
            self.model.provide(ld.name, SGCB, SgcbProvider(groups, self), names)
            edited = {se[1].split("$", 1)[0] for _, se in groups.settings}
            for ln in sorted(edited):
                self.model.provide(ld.name, f"{ln}${FC.SE.value}", EditProvider(groups, self.model))

    def hook(self, groups: SettingGroups, call: CallContext) -> None:
        """The edit reservation ends with the association that made it."""
        scope = call.scope
        if scope is None:
            return
        key = (groups.domain, *scope.owner)
        if key in self._hooked:
            return
        self._hooked.add(key)
        peer = call.peer

        def closed(_why: str) -> None:
            self._hooked.discard(key)
            groups.release(peer)

        scope.on_close(closed)


__all__ = [
    "REFUSALS",
    "SGCB",
    "SGCB_ATTRIBUTES",
    "EditProvider",
    "SettingGroupService",
    "SgcbProvider",
]
