"""The IEC 61850-7-2 control model (clause 20) as sans-I/O state machines: tables, no I/O.

Theory of operation. A controllable data object (SPC, DPC, INC, ENC, BSC, ISC, APC, BAC)
follows the machine its ``ctlModel`` names. Direct models operate at once; SBO models need a
Select (normal security: a read of ``SBO``; enhanced: SelectWithValue, a write of
``SBOw``) by the client that then operates, within ``sboTimeout``. Enhanced security
reports the end of each operation (CommandTermination, positive or negative); normal
security only answers the request. An Operate with an ``operTm`` in the future is a
TimeActivatedOperate: accepted now, performed when the time comes, cancellable until then.

``TRANSITIONS`` says which events each model accepts in each state and where they lead;
``REFUSALS`` which AddCause a client's event meets where the table has no entry. An event
the table accepts can still be refused by its parameters (another client holds the object,
an operTm too far ahead, Operate values that differ from SelectWithValue, a Test flag the
mode forbids, a ctlVal out of range) or by the application (``ControlHandler``): a refused
event leaves the state as it was, except a refused Operate, which ends the operation as a
completed one does (``AFTER_OPERATE``). Internal events the table does not list (a late
timer) are ignored.

No clock and no timers of its own: every call takes ``now``; timeouts are scheduled
through the ``Scheduler`` given (the 8-2 core's timers), completions the application
reports later are dated by the clock given.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from gen61850.runtime.device.timestamp import Timestamp

if TYPE_CHECKING:
    from gen61850.runtime.device.controllable import ControlPoint

log = logging.getLogger(__name__)

DEFAULT_SBO_TIMEOUT = 30.0  # s, when the DO has no (or a zero) CF sboTimeout
DEFAULT_OPER_TIMEOUT = 30.0  # s, enhanced security, when the DO has no CF operTimeout
DEFAULT_MAX_ACTIVATION_DELAY = 86_400.0  # s: an operTm further ahead is refused


class CtlModel(enum.IntEnum):
    """CF ``ctlModel`` (IEC 61850-7-3)."""

    STATUS_ONLY = 0
    DIRECT_NORMAL = 1
    SBO_NORMAL = 2
    DIRECT_ENHANCED = 3
    SBO_ENHANCED = 4

    @property
    def is_sbo(self) -> bool:
        return self in (CtlModel.SBO_NORMAL, CtlModel.SBO_ENHANCED)

    @property
    def label(self) -> str:
        """The 7-3 name: ``sbo-with-enhanced-security``, ``status-only``, ..."""
        return {
            CtlModel.STATUS_ONLY: "status-only",
            CtlModel.DIRECT_NORMAL: "direct-with-normal-security",
            CtlModel.SBO_NORMAL: "sbo-with-normal-security",
            CtlModel.DIRECT_ENHANCED: "direct-with-enhanced-security",
            CtlModel.SBO_ENHANCED: "sbo-with-enhanced-security",
        }[self]

    @property
    def is_enhanced(self) -> bool:
        return self in (CtlModel.DIRECT_ENHANCED, CtlModel.SBO_ENHANCED)


class SboClass(enum.IntEnum):
    """CF ``sboClass``: after an Operate, is the object still selected (operate-many)?"""

    OPERATE_ONCE = 0
    OPERATE_MANY = 1


class AddCause(enum.IntEnum):
    """Why a control service failed (IEC 61850-7-2 AddCause, carried in LastApplError)."""

    UNKNOWN = 0
    NOT_SUPPORTED = 1
    BLOCKED_BY_SWITCHING_HIERARCHY = 2
    SELECT_FAILED = 3
    INVALID_POSITION = 4
    POSITION_REACHED = 5
    PARAMETER_CHANGE_IN_EXECUTION = 6
    STEP_LIMIT = 7
    BLOCKED_BY_MODE = 8
    BLOCKED_BY_PROCESS = 9
    BLOCKED_BY_INTERLOCKING = 10
    BLOCKED_BY_SYNCHROCHECK = 11
    COMMAND_ALREADY_IN_EXECUTION = 12
    BLOCKED_BY_HEALTH = 13
    ONE_OF_N_CONTROL = 14
    ABORTION_BY_CANCEL = 15
    TIME_LIMIT_OVER = 16
    ABORTION_BY_TRIP = 17
    OBJECT_NOT_SELECTED = 18
    OBJECT_ALREADY_SELECTED = 19
    NO_ACCESS_AUTHORITY = 20
    ENDED_WITH_OVERSHOOT = 21
    ABORTION_DUE_TO_DEVIATION = 22
    ABORTION_BY_COMMUNICATION_LOSS = 23
    BLOCKED_BY_COMMAND = 24
    NONE = 25
    INCONSISTENT_PARAMETERS = 26
    LOCKED_BY_OTHER_CLIENT = 27

    @property
    def label(self) -> str:
        """``object-not-selected`` for 18 (the 7-2 name, lower case)."""
        if self is AddCause.ONE_OF_N_CONTROL:
            return "1-of-n-control"
        return self.name.lower().replace("_", "-")


class ApplError(enum.IntEnum):
    """LastApplError ``Error`` (IEC 61850-7-2)."""

    NO_ERROR = 0
    UNKNOWN = 1
    TIMEOUT_TEST_NOT_OK = 2
    OPERATOR_TEST_NOT_OK = 3


class OrCat(enum.IntEnum):
    """Originator category ``orCat`` (IEC 61850-7-3)."""

    NOT_SUPPORTED = 0
    BAY_CONTROL = 1
    STATION_CONTROL = 2
    REMOTE_CONTROL = 3
    AUTOMATIC_BAY = 4
    AUTOMATIC_STATION = 5
    AUTOMATIC_REMOTE = 6
    MAINTENANCE = 7
    PROCESS = 8


class Behaviour(enum.IntEnum):
    """``Beh``/``Mod`` stVal (IEC 61850-7-4): what commands the LN takes."""

    ON = 1
    BLOCKED = 2
    TEST = 3
    TEST_BLOCKED = 4
    OFF = 5


class State(enum.Enum):
    UNSELECTED = "unselected"
    READY = "ready"  # selected: sboTimeout runs, Operate may come
    WAIT_ACTIVATION = "wait-for-activation-time"  # a TimeActivatedOperate waits for operTm
    WAIT_TERMINATION = "wait-for-termination"  # enhanced: operating, CommandTermination due


class Event(enum.Enum):
    SELECT = "Select"  # SBO normal: read of SBO
    SELECT_WITH_VALUE = "SelectWithValue"  # SBO enhanced: write of SBOw
    OPERATE = "Operate"
    TIMED_OPERATE = "TimeActivatedOperate"  # Operate with operTm in the future
    CANCEL = "Cancel"
    SBO_TIMEOUT = "sboTimeout expired"
    ACTIVATION = "operTm reached"
    TERMINATED = "operation ended"
    RELEASED = "the owner's association ended"


CLIENT_EVENTS = frozenset(
    {Event.SELECT, Event.SELECT_WITH_VALUE, Event.OPERATE, Event.TIMED_OPERATE, Event.CANCEL}
)


class _AfterOperate(enum.Enum):
    """Where a completed (or refused) Operate leads: READY for sboClass operate-many,
    UNSELECTED for operate-once and for the direct models."""

    AFTER_OPERATE = "after operate"


AFTER_OPERATE = _AfterOperate.AFTER_OPERATE
Target = State | _AfterOperate
U, R, WA, WT = State.UNSELECTED, State.READY, State.WAIT_ACTIVATION, State.WAIT_TERMINATION

# The control state machines (IEC 61850-7-2 clause 20): model → state → accepted event → next.
TRANSITIONS: dict[CtlModel, dict[State, dict[Event, Target]]] = {
    CtlModel.STATUS_ONLY: {},
    CtlModel.DIRECT_NORMAL: {
        U: {Event.OPERATE: U, Event.TIMED_OPERATE: WA},
        WA: {Event.ACTIVATION: U, Event.CANCEL: U, Event.RELEASED: U},
    },
    CtlModel.SBO_NORMAL: {
        U: {Event.SELECT: R},
        R: {
            Event.SELECT: R,
            Event.OPERATE: AFTER_OPERATE,
            Event.TIMED_OPERATE: WA,
            Event.CANCEL: U,
            Event.SBO_TIMEOUT: U,
            Event.RELEASED: U,
        },
        WA: {Event.ACTIVATION: AFTER_OPERATE, Event.CANCEL: U, Event.RELEASED: U},
    },
    CtlModel.DIRECT_ENHANCED: {
        U: {Event.OPERATE: WT, Event.TIMED_OPERATE: WA},
        WA: {Event.ACTIVATION: WT, Event.CANCEL: U, Event.RELEASED: U},
        WT: {Event.TERMINATED: U},
    },
    CtlModel.SBO_ENHANCED: {
        U: {Event.SELECT_WITH_VALUE: R},
        R: {
            Event.SELECT_WITH_VALUE: R,
            Event.OPERATE: WT,
            Event.TIMED_OPERATE: WA,
            Event.CANCEL: U,
            Event.SBO_TIMEOUT: U,
            Event.RELEASED: U,
        },
        WA: {Event.ACTIVATION: WT, Event.CANCEL: U, Event.RELEASED: U},
        WT: {Event.TERMINATED: AFTER_OPERATE},
    },
}

# What a client's event meets where TRANSITIONS has no entry: state → event → AddCause.
# Not listed: not-supported (the model has no such service, e.g. Select on a direct model).
REFUSALS: dict[State, dict[Event, AddCause]] = {
    U: {
        Event.OPERATE: AddCause.OBJECT_NOT_SELECTED,
        Event.TIMED_OPERATE: AddCause.OBJECT_NOT_SELECTED,
        Event.CANCEL: AddCause.OBJECT_NOT_SELECTED,
    },
    R: {},
    WA: {e: AddCause.COMMAND_ALREADY_IN_EXECUTION for e in CLIENT_EVENTS},
    WT: {e: AddCause.COMMAND_ALREADY_IN_EXECUTION for e in CLIENT_EVENTS},
}


def next_state(model: CtlModel, state: State, event: Event, sbo_class: SboClass) -> State | None:
    """Where ``event`` leads from ``state`` under ``model`` (None: not accepted there)."""
    target = TRANSITIONS[model].get(state, {}).get(event)
    if target is AFTER_OPERATE:
        if model.is_sbo and sbo_class is SboClass.OPERATE_MANY:
            return State.READY
        return State.UNSELECTED
    return target


def refusal(model: CtlModel, state: State, event: Event) -> AddCause:
    """The AddCause of a client's ``event`` that ``model`` does not accept in ``state``."""
    if model is CtlModel.STATUS_ONLY:
        return AddCause.NOT_SUPPORTED
    if not any(event in row for row in TRANSITIONS[model].values()):
        return AddCause.NOT_SUPPORTED
    return REFUSALS[state].get(event, AddCause.NOT_SUPPORTED)


