"""`gen61850 xmpp operate|cancel|sg|file` as a user runs them, against `xmpp serve` of the
control test IED (with a file store and its clock disciplined by `gen61850 sntp serve`),
through Prosody and ejabberd."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from tests.xmpp.conftest import Env
from tests.xmpp.controls_harness import CONTROL_SCL
from tests.xmpp.test_cli import ENV, cli, config, stop

LD = "CIEDLD0"


def sntp_server(offset: float) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gen61850", "sntp", "serve", "--port", "0", "--offset", str(offset)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("SNTP on 127.0.0.1:"), process.stderr.read() if process.stderr else ""
    return process, int(line.split(":")[1].split()[0])


def test_operate_cancel_sg_and_files_from_the_command_line(xmpp_env: Env, tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    (store / "record.cfg").write_bytes(b"station,1\n" * 1000)
    ied, client = config(xmpp_env, tmp_path, "ied1"), config(xmpp_env, tmp_path, "client2")
    sntp, port = sntp_server(0.25)
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gen61850",
            "xmpp",
            "serve",
            str(CONTROL_SCL),
            "--jid",
            f"ied1@{xmpp_env.server.domain}",
            "--files",
            str(store),
            "--sntp",
            f"127.0.0.1:{port}",
            "--config",
            str(ied),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    target = f"ied1@{xmpp_env.server.domain}"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return cli(*args[:1], target, *args[1:], "--config", str(client))

    try:
        assert serve.stdout is not None
        line = serve.stdout.readline()
        assert "13 controllable objects" in line, serve.stderr.read() if serve.stderr else ""

        done = run("operate", f"{LD}/GGIO1.SPCSO1", "true", "--orident", "cli", "--orcat", "2")
        assert (done.returncode, done.stdout) == (0, "Operate: success\n"), done.stderr
        got = run("get", f"{LD}/GGIO1.SPCSO1.stVal[ST]", f"{LD}/GGIO1.SPCSO1.origin.orCat[ST]")
        assert got.stdout.splitlines() == [
            f"{LD}/GGIO1.SPCSO1.stVal[ST] = True",
            f"{LD}/GGIO1.SPCSO1.origin.orCat[ST] = 2",
        ]
        refused = run("operate", f"{LD}/GGIO1.SPCSO2", "true")
        assert refused.returncode == 1
        assert refused.stdout == (
            "Operate: refused; DataAccessError 3; LastApplError object-not-selected (18), "
            "Error unknown (1)\n"
        )
        selected = run("operate", f"{LD}/GGIO1.SPCSO2", "on", "--sbo")
        assert selected.stdout.splitlines() == ["Select: success", "Operate: success"]
        enhanced = run("operate", f"{LD}/XCBR1.Pos", "true", "--sbo", "--check", "interlock")
        assert enhanced.stdout.splitlines() == [
            "SelectWithValue: success",
            "Operate: success, CommandTermination positive",
        ], enhanced.stderr
        tested = run("operate", f"{LD}/GGIO1.SPCSO1", "false", "--test")
        assert "blocked-by-mode (8)" in tested.stdout and tested.returncode == 1
        stepped = run("operate", f"{LD}/GGIO2.TapCtl", "higher")
        assert stepped.returncode == 0, stepped.stdout + stepped.stderr
        cancelled = run("cancel", f"{LD}/GGIO1.SPCSO2")
        assert "object-not-selected (18)" in cancelled.stdout and cancelled.returncode == 1
        bad = run("operate", f"{LD}/GGIO1.SPCSO1", "maybe")
        assert bad.returncode == 1 and "'maybe' is not a value" in bad.stderr

        sg = run(
            "sg",
            LD,
            "--edit",
            "2",
            "--set",
            "PTOC1.StrVal.setMag.f=250.5",
            "--set",
            "PTOC1.OpDlTmms.setVal=25",
            "--confirm",
            "--active",
            "2",
        )
        assert sg.returncode == 0, sg.stderr
        lines = sg.stdout.splitlines()
        assert lines[0].startswith(f"SGCB {LD}: NumOfSG 3, ActSG 1")
        assert lines[1:6] == [
            "SelectEditSG 2: success",
            "SetEditSGValue PTOC1.StrVal.setMag.f := 250.5",
            "SetEditSGValue PTOC1.OpDlTmms.setVal := 25",
            "ConfirmEditSGValues: success",
            "SelectActiveSG 2: success",
        ]
        assert "ActSG 2" in lines[6] and "EditSG 2" in lines[6]
        active = run("get", f"{LD}/PTOC1.StrVal.setMag.f[SG]")
        assert active.stdout.strip() == f"{LD}/PTOC1.StrVal.setMag.f[SG] = 250.5"

        listed = cli("file", "ls", target, "--config", str(client))
        assert listed.returncode == 0 and listed.stdout.rstrip().endswith("record.cfg")
        fetched = cli(
            "file", "get", target, "record.cfg", str(tmp_path / "copy.cfg"), "--config", str(client)
        )
        assert fetched.returncode == 0, fetched.stderr
        assert (tmp_path / "copy.cfg").read_bytes() == (store / "record.cfg").read_bytes()
        (tmp_path / "new.bin").write_bytes(hashlib.sha256(b"x").digest() * 500)
        put = cli(
            "file", "put", target, str(tmp_path / "new.bin"), "in/new.bin", "--config", str(client)
        )
        assert put.returncode == 0, put.stderr
        assert (store / "in" / "new.bin").read_bytes() == (tmp_path / "new.bin").read_bytes()
        removed = cli("file", "rm", target, "record.cfg", "--config", str(client))
        assert removed.returncode == 0 and not (store / "record.cfg").exists()
        escape = cli("file", "get", target, "../etc", "--config", str(client))
        assert escape.returncode == 1 and "service error file=3" in escape.stderr
    finally:
        code = stop(serve)
        stop(sntp)
    assert code == 0


def test_sntp_serve_and_query_from_the_command_line() -> None:
    server, port = sntp_server(-2.0)
    try:
        asked = subprocess.run(
            [sys.executable, "-m", "gen61850", "sntp", "query", f"127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=ENV,
        )
        assert asked.returncode == 0, asked.stderr
        first = asked.stdout.splitlines()[0]
        offset_ms = float(first.split()[1])
        assert abs(offset_ms + 2000) < 5, first  # the server runs 2 s behind
        assert "stratum 1" in first and "reference LOCL" in first
        assert "clock not synchronised False" in asked.stdout
    finally:
        stop(server)
    kissing = subprocess.Popen(
        [sys.executable, "-m", "gen61850", "sntp", "serve", "--port", "0", "--kiss", "RATE"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert kissing.stdout is not None
        kiss_port = int(kissing.stdout.readline().split(":")[1].split()[0])
        asked = subprocess.run(
            [sys.executable, "-m", "gen61850", "sntp", "query", f"127.0.0.1:{kiss_port}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=ENV,
        )
        assert (asked.returncode, asked.stdout) == (1, "kiss-of-death RATE\n")
    finally:
        stop(kissing)
