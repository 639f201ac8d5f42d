"""The protocol-neutral value store: transactions, the change feed, data-set membership.

Table-driven on a bare store (synthetic leaves, an identity normaliser) and through the
served model (the 8-2 normaliser, ``set_status``, client writes).
"""

from __future__ import annotations

from typing import Any

import pytest

from gen61850.runtime.device import FC, BasicType, DataAttribute, Timestamp
from gen61850.runtime.device.store import (
    Change,
    DataSetRef,
    Member,
    Misfit,
    NamedList,
    Trigger,
    ValueStore,
    default_triggers,
)
from gen61850.runtime.xmpp.model import ModelError
from gen61850.runtime.xmpp.scope import CallContext
from gen61850.runtime.xmpp.values import scalar_to_data
from tests.xmpp.conftest import OWN_SCL, served_model

LD = "XIEDLD0"


def _attribute(name: str, btype: BasicType, **flags: bool) -> DataAttribute:
    return DataAttribute(name, FC.ST, btype, **flags)


def _strict(attribute: DataAttribute, value: Any) -> Any:
    if attribute.btype is BasicType.BOOLEAN and not isinstance(value, bool):
        raise ValueError(f"{value!r} is not a BOOLEAN")
    return value


def bare_store() -> tuple[ValueStore, list[list[Change]]]:
    store = ValueStore(_strict, clock=lambda: 100.0)
    for item, attribute, value in (
        ("GGIO1$ST$Ind$stVal", _attribute("stVal", BasicType.BOOLEAN), False),
        ("GGIO1$ST$Ind$q", _attribute("q", BasicType.QUALITY), 0),
        ("GGIO1$ST$Ind$t", _attribute("t", BasicType.TIMESTAMP), Timestamp(0.0)),
        ("GGIO1$ST$Cnt$stVal", _attribute("stVal", BasicType.INT32, dchg=True, dupd=True), 0),
        ("GGIO1$ST$Cnt$q", _attribute("q", BasicType.QUALITY), 0),
    ):
        store.add_leaf(("LD", item), attribute, value)
    batches: list[list[Change]] = []
    store.subscribe(batches.append)
    return store, batches


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        (_attribute("stVal", BasicType.BOOLEAN), Trigger.DCHG),
        (_attribute("q", BasicType.QUALITY), Trigger.QCHG),
        (_attribute("t", BasicType.TIMESTAMP), Trigger.NONE),
        (_attribute("mag", BasicType.FLOAT32), Trigger.DCHG),
        (_attribute("cnt", BasicType.INT32, dupd=True), Trigger.DUPD),
        (_attribute("x", BasicType.INT32, dchg=True, qchg=True), Trigger.DCHG | Trigger.QCHG),
    ],
)
def test_trigger_options_as_declared_else_by_kind(
    attribute: DataAttribute, expected: Trigger
) -> None:
    assert default_triggers(attribute) == expected


@pytest.mark.parametrize(
    ("updates", "expected"),
    [
        # stVal, q and t as one change: one batch, each leaf with its own reason
        (
            {"GGIO1$ST$Ind$stVal": True, "GGIO1$ST$Ind$q": 1, "GGIO1$ST$Ind$t": Timestamp(5.0)},
            {
                "GGIO1$ST$Ind$stVal": Trigger.DCHG,
                "GGIO1$ST$Ind$q": Trigger.QCHG,
                "GGIO1$ST$Ind$t": Trigger.NONE,
            },
        ),
        # the same value again: no dchg; dupd where the leaf has it
        ({"GGIO1$ST$Ind$stVal": False}, {"GGIO1$ST$Ind$stVal": Trigger.NONE}),
        ({"GGIO1$ST$Cnt$stVal": 0}, {"GGIO1$ST$Cnt$stVal": Trigger.DUPD}),
        ({"GGIO1$ST$Cnt$stVal": 3}, {"GGIO1$ST$Cnt$stVal": Trigger.DCHG | Trigger.DUPD}),
    ],
)
def test_one_transaction_is_one_batch_of_changes(
    updates: dict[str, Any], expected: dict[str, Trigger]
) -> None:
    store, batches = bare_store()
    store.set_many({("LD", k): v for k, v in updates.items()}, time=7.0, origin="c@x/IEC")
    assert len(batches) == 1
    assert {c.key[1]: c.trigger for c in batches[0]} == expected
    assert all(c.time == 7.0 and c.origin == "c@x/IEC" for c in batches[0])


def test_a_misfit_changes_nothing_and_names_its_leaf() -> None:
    store, batches = bare_store()
    before = dict(store.values)
    with pytest.raises(Misfit) as misfit, store.transaction() as tx:
        tx.set(("LD", "GGIO1$ST$Ind$q"), 5)
        tx.set(("LD", "GGIO1$ST$Ind$stVal"), "yes")
    assert misfit.value.key == ("LD", "GGIO1$ST$Ind$stVal")
    assert store.values == before and batches == []