# ---------------------------------------------------------------- requests and answers


@dataclass(frozen=True, slots=True)
class Origin:
    """Who commands: ``orCat`` (``OrCat``) and ``orIdent`` (up to 64 octets)."""

    or_cat: int = OrCat.NOT_SUPPORTED
    or_ident: bytes = b""


@dataclass(frozen=True, slots=True)
class Check:
    """The Check bits of an Operate: run the synchrocheck, run the interlock check."""

    synchrocheck: bool = False
    interlock: bool = False


@dataclass(frozen=True, slots=True)
class Command:
    """One control request, decoded: the service, who sent it and its parameters.

    ``ctl_val`` is the value as the store keeps it (bool, int, a dict for an
    AnalogueValue); ``oper_tm`` the activation time in seconds (None or 0: at once).
    """

    service: Event
    client: str
    ctl_val: Any = None
    origin: Origin = Origin()
    ctl_num: int = 0
    t: Timestamp | None = None
    test: bool = False
    check: Check = Check()
    oper_tm: float | None = None


@dataclass(frozen=True, slots=True)
class Accept:
    """The application accepts: the operation is done (or the Select holds)."""


@dataclass(frozen=True, slots=True)
class Refuse:
    """Refused, with the AddCause (and LastApplError ``Error``) the client is told."""

    add_cause: AddCause = AddCause.UNKNOWN
    error: ApplError = ApplError.UNKNOWN


