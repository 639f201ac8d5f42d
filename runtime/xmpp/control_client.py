"""The client side of the 8-2 control services: Select, SelectWithValue, Operate, Cancel.

A controllable data object is named ``LD/LN.DO`` (or ``LD/LN$CO$DO``). The client asks the
server once per object for the type of its ``Oper`` (GetDataDefinition), so the request
carries exactly the components the server's model has (operTm only where there is one)
and a ctlVal of the right MMS type, and for its ``ctlModel`` (CF), to know whether a
CommandTermination follows (enhanced security). Reports the server sends about controls
(LastApplError before a refused write, CommandTermination after an enhanced Operate) are
matched to the request by the control object's reference; each service returns a
``ControlResult`` with the outcome, the LastApplError that explains a refusal and, for
enhanced security, the termination.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gen61850.generated.scsm_8_2.bindings import Data, InformationReport, TypeDescription
from gen61850.runtime.device import BasicType, Timestamp
from gen61850.runtime.device.control import Check, CtlModel, OrCat, Origin
from gen61850.runtime.xmpp.client import ClientAssociation
from gen61850.runtime.xmpp.controls import LAST_APPL_ERROR, LastApplError
from gen61850.runtime.xmpp.errors import DataAccessFailure, LocalError, ValueRefused
from gen61850.runtime.xmpp.values import boolean, scalar_to_data, structure, utc_time

_ACSI = re.compile(r"^(?P<ld>[^/]+)/(?P<ln>[^.$/]+)\.(?P<do>[^.$/\[\]]+)$")
_MMS = re.compile(r"^(?P<ld>[^/]+)/(?P<ln>[^.$/]+)\$CO\$(?P<do>[^.$/]+)$")
DEFAULT_TERMINATION_TIMEOUT = 30.0  # s
REMOTE_ORIGIN = Origin(OrCat.REMOTE_CONTROL, b"")


class ControlReferenceError(LocalError):
    """Not ``LD/LN.DO`` nor ``LD/LN$CO$DO``."""


def control_reference(reference: str) -> tuple[str, str]:
    """(domain, ``LN$CO$DO``) of a controllable data object's reference."""
    match = _ACSI.match(reference) or _MMS.match(reference)
    if match is None:
        raise ControlReferenceError(
            f"{reference!r}: expected LD/LN.DO or LD/LN$CO$DO (e.g. LD0/XCBR1.Pos)"
        )
    return match.group("ld"), f"{match.group('ln')}$CO${match.group('do')}"


@dataclass(frozen=True)
class ControlResult:
    """The outcome of one control service.

    ``accepted``: the server answered the request positively (a Select: it returned the
    SBO reference). ``code``: the DataAccessError of a refused write. ``error``: the
    LastApplError that came with a refusal or with a negative CommandTermination.
    ``terminated``: enhanced security: True/False for a positive/negative
    CommandTermination, None when none was awaited (normal security, or a refusal).
    """

    service: str
    accepted: bool
    code: int | None = None
    error: LastApplError | None = None
    terminated: bool | None = None

    @property
    def succeeded(self) -> bool:
        """Accepted, and (when one came) terminated positively."""
        return self.accepted and self.terminated is not False

    def describe(self) -> str:
        """One line for people: ``Operate: success`` or the refusal and its AddCause."""
        if self.succeeded:
            tail = ", CommandTermination positive" if self.terminated else ""
            return f"{self.service}: success{tail}"
        parts = [f"{self.service}: refused"]
        if self.accepted and self.terminated is False:
            parts = [f"{self.service}: accepted, CommandTermination negative"]
        if self.code is not None:
            parts.append(f"DataAccessError {self.code}")
        if self.error is not None:
            parts.append(f"LastApplError {self.error.describe()}")
        return "; ".join(parts)


@dataclass
class _Object:
    oper: TypeDescription
    cancel: TypeDescription | None
    ctl_model: CtlModel | None
    ctl_num: int = 0
    selected: bool = False  # a SelectWithValue was accepted and no Cancel since
    has_sbow: bool = False


