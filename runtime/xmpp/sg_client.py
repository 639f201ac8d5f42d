"""The client side of the setting-group services (IEC 61850-7-2 clause 16 over 8-2).

Settings are named below their logical device as ``LN.DO.DA`` (``PTOC1.StrVal.setMag.f``);
the FC (SE for the edit buffer, SG for the active group) is the service's. Refusals raise
``DataAccessFailure`` with the server's DataAccessError (see ``runtime.xmpp.setting_groups``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gen61850.generated.scsm_8_2.bindings import Data
from gen61850.runtime.device import Timestamp
from gen61850.runtime.xmpp.client import ClientAssociation
from gen61850.runtime.xmpp.control_client import value_data
from gen61850.runtime.xmpp.errors import LocalError, PayloadError
from gen61850.runtime.xmpp.typed import PlainValue
from gen61850.runtime.xmpp.values import boolean, is_true, timestamp_of

SGCB = "LLN0$SP$SGCB"


@dataclass(frozen=True)
class SgcbValues:
    """GetSGCBValues: how many groups, which is active, which is edited, since when."""

    num_of_sg: int
    act_sg: int
    edit_sg: int
    cnf_edit: bool
    lact_tm: Timestamp
    resv_tms: int

    def describe(self) -> str:
        when = self.lact_tm.datetime.isoformat(timespec="seconds")
        return (
            f"NumOfSG {self.num_of_sg}, ActSG {self.act_sg} (since {when}), "
            f"EditSG {self.edit_sg}, ResvTms {self.resv_tms} s"
        )


def setting_item(reference: str, fc: str) -> str:
    """``PTOC1.StrVal.setMag.f`` → ``PTOC1$SE$StrVal$setMag$f`` (or the ``$``-form as given)."""
    if "$" in reference:
        return reference
    parts = reference.split(".")
    if len(parts) < 3 or not all(parts):
        raise LocalError(f"{reference!r}: a setting is LN.DO.DA (e.g. PTOC1.StrVal.setMag.f)")
    return "$".join([parts[0], fc, *parts[1:]])


class SettingGroupClient:
    """The setting-group services of one association."""

    def __init__(self, association: ClientAssociation) -> None:
        self.association = association

    async def get_sgcb_values(self, ld: str) -> SgcbValues:
        data = await self.association.get_data_values(ld, SGCB)
        parts = data.structure.data if data.structure is not None else []
        try:
            num, act, edit = (p.unsigned for p in parts[:3])
            cnf, lact, resv = parts[3].boolean, parts[4].utc_time, parts[5].unsigned
        except (IndexError, ValueError):
            raise PayloadError(SGCB, "not the six attributes of an SGCB") from None
        if None in (num, act, edit, cnf, lact, resv):
            raise PayloadError(SGCB, "an SGCB attribute of the wrong type")
        assert num is not None and act is not None and edit is not None and lact is not None
        assert resv is not None
        return SgcbValues(num, act, edit, is_true(cnf), timestamp_of(lact), resv)

    async def select_active_sg(self, ld: str, group: int) -> None:
        await self.association.set_data_values(ld, f"{SGCB}$ActSG", Data(unsigned=group))

    async def select_edit_sg(self, ld: str, group: int) -> None:
        await self.association.set_data_values(ld, f"{SGCB}$EditSG", Data(unsigned=group))

    async def confirm_edit_sg_values(self, ld: str) -> None:
        await self.association.set_data_values(ld, f"{SGCB}$CnfEdit", Data(boolean=boolean(True)))

    async def set_edit_sg_value(self, ld: str, reference: str, value: Any) -> None:
        """SetEditSGValue of one setting (FC SE), its value as the server's type asks."""
        item = setting_item(reference, "SE")
        description = await self.association.get_data_definition(ld, item)
        data = value_data(description, value, f"{ld}/{item}")
        await self.association.set_data_values(ld, item, data)

    async def get_edit_sg_value(self, ld: str, reference: str, fc: str = "SE") -> PlainValue:
        """GetEditSGValue: a setting's value in the edit buffer (SE) or active group (SG)."""
        (value,) = await self.association.read_values([f"{ld}/{setting_item(reference, fc)}"])
        if isinstance(value, Exception):
            raise value
        return value


__all__ = ["SGCB", "SettingGroupClient", "SgcbValues", "setting_item"]