def test_the_clock_dates_what_the_caller_does_not_and_a_failing_listener_is_its_own() -> None:
    store, batches = bare_store()

    def broken(_changes: list[Change]) -> None:
        raise RuntimeError("a bug")

    store.subscribe(broken)
    changes = store.set(("LD", "GGIO1$ST$Ind$stVal"), True)
    assert changes[0].time == 100.0 and changes[0].origin is None
    assert store.get(("LD", "GGIO1$ST$Ind$stVal")) is True and len(batches) == 1


def test_membership_index_follows_data_sets() -> None:
    store, _ = bare_store()
    whole_do = DataSetRef("LD", "LLN0$Whole")
    one_leaf = DataSetRef(None, "Mine", ("c@x/IEC", "a1"))
    store.add_data_set(whole_do, NamedList([Member("LD", "GGIO1$ST$Ind")], False))
    store.add_data_set(
        one_leaf,
        NamedList(
            [Member("LD", "GGIO1$ST$Cnt$q"), Member("LD", "GGIO1$ST$Ind$q", refused=9)],
            True,
            ("c@x/IEC", "a1"),
        ),
    )
    assert store.leaves_below("LD", "GGIO1$ST$Ind") == [
        "GGIO1$ST$Ind$q",
        "GGIO1$ST$Ind$stVal",
        "GGIO1$ST$Ind$t",
    ]
    assert store.members_of(("LD", "GGIO1$ST$Ind$t")) == [(whole_do, 0)]
    assert store.members_of(("LD", "GGIO1$ST$Cnt$q")) == [(one_leaf, 0)]
    assert store.members_of(("LD", "GGIO1$ST$Ind$q")) == [(whole_do, 0)]  # refused: not in it
    store.guard_deletion(lambda ref: "used by a report" if ref == whole_do else None)
    assert store.deletion_refusal(whole_do) == "used by a report"
    store.drop_owner(("c@x/IEC", "a1"))
    assert store.data_set(one_leaf) is None and store.members_of(("LD", "GGIO1$ST$Cnt$q")) == []
    store.remove_data_set(whole_do)
    assert store.members_of(("LD", "GGIO1$ST$Ind$t")) == []


# ---------------------------------------------------------------- through the served model


def test_set_status_changes_value_quality_and_time_as_one() -> None:
    model = served_model(OWN_SCL)
    batches: list[list[Change]] = []
    model.store.subscribe(batches.append)
    model.set_status(f"{LD}/XCBR1.Pos.stVal[ST]", 2, quality=0b0100000000000, time=1_700_000_000.5)
    (batch,) = batches
    assert {c.key[1]: c.trigger for c in batch} == {
        "XCBR1$ST$Pos$stVal": Trigger.DCHG,
        "XCBR1$ST$Pos$q": Trigger.QCHG,
        "XCBR1$ST$Pos$t": Trigger.NONE,
    }
    assert model.get_value(f"{LD}/XCBR1.Pos.t[ST]") == Timestamp(1_700_000_000.5)
    assert all(c.time == 1_700_000_000.5 for c in batch)
    # a quality change alone; MX under a structure finds its data object's q and t
    model.set_status(f"{LD}/MMXU1.TotW.mag.f[MX]", 3.5)
    assert {c.key[1] for c in batches[-1]} == {"MMXU1$MX$TotW$mag$f", "MMXU1$MX$TotW$t"}
    with pytest.raises(ModelError, match=r"XCBR1.Pos.stVal\[ST\]: 7 does not fit Dbpos"):
        model.set_status(f"{LD}/XCBR1.Pos.stVal[ST]", 7)
    assert model.get_value(f"{LD}/XCBR1.Pos.stVal[ST]") == 2


def test_set_values_is_all_or_nothing_and_client_writes_carry_their_origin() -> None:
    model = served_model(OWN_SCL)
    before = dict(model.values)
    with pytest.raises(ModelError, match=r"GGIO1.Setg.limit\[SP\]: 70000 does not fit INT16"):
        model.set_values({f"{LD}/GGIO1.Setg.setVal[SP]": 1.0, f"{LD}/GGIO1.Setg.limit[SP]": 70000})
    assert model.values == before
    heard: list[Change] = []
    written: list[tuple[str, str, object, str]] = []
    model.store.subscribe(heard.extend)
    model.on_write(lambda d, i, v, p: written.append((d, i, v, p)))
    model.set_value(f"{LD}/GGIO1.Setg.setVal[SP]", 4.0)
    model.write(
        LD, "GGIO1$SP$Setg$setVal", scalar_to_data(BasicType.FLOAT64, 5.0), CallContext("c@x/IEC")
    )
    assert [(c.origin, c.new) for c in heard] == [(None, 4.0), ("c@x/IEC", 5.0)]
    assert written == [(LD, "GGIO1$SP$Setg$setVal", 5.0, "c@x/IEC")]  # clients' writes only