@dataclass
class _Waiting:
    errors: dict[str, LastApplError] = field(default_factory=dict)
    terminations: dict[str, asyncio.Future[LastApplError | None]] = field(default_factory=dict)


class ControlClient:
    """The control services over one association (see the module doc)."""

    def __init__(
        self,
        association: ClientAssociation,
        *,
        origin: Origin = REMOTE_ORIGIN,
        termination_timeout: float = DEFAULT_TERMINATION_TIMEOUT,
    ) -> None:
        self.association = association
        self.origin = origin
        self.termination_timeout = termination_timeout
        self._objects: dict[tuple[str, str], _Object] = {}
        self._waiting = _Waiting()
        association.client.report_listeners.append(self._on_report)

    def close(self) -> None:
        """Stop listening for this association's control reports."""
        listeners = self.association.client.report_listeners
        if self._on_report in listeners:
            listeners.remove(self._on_report)

    # ------------------------------------------------------------ services

    async def select(self, reference: str) -> ControlResult:
        """Select (SBO with normal security): a read of ``$SBO``."""
        domain, prefix = control_reference(reference)
        data = await self.association.get_data_values(domain, f"{prefix}$SBO")
        selected = data.visible_string is not None and data.visible_string != ""
        return ControlResult("Select", selected)

    async def select_with_value(self, reference: str, value: Any, **options: Any) -> ControlResult:
        """SelectWithValue (SBO with enhanced security): a write of ``$SBOw``."""
        return await self._write(reference, "SBOw", value, options)

    async def operate(self, reference: str, value: Any, **options: Any) -> ControlResult:
        """Operate (TimeActivatedOperate with ``oper_tm``): a write of ``$Oper``; under
        enhanced security it waits for the CommandTermination."""
        return await self._write(reference, "Oper", value, options)

    async def cancel(self, reference: str, value: Any = None, **options: Any) -> ControlResult:
        """Cancel: a write of ``$Cancel`` (with the ctlNum of the last SBOw/Oper unless given)."""
        return await self._write(reference, "Cancel", value, options)

    async def select_before_operate(
        self, reference: str, value: Any, **options: Any
    ) -> ControlResult:
        """The select the object's ctlModel asks for: Select (SBO normal) or SelectWithValue
        (SBO enhanced; also when the model is unknown and the object has an SBOw)."""
        domain, prefix = control_reference(reference)
        described = await self._object(domain, prefix)
        if described.ctl_model is CtlModel.SBO_NORMAL or (
            described.ctl_model is None and not described.has_sbow
        ):
            return await self.select(reference)
        return await self.select_with_value(reference, value, **options)

    async def ctl_val_description(self, reference: str) -> TypeDescription:
        """The MMS type of the object's ctlVal (to read a value typed as text)."""
        described = await self._object(*control_reference(reference))
        structure_type = described.oper.structure
        for component in structure_type.components.sequence if structure_type else []:
            inner = component.component_type.type_description
            if component.component_name == "ctlVal" and inner is not None:
                return inner
        raise LocalError(f"{reference}: its Oper has no ctlVal")

    async def ctl_model(self, reference: str) -> CtlModel | None:
        """The object's CF ctlModel (None when it has none the client may read)."""
        return (await self._object(*control_reference(reference))).ctl_model

    # ------------------------------------------------------------ the writes

    async def _write(
        self, reference: str, which: str, value: Any, options: Mapping[str, Any]
    ) -> ControlResult:
        unknown = set(options) - {"origin", "ctl_num", "test", "check", "oper_tm", "wait"}
        if unknown:
            raise TypeError(f"unknown options: {', '.join(sorted(unknown))}")
        domain, prefix = control_reference(reference)
        described = await self._object(domain, prefix)
        description = described.cancel if which == "Cancel" else described.oper
        if description is None:
            raise LocalError(f"{reference}: the server's model has no {which}")
        # a new ctlNum per SelectWithValue, and per Operate without one before it; an
        # Operate after SelectWithValue, and a Cancel, repeat the last one
        fresh = which == "SBOw" or (which == "Oper" and not described.selected)
        ctl_num = int(options.get("ctl_num", (described.ctl_num + fresh) % 256))
        described.ctl_num = ctl_num
        parameters = {
            "ctlVal": value,
            "operTm": options.get("oper_tm"),
            "origin": options.get("origin", self.origin),
            "ctlNum": ctl_num,
            "T": time.time(),
            "Test": bool(options.get("test", False)),
            "Check": options.get("check", Check()),
        }
        data = request_data(description, parameters, reference)
        key = f"{domain}/{prefix}${which}"
        oper_key = f"{domain}/{prefix}$Oper"
        self._waiting.errors.pop(key, None)
        enhanced = described.ctl_model is not None and described.ctl_model.is_enhanced
        wait = bool(options.get("wait", which == "Oper" and enhanced))
        future: asyncio.Future[LastApplError | None] | None = None
        if wait:
            future = asyncio.get_running_loop().create_future()
            self._waiting.terminations[oper_key] = future
        service = {"SBOw": "SelectWithValue", "Oper": "Operate", "Cancel": "Cancel"}[which]
        if which == "Oper" and options.get("oper_tm"):
            service = "TimeActivatedOperate"
        try:
            (code,) = await self.association.write([(domain, f"{prefix}${which}")], [data])
            if which != "Oper":
                described.selected = which == "SBOw" and code is None
            if code is not None:
                return ControlResult(service, False, code, self._waiting.errors.pop(key, None))
            if future is None:
                return ControlResult(service, True)
            error = await asyncio.wait_for(future, self.termination_timeout)
            return ControlResult(service, True, None, error, terminated=error is None)
        finally:
            if future is not None and self._waiting.terminations.get(oper_key) is future:
                del self._waiting.terminations[oper_key]

    async def _object(self, domain: str, prefix: str) -> _Object:
        known = self._objects.get((domain, prefix))
        if known is not None:
            return known
        names = await self.association.get_data_directory(domain, prefix)
        if "Oper" not in names and "SBO" not in names:
            raise LocalError(f"{domain}/{prefix}: not a control object (it has {names})")
        oper = await self.association.get_data_definition(domain, f"{prefix}$Oper")
        cancel = None
        if "Cancel" in names:
            cancel = await self.association.get_data_definition(domain, f"{prefix}$Cancel")
        ctl_model: CtlModel | None = None
        ln, _, do = prefix.split("$", 2)
        try:
            data = await self.association.get_data_values(domain, f"{ln}$CF${do}$ctlModel")
            if data.integer is not None:
                ctl_model = CtlModel(data.integer)
        except (DataAccessFailure, ValueError):
            ctl_model = None
        found = _Object(oper, cancel, ctl_model, has_sbow="SBOw" in names)
        self._objects[(domain, prefix)] = found
        return found

    # ------------------------------------------------------------ reports

    def _on_report(self, sender: str, report: InformationReport) -> None:
        if sender != self.association.state.peer:
            return
        spec = report.variable_access_specification.list_of_variable
        if spec is None:
            return
        results = report.list_of_access_result.access_result
        error: LastApplError | None = None
        oper: str | None = None
        for definition, result in zip(spec.sequence, results, strict=False):
            name = definition.variable_specification.name
            if name is None or result.success is None:
                continue
            if name.vmd_specific == LAST_APPL_ERROR:
                try:
                    error = LastApplError.of(result.success)
                except ValueError:
                    continue
            elif name.domain_specific is not None:
                item = name.domain_specific.item_id
                if "$CO$" in item and item.endswith("$Oper"):
                    oper = f"{name.domain_specific.domain_id}/{item}"
        if oper is not None:  # a CommandTermination (negative with its LastApplError)
            future = self._waiting.terminations.pop(oper, None)
            if future is not None and not future.done():
                future.set_result(error)
        elif error is not None:
            self._waiting.errors[error.control_object] = error


