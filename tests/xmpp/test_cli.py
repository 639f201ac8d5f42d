"""`gen61850 xmpp` commands as a user runs them, against the session's Prosody; and the
``local_ied`` API the demo uses."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gen61850.runtime.xmpp import devserver
from gen61850.runtime.xmpp.client import AcsiClient
from gen61850.runtime.xmpp.session import local_ied
from gen61850.runtime.xmpp.tools import Account, read_account_file, write_account_file
from tests.conftest import require_program
from tests.xmpp.conftest import Env, password, run

pytestmark = pytest.mark.prosody
CLI = [sys.executable, "-m", "gen61850", "xmpp"]


def config(
    env: Env, folder: Path, user: str, secret: str | None = None, sasl: str | None = None
) -> Path:
    path = folder / f"{user}.toml"
    write_account_file(
        path,
        Account(
            f"{user}@{env.server.domain}",
            secret or password(user),
            f"127.0.0.1:{env.server.port}",
            str(env.server.ca_file),
            sasl,
        ),
    )
    return path


# The caller's GEN61850_XMPP_* settings would take precedence over the test's config files
# (and could point anywhere): the CLI runs with only what the test gives it.
ENV = {k: v for k, v in os.environ.items() if not k.startswith("GEN61850_XMPP_")}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=60, check=False, env=ENV
    )


def stop(process: subprocess.Popen[str]) -> int | None:
    """SIGTERM (what Ctrl-C or a service manager sends); the exit code, None if it had to be
    killed. Pipes closed either way."""
    process.send_signal(signal.SIGTERM)
    try:
        code: int | None = process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        code = None
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()
    return code


def test_serve_browse_get_set(xmpp_env: Env, own_scl: Path, tmp_path: Path) -> None:
    ied, client = config(xmpp_env, tmp_path, "ied1"), config(xmpp_env, tmp_path, "client2")
    serve = subprocess.Popen(
        [*CLI, "serve", str(own_scl), "--ied", "XIED", "--config", str(ied)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert serve.stdout is not None
        line = serve.stdout.readline()
        assert line.startswith(
            "serving IED XIED (1 logical devices, 0 controllable objects) as ied1@iec61850.test/IEC"
        )
        target = f"ied1@{xmpp_env.server.domain}"
        browsed = cli("browse", target, "--config", str(client))
        assert browsed.returncode == 0, browsed.stderr
        assert browsed.stdout.splitlines()[:4] == [
            "XIEDLD0",
            "  LLN0",
            "    Mod [ST, CF]",
            "    NamPlt [DC]",
        ]
        got = cli(
            "get",
            target,
            "XIEDLD0/MMXU1.TotW.mag.f[MX]",
            "XIEDLD0/GGIO1$SP$Setg$limit",
            "--config",
            str(client),
        )
        assert got.returncode == 0, got.stderr
        assert got.stdout.splitlines() == [
            "XIEDLD0/MMXU1.TotW.mag.f[MX] = 12.5",
            "XIEDLD0/GGIO1$SP$Setg$limit = -5",
        ]
        wrote = cli("set", target, "XIEDLD0/GGIO1.Setg.limit[SP]", "17", "--config", str(client))
        assert (
            wrote.returncode == 0 and wrote.stdout.strip() == "XIEDLD0/GGIO1.Setg.limit[SP] := 17"
        )
        assert serve.stdout.readline().strip() == (
            "write by client2@iec61850.test/IEC: XIEDLD0/GGIO1$SP$Setg$limit = 17"
        )
        refused = cli("set", target, "XIEDLD0/XCBR1.Pos.stVal[ST]", "10", "--config", str(client))
        assert refused.returncode == 1
        assert refused.stderr.strip() == (
            "gen61850: error: XIEDLD0/XCBR1$ST$Pos$stVal: object-access-denied (3)"
        )
        missing = cli("get", target, "XIEDLD0/XCBR1$ST$Nope", "--config", str(client))
        assert missing.returncode == 1
        assert missing.stdout.strip() == "XIEDLD0/XCBR1$ST$Nope: object-non-existent (10)"
        odd = cli("get", target, "XIEDLD0/A = B", "--config", str(client))
        assert odd.stdout.strip() == "XIEDLD0/A = B: object-non-existent (10)"
        assert odd.returncode == 1
    finally:
        code = stop(serve)
    assert code == 0


def test_cli_errors_are_one_clear_line(xmpp_env: Env, tmp_path: Path) -> None:
    wrong = config(xmpp_env, tmp_path, "client1", secret="not-the-password")
    results = [cli("get", "ied1@iec61850.test", "LD/LN$ST$X", "--config", str(wrong))]
    assert results[-1].stderr.strip() == (
        "gen61850: error: client1@iec61850.test: authentication failed (wrong JID or password)"
    )
    results.append(cli("get", "ied1@iec61850.test", "nonsense", "--config", str(wrong)))
    assert "expected LD/LN$FC$DO$DA" in results[-1].stderr
    results.append(cli("browse", "ied1@iec61850.test"))
    assert "no JID" in results[-1].stderr
    results.append(cli("serve", str(tmp_path / "none.icd"), "--jid", "x@y", "--password", "p"))
    assert "no such SCL file" in results[-1].stderr
    for result in results:
        assert result.returncode == 1
        assert result.stderr.startswith("gen61850: error: ") and result.stderr.count("\n") == 1


def test_verbose_shows_the_traffic_but_not_the_password(xmpp_env: Env, tmp_path: Path) -> None:
    plain = config(xmpp_env, tmp_path, "client1", sasl="PLAIN")
    result = cli("browse", "nobody@iec61850.test", "--config", str(plain), "-v")
    assert result.returncode == 1 and "SEND: <presence" in result.stderr
    assert 'mechanism="PLAIN">(hidden)</auth>' in result.stderr
    credentials = base64.b64encode(f"\0client1\0{password('client1')}".encode()).decode()
    assert credentials not in result.stderr and password("client1") not in result.stderr


def test_local_ied_for_the_demo(own_scl: Path) -> None:
    from gen61850.generator.scl.model import load_scl

    with local_ied(load_scl(own_scl).ieds[0]) as ied:
        lines = ied.browse()
        assert lines[0] == "XIEDLD0" and "    Setg [SP]" in lines
        assert ied.get(["XIEDLD0/GGIO1.Setg.setVal[SP]"]) == ["XIEDLD0/GGIO1.Setg.setVal[SP] = 2.5"]
        assert (
            ied.set("XIEDLD0/GGIO1.Setg.setVal[SP]", "4") == "XIEDLD0/GGIO1.Setg.setVal[SP] := 4.0"
        )
        assert ied.server.model.get_value("XIEDLD0/GGIO1$SP$Setg$setVal") == 4.0
        prosody_pid = ied.dev.pid or 0
    assert prosody_pid
    with pytest.raises(ProcessLookupError):
        os.kill(prosody_pid, 0)  # Prosody is gone


@pytest.mark.parametrize("server", devserver.SERVER_KINDS)
def test_dev_server_command_serves_its_accounts_and_removes_its_folder(server: str) -> None:
    require_program({"prosody": "prosody", "ejabberd": "ejabberdctl"}[server])
    process = subprocess.Popen(
        [*CLI, "dev-server", "--users", "alpha,beta", "--server", server],
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
        configs = [Path(line.split(" config ")[1].strip()) for line in lines if " config " in line]
        assert [c.name for c in configs] == ["alpha.toml", "beta.toml"]
        settings = read_account_file(configs[1]).settings("beta")
        assert settings.host == "127.0.0.1" and settings.ca_file is not None

        async def log_in() -> str:
            client = AcsiClient(settings)
            await client.start()
            await client.stop()
            return str(client.boundjid)

        assert run(log_in()) == "beta@iec61850.test/IEC"
        folder = configs[0].parent
    finally:
        code = stop(process)
    assert code == 0
    assert not folder.exists()


def test_a_dev_server_interrupted_while_starting_leaves_nothing_behind(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Ctrl-C while Prosody starts: Prosody (in its own session, so Ctrl-C misses it) is
    stopped and the temporary folder removed, although ``__exit__`` never runs."""
    started: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def popen(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        process = real_popen(args, **kwargs)
        if args[0] == "prosody":
            started.append(process)
        return process

    def interrupted() -> float:
        raise KeyboardInterrupt

    monkeypatch.setattr(devserver.subprocess, "Popen", popen)
    monkeypatch.setattr(devserver, "time", SimpleNamespace(monotonic=interrupted))
    monkeypatch.setattr(devserver.tempfile, "tempdir", str(tmp_path))
    try:
        with pytest.raises(KeyboardInterrupt), devserver.DevServer():
            pass
        assert len(started) == 1 and started[0].poll() is not None
        assert list(tmp_path.iterdir()) == []
    finally:
        for process in started:  # even when the assertions fail, leave no Prosody behind
            if process.poll() is None:
                process.kill()
                process.wait()


def _start_dev_server(
    folder: str, users: str, cwd: Path
) -> tuple[subprocess.Popen[str], list[str]]:
    """``xmpp dev-server`` as a user starts it; its lines up to "Ctrl-C stops"."""
    process = subprocess.Popen(
        [*CLI, "dev-server", "--folder", folder, "--users", users],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=cwd,
    )
    assert process.stdout is not None and process.stderr is not None
    lines: list[str] = []
    while not lines or not lines[-1].startswith("Ctrl-C stops"):
        line = process.stdout.readline()
        assert line, process.stderr.read()
        lines.append(line)
    return process, lines


def test_a_relative_dev_server_folder_works_from_where_it_was_typed(
    own_scl: Path, tmp_path: Path
) -> None:
    """``--folder gx`` as a user types it: serve and get with its account files work, from
    the same folder and from elsewhere (paths in the files are absolute or file-relative)."""
    dev, _ = _start_dev_server("gx", "xied,client1", tmp_path)
    serve = subprocess.Popen(
        [*CLI, "serve", str(own_scl), "--ied", "XIED", "--config", "gx/xied.toml"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=tmp_path,
    )
    try:
        assert serve.stdout is not None and serve.stderr is not None
        line = serve.stdout.readline()
        assert line.startswith("serving IED XIED"), serve.stderr.read()
        got = subprocess.run(
            [
                *CLI,
                "get",
                "xied@iec61850.test",
                "XIEDLD0/MMXU1.TotW.mag.f[MX]",
                "--config",
                str(tmp_path / "gx" / "client1.toml"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=ENV,
            cwd="/",
        )
        assert got.returncode == 0, got.stderr
        assert got.stdout.strip() == "XIEDLD0/MMXU1.TotW.mag.f[MX] = 12.5"
    finally:
        assert stop(serve) == 0
        assert stop(dev) == 0
    assert (tmp_path / "gx" / "client1.toml").exists()  # a given folder is kept


def test_a_background_dev_server_stops_on_sigint(tmp_path: Path) -> None:
    """A shell starts background jobs with SIGINT ignored; ``kill -INT`` still stops it."""
    process = subprocess.Popen(
        [*CLI, "dev-server", "--folder", str(tmp_path / "gx"), "--users", "a"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert process.stdout is not None
    while not process.stdout.readline().startswith("Ctrl-C stops"):
        assert process.poll() is None
    process.send_signal(signal.SIGINT)
    try:
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
    pid_file = tmp_path / "gx" / "prosody" / "prosody.pid"
    assert not pid_file.exists() or not _alive(int(pid_file.read_text() or 0))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return pid > 0


def test_connection_failures_say_which_and_why(
    xmpp_env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing CA file, a CA file with no certificate, a server without a usable TLS key."""
    account = config(xmpp_env, tmp_path, "client1")
    text = account.read_text()
    account.write_text(text.replace(str(xmpp_env.server.ca_file), str(tmp_path / "nope.crt")))
    result = cli("get", "ied1@iec61850.test", "LD/LN$ST$X", "--config", str(account))
    assert result.returncode == 1
    assert result.stderr.strip() == f"gen61850: error: CA file {tmp_path / 'nope.crt'}: not found"

    junk = tmp_path / "junk.crt"
    junk.write_text("not a certificate\n")
    account.write_text(text.replace(str(xmpp_env.server.ca_file), str(junk)))
    result = cli("get", "ied1@iec61850.test", "LD/LN$ST$X", "--config", str(account))
    assert result.returncode == 1 and "no usable PEM certificate" in result.stderr

    # A Prosody whose key file is missing offers no TLS and closes the stream.
    make_certificates = devserver.make_certificates

    def without_key(folder: Path, domain: str) -> tuple[Path, Path, Path]:
        ca, certificate, _ = make_certificates(folder, domain)
        return ca, certificate, folder / "missing.key"

    monkeypatch.setattr(devserver, "make_certificates", without_key)
    with devserver.DevServer() as broken:
        broken.register("client1", "pw")
        write_account_file(
            account,
            Account("client1@iec61850.test", "pw", f"127.0.0.1:{broken.port}", str(broken.ca_file)),
        )
        result = cli("get", "ied1@iec61850.test", "LD/LN$ST$X", "--config", str(account))
    assert result.returncode == 1
    assert "closed the connection before TLS" in result.stderr, result.stderr


def test_report_prints_each_report_and_disables_on_exit(xmpp_env: Env, tmp_path: Path) -> None:
    """`serve --simulate` makes values move; `report` reserves and enables an RCB (the first
    free instance of an indexed one), prints reports as jsonl or text, disables it on exit."""
    import json

    report_scl = Path(__file__).parent / "report_ied.icd"
    ied, client = config(xmpp_env, tmp_path, "ied1"), config(xmpp_env, tmp_path, "client2")
    serve = subprocess.Popen(
        [*CLI, "serve", str(report_scl), "--simulate", "0.2", "--config", str(ied)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert serve.stdout is not None
        assert serve.stdout.readline().startswith("serving IED RIED (2 logical devices, ")
        assert "RIEDLD0/LLN0$BR$brcbEv01" in serve.stdout.readline()
        assert serve.stdout.readline().startswith("simulating 2 MX and 27 ST values every 0.2 s")
        target = f"ied1@{xmpp_env.server.domain}"
        got = cli(
            "report", target, "RIEDLD0/LLN0.brcbEv", "--gi", "--count", "3", "--format", "jsonl",
            "--timeout", "30", "--config", str(client),
        )  # fmt: skip
        assert got.returncode == 0, got.stderr
        assert "# RIEDLD0/LLN0$BR$brcbEv01 enabled" in got.stderr
        reports = [json.loads(line) for line in got.stdout.splitlines()]
        assert len(reports) == 3
        keys = {"rptID", "seqNum", "subSeqNum", "entryID", "timeOfEntry", "datSet", "confRev"}
        assert set(reports[0]) == keys | {"bufOvfl", "entries"}
        gi = reports[0]
        assert (gi["rptID"], gi["datSet"], gi["confRev"], gi["bufOvfl"]) == (
            "EvRpt",
            "RIEDLD0/LLN0$Events",
            1,
            False,
        )
        assert len(gi["entryID"]) == 16 and gi["timeOfEntry"].endswith("+00:00")
        assert [e["ref"] for e in gi["entries"]] == [
            "RIEDLD0/XCBR1$ST$Pos",
            "RIEDLD0/GGIO1$ST$Ind1",
            "RIEDLD0/GGIO1$ST$Cnt$stVal",
            "RIEDLD0/MMXU1$MX$TotW$mag$f",
            "RIEDLD1/GGIO2$ST$Alm",
        ]
        assert all(e["reason"] == ["gi"] for e in gi["entries"])
        position = gi["entries"][0]["value"]
        assert set(position) == {"stVal", "q", "t"} and len(position["q"]) == 13
        assert isinstance(gi["entries"][3]["value"], float)
        later = [e for r in reports[1:] for e in r["entries"]]
        assert later and all(set(e["reason"]) <= {"dchg", "qchg", "dupd"} for e in later)
        assert [r["seqNum"] for r in reports] == [gi["seqNum"], gi["seqNum"] + 1, gi["seqNum"] + 2]
        # disabled and released on exit: the next run gets the same instance, a URCB as text
        again = cli(
            "report", target, "RIEDLD0/LLN0.brcbEv", "--count", "1", "--timeout", "30",
            "--config", str(client),
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert "# RIEDLD0/LLN0$BR$brcbEv01 enabled" in again.stderr
        assert again.stdout.startswith("EvRpt #")
        meas = cli(
            "report", target, "RIEDLD0/LLN0.urcbMeas", "--trg", "integrity", "--intg-pd", "300",
            "--count", "1", "--timeout", "30", "--config", str(client),
        )  # fmt: skip
        assert meas.returncode == 0, meas.stderr
        assert meas.stdout.startswith("RIEDLD0/LLN0$RP$urcbMeas #")
        assert "(integrity)" in meas.stdout and "dchg" not in meas.stdout
        bad = cli(
            "report", target, "RIEDLD0/LLN0.brcbEv", "--trg", "often", "--config", str(client)
        )
        assert bad.returncode == 1 and "--trg: 'often'" in bad.stderr
        quiet = cli(
            "report", target, "RIEDLD0/LLN0.nope", "--timeout", "5", "--config", str(client)
        )
        assert quiet.returncode == 1 and "no report control block" in quiet.stderr
    finally:
        assert stop(serve) == 0
