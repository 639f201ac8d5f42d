"""Controls through the sans-I/O core: every ctlModel's machine, positive and negative.

No XMPP here: requests go into ``ServerCore.receive`` and the test reads the ordered
outputs (LastApplError before a refused write's answer, CommandTermination after an
enhanced Operate's), moves the clock for sboTimeout, operTimeout and operTm, and checks
that statuses follow through the value store as one transaction.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from gen61850.runtime.device import FC, Timestamp
from gen61850.runtime.device.control import (
    TRANSITIONS,
    Accept,
    AddCause,
    ApplError,
    Check,
    Command,
    Completion,
    ControlObject,
    CtlModel,
    Decision,
    Event,
    Later,
    Origin,
    Refuse,
    SboClass,
    State,
    next_state,
    refusal,
)
from gen61850.runtime.device.controllable import ControlPoint, FollowCtlVal
from gen61850.runtime.device.store import Change
from gen61850.runtime.xmpp.mapping import DataAccessError
from tests.xmpp.controls_harness import (
    LD,
    T0,
    A,
    B,
    ControlDriver,
    last_appl_error,
    report_names,
)

DENIED = int(DataAccessError.OBJECT_ACCESS_DENIED)
BUSY = int(DataAccessError.TEMPORARILY_UNAVAILABLE)
INVALID = int(DataAccessError.OBJECT_VALUE_INVALID)
WRONG_TYPE = int(DataAccessError.TYPE_INCONSISTENT)


def driver(handler: Any = None) -> ControlDriver:
    d = ControlDriver(handler)
    d.associate(A)
    d.associate(B)
    return d


def refused(reply: Any, code: int, cause: AddCause, which: str) -> None:
    """A LastApplError naming ``which`` and ``cause``, then the write failure ``code``."""
    assert reply.kinds == ["LastApplError", "answer"]
    assert reply.write_codes() == [code]
    error = last_appl_error(reply.reports[0])
    assert error.add_cause == cause, AddCause(error.add_cause)
    assert error.control_object == f"{LD}/{which}"


# ---------------------------------------------------------------- the tables


def test_every_model_accepts_what_its_table_says_and_nothing_else() -> None:
    for model, states in TRANSITIONS.items():
        for state in State:
            for event in Event:
                target = next_state(model, state, event, SboClass.OPERATE_ONCE)
                assert (target is not None) == (event in states.get(state, {}))
    assert refusal(CtlModel.STATUS_ONLY, State.UNSELECTED, Event.OPERATE) is AddCause.NOT_SUPPORTED
    assert refusal(CtlModel.DIRECT_NORMAL, State.UNSELECTED, Event.SELECT) is (
        AddCause.NOT_SUPPORTED
    )
    assert refusal(CtlModel.SBO_NORMAL, State.UNSELECTED, Event.OPERATE) is (
        AddCause.OBJECT_NOT_SELECTED
    )
    assert refusal(CtlModel.SBO_ENHANCED, State.WAIT_TERMINATION, Event.OPERATE) is (
        AddCause.COMMAND_ALREADY_IN_EXECUTION
    )
    many = next_state(CtlModel.SBO_ENHANCED, State.WAIT_TERMINATION, Event.TERMINATED, SboClass(1))
    assert many is State.READY


# ---------------------------------------------------------------- direct, normal security


def test_direct_normal_operates_and_the_status_follows_as_one_transaction() -> None:
    d = driver()
    seen: list[list[Change]] = []
    d.model.store.subscribe(seen.append)
    reply = d.control("GGIO1.SPCSO1", "Oper", True, origin=Origin(3, b"scada"), ctl_num=7)
    assert reply.kinds == ["answer"]
    assert reply.write_codes() == [None]
    assert d.value("GGIO1$ST$SPCSO1$stVal") is True
    assert d.value("GGIO1$ST$SPCSO1$origin$orCat") == 3
    assert d.value("GGIO1$ST$SPCSO1$origin$orIdent") == b"scada"
    assert d.value("GGIO1$ST$SPCSO1$ctlNum") == 7
    stamp = d.value("GGIO1$ST$SPCSO1$t")
    assert isinstance(stamp, Timestamp) and abs(stamp.seconds - T0) < 1e-6
    (transaction,) = seen  # stVal, q, t, origin and ctlNum: one change for reports
    assert {c.key[1].split("$", 3)[3] for c in transaction} == {
        "stVal",
        "q",
        "t",
        "origin$orCat",
        "origin$orIdent",
        "ctlNum",
    }
    assert all(c.origin is None for c in transaction)  # the application's change
    d.check.assert_clean()


def test_a_select_on_a_direct_model_is_refused_with_an_empty_string() -> None:
    d = driver()
    assert d.select("GGIO1.SPCSO1") == ""
    assert d.controls.control(f"{LD}/GGIO1.SPCSO1").state is State.UNSELECTED


# ---------------------------------------------------------------- SBO, normal security


def test_sbo_normal_select_operate_and_stseld() -> None:
    d = driver()
    refused(
        d.control("GGIO1.SPCSO2", "Oper", True),
        DENIED,
        AddCause.OBJECT_NOT_SELECTED,
        "GGIO1$CO$SPCSO2$Oper",
    )
    assert d.select("GGIO1.SPCSO2") == f"{LD}/GGIO1$CO$SPCSO2$SBO"
    assert d.value("GGIO1$ST$SPCSO2$stSeld") is True
    reply = d.control("GGIO1.SPCSO2", "Oper", True)
    assert reply.kinds == ["answer"] and reply.write_codes() == [None]
    assert d.value("GGIO1$ST$SPCSO2$stVal") is True
    assert d.value("GGIO1$ST$SPCSO2$stSeld") is False  # operate-once
    refused(
        d.control("GGIO1.SPCSO2", "Oper", False),
        DENIED,
        AddCause.OBJECT_NOT_SELECTED,
        "GGIO1$CO$SPCSO2$Oper",
    )
    d.check.assert_clean()


def test_another_clients_select_and_operate_are_refused() -> None:
    d = driver()
    assert d.select("GGIO1.SPCSO2", A) != ""
    assert d.select("GGIO1.SPCSO2", B) == ""  # Select has no LastApplError: an empty string
    refused(
        d.control("GGIO1.SPCSO2", "Oper", True, peer=B),
        BUSY,
        AddCause.LOCKED_BY_OTHER_CLIENT,
        "GGIO1$CO$SPCSO2$Oper",
    )
    assert d.control("GGIO1.SPCSO2", "Oper", True, peer=A).write_codes() == [None]


def test_sbo_timeout_ends_the_selection() -> None:
    d = driver()
    assert d.select("GGIO1.SPCSO2") != ""
    assert d.core.next_deadline() == pytest.approx(T0 + 0.4)  # sboTimeout 400 ms
    assert d.advance(0.3).outputs == []
    assert d.value("GGIO1$ST$SPCSO2$stSeld") is True
    assert d.advance(0.2).outputs == []  # expiry sends nothing
    assert d.value("GGIO1$ST$SPCSO2$stSeld") is False
    refused(
        d.control("GGIO1.SPCSO2", "Oper", True),
        DENIED,
        AddCause.OBJECT_NOT_SELECTED,
        "GGIO1$CO$SPCSO2$Oper",
    )


def test_cancel_ends_a_selection_and_needs_one() -> None:
    d = driver()
    refused(
        d.control("GGIO2.StepCtl", "Cancel", 0),
        DENIED,
        AddCause.OBJECT_NOT_SELECTED,
        "GGIO2$CO$StepCtl$Cancel",
    )
    assert d.select("GGIO2.StepCtl") != ""
    assert d.control("GGIO2.StepCtl", "Cancel", 0).kinds == ["answer"]
    assert d.controls.control(f"{LD}/GGIO2.StepCtl").state is State.UNSELECTED


def test_the_selection_ends_with_the_association_that_made_it() -> None:
    d = driver()
    assert d.select("GGIO1.SPCSO2", A) != ""
    d.release(A)
    assert d.value("GGIO1$ST$SPCSO2$stSeld") is False
    assert d.select("GGIO1.SPCSO2", B) != ""


def test_reading_the_whole_logical_node_selects_nothing() -> None:
    d = driver()
    (result,) = d.read("GGIO1").read_results()
    assert result.success is not None
    assert d.controls.control(f"{LD}/GGIO1.SPCSO2").state is State.UNSELECTED


# ---------------------------------------------------------------- enhanced security


def test_direct_enhanced_command_termination_follows_the_answer() -> None:
    d = driver()
    reply = d.control("GGIO1.SPCSO3", "Oper", True)
    assert reply.kinds == ["answer", "CommandTermination+"]
    assert reply.write_codes() == [None]
    assert report_names(reply.reports[0]) == [f"{LD}/GGIO1$CO$SPCSO3$Oper"]
    assert d.value("GGIO1$ST$SPCSO3$stVal") is True
    d.check.assert_clean()


def test_sbo_enhanced_operate_many_and_a_wrong_ctl_num() -> None:
    d = driver()
    assert d.control("GGIO1.SPCSO4", "SBOw", True, ctl_num=5).kinds == ["answer"]
    assert d.value("GGIO1$ST$SPCSO4$stSeld") is True
    refused(
        d.control("GGIO1.SPCSO4", "Oper", True, ctl_num=6),
        INVALID,
        AddCause.INCONSISTENT_PARAMETERS,
        "GGIO1$CO$SPCSO4$Oper",
    )
    reply = d.control("GGIO1.SPCSO4", "Oper", True, ctl_num=5)
    assert reply.kinds == ["answer", "CommandTermination+"]
    control = d.controls.control(f"{LD}/GGIO1.SPCSO4")
    assert control.state is State.READY  # operate-many: still selected
    assert d.value("GGIO1$ST$SPCSO4$stSeld") is True
    assert d.control("GGIO1.SPCSO4", "Oper", True, ctl_num=5).kinds == [
        "answer",
        "CommandTermination+",
    ]
    assert d.control("GGIO1.SPCSO4", "Cancel", True, ctl_num=5).kinds == ["answer"]
    assert control.state is State.UNSELECTED


def test_sbow_refused_by_the_application_tells_why() -> None:
    class NoSelect(FollowCtlVal):
        def select(self, control: ControlObject, command: Command) -> Accept | Refuse:
            return Refuse(AddCause.BLOCKED_BY_SWITCHING_HIERARCHY)

    d = driver(NoSelect())
    refused(
        d.control("XCBR1.Pos", "SBOw", True),
        DENIED,
        AddCause.BLOCKED_BY_SWITCHING_HIERARCHY,
        "XCBR1$CO$Pos$SBOw",
    )
    assert d.value("XCBR1$ST$Pos$stSeld") is False


class Slow(FollowCtlVal):
    """Answers Later and keeps the completions for the test to end."""

    def __init__(self) -> None:
        super().__init__()
        self.completions: list[Completion] = []

    def operate(self, control: ControlObject, command: Command, completion: Completion) -> Decision:
        self.completions.append(completion)
        return Later()


def test_command_termination_later_positive_and_negative() -> None:
    slow = Slow()
    d = driver(slow)
    assert d.control("GGIO1.SPCSO3", "Oper", True).kinds == ["answer"]
    refused(
        d.control("GGIO1.SPCSO3", "Oper", True),
        BUSY,
        AddCause.COMMAND_ALREADY_IN_EXECUTION,
        "GGIO1$CO$SPCSO3$Oper",
    )
    slow.completions[0].succeed()
    assert [k for k in d.advance(0).kinds] == ["CommandTermination+"]
    assert d.control("GGIO1.SPCSO3", "Oper", False).kinds == ["answer"]
    slow.completions[1].fail(AddCause.BLOCKED_BY_PROCESS, ApplError.OPERATOR_TEST_NOT_OK)
    (termination,) = d.advance(0).reports
    assert report_names(termination) == ["LastApplError", f"{LD}/GGIO1$CO$SPCSO3$Oper"]
    error = last_appl_error(termination)
    assert (error.add_cause, error.error) == (AddCause.BLOCKED_BY_PROCESS, 3)
    with pytest.raises(RuntimeError):
        slow.completions[1].succeed()
    d.check.assert_clean()


def test_oper_timeout_ends_a_command_that_never_completes() -> None:
    slow = Slow()
    d = driver(slow)
    assert d.control("XCBR1.Pos", "SBOw", True).kinds == ["answer"]
    assert d.control("XCBR1.Pos", "Oper", True).kinds == ["answer"]
    assert d.advance(1.9).outputs == []
    (termination,) = d.advance(0.2).reports  # operTimeout 2000 ms
    error = last_appl_error(termination)
    assert (error.add_cause, error.error) == (AddCause.TIME_LIMIT_OVER, 2)
    assert d.controls.control(f"{LD}/XCBR1.Pos").state is State.UNSELECTED


def test_a_handler_that_ends_before_it_returns_is_terminated_at_once() -> None:
    class Quick(FollowCtlVal):
        def operate(
            self, control: ControlObject, command: Command, completion: Completion
        ) -> Decision:
            completion.fail(AddCause.ABORTION_BY_TRIP)
            return Later()

    d = driver(Quick())
    assert d.control("GGIO1.SPCSO3", "Oper", True).kinds == ["answer", "CommandTermination-"]


# ---------------------------------------------------------------- time-activated operate


def test_time_activated_operate_runs_at_oper_tm_and_cancel_stops_it() -> None:
    d = driver()
    when = T0 + 5.0
    assert d.control("XCBR1.Pos", "SBOw", True, oper_tm=when).kinds == ["answer"]
    assert d.control("XCBR1.Pos", "Oper", True, oper_tm=when).kinds == ["answer"]
    assert d.controls.control(f"{LD}/XCBR1.Pos").state is State.WAIT_ACTIVATION
    assert d.value("XCBR1$ST$Pos$stVal") == 1  # off, until operTm
    assert d.advance(4.9).outputs == []
    assert d.advance(0.1).kinds == ["CommandTermination+"]
    assert d.value("XCBR1$ST$Pos$stVal") == 2  # on
    assert d.control("XCBR1.Pos", "SBOw", False, oper_tm=when + 10).kinds == ["answer"]
    assert d.control("XCBR1.Pos", "Oper", False, oper_tm=when + 10).kinds == ["answer"]
    assert d.control("XCBR1.Pos", "Cancel", False, oper_tm=when + 10).kinds == ["answer"]
    assert d.advance(20).outputs == []
    assert d.value("XCBR1$ST$Pos$stVal") == 2


def test_an_enormous_oper_tm_is_refused() -> None:
    d = driver()
    far = T0 + 10 * 365 * 86_400.0
    refused(
        d.control("XCBR1.Pos", "SBOw", True, oper_tm=far),
        INVALID,
        AddCause.INCONSISTENT_PARAMETERS,
        "XCBR1$CO$Pos$SBOw",
    )
    assert d.core.next_deadline() is None


def test_oper_tm_on_a_model_without_time_activation_is_not_supported() -> None:
    d = driver()
    # SPCSO1's Oper has no operTm: the write of a structure with one does not fit its type
    data = d.control_data("XCBR1.Pos", "Oper", True, oper_tm=T0 + 5)
    assert d.write("GGIO1$CO$SPCSO1$Oper", data).write_codes() == [WRONG_TYPE]


# ---------------------------------------------------------------- refusals


def test_status_only_refuses_every_control_service() -> None:
    d = driver()
    refused(
        d.control("GGIO1.SPCSO5", "Oper", True),
        DENIED,
        AddCause.NOT_SUPPORTED,
        "GGIO1$CO$SPCSO5$Oper",
    )
    assert d.select("GGIO1.SPCSO5") == ""
    refused(
        d.control("GGIO1.SPCSO5", "SBOw", True),
        DENIED,
        AddCause.NOT_SUPPORTED,
        "GGIO1$CO$SPCSO5$SBOw",
    )


def test_a_ctl_val_of_the_wrong_type_is_type_inconsistent_without_a_report() -> None:
    d = driver()
    data = d.control_data("GGIO2.IntCtl", "Oper", 1)  # an INT32 ctlVal for a BOOLEAN one
    reply = d.write("GGIO1$CO$SPCSO1$Oper", data)
    assert reply.kinds == ["answer"] and reply.write_codes() == [WRONG_TYPE]
    assert d.value("GGIO1$ST$SPCSO1$stVal") is False


def test_an_enum_ctl_val_outside_its_enum_type_is_refused() -> None:
    d = driver()
    refused(
        d.control("GGIO2.EnumCtl", "Oper", 9),
        INVALID,
        AddCause.INCONSISTENT_PARAMETERS,
        "GGIO2$CO$EnumCtl$Oper",
    )
    refused(
        d.control("GGIO2.TapCtl", "Oper", 3),  # Tcmd reserved
        INVALID,
        AddCause.INCONSISTENT_PARAMETERS,
        "GGIO2$CO$TapCtl$Oper",
    )


def test_writing_part_of_a_control_object_is_denied() -> None:
    from gen61850.generated.scsm_8_2.bindings import Boolean, Data, Null

    d = driver()
    reply = d.write("GGIO1$CO$SPCSO1$Oper$ctlVal", Data(boolean=Boolean(true=Null())))
    assert reply.kinds == ["answer"] and reply.write_codes() == [DENIED]


def test_the_test_flag_against_the_mode() -> None:
    d = driver()
    refused(
        d.control("GGIO1.SPCSO1", "Oper", True, test=True),  # LLN0 Beh on
        DENIED,
        AddCause.BLOCKED_BY_MODE,
        "GGIO1$CO$SPCSO1$Oper",
    )
    assert d.control("GGIO3.SPCSO1", "Oper", True, test=True).write_codes() == [None]  # Beh test
    refused(
        d.control("GGIO3.SPCSO1", "Oper", True, test=False),
        DENIED,
        AddCause.BLOCKED_BY_MODE,
        "GGIO3$CO$SPCSO1$Oper",
    )


def test_interlock_and_synchrocheck_refused_by_the_handler() -> None:
    d = driver(FollowCtlVal(refuse_checks=True))
    assert d.control("XCBR1.Pos", "SBOw", True, check=Check(interlock=True)).kinds == ["answer"]
    refused(
        d.control("XCBR1.Pos", "Oper", True, check=Check(interlock=True)),
        DENIED,
        AddCause.BLOCKED_BY_INTERLOCKING,
        "XCBR1$CO$Pos$Oper",
    )
    assert d.controls.control(f"{LD}/XCBR1.Pos").state is State.UNSELECTED  # operate-once
    refused(
        d.control("GGIO1.SPCSO3", "Oper", True, check=Check(synchrocheck=True)),
        DENIED,
        AddCause.BLOCKED_BY_SYNCHROCHECK,
        "GGIO1$CO$SPCSO3$Oper",
    )
    assert d.value("GGIO1$ST$SPCSO3$stVal") is False


# ---------------------------------------------------------------- every CDC follows


@pytest.mark.parametrize(
    ("do", "value", "status", "expected"),
    [
        ("XCBR1.Pos", False, "XCBR1$ST$Pos$stVal", 1),
        ("GGIO2.IntCtl", -42, "GGIO2$ST$IntCtl$stVal", -42),
        ("GGIO2.EnumCtl", 3, "GGIO2$ST$EnumCtl$stVal", 3),
        ("GGIO2.TapCtl", 2, "GGIO2$ST$TapCtl$valWTr$posVal", 1),
        ("GGIO2.StepCtl", 5, "GGIO2$ST$StepCtl$valWTr$posVal", 5),
        ("GGIO2.SetCtl", {"f": 12.5}, "GGIO2$MX$SetCtl$mxVal$f", 12.5),
        ("GGIO2.BinCtl", 1, "GGIO2$MX$BinCtl$mxVal$f", -1.0),
    ],
)
def test_each_cdc_follows_its_ctl_val(do: str, value: Any, status: str, expected: Any) -> None:
    d = driver()
    if do == "XCBR1.Pos":
        assert d.control(do, "SBOw", value).write_codes() == [None]
    if do == "GGIO2.StepCtl":
        assert d.select(do) != ""
    assert d.control(do, "Oper", value).write_codes() == [None]
    assert d.value(status) == expected
    d.check.assert_clean()


# ---------------------------------------------------------------- settings read at each request


def test_settings_changed_between_requests_are_used_by_the_next_one() -> None:
    d = driver()
    store = d.model.store
    assert d.control("GGIO1.SPCSO1", "Oper", True).write_codes() == [None]
    store.set((LD, "GGIO1$CF$SPCSO1$ctlModel"), 2)  # now sbo-with-normal-security
    refused(
        d.control("GGIO1.SPCSO1", "Oper", False),
        DENIED,
        AddCause.OBJECT_NOT_SELECTED,
        "GGIO1$CO$SPCSO1$Oper",
    )
    store.set((LD, "GGIO1$CF$SPCSO1$sboTimeout"), 250)
    assert d.select("GGIO1.SPCSO1") != ""
    assert d.core.next_deadline() == pytest.approx(T0 + 0.25)
    store.set((LD, "LLN0$ST$Beh$stVal"), 3)  # the LN's mode: test
    refused(
        d.control("GGIO1.SPCSO1", "Oper", False),
        DENIED,
        AddCause.BLOCKED_BY_MODE,
        "GGIO1$CO$SPCSO1$Oper",
    )
    assert d.control("GGIO1.SPCSO1", "Oper", False, test=True).write_codes() == [None]


def test_settings_follow_seeded_changes_as_a_fresh_point_reads_them() -> None:
    d = driver()
    store = d.model.store
    rng = random.Random(61850)
    points = [p.point for p in d.controls.providers.values()]
    leaves = sorted(
        {
            key
            for point in points
            for key in (
                point.key(FC.CF, "ctlModel"),
                point.key(FC.CF, "sboClass"),
                point.key(FC.CF, "sboTimeout"),
                point.key(FC.CF, "operTimeout"),
                *point._behaviour_keys(),
            )
            if key in store.leaves
        }
    )
    choices = {
        "ctlModel": [0, 1, 2, 3, 4],
        "sboClass": [0, 1],
        "sboTimeout": [0, 1, 400, 30000],
        "operTimeout": [0, 1, 2000],
        "stVal": [1, 2, 3, 4, 5],
    }
    for _ in range(400):
        key = rng.choice(leaves)
        store.set(key, rng.choice(choices[key[1].rsplit("$", 1)[1]]))
        point = rng.choice(points)
        fresh = ControlPoint(store, point.domain, point.ln, point.do, point.now)
        assert point.settings() == fresh.settings(), key
