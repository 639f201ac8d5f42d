"""Controls over 8-2: each controllable DO's control object as an object provider.

The mapping (IEC 61850-8-1 clause 20, which 8-2 keeps):

- Select (SBO with normal security) = read of ``LN$CO$DO$SBO``: the answer is the SBO
  variable's reference (``LD/LN$CO$DO$SBO``) when the object is now selected by the
  caller, an empty string when not. Reading the DO or the LN whole selects nothing.
- SelectWithValue, Operate (TimeActivatedOperate when ``operTm`` lies ahead), Cancel =
  write of ``$SBOw``, ``$Oper``, ``$Cancel``.
- A refused write: an informationReport of ``LastApplError`` (vmd-specific: CntrlObj,
  Error, Origin, ctlNum, AddCause) goes out *before* the write answer's DataAccessError
  (``WRITE_FAILURES``); these are effects ahead of the answer on the request's call.
- CommandTermination (enhanced security): an informationReport of ``LN$CO$DO$Oper`` (the
  Operate as received) *after* the write answer when the application accepts at once, or
  whenever it completes later; negative: ``LastApplError`` and ``$Oper`` in one report.
  A TimeActivatedOperate refused at its activation time under normal security is told
  with a LastApplError report alone.

The select owner is the client's JID, held in the association scope: when the selecting
association ends, the selection (or a TimeActivatedOperate waiting) ends too. The state
machines and their rules are ``runtime.device.control``; statuses follow through the store
(``runtime.device.controllable``), so reports and logs see them as any other change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from gen61850.generated.scsm_8_2.bindings import (
    AccessResult,
    Data,
    DomainSpecificName,
    InformationReport,
    ListOfAccessResult,
    ListOfVariable,
    Mmspdu,
    ObjectName,
    TypeDescription,
    UnconfirmedPdu,
    UnconfirmedService,
    VariableAccessSpecification,
    VariableDef,
    VariableSpecification,
)
from gen61850.runtime.device import DataObject, Timestamp
from gen61850.runtime.device.control import (
    DEFAULT_MAX_ACTIVATION_DELAY,
    AddCause,
    ApplError,
    Check,
    Command,
    ControlHandler,
    ControlObject,
    Event,
    Origin,
    Refuse,
    Verdict,
)
from gen61850.runtime.device.controllable import ControlPoint, FollowCtlVal, is_controllable
from gen61850.runtime.xmpp.core import ServerCore
from gen61850.runtime.xmpp.mapping import DataAccessError
from gen61850.runtime.xmpp.model import AccessFailure, ServedModel, value_of
from gen61850.runtime.xmpp.outputs import Message
from gen61850.runtime.xmpp.scope import CallContext
from gen61850.runtime.xmpp.values import ValueMismatch, structure

log = logging.getLogger(__name__)
LAST_APPL_ERROR = "LastApplError"
INFORMATION_REPORT_BIT = 79  # ServiceSupportOptions informationReport
# The DataAccessError of a refused SBOw/Oper/Cancel write, by AddCause (others: 3).
WRITE_FAILURES: dict[AddCause, DataAccessError] = {
    AddCause.LOCKED_BY_OTHER_CLIENT: DataAccessError.TEMPORARILY_UNAVAILABLE,
    AddCause.OBJECT_ALREADY_SELECTED: DataAccessError.TEMPORARILY_UNAVAILABLE,
    AddCause.COMMAND_ALREADY_IN_EXECUTION: DataAccessError.TEMPORARILY_UNAVAILABLE,
    AddCause.INCONSISTENT_PARAMETERS: DataAccessError.OBJECT_VALUE_INVALID,
}
_SERVICES = {"SBOw": Event.SELECT_WITH_VALUE, "Oper": Event.OPERATE, "Cancel": Event.CANCEL}


def write_failure(cause: AddCause) -> DataAccessError:
    """The DataAccessError a refused control write answers with."""
    return WRITE_FAILURES.get(cause, DataAccessError.OBJECT_ACCESS_DENIED)


def information_report(items: list[tuple[ObjectName, Data]]) -> Mmspdu:
    """An informationReport (listOfVariable) of named values."""
    return Mmspdu(
        unconfirmed_pdu=UnconfirmedPdu(
            unconfirmed_service=UnconfirmedService(
                information_report=InformationReport(
                    variable_access_specification=VariableAccessSpecification(
                        list_of_variable=ListOfVariable(
                            sequence=[
                                VariableDef(variable_specification=VariableSpecification(name=n))
                                for n, _ in items
                            ]
                        )
                    ),
                    list_of_access_result=ListOfAccessResult(
                        access_result=[AccessResult(success=d) for _, d in items]
                    ),
                )
            )
        )
    )


@dataclass(frozen=True)
class LastApplError:
    """IEC 61850-7-2 LastApplError: which control object, Error, Origin, ctlNum, AddCause."""

    control_object: str  # LD/LN$CO$DO$Oper (or $SBOw, $Cancel)
    error: int
    origin: Origin
    ctl_num: int
    add_cause: int

    def data(self) -> Data:
        return structure(
            [
                Data(visible_string=self.control_object),
                Data(integer=self.error),
                structure(
                    [Data(integer=self.origin.or_cat), Data(octet_string=self.origin.or_ident)]
                ),
                Data(unsigned=self.ctl_num),
                Data(integer=self.add_cause),
            ]
        )

    @classmethod
    def of(cls, data: Data) -> LastApplError:
        """From its Data (ValueError when it is not one)."""
        parts = data.structure.data if data.structure is not None else []
        if len(parts) != 5 or parts[2].structure is None or len(parts[2].structure.data) != 2:
            raise ValueError("LastApplError: a structure of 5 components expected")
        origin = parts[2].structure.data
        values = (parts[0].visible_string, parts[1].integer, parts[3].unsigned, parts[4].integer)
        or_cat, or_ident = origin[0].integer, origin[1].octet_string
        if any(v is None for v in values) or or_cat is None or or_ident is None:
            raise ValueError("LastApplError: a component of the wrong type")
        reference, error, ctl_num, add_cause = values
        assert isinstance(reference, str) and isinstance(error, int)
        assert isinstance(ctl_num, int) and isinstance(add_cause, int)
        return cls(reference, error, Origin(or_cat, or_ident), ctl_num, add_cause)

    def describe(self) -> str:
        """``object-not-selected (18), Error 1`` for people."""
        try:
            cause = AddCause(self.add_cause).label
        except ValueError:
            cause = "unknown"
        try:
            error = ApplError(self.error).name.lower().replace("_", "-")
        except ValueError:
            error = "unknown"
        return f"{cause} ({self.add_cause}), Error {error} ({self.error})"


@dataclass
class _Operation:
    """An accepted Operate: who sent it in which association, and its Data (for the report)."""

    peer: str
    association_id: str
    data: Data


class ControlProvider:
    """Object provider of one controllable DO (``LN$CO$DO``) and the events of its machine."""

    def __init__(self, service: ControlService, domain: str, ln: str, do: DataObject) -> None:
        self.service = service
        self.model = service.model
        self.domain = domain
        self.prefix = f"{ln}$CO${do.name}"
        self.point = ControlPoint(self.model.store, domain, ln, do, self.model.now)
        self.control = ControlObject(
            name=self.point.reference,
            settings=self.point.settings,
            handler=service.handler,
            events=self,
            scheduler=service.scheduler,
            clock=self.model.store.clock,
            check_value=self.point.check_value,
            point=self.point,
            max_activation_delay=service.max_activation_delay,
        )
        self._call: CallContext | None = None
        self._operation: _Operation | None = None
        self._hooked: set[tuple[str, str]] = set()

    # ------------------------------------------------------------ the provider

    def read(self, domain: str, item: str, call: CallContext | None) -> Data:
        """A direct read of ``$SBO`` is a Select; anything else reads what is stored."""
        if item == f"{self.prefix}$SBO" and call is not None and call.scope is not None:
            verdict = self.control.select(Command(Event.SELECT, call.peer), call.now)
            if verdict.accepted:
                self._hook(call)
                return Data(visible_string=f"{domain}/{item}")
            return Data(visible_string="")
        return self.model.stored_data(domain, item)

    def write(self, domain: str, item: str, data: Data, call: CallContext) -> None:
        which = item[len(self.prefix) + 1 :]
        attribute = self.point.attribute(which) if which in _SERVICES else None
        if attribute is None:
            raise AccessFailure(DataAccessError.OBJECT_ACCESS_DENIED)
        try:
            value = value_of(attribute, data)
        except (ValueMismatch, TypeError, ValueError, OverflowError):
            raise AccessFailure(DataAccessError.TYPE_INCONSISTENT) from None
        if not isinstance(value, dict):
            raise AccessFailure(DataAccessError.TYPE_INCONSISTENT)
        command = _command(_SERVICES[which], value, call.peer)
        previous = self._operation
        if which == "Oper":
            self._operation = _Operation(call.peer, call.association_id, data)
        self._call = call
        try:
            verdict = self._serve(command, call.now)
        finally:
            self._call = None
        if verdict.accepted:
            self._hook(call)
            return
        self._operation = previous
        refused = verdict.refused
        assert refused is not None
        report = self._last_appl_error(which, command, refused)
        call.before.append(self._message(call.peer, call.association_id, [report]))
        raise AccessFailure(write_failure(refused.add_cause))

    def type_description(self, domain: str, item: str) -> TypeDescription:
        return self.model.stored_type(domain, item)

    def _serve(self, command: Command, now: float) -> Verdict:
        if command.service is Event.SELECT_WITH_VALUE:
            return self.control.select(command, now)
        if command.service is Event.CANCEL:
            return self.control.cancel(command, now)
        return self.control.operate(command, now)

    def _hook(self, call: CallContext) -> None:
        """The selection ends with the association that made it."""
        scope = call.scope
        if scope is None or scope.owner in self._hooked:
            return
        self._hooked.add(scope.owner)
        peer = call.peer

        def closed(_why: str) -> None:
            self._hooked.discard(scope.owner)
            self.control.release(peer, self.service.clock())

        scope.on_close(closed)

    # ------------------------------------------------------------ the machine's events

    def selected(self, control: ControlObject, selected: bool, now: float) -> None:
        self.point.set_selected(selected)

    def terminated(
        self, control: ControlObject, command: Command, outcome: Refuse | None, now: float
    ) -> None:
        """CommandTermination (enhanced), or a LastApplError for a refused activation."""
        operation = self._operation
        if operation is None:
            return
        oper = (_name(self.domain, f"{self.prefix}$Oper"), operation.data)
        items: list[tuple[ObjectName, Data]] = []
        if outcome is not None:
            items.append(self._last_appl_error("Oper", command, outcome))
        if self.point.settings().ctl_model.is_enhanced:
            items.append(oper)
        if not items:
            return
        message = self._message(operation.peer, operation.association_id, items)
        call = self._call
        if call is not None and call.peer == operation.peer:
            call.after.append(message)
        elif self.service.core.scope(operation.peer, operation.association_id) is not None:
            self.service.core.post(message)

    # ------------------------------------------------------------ reports

    def _last_appl_error(
        self, which: str, command: Command, refused: Refuse
    ) -> tuple[ObjectName, Data]:
        error = LastApplError(
            f"{self.domain}/{self.prefix}${which}",
            int(refused.error),
            command.origin,
            command.ctl_num,
            int(refused.add_cause),
        )
        return ObjectName(vmd_specific=LAST_APPL_ERROR), error.data()

    def _message(
        self, peer: str, association_id: str, items: list[tuple[ObjectName, Data]]
    ) -> Message:
        return Message(peer, self.service.core.encode(association_id, information_report(items)))


def _name(domain: str, item: str) -> ObjectName:
    return ObjectName(domain_specific=DomainSpecificName(domain_id=domain, item_id=item))


def _command(service: Event, value: dict[str, Any], client: str) -> Command:
    """A Command from an SBOw/Oper/Cancel value (components the structure lacks: defaults)."""
    origin = value.get("origin")
    check = value.get("Check")
    oper_tm = value.get("operTm")
    t = value.get("T")
    return Command(
        service=service,
        client=client,
        ctl_val=value.get("ctlVal"),
        origin=(
            Origin(int(origin.get("orCat", 0)), bytes(origin.get("orIdent", b"")))
            if isinstance(origin, dict)
            else Origin()
        ),
        ctl_num=int(value.get("ctlNum", 0)),
        t=t if isinstance(t, Timestamp) else None,
        test=bool(value.get("Test", False)),
        check=(
            Check(synchrocheck=bool(check & 2), interlock=bool(check & 1))
            if isinstance(check, int)
            else Check()
        ),
        oper_tm=oper_tm.seconds if isinstance(oper_tm, Timestamp) and oper_tm.seconds else None,
    )


class ControlService:
    """The control objects of one served IED over 8-2 (see the module doc).

    ``handler`` is the application (``ControlHandler``; default: ``FollowCtlVal``, which
    moves each status to its ctlVal); ``max_activation_delay`` bounds how far ahead an
    ``operTm`` may lie (seconds). Controllable DOs are those with SBO/SBOw/Oper/Cancel under
    FC CO directly below a logical node.
    """

    def __init__(
        self,
        core: ServerCore,
        handler: ControlHandler | None = None,
        *,
        max_activation_delay: float = DEFAULT_MAX_ACTIVATION_DELAY,
    ) -> None:
        self.core = core
        self.model: ServedModel = core.model
        self.handler: ControlHandler = handler or FollowCtlVal()
        self.max_activation_delay = max_activation_delay
        self.scheduler = core
        self.clock = self.model.store.clock
        self.providers: dict[str, ControlProvider] = {}
        core.advertise((INFORMATION_REPORT_BIT,))  # LastApplError, CommandTermination
        for ld in self.model.ied.logical_devices:
            for ln in ld.logical_nodes:
                for do in ln.data_objects:
                    prefix = f"{ln.name}$CO${do.name}"
                    if not is_controllable(do) or (ld.name, prefix) not in self.model.variables:
                        continue
                    provider = ControlProvider(self, ld.name, ln.name, do)
                    self.model.provide(ld.name, prefix, provider)
                    self.providers[provider.point.reference] = provider

    def control(self, reference: str) -> ControlObject:
        """The control object of ``LD/LN.DO`` (KeyError naming the ones there are)."""
        provider = self.providers.get(reference)
        if provider is None:
            known = ", ".join(sorted(self.providers)) or "none"
            raise KeyError(f"{reference}: not a controllable data object (there are: {known})")
        return provider.control


__all__ = [
    "LAST_APPL_ERROR",
    "WRITE_FAILURES",
    "ControlProvider",
    "ControlService",
    "LastApplError",
    "information_report",
    "write_failure",
]