@dataclass(frozen=True, slots=True)
class Later:
    """Accepted, the application reports the end later through its ``Completion``."""


Decision = Accept | Refuse | Later


class Completion:
    """How an application that answered ``Later`` ends the operation (once).

    Enhanced security only: the end becomes a CommandTermination. Under normal security
    the answer to the Operate already ended it, and calling these changes nothing.
    """

    def __init__(self, control: ControlObject, command: Command) -> None:
        self._control = control
        self.command = command
        self.ended = False
        self.armed = False  # the machine waits for this end (WAIT_TERMINATION)
        self.outcome: Refuse | None = None

    def succeed(self, now: float | None = None) -> None:
        """The operation ended well (enhanced security: CommandTermination positive)."""
        self._end(None, now)

    def fail(
        self,
        add_cause: AddCause = AddCause.UNKNOWN,
        error: ApplError = ApplError.UNKNOWN,
        now: float | None = None,
    ) -> None:
        """The operation failed (enhanced security: CommandTermination negative)."""
        self._end(Refuse(add_cause, error), now)

    def _end(self, outcome: Refuse | None, now: float | None) -> None:
        if self.ended:
            raise RuntimeError(f"{self._control.name}: this operation has already ended")
        self.ended = True
        self.outcome = outcome
        if self.armed:
            self._control.terminate(self, outcome, self._control.clock() if now is None else now)


