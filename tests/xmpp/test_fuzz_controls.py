"""Seeded, bounded fuzz of the control and setting-group services through the sans-I/O core:
valid SBOw/Oper/Cancel values with hostile parameters (any ctlVal, ctlNum, orCat, operTm,
Test, Check) and any Data at all, to every control object and SGCB attribute, by two
clients, with the clock moving. Every request gets exactly one answer, schema-valid, none
from the core's catch-all for its own bugs; the store stays valid; the machines stay in a
state their table knows."""

from __future__ import annotations

import logging
import random
from typing import Any

import pytest

from gen61850.generated.scsm_8_2.bindings import Data
from gen61850.runtime.device.control import TRANSITIONS, Check, Origin, State
from gen61850.runtime.xmpp.values import boolean, utc_time
from tests.conftest import fuzz_budget
from tests.xmpp.controls_harness import A, B, ControlDriver
from tests.xmpp.test_fuzz_server import assert_store_intact, random_data

SGCB_ITEMS = ("ActSG", "EditSG", "CnfEdit", "NumOfSG", "LActTm", "")
SETTINGS = ("PTOC1$SE$StrVal$setMag$f", "PTOC1$SE$OpDlTmms$setVal", "PTOC1$SE$StrVal")


def _ctl_val(rng: random.Random) -> Any:
    return rng.choice(
        (True, False, 0, 1, 2, 3, 9, -1, 127, -128, 2**31 - 1, {"f": 1.5}, {"f": float("inf")})
    )


def _control_request(rng: random.Random, d: ControlDriver) -> tuple[str, Data]:
    provider = rng.choice(list(d.controls.providers.values()))
    do = provider.prefix.replace("$CO$", ".")
    which = rng.choice(("SBOw", "Oper", "Cancel", "Oper", "SBO"))
    item = f"{provider.prefix}${which}"
    if (
        which == "SBO"
        or rng.random() < 0.15
        or (d.model.variables.get((d.model.domains[0], item)) is None)
    ):
        return item, random_data(rng)
    try:
        data = d.control_data(
            do,
            which,
            _ctl_val(rng),
            ctl_num=rng.choice((0, 1, 5, 255, d.ctl_nums.get(do, 0))),
            origin=Origin(rng.choice((0, 3, 8)), rng.randbytes(rng.choice((0, 3, 64)))),
            oper_tm=rng.choice((None, None, d.now + rng.uniform(-5, 5), d.now + 1e9, 2.0**32 - 1)),
            test=rng.random() < 0.2,
            check=Check(rng.random() < 0.3, rng.random() < 0.3),
        )
    except Exception:  # the client refuses values that do not fit: send raw Data instead
        return item, random_data(rng)
    if rng.random() < 0.2 and data.structure is not None and data.structure.data:
        parts = list(data.structure.data)
        parts[rng.randrange(len(parts))] = random_data(rng)
        data = Data(structure=type(data.structure)(data=parts))
    return item, data


def _sg_request(rng: random.Random) -> tuple[str, Data]:
    if rng.random() < 0.5:
        name = rng.choice(SGCB_ITEMS)
        item = "LLN0$SP$SGCB" + (f"${name}" if name else "")
        data = rng.choice(
            (
                Data(unsigned=rng.choice((0, 1, 2, 3, 4, 255))),
                Data(boolean=boolean(rng.random() < 0.7)),
                Data(utc_time=utc_time(1.0)),
                random_data(rng),
            )
        )
        return item, data
    return rng.choice(SETTINGS), random_data(rng)


@pytest.mark.fuzz
def test_fuzzed_control_and_setting_group_writes(
    fuzz_rng: random.Random, caplog: pytest.LogCaptureFixture
) -> None:
    d = ControlDriver()
    d.associate(A)
    d.associate(B)
    caplog.set_level(logging.ERROR)
    outcomes: set[str] = set()
    for _ in range(fuzz_budget(400)):
        peer = fuzz_rng.choice((A, A, B))
        if fuzz_rng.random() < 0.75:
            item, data = _control_request(fuzz_rng, d)
        else:
            item, data = _sg_request(fuzz_rng)
        reading = item.endswith("$SBO")
        reply = d.read(item, peer) if reading else d.write(item, data, peer)
        answers = [k for k in reply.kinds if k == "answer"]
        assert len(answers) == 1, reply.kinds
        if not reading:
            (code,) = reply.write_codes()
            assert code is None or 0 <= code <= 11
            outcomes.add("accepted" if code is None else "refused")
        if fuzz_rng.random() < 0.3:
            d.advance(fuzz_rng.choice((0.0, 0.3, 1.0, 3.0, 65.0)))
        for provider in d.controls.providers.values():
            control = provider.control
            states = TRANSITIONS[control.settings().ctl_model]
            assert control.state is State.UNSELECTED or control.state in states
    assert outcomes == {"accepted", "refused"}  # the cases reach both ends
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert_store_intact(d.model)
    d.check.assert_clean()