def request_data(description: TypeDescription, values: Mapping[str, Any], where: str) -> Data:
    """The SBOw/Oper/Cancel structure ``description`` filled from ``values`` by component
    name; ValueRefused naming the component when a value does not fit its type."""
    structure_type = description.structure
    if structure_type is None:
        raise ValueRefused(f"{where}: the control structure is not a structure")
    items = []
    for component in structure_type.components.sequence:
        name = component.component_name or ""
        inner = component.component_type.type_description
        if inner is None:
            raise ValueRefused(f"{where}.{name}: a named type the client cannot fill")
        items.append(_component(name, inner, values.get(name), f"{where}.{name}"))
    return structure(items)


def _component(name: str, description: TypeDescription, value: Any, where: str) -> Data:
    if name == "origin":
        origin = value if isinstance(value, Origin) else Origin()
        return structure([Data(integer=int(origin.or_cat)), Data(octet_string=origin.or_ident)])
    if name == "Check":
        check = value if isinstance(value, Check) else Check()
        return Data(bit_string=f"{int(check.synchrocheck)}{int(check.interlock)}")
    if name in ("operTm", "T"):
        seconds = value.seconds if isinstance(value, Timestamp) else float(value or 0)
        return Data(utc_time=utc_time(seconds))
    return value_data(description, value, where)


