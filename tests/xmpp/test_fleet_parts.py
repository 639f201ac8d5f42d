"""The parts of fleet serving that need no XMPP server: JID patterns, passwords files, the
fair queue and model twins."""

from __future__ import annotations

from pathlib import Path

import pytest

from gen61850.runtime.xmpp.fair import FairQueue
from gen61850.runtime.xmpp.fleet import (
    FleetError,
    bare_jid,
    check_unique,
    expand_pattern,
    instances,
    read_passwords,
    write_passwords,
)
from gen61850.runtime.xmpp.model import ModelError, ServedModel
from gen61850.runtime.xmpp.server import AcsiServer
from gen61850.runtime.xmpp.transport import XmppSettings, trust_context
from tests.xmpp.conftest import HERE

REPORT_SCL = HERE / "report_ied.icd"


# ---------------------------------------------------------------- JIDs


def test_a_pattern_gives_one_jid_per_instance() -> None:
    assert expand_pattern("der{n}@dso.example", count=3) == [
        "der1@dso.example",
        "der2@dso.example",
        "der3@dso.example",
    ]
    assert expand_pattern("{ied}-{n}@dso.example", count=2, ied="XIED") == [
        "xied-1@dso.example",
        "xied-2@dso.example",
    ]
    assert expand_pattern("one@dso.example/IEC", count=1) == ["one@dso.example"]


@pytest.mark.parametrize(
    ("pattern", "count", "says"),
    [
        ("der@dso.example", 3, "has no {n}: 3 instances would share one JID"),
        ("der{n}@dso.example", 0, "--fleet 0: the number of instances is 1 to 100000"),
        ("der{n}@dso.example", -2, "--fleet -2"),
        ("der{m}@dso.example", 2, "unknown placeholder {m}"),
        ("der{n}", 2, "'der1' is not a JID of an account (user@domain)"),
        ("der{n}@dso.example/other", 2, "an IED's resource is IEC (8-2), not other"),
        ("der {n}@dso.example", 2, "is not a JID"),
    ],
)
def test_bad_patterns_are_refused_clearly(pattern: str, count: int, says: str) -> None:
    with pytest.raises(FleetError) as raised:
        expand_pattern(pattern, count=count)
    assert says in str(raised.value)


def test_duplicate_jids_are_named() -> None:
    check_unique(["a@x.test", "b@x.test"])
    with pytest.raises(FleetError) as raised:
        check_unique(["a@x.test", "b@x.test", "A@x.test/IEC", "b@x.test"])
    assert str(raised.value) == (
        "duplicate JIDs: a@x.test, b@x.test (each served IED needs an account of its own)"
    )


def test_passwords_file_round_trip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "accounts.txt"
    write_passwords(path, {"der1@x.test": "s3cret one", "der2@x.test": "two"})
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_passwords(path) == {"der1@x.test": "s3cret one", "der2@x.test": "two"}
    path.write_text("# fleet\n\nder1@x.test a\nder1@x.test/IEC b\n", encoding="utf-8")
    with pytest.raises(FleetError, match=r"accounts.txt:4: der1@x.test given twice"):
        read_passwords(path)
    path.write_text("der1@x.test\tpass word\n", encoding="utf-8")
    assert read_passwords(path) == {"der1@x.test": "pass word"}
    with pytest.raises(FleetError, match="one line, not blank"):
        write_passwords(path, {"der1@x.test": "two\nlines"})
    path.write_text("der1@x.test\n", encoding="utf-8")
    with pytest.raises(FleetError, match=r"accounts.txt:1: expected 'JID PASSWORD'"):
        read_passwords(path)
    with pytest.raises(FleetError, match="is not a JID"):
        bare_jid("@x.test", "--ied")


# ---------------------------------------------------------------- the fair queue


def test_the_fair_queue_takes_turns_within_its_bounds() -> None:
    queue: FairQueue[str, int] = FairQueue(per_peer=2, total=3)
    for job in range(5):
        queue.submit("busy", job)
    queue.submit("calm", 100)
    queue.submit("late", 200)
    started = [queue.next_ready() for _ in range(4)]
    # one turn each in submission order of peers, the busy peer never more than 2 at once
    assert started == [("busy", 0), ("calm", 100), ("late", 200), None]
    assert queue.running == 3 and queue.waiting() == 4
    queue.finished("calm")
    assert queue.next_ready() == ("busy", 1)
    assert queue.next_ready() is None  # total bound
    queue.finished("late")
    assert queue.next_ready() is None  # busy has 2 running: its own bound
    queue.finished("busy")
    assert queue.next_ready() == ("busy", 2)
    assert queue.most_running == 3 and queue.most_running_of("busy") == 2
    queue.limit("busy", 1)
    queue.finished("busy")
    queue.finished("busy")
    assert queue.next_ready() == ("busy", 3)
    assert queue.next_ready() is None  # limited to 1 now
    with pytest.raises(ValueError, match="no job running"):
        queue.finished("calm")
    with pytest.raises(ValueError, match="at least 1"):
        FairQueue(per_peer=0, total=1)


# ---------------------------------------------------------------- twins


def _report_ied() -> object:
    from gen61850.generator.scl.model import load_scl

    return load_scl(REPORT_SCL).ieds[0]


def test_twins_share_the_layout_and_keep_their_own_values() -> None:
    ied = _report_ied()
    first, second, third = instances(ied, ["a", "b", "c"], ServedModel.from_ied)  # type: ignore[arg-type]
    assert first.variables is second.variables is third.variables
    assert first.store.leaves is second.store.leaves
    settings = XmppSettings(jid="a@x.test", password="p", tls_context=trust_context(None))
    servers = [AcsiServer(settings, model) for model in (first, second, third)]
    # the first server put its control blocks into the shared layout; the others found them
    assert len(first.providers) == len(second.providers) == len(third.providers) > 0
    reference = next(iter(first.store.values))
    leaf = first.store.attribute(reference)
    assert leaf is second.store.attribute(reference)
    domain, item = next(
        (k for k, v in first.store.values.items() if isinstance(v, float)), reference
    )
    first.set_value(f"{domain}/{item}", 123.0)
    assert first.get_value(f"{domain}/{item}") == 123.0
    assert second.get_value(f"{domain}/{item}") != 123.0
    assert second.store.data_sets.keys() == first.store.data_sets.keys()
    # a second server over one model is still refused
    with pytest.raises(ModelError, match="already served"):
        AcsiServer(settings, second)
    assert servers


def test_an_unshared_model_still_refuses_a_second_server() -> None:
    model = ServedModel.from_ied(_report_ied())  # type: ignore[arg-type]
    settings = XmppSettings(jid="a@x.test", password="p", tls_context=trust_context(None))
    AcsiServer(settings, model)
    with pytest.raises(ModelError, match="already served"):
        AcsiServer(settings, model)


def test_a_fleet_raises_its_open_file_limit_or_says_why_not() -> None:
    import resource

    from gen61850.runtime.xmpp.fleet import ensure_descriptors

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        ensure_descriptors(300)
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == 300
        if hard != resource.RLIM_INFINITY:
            with pytest.raises(FleetError, match=f"the hard limit is {hard}"):
                ensure_descriptors(hard + 1)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_processes_sharing_a_fleet_take_ranges() -> None:
    assert expand_pattern("der{n}@x.test", count=2, first=501) == ["der501@x.test", "der502@x.test"]
    with pytest.raises(FleetError, match="--first -1"):
        expand_pattern("der{n}@x.test", count=2, first=-1)