class ControlHandler(Protocol):
    """What the application decides (see ``docs/xmpp.md``, "Controls").

    ``select`` answers a Select or SelectWithValue, ``operate`` an Operate (also at a
    TimeActivatedOperate's activation time); ``cancel`` hears of a Cancel that ended a
    selection or a waiting TimeActivatedOperate. They run on the server's event loop and
    must not block: answer ``Later()`` and call ``completion.succeed()`` or
    ``completion.fail(AddCause...)`` when a slow operation ends.
    """

    def select(self, control: ControlObject, command: Command) -> Accept | Refuse: ...

    def operate(
        self, control: ControlObject, command: Command, completion: Completion
    ) -> Decision: ...

    def cancel(self, control: ControlObject, command: Command) -> None: ...


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """Timers at times the caller's clock gives (``runtime.xmpp.timers.Timers`` is one)."""

    def call_at(self, when: float, callback: Callable[[float], None]) -> Cancellable: ...


class ControlEvents(Protocol):
    """What the protocol layer hears: selection changes and the end of operations."""

    def selected(self, control: ControlObject, selected: bool, now: float) -> None: ...

    def terminated(
        self, control: ControlObject, command: Command, outcome: Refuse | None, now: float
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class ControlSettings:
    """The CF attributes and mode the machine works with, read at each request."""

    ctl_model: CtlModel
    sbo_timeout: float = DEFAULT_SBO_TIMEOUT  # s
    sbo_class: SboClass = SboClass.OPERATE_ONCE
    oper_timeout: float = DEFAULT_OPER_TIMEOUT  # s
    behaviour: Behaviour | None = None  # None: the LN has no Beh/Mod, Test passes as given
    time_activated: bool = False  # the Oper structure has an operTm


class Verdict:
    """The answer to a client's event: accepted, or refused with an AddCause and Error."""

    __slots__ = ("refused",)

    def __init__(self, refused: Refuse | None = None) -> None:
        self.refused = refused

    @property
    def accepted(self) -> bool:
        return self.refused is None

    def __repr__(self) -> str:
        if self.refused is None:
            return "Verdict(accepted)"
        return f"Verdict({self.refused.add_cause.label})"


ACCEPTED = Verdict()


def _refused(cause: AddCause, error: ApplError = ApplError.UNKNOWN) -> Verdict:
    return Verdict(Refuse(cause, error))


# ---------------------------------------------------------------- the machine


@dataclass
class ControlObject:
    """One controllable data object: its state, owner, selection and pending operation.

    ``settings`` gives the CF attributes now (the application may change them);
    ``check_value`` refuses a ctlVal the data object cannot take (an Enum ordinal it does
    not list, a reserved Tcmd); ``handler`` is the application; ``events`` the protocol
    layer; ``scheduler`` and ``clock`` the caller's timers and time.
    """

    name: str  # object reference, LD/LN.DO
    settings: Callable[[], ControlSettings]
    handler: ControlHandler
    events: ControlEvents
    scheduler: Scheduler
    clock: Callable[[], float]
    check_value: Callable[[Any], AddCause | None] = lambda value: None
    point: ControlPoint | None = None  # the data it controls (for handlers: set_status)
    max_activation_delay: float = DEFAULT_MAX_ACTIVATION_DELAY
    state: State = State.UNSELECTED
    owner: str | None = None
    selection: Command | None = None  # the SelectWithValue (enhanced) or Select
    pending: Command | None = None  # the Operate waiting for operTm or for its end
    completion: Completion | None = None
    _timer: Cancellable | None = field(default=None, repr=False)
    _selected: bool = field(default=False, repr=False)

    # ------------------------------------------------------------ client events

    def select(self, command: Command, now: float) -> Verdict:
        """Select (SBO normal) or SelectWithValue (SBO enhanced), as ``command.service``."""
        settings = self.settings()
        verdict = self._allowed(command, settings)
        if verdict is not ACCEPTED:
            return verdict
        if command.service is Event.SELECT_WITH_VALUE:
            verdict = self._parameters(command, settings)
            if verdict is not ACCEPTED:
                return verdict
        decision = self._ask_select(command)
        if isinstance(decision, Refuse):
            if self.state is State.READY:  # a refused re-select ends the selection
                self._move(State.UNSELECTED, now)
            return Verdict(decision)
        self.owner, self.selection = command.client, command
        self._move(State.READY, now, restart=True, settings=settings)
        return ACCEPTED

    def operate(self, command: Command, now: float) -> Verdict:
        """Operate, or TimeActivatedOperate when ``oper_tm`` lies ahead of ``now``."""
        settings = self.settings()
        delay = self._delay(command)
        timed = delay > 0
        service = Event.TIMED_OPERATE if timed else Event.OPERATE
        if command.service is not service:
            command = replace(command, service=service)
        verdict = self._allowed(command, settings)
        if verdict is not ACCEPTED:
            return verdict
        verdict = self._parameters(command, settings)
        if verdict is not ACCEPTED:
            return verdict
        if settings.ctl_model is CtlModel.SBO_ENHANCED and not _same_request(
            command, self.selection
        ):
            return _refused(AddCause.INCONSISTENT_PARAMETERS)
        self.owner = command.client
        if timed:
            self.pending = command
            self._move(State.WAIT_ACTIVATION, now, at=now + delay, settings=settings)
            return ACCEPTED
        return self._execute(command, settings, now, Event.OPERATE)

    def _delay(self, command: Command) -> float:
        """Seconds from now (the device clock's, which operTm is in) to ``oper_tm``; 0 for
        none (absent, zero or past: at once). Timers run on the caller's ``now``."""
        if not command.oper_tm:
            return 0.0
        return max(0.0, command.oper_tm - self.clock())

    def cancel(self, command: Command, now: float) -> Verdict:
        """Cancel a selection or a waiting TimeActivatedOperate."""
        settings = self.settings()
        verdict = self._allowed(command, settings)
        if verdict is not ACCEPTED:
            return verdict
        reference = self.pending if self.state is State.WAIT_ACTIVATION else self.selection
        if (
            settings.ctl_model.is_enhanced
            and reference is not None
            and (command.ctl_num != reference.ctl_num or command.origin != reference.origin)
        ):
            return _refused(AddCause.INCONSISTENT_PARAMETERS)
        self._move(State.UNSELECTED, now)
        try:
            self.handler.cancel(self, command)
        except Exception:
            log.exception("%s: the control handler failed on Cancel", self.name)
        return ACCEPTED

    def release(self, client: str, now: float) -> None:
        """The association of ``client`` ended: a selection or waiting operation it owns ends."""
        if self.owner != client or self.state is State.WAIT_TERMINATION:
            return
        target = next_state(self.settings().ctl_model, self.state, Event.RELEASED, SboClass(0))
        if target is not None:
            self._move(target, now)

    # ------------------------------------------------------------ the rules

    def _allowed(self, command: Command, settings: ControlSettings) -> Verdict:
        """The owner check, then the table."""
        if (
            self.state is not State.UNSELECTED
            and self.owner is not None
            and self.owner != command.client
        ):
            return _refused(AddCause.LOCKED_BY_OTHER_CLIENT)
        model = settings.ctl_model
        if next_state(model, self.state, command.service, settings.sbo_class) is None:
            return _refused(refusal(model, self.state, command.service))
        return ACCEPTED

    def _parameters(self, command: Command, settings: ControlSettings) -> Verdict:
        """operTm, the Test flag against the mode, ctlVal against the data object."""
        if command.oper_tm and not settings.time_activated:
            return _refused(AddCause.NOT_SUPPORTED)
        if self._delay(command) > self.max_activation_delay:
            return _refused(AddCause.INCONSISTENT_PARAMETERS)
        behaviour = settings.behaviour
        if behaviour is Behaviour.OFF:
            return _refused(AddCause.BLOCKED_BY_MODE)
        if behaviour is not None:
            testing = behaviour in (Behaviour.TEST, Behaviour.TEST_BLOCKED)
            if command.test != testing:
                return _refused(AddCause.BLOCKED_BY_MODE)
        cause = self.check_value(command.ctl_val)
        if cause is not None:
            return _refused(cause)
        return ACCEPTED

    def _ask_select(self, command: Command) -> Accept | Refuse:
        try:
            return self.handler.select(self, command)
        except Exception:
            log.exception("%s: the control handler failed on Select", self.name)
            return Refuse(AddCause.SELECT_FAILED)

    def _execute(
        self, command: Command, settings: ControlSettings, now: float, event: Event
    ) -> Verdict:
        """Hand the operation to the application; move as the outcome says."""
        completion = Completion(self, command)
        try:
            decision = self.handler.operate(self, command, completion)
        except Exception:
            log.exception("%s: the control handler failed on Operate", self.name)
            decision = Refuse(AddCause.UNKNOWN)
        after = next_state(settings.ctl_model, self.state, event, settings.sbo_class)
        if isinstance(decision, Refuse):
            self._end_operation(now, settings)
            return Verdict(decision)
        if after is not State.WAIT_TERMINATION:  # normal security: the answer ends it
            self._end_operation(now, settings)
            return ACCEPTED
        self.pending, self.completion = command, completion
        self._move(State.WAIT_TERMINATION, now, at=now + settings.oper_timeout, settings=settings)
        completion.armed = True
        if isinstance(decision, Accept) and not completion.ended:
            completion.ended = True
        if completion.ended:  # accepted, or ended by the handler before it returned
            self.terminate(completion, completion.outcome, now)
        return ACCEPTED

    def activate(self, now: float) -> None:
        """operTm reached: the waiting TimeActivatedOperate is performed now."""
        self._timer = None
        if self.state is not State.WAIT_ACTIVATION or self.pending is None:
            return
        command, settings = self.pending, self.settings()
        verdict = self._execute(command, settings, now, Event.ACTIVATION)
        if verdict.refused is not None:
            self._tell_terminated(command, verdict.refused, now)

    def terminate(self, completion: Completion, outcome: Refuse | None, now: float) -> None:
        """The operation of ``completion`` ended (the application, or operTimeout)."""
        if completion is not self.completion or self.state is not State.WAIT_TERMINATION:
            return
        command = completion.command
        self.completion = None
        self._end_operation(now, self.settings())
        self._tell_terminated(command, outcome, now)

    def _end_operation(self, now: float, settings: ControlSettings) -> None:
        """Back where an ended Operate leads (READY keeps the owner and restarts sboTimeout)."""
        self.pending = self.completion = None
        target = State.UNSELECTED
        if settings.ctl_model.is_sbo and settings.sbo_class is SboClass.OPERATE_MANY:
            target = State.READY
        self._move(target, now, restart=True, settings=settings)

    def _tell_terminated(self, command: Command, outcome: Refuse | None, now: float) -> None:
        try:
            self.events.terminated(self, command, outcome, now)
        except Exception:
            log.exception("%s: reporting the end of an operation failed", self.name)

    # ------------------------------------------------------------ states and timers

    @property
    def selected(self) -> bool:
        """stSeld: an SBO object between its Select and the end of what follows."""
        return self.state is not State.UNSELECTED and self.settings().ctl_model.is_sbo

    def _move(
        self,
        state: State,
        now: float,
        *,
        at: float | None = None,
        restart: bool = False,
        settings: ControlSettings | None = None,
    ) -> None:
        was_selected = self._selected
        if state is self.state and not restart:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.state = state
        if state is State.UNSELECTED:
            self.owner = self.selection = self.pending = self.completion = None
            self._selected = False
        else:
            settings = settings or self.settings()
            self._selected = settings.ctl_model.is_sbo
        if state is State.READY:
            assert settings is not None
            self._timer = self.scheduler.call_at(now + settings.sbo_timeout, self._sbo_timeout)
        elif state is State.WAIT_ACTIVATION and at is not None:
            self._timer = self.scheduler.call_at(at, self.activate)
        elif state is State.WAIT_TERMINATION and at is not None:
            self._timer = self.scheduler.call_at(at, self._oper_timeout)
        if self._selected != was_selected:
            try:
                self.events.selected(self, self._selected, now)
            except Exception:
                log.exception("%s: reporting the selection failed", self.name)

    def _sbo_timeout(self, now: float) -> None:
        self._timer = None
        if self.state is State.READY:
            self._move(State.UNSELECTED, now)

    def _oper_timeout(self, now: float) -> None:
        self._timer = None
        completion = self.completion
        if completion is not None and not completion.ended:
            completion.ended = True
            self.terminate(
                completion, Refuse(AddCause.TIME_LIMIT_OVER, ApplError.TIMEOUT_TEST_NOT_OK), now
            )


def _same_request(command: Command, selection: Command | None) -> bool:
    """An enhanced Operate repeats its SelectWithValue's ctlVal, origin and ctlNum."""
    return (
        selection is not None
        and command.ctl_val == selection.ctl_val
        and command.origin == selection.origin
        and command.ctl_num == selection.ctl_num
    )


def describe_transitions() -> Mapping[str, list[tuple[str, str, str]]]:
    """The tables as (state, event, next) rows per model, for the documentation test."""
    rows: dict[str, list[tuple[str, str, str]]] = {}
    for model, states in TRANSITIONS.items():
        rows[model.label] = [
            (state.value, event.value, target.value)
            for state, events in states.items()
            for event, target in events.items()
        ]
    return rows


__all__ = [
    "AFTER_OPERATE",
    "CLIENT_EVENTS",
    "DEFAULT_MAX_ACTIVATION_DELAY",
    "DEFAULT_OPER_TIMEOUT",
    "DEFAULT_SBO_TIMEOUT",
    "REFUSALS",
    "TRANSITIONS",
    "Accept",
    "AddCause",
    "ApplError",
    "Behaviour",
    "Cancellable",
    "Check",
    "Command",
    "Completion",
    "ControlEvents",
    "ControlHandler",
    "ControlObject",
    "ControlSettings",
    "CtlModel",
    "Decision",
    "Event",
    "Later",
    "OrCat",
    "Origin",
    "Refuse",
    "SboClass",
    "Scheduler",
    "State",
    "Verdict",
    "describe_transitions",
    "next_state",
    "refusal",
]
