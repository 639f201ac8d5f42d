"""A fleet of IEDs in one ``gen61850 xmpp serve`` process, polled by one client over one XMPP
session, through the session's Prosody and ejabberd; and the fleet commands' bad input."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gen61850.cli import main
from gen61850.runtime.device import BasicType
from gen61850.runtime.xmpp.client import AcsiClient, ClientAssociation
from gen61850.runtime.xmpp.fleet import write_passwords
from gen61850.runtime.xmpp.fleet_client import FleetClient, PollResult, poll
from gen61850.runtime.xmpp.values import scalar_to_data
from tests.xmpp.conftest import Env, run
from tests.xmpp.test_cli import CLI, ENV, cli, config, stop

pytestmark = pytest.mark.prosody
FLEET = 50
TOTAL_W = "XIEDLD0/MMXU1$MX$TotW$mag$f"  # 12.5 in the SCL
SET_VAL = "XIEDLD0/GGIO1.Setg.setVal[SP]"  # 2.5 in the SCL, writable
SERVING = re.compile(
    r"serving (\d+) IEDs \(XIED x(\d+)\) as (\S+) \.\.\. (\S+); "
    r"[\d.]+ MiB RSS for them, (\d+) KiB per IED; Ctrl-C stops"
)


@pytest.fixture(scope="module")
def fleet_accounts(xmpp_env: Env, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """der1..derN on the session's server, each with its own password, in a passwords file
    (once per server: ejabberd's bulk import refuses accounts that exist)."""
    passwords = {f"der{n}": f"pw-der{n}-{n * 7919}" for n in range(1, FLEET + 1)}
    xmpp_env.server.register_many(passwords)
    path = tmp_path_factory.mktemp("fleet") / "fleet-accounts.txt"
    write_passwords(path, {f"{u}@{xmpp_env.server.domain}": p for u, p in passwords.items()})
    return path


@pytest.fixture
def serving(
    xmpp_env: Env, own_scl: Path, fleet_accounts: Path
) -> Iterator[tuple[subprocess.Popen[str], re.Match[str]]]:
    """``xmpp serve --fleet`` of the test IED, up (its first line read)."""
    process = subprocess.Popen(
        [
            *CLI,
            "serve",
            str(own_scl),
            "--fleet",
            str(FLEET),
            "--jid-pattern",
            f"der{{n}}@{xmpp_env.server.domain}",
            "--accounts",
            str(fleet_accounts),
            "--server",
            f"127.0.0.1:{xmpp_env.server.port}",
            "--ca",
            str(xmpp_env.server.ca_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        line = process.stdout.readline()
        found = SERVING.fullmatch(line.strip())
        assert found, line + process.stderr.read()
        yield process, found
    finally:
        assert stop(process) == 0


def test_a_fleet_in_one_process_is_polled_by_one_client(
    xmpp_env: Env, serving: tuple[subprocess.Popen[str], re.Match[str]], tmp_path: Path
) -> None:
    process, found = serving
    domain = xmpp_env.server.domain
    assert found[1] == found[2] == str(FLEET)
    assert (found[3], found[4]) == (f"der1@{domain}", f"der{FLEET}@{domain}")
    assert 0 < int(found[5]) <= 1024  # the per-IED bound the fleet promises (1 MB)
    jids = [f"der{n}@{domain}" for n in range(1, FLEET + 1)]
    results: list[PollResult] = []

    async def scenario() -> tuple[object, int]:
        client = AcsiClient(xmpp_env.settings("client1"))
        await client.start()
        try:
            fleet = FleetClient(client, per_ied=2, total=16)
            assert await fleet.associate([f"der7@{domain}"]) == {}

            async def write(association: ClientAssociation) -> None:
                value = scalar_to_data(BasicType.FLOAT64, 9.5)
                await association.set_data_values("XIEDLD0", "GGIO1$SP$Setg$setVal", value)

            await fleet.call(f"der7@{domain}", write)
            summary = await poll(
                fleet, jids, [TOTAL_W, SET_VAL], rounds=3, on_result=results.append
            )
            return summary, len(client.associations)
        finally:
            await client.stop()

    summary, left = run(scenario(), timeout=120)
    assert left == 0  # every association released
    assert summary.as_dict() | {
        "wall_s": 0,
        "associate_s": 0,
        "rate_per_s": 0,
        "latency_ms": 0,
    } == {
        "ieds": FLEET,
        "associated": FLEET,
        "requests": 3 * FLEET,
        "answered": 3 * FLEET,
        "value_failures": 0,
        "errors": {},
        "unanswered": 0,
        "wall_s": 0,
        "associate_s": 0,
        "rate_per_s": 0,
        "latency_ms": 0,
        "most_outstanding": {"per_ied": summary.per_ied_most, "total": summary.total_most},
    }
    assert 1 <= summary.per_ied_most <= 2 and 1 <= summary.total_most <= 16
    assert len(summary.latencies) == 3 * FLEET
    assert sorted((r.jid, r.round) for r in results) == sorted(
        (jid, number) for jid in jids for number in (1, 2, 3)
    )
    for result in results:  # each instance has values of its own
        expected = "9.5" if result.jid == f"der7@{domain}" else "2.5"
        assert result.values == {TOTAL_W: "12.5", SET_VAL: expected}, result
    assert process.stdout is not None
    assert process.stdout.readline().strip() == (
        f"der7@{domain}: write by client1@{domain}/IEC: XIEDLD0/GGIO1$SP$Setg$setVal = 9.5"
    )

    # the poll command: a JSON line per read, then the summary; an IED nobody serves counts
    client2 = config(xmpp_env, tmp_path, "client2")
    polled = cli(
        "poll",
        TOTAL_W,
        "--fleet",
        str(FLEET),
        "--jid-pattern",
        f"der{{n}}@{domain}",
        "--ied",
        f"nobody@{domain}",
        "--outstanding",
        "8",
        "--timeout",
        "5",
        "--format",
        "jsonl",
        "--config",
        str(client2),
    )
    assert polled.returncode == 1, polled.stderr  # one IED could not be read
    lines = [json.loads(line) for line in polled.stdout.splitlines()]
    reads, final = lines[:-1], lines[-1]["summary"]
    assert len(reads) == FLEET + 1
    missing = [r for r in reads if "error" in r]
    assert [(r["ied"], r["kind"]) for r in missing] == [(f"nobody@{domain}", "no-association")]
    assert all(r["values"] == {TOTAL_W: "12.5"} for r in reads if "values" in r)
    assert (final["requests"], final["answered"], final["unanswered"]) == (FLEET, FLEET, 0)
    assert final["errors"] == {"no-association": 1}
    assert final["most_outstanding"]["total"] <= 8


def _error(capsys: pytest.CaptureFixture[str], *argv: str, before: str = "") -> str:
    """The one error line of a command that fails (after the line ``before``, if given)."""
    assert main(list(argv)) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    if before:
        assert lines[0].startswith(before), captured.err
        lines = lines[1:]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("gen61850: error: ")
    return lines[0].removeprefix("gen61850: error: ")


def test_fleet_commands_refuse_bad_input_clearly(
    own_scl: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serve = ["xmpp", "serve", str(own_scl), "--password", "p", "--server", "127.0.0.1:1"]
    assert _error(capsys, *serve, "--fleet", "3", "--jid-pattern", "der@x.test") == (
        "--jid-pattern 'der@x.test' has no {n}: 3 instances would share one JID "
        "(e.g. der{n}@dso.example)"
    )
    assert _error(capsys, *serve, "--fleet", "0", "--jid-pattern", "der{n}@x.test") == (
        "--fleet 0: the number of instances is at least 1"
    )
    assert "needs --jid-pattern" in _error(capsys, *serve, "--fleet", "3")
    assert _error(
        capsys, *serve, "--ied", "XIED", "--ied", "XIED", "--jid-pattern", "{ied}{n}@x.test"
    ) == ("duplicate JIDs: xied1@x.test (each served IED needs an account of its own)")
    assert _error(capsys, *serve, "--fleet", "2", "--jid-pattern", "d{n}@x", "--jid", "a@x") == (
        "--jid names one IED; several IEDs or a fleet take --jid-pattern"
    )
    assert "--report-store serves one IED" in _error(
        capsys, *serve, "--fleet", "2", "--jid-pattern", "d{n}@x", "--report-store", "f.db"
    )
    accounts = tmp_path / "accounts.txt"
    write_passwords(accounts, {"d1@x.test": "one"})
    assert _error(
        capsys, *serve, "--fleet", "3", "--jid-pattern", "d{n}@x.test", "--accounts", str(accounts)
    ) == (f"{accounts}: no password for d2@x.test (and 1 more)")
    assert "unknown placeholder {N}" in _error(
        capsys, *serve, "--fleet", "2", "--jid-pattern", "d{N}@x.test"
    )
    poll_args = ["xmpp", "poll", "LD/LN$MX$A", "--as", "c@x.test", "--password", "p"]
    assert _error(capsys, *poll_args, "--ied", "a@x.test", "--ied", "A@x.test/IEC") == (
        "duplicate JIDs: a@x.test (each served IED needs an account of its own)"
    )
    assert _error(capsys, *poll_args, "--fleet", "2") == "--fleet N and --jid-pattern go together"
    assert _error(capsys, *poll_args, "--ied", "a@x.test", "--rounds", "0") == (
        "--rounds 0: at least 1"
    )
    assert "no IEDs to poll" in _error(capsys, *poll_args)
    assert "expected LD/LN$FC$DO$DA" in _error(
        capsys, "xmpp", "poll", "nonsense", "--ied", "a@x.test", "--as", "c@x", "--password", "p"
    )


def test_a_fleet_that_cannot_log_in_is_not_served(
    xmpp_env: Env, own_scl: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Accounts that do not exist: the fleet stops, naming how many and why."""
    message = _error(
        capsys,
        "xmpp",
        "serve",
        str(own_scl),
        "--fleet",
        "3",
        "--jid-pattern",
        f"ghost{{n}}@{xmpp_env.server.domain}",
        "--password",
        "nope",
        "--server",
        f"127.0.0.1:{xmpp_env.server.port}",
        "--ca",
        str(xmpp_env.server.ca_file),
        "--timeout",
        "5",
        before="starting 3 IEDs, 16 logins at a time",
    )
    assert message.startswith("3 of 3 IEDs did not start: ghost")
    assert "authentication failed" in message


def test_dev_server_makes_a_fleet_s_accounts_in_bulk() -> None:
    from gen61850.runtime.xmpp.fleet import read_passwords
    from gen61850.runtime.xmpp.transport import XmppSettings
    from tests.conftest import require_program

    require_program("prosody")
    process = subprocess.Popen(
        [*CLI, "dev-server", "--users", "head", "--fleet", "3", "--fleet-user", "pv{n}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("Ctrl-C stops"):
            line = process.stdout.readline()
            assert line, process.stderr.read()
            lines.append(line)
        fleet_line = next(line for line in lines if line.startswith("fleet: "))
        path = Path(fleet_line.split(" passwords in ")[1].strip())
        passwords = read_passwords(path)
        assert list(passwords) == [f"pv{n}@iec61850.test" for n in (1, 2, 3)]
        assert len(set(passwords.values())) == 3
        assert any("--fleet 3 --jid-pattern 'pv{n}@iec61850.test'" in line for line in lines)
        port = int(lines[0].split(":")[1].split(",")[0])
        ca = lines[1].split(": ", 1)[1].strip()

        async def log_in() -> str:
            settings = XmppSettings(
                "pv2@iec61850.test", passwords["pv2@iec61850.test"], "127.0.0.1", port, ca
            )
            client = AcsiClient(settings)
            await client.start()
            await client.stop()
            return str(client.boundjid)

        assert run(log_in()) == "pv2@iec61850.test/IEC"
    finally:
        assert stop(process) == 0
    assert not path.exists()


def test_a_fleet_stopped_while_it_logs_in_stops_cleanly(
    xmpp_env: Env, own_scl: Path, fleet_accounts: Path
) -> None:
    process = subprocess.Popen(
        [
            *CLI,
            "serve",
            str(own_scl),
            "--fleet",
            str(FLEET),
            "--jid-pattern",
            f"der{{n}}@{xmpp_env.server.domain}",
            "--accounts",
            str(fleet_accounts),
            "--logins",
            "1",  # one after the other: the signal comes while it logs in
            "--server",
            f"127.0.0.1:{xmpp_env.server.port}",
            "--ca",
            str(xmpp_env.server.ca_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert process.stderr is not None and process.stdout is not None
    assert process.stderr.readline().startswith(f"starting {FLEET} IEDs, 1 logins at a time")
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert out == ""  # stopped before it served (the fleet logs in one by one)
    assert "Traceback" not in err
