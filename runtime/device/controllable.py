"""A controllable data object bound to the value store: its settings, its status, a demo handler.

``ControlPoint`` knows where a DO's control settings (CF ``ctlModel``, ``sboTimeout``,
``sboClass``, ``operTimeout``), its mode (``Beh``/``Mod``) and its status live in the store,
which ctlVal values it takes, and how a status follows a ctlVal for each controllable CDC:

| CDC | ctlVal | status that follows |
| --- | --- | --- |
| SPC | BOOLEAN | ST ``stVal`` = ctlVal |
| DPC | BOOLEAN | ST ``stVal`` (Dbpos) on (10) for true, off (01) for false |
| INC | INT32 | ST ``stVal`` = ctlVal |
| ENC | Enum | ST ``stVal`` = ctlVal (an ordinal its EnumType lists) |
| BSC | Tcmd | ST ``valWTr.posVal`` one step lower (01) or higher (10); stop (00) keeps it |
| ISC | INT8 | ST ``valWTr.posVal`` = ctlVal |
| APC | AnalogueValue | MX ``mxVal`` = ctlVal |
| BAC | Tcmd | MX ``mxVal`` one step (1) lower or higher |

``set_status`` changes the status, ``q``, ``t`` and the command's ``origin`` and ``ctlNum``
(ST, when the DO has them) as one store transaction, so reports and logs see one change.
Protocol-neutral: the 8-2 layer (``runtime.xmpp.controls``) maps the services onto it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gen61850.runtime.device.control import (
    DEFAULT_OPER_TIMEOUT,
    DEFAULT_SBO_TIMEOUT,
    Accept,
    AddCause,
    Behaviour,
    Command,
    Completion,
    ControlObject,
    ControlSettings,
    CtlModel,
    Decision,
    Refuse,
    SboClass,
)
from gen61850.runtime.device.model import DataAttribute, DataObject
from gen61850.runtime.device.store import Change, LeafKey, ValueStore
from gen61850.runtime.device.timestamp import Timestamp
from gen61850.runtime.device.types import FC, BasicType

CONTROLLABLE_CDCS = frozenset({"SPC", "DPC", "INC", "ENC", "BSC", "ISC", "APC", "BAC"})
CONTROL_ATTRIBUTES = ("SBO", "SBOw", "Oper", "Cancel")  # the CO attributes of 8-1
STATUS_OF_CDC: dict[str, tuple[FC, str]] = {
    "SPC": (FC.ST, "stVal"),
    "DPC": (FC.ST, "stVal"),
    "INC": (FC.ST, "stVal"),
    "ENC": (FC.ST, "stVal"),
    "BSC": (FC.ST, "valWTr"),
    "ISC": (FC.ST, "valWTr"),
    "APC": (FC.MX, "mxVal"),
    "BAC": (FC.MX, "mxVal"),
}
DBPOS_ON, DBPOS_OFF = 2, 1  # Dbpos bits 10 and 01
TCMD_STOP, TCMD_LOWER, TCMD_HIGHER, TCMD_RESERVED = 0, 1, 2, 3
POS_VAL_RANGE = (-64, 63)  # valWTr.posVal (IEC 61850-7-3)
QUALITY_GOOD = 0


def is_controllable(do: DataObject) -> bool:
    """A DO with an Oper (or SBO/SBOw/Cancel) attribute under FC CO."""
    return any(
        isinstance(c, DataAttribute) and c.fc is FC.CO and c.name in CONTROL_ATTRIBUTES
        for c in do.children
    )


@dataclass
class ControlPoint:
    """One controllable DO (``ln``.``do``) of logical device ``domain`` over ``store``."""

    store: ValueStore
    domain: str
    ln: str
    do: DataObject
    now: Callable[[], Timestamp]  # the time now, with the clock's TimeQuality
    lln0: str = "LLN0"

    @property
    def reference(self) -> str:
        """``LD/LN.DO``."""
        return f"{self.domain}/{self.ln}.{self.do.name}"

    @property
    def cdc(self) -> str:
        return self.do.cdc

    def __post_init__(self) -> None:
        # the DO's structure never changes once served: its keys and attributes are looked
        # up once (values are always read from the store)
        self._keys: dict[tuple[object, ...], LeafKey] = {}
        self._attributes: dict[tuple[str, FC], DataAttribute | None] = {}
        self._settings_keys: tuple[LeafKey, LeafKey, tuple[LeafKey, ...], bool] | None = None
        self._cf_keys: dict[str, LeafKey] = {}  # CF leaves by name (no FC to hash)
        # settings() is asked several times per request: the leaves it reads, the values it
        # last saw there (the very objects: the store replaces a value, never mutates it)
        # and what it made of them
        self._settings_read: tuple[LeafKey, ...] = ()
        self._settings_seen: tuple[Any, ...] = ()
        self._settings_made: ControlSettings | None = None

    def key(self, fc: FC, *path: str, ln: str | None = None, do: str | None = None) -> LeafKey:
        """The store key of ``LN$FC$DO$path`` (cached: every request asks for the same)."""
        memo = (fc, path, ln, do)
        found = self._keys.get(memo)
        if found is None:
            found = (self.domain, "$".join([ln or self.ln, fc.value, do or self.do.name, *path]))
            self._keys[memo] = found
        return found

    def get(self, key: LeafKey) -> Any:
        """The stored value of ``key``, None when the DO has no such leaf."""
        return self.store.values.get(key)

    def attribute(self, name: str, fc: FC = FC.CO) -> DataAttribute | None:
        memo = (name, fc)
        if memo not in self._attributes:
            self._attributes[memo] = next(
                (
                    c
                    for c in self.do.children
                    if isinstance(c, DataAttribute) and c.name == name and c.fc is fc
                ),
                None,
            )
        return self._attributes[memo]

    @property
    def ctl_val_attribute(self) -> DataAttribute | None:
        """``Oper.ctlVal`` (or ``SBOw.ctlVal``): what the ctlVal of this DO is."""
        for name in ("Oper", "SBOw", "Cancel"):
            found = self.attribute(name)
            if found is not None and found.child("ctlVal") is not None:
                return found.child("ctlVal")
        return None

    # ------------------------------------------------------------ settings

    def settings(self) -> ControlSettings:
        """CF ctlModel (none or unknown: status-only), sboTimeout and operTimeout (ms; none
        or 0: the defaults), sboClass, and the mode of the LN.

        Made again only when one of the leaves it reads holds another value object than
        last time (identity, not equality: ``True == 1`` but they read differently)."""
        if not self._settings_read:
            self._settings()  # finds the keys
            keys = self._settings_keys
            assert keys is not None
            self._settings_read = (
                keys[0],
                keys[1],
                self._cf_keys["sboTimeout"],
                self._cf_keys["operTimeout"],
                *keys[2],
            )
        get = self.store.values.get
        seen = tuple(map(get, self._settings_read))
        made = self._settings_made
        if made is None or not all(map(operator.is_, seen, self._settings_seen)):
            made = self._settings_made = self._settings()
            self._settings_seen = seen
        return made

    def _settings(self) -> ControlSettings:
        if self._settings_keys is None:
            oper = self.attribute("Oper")
            self._settings_keys = (
                self.key(FC.CF, "ctlModel"),
                self.key(FC.CF, "sboClass"),
                self._behaviour_keys(),
                oper is not None and oper.child("operTm") is not None,
            )
        model_key, class_key, _, time_activated = self._settings_keys
        model = self.get(model_key)
        try:
            ctl_model = CtlModel(model) if isinstance(model, int) else CtlModel.STATUS_ONLY
        except ValueError:
            ctl_model = CtlModel.STATUS_ONLY
        sbo_class = self.get(class_key)
        return ControlSettings(
            ctl_model=ctl_model,
            sbo_timeout=self._milliseconds("sboTimeout", DEFAULT_SBO_TIMEOUT),
            sbo_class=SboClass.OPERATE_MANY if sbo_class == 1 else SboClass.OPERATE_ONCE,
            oper_timeout=self._milliseconds("operTimeout", DEFAULT_OPER_TIMEOUT),
            behaviour=self.behaviour(),
            time_activated=time_activated,
        )

    def _behaviour_keys(self) -> tuple[LeafKey, ...]:
        return tuple(
            self.key(FC.ST, "stVal", ln=ln, do=name)
            for ln in (self.ln, self.lln0)
            for name in ("Beh", "Mod")
        )

    def _milliseconds(self, name: str, default: float) -> float:
        key = self._cf_keys.get(name)
        if key is None:
            key = self._cf_keys[name] = self.key(FC.CF, name)
        value = self.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value / 1000
        return default

    def behaviour(self) -> Behaviour | None:
        """The mode the LN is in: its Beh, else its Mod, else LLN0's Beh or Mod (7-4)."""
        keys = self._settings_keys[2] if self._settings_keys else self._behaviour_keys()
        for key in keys:
            value = self.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                try:
                    return Behaviour(value)
                except ValueError:
                    return None
        return None

    # ------------------------------------------------------------ values

    def check_value(self, ctl_val: Any) -> AddCause | None:
        """Inconsistent-parameters for an Enum ordinal the EnumType does not list or a
        reserved Tcmd (11); None when the value may be operated."""
        attribute = self.ctl_val_attribute
        if attribute is None:
            return None
        enum = attribute.enum if attribute.btype is BasicType.ENUM else None
        if enum is not None and enum.literal(int(ctl_val)) is None:
            return AddCause.INCONSISTENT_PARAMETERS
        if attribute.btype is BasicType.TCMD and ctl_val == TCMD_RESERVED:
            return AddCause.INCONSISTENT_PARAMETERS
        return None

    def followed(self, ctl_val: Any) -> dict[LeafKey, Any]:
        """The status leaves a ctlVal leads to, by CDC (see the module table); only the
        leaves the DO has."""
        return {k: v for k, v in self._followed(ctl_val).items() if k in self.store.leaves}

    def _followed(self, ctl_val: Any) -> dict[LeafKey, Any]:
        fc, name = STATUS_OF_CDC.get(self.cdc, (FC.ST, "stVal"))
        if self.cdc == "SPC":
            return {self.key(fc, name): bool(ctl_val)}
        if self.cdc == "DPC":
            return {self.key(fc, name): DBPOS_ON if ctl_val else DBPOS_OFF}
        if self.cdc in ("INC", "ENC"):
            return {self.key(fc, name): int(ctl_val)}
        if self.cdc in ("BSC", "ISC"):
            updates: dict[LeafKey, Any] = {}
            position = self.key(fc, name, "posVal")
            if self.cdc == "ISC":
                updates[position] = int(ctl_val)
            else:
                current = self.get(position)
                step = {TCMD_LOWER: -1, TCMD_HIGHER: 1}.get(int(ctl_val), 0)
                low, high = POS_VAL_RANGE
                updates[position] = min(high, max(low, (current or 0) + step))
            updates[self.key(fc, name, "transInd")] = False
            return updates
        if self.cdc == "APC" and isinstance(ctl_val, Mapping):
            return {self.key(fc, name, part): value for part, value in ctl_val.items()}
        if self.cdc == "BAC":
            step = {TCMD_LOWER: -1, TCMD_HIGHER: 1}.get(int(ctl_val), 0)
            updates = {}
            for part in ("f", "i"):
                key = self.key(fc, name, part)
                if key in self.store.leaves:
                    updates[key] = (self.get(key) or 0) + step
            return updates
        return {}

    def set_status(
        self,
        updates: Mapping[LeafKey, Any],
        *,
        quality: int | None = QUALITY_GOOD,
        command: Command | None = None,
        time: Timestamp | None = None,
    ) -> list[Change]:
        """``updates`` (status leaves), ``q``, ``t`` and the command's ``origin`` and
        ``ctlNum`` as one transaction; what a handler calls when the process has moved."""
        fc, _ = STATUS_OF_CDC.get(self.cdc, (FC.ST, "stVal"))
        when = time or self.now()
        leaves = dict(updates)
        stamps: tuple[tuple[LeafKey, Any], ...] = (
            (self.key(fc, "q"), quality),
            (self.key(fc, "t"), when),
        )
        for key, value in stamps:
            if value is not None and key in self.store.leaves:
                leaves[key] = value
        if command is not None:
            origin: tuple[tuple[LeafKey, Any], ...] = (
                (self.key(FC.ST, "origin", "orCat"), command.origin.or_cat),
                (self.key(FC.ST, "origin", "orIdent"), command.origin.or_ident),
                (self.key(FC.ST, "ctlNum"), command.ctl_num),
            )
            for key, value in origin:
                if key in self.store.leaves:
                    leaves[key] = value
        return self.store.set_many(leaves, time=when.seconds)

    def set_selected(self, selected: bool) -> None:
        """ST ``stSeld``, when the DO has one."""
        key = self.key(FC.ST, "stSeld")
        if key in self.store.leaves:
            self.store.set(key, selected, time=self.now().seconds)