def value_data(description: TypeDescription, value: Any, where: str) -> Data:
    """A ctlVal (or any plain value) as the Data its type description asks for."""
    try:
        if description.boolean is not None:
            if not isinstance(value, bool | int) or (
                isinstance(value, int) and value not in (0, 1)
            ):
                raise ValueError("a boolean")
            return Data(boolean=boolean(bool(value)))
        if description.integer is not None:
            number = _integer(value)
            limit = 1 << (description.integer - 1)
            if not -limit <= number < limit:
                raise ValueError(f"an integer of {description.integer} bits")
            return Data(integer=number)
        if description.unsigned is not None:
            number = _integer(value)
            if not 0 <= number < 1 << description.unsigned:
                raise ValueError(f"an unsigned integer of {description.unsigned} bits")
            return Data(unsigned=number)
        if description.bit_string is not None:
            width = abs(description.bit_string)
            number = _integer(value)
            if not 0 <= number < 1 << width:
                raise ValueError(f"{width} bits")
            return Data(bit_string=format(number, f"0{width}b"))
        if description.floating_point is not None:
            wide = description.floating_point.format_width == 64
            btype = BasicType.FLOAT64 if wide else BasicType.FLOAT32
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError("a number")
            return scalar_to_data(btype, float(value))
        if description.structure is not None:
            if not isinstance(value, Mapping):
                parts = description.structure.components.sequence
                if len(parts) == 1 and parts[0].component_type.type_description is not None:
                    value = {parts[0].component_name: value}  # AnalogueValue {f} from a number
                else:
                    raise ValueError("components by name")
            return request_data(description, value, where)
        if description.visible_string is not None and isinstance(value, str):
            return Data(visible_string=value)
        if description.octet_string is not None and isinstance(value, bytes):
            return Data(octet_string=value)
    except (ValueError, TypeError, OverflowError) as error:
        raise ValueRefused(f"{where}: {value!r} is not {error}") from None
    raise ValueRefused(f"{where}: {value!r} does not fit the server's type")


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("an integer")
    return value


def parse_value(description: TypeDescription, text: str) -> Any:
    """A ctlVal typed on a command line, for the server's ctlVal type: ``true``/``false``
    (also ``on``/``off``), integers, ``lower``/``higher``/``stop`` for Tcmd, numbers."""
    lowered = text.strip().lower()
    if description.boolean is not None:
        if lowered in ("true", "1", "on"):
            return True
        if lowered in ("false", "0", "off"):
            return False
    elif description.bit_string is not None:
        words = {"stop": 0, "lower": 1, "higher": 2}
        if lowered in words:
            return words[lowered]
        if set(lowered) <= {"0", "1"} and len(lowered) == abs(description.bit_string):
            return int(lowered, 2)
    elif description.integer is not None or description.unsigned is not None:
        try:
            return int(lowered, 0)
        except ValueError:
            pass
    elif description.floating_point is not None or description.structure is not None:
        try:
            return float(lowered)
        except ValueError:
            pass
    raise ValueRefused(f"{text!r} is not a value of this control's ctlVal")


__all__ = [
    "ControlClient",
    "ControlReferenceError",
    "ControlResult",
    "control_reference",
    "parse_value",
    "request_data",
    "value_data",
]