class FollowCtlVal:
    """The demo handler: every Select is accepted, every Operate moves the status to what
    the ctlVal asks (``ControlPoint.followed``) at once. With ``refuse`` set, Operates whose
    Check asks for an interlock check are refused as blocked-by-interlocking, and those
    asking for a synchrocheck as blocked-by-synchrocheck (a way to see refusals in demos)."""

    def __init__(self, *, refuse_checks: bool = False) -> None:
        self.refuse_checks = refuse_checks

    def select(self, control: ControlObject, command: Command) -> Accept | Refuse:
        return Accept()

    def operate(self, control: ControlObject, command: Command, completion: Completion) -> Decision:
        if self.refuse_checks and command.check.interlock:
            return Refuse(AddCause.BLOCKED_BY_INTERLOCKING)
        if self.refuse_checks and command.check.synchrocheck:
            return Refuse(AddCause.BLOCKED_BY_SYNCHROCHECK)
        point = control.point
        if point is not None:
            point.set_status(point.followed(command.ctl_val), command=command)
        return Accept()

    def cancel(self, control: ControlObject, command: Command) -> None:
        return None


__all__ = [
    "CONTROLLABLE_CDCS",
    "CONTROL_ATTRIBUTES",
    "STATUS_OF_CDC",
    "ControlPoint",
    "FollowCtlVal",
    "is_controllable",
]
