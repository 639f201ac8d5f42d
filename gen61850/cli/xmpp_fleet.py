"""`gen61850 xmpp serve` of several IEDs or a fleet (``--fleet N --jid-pattern``), and
`gen61850 xmpp poll`: read references from every IED of a fleet over one XMPP session.

Registered by ``cli/xmpp.py``; the single-IED ``serve`` stays there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from gen61850.runtime.errors import Gen61850Error
from gen61850.runtime.heap import settle_heap
from gen61850.runtime.text import printable


def fleet_options(serve: argparse.ArgumentParser) -> None:
    """The options of ``serve`` that make a fleet."""
    group = serve.add_argument_group("several IEDs in one process")
    group.add_argument(
        "--fleet",
        type=int,
        metavar="N",
        help="serve each IED N times, with the JIDs of --jid-pattern (a fleet simulator)",
    )
    group.add_argument(
        "--jid-pattern",
        metavar="PATTERN",
        help="the JIDs of several IEDs or of a fleet: {n} the instance number (1..N), "
        "{ied} the IED name in lower case (e.g. der{n}@dso.example)",
    )
    group.add_argument(
        "--first",
        type=int,
        default=1,
        metavar="K",
        help="number the instances from K (1): processes that share a fleet take ranges",
    )
    group.add_argument(
        "--accounts",
        type=Path,
        metavar="FILE",
        help="'JID PASSWORD' per line, each IED's password (default: --password for all)",
    )
    group.add_argument(
        "--logins",
        type=int,
        default=16,
        metavar="K",
        help="XMPP sessions set up at once while the fleet starts (16)",
    )


def is_fleet(args: argparse.Namespace) -> bool:
    """Whether ``serve`` was asked for more than one IED (or a fleet)."""
    return bool(
        (args.ied and len(args.ied) > 1)
        or args.fleet is not None
        or args.jid_pattern is not None
        or args.accounts is not None
    )


def _fleet_jids(args: argparse.Namespace, ieds: list[Any]) -> list[tuple[str, Any]]:
    """(JID, IED) of every served instance, from the pattern or the SCL's JID addresses."""
    from gen61850.runtime.xmpp.fleet import (
        FleetError,
        bare_jid,
        check_unique,
        expand_pattern,
    )

    count = 1 if args.fleet is None else args.fleet
    if args.fleet is not None and args.fleet < 1:
        raise FleetError(f"--fleet {args.fleet}: the number of instances is at least 1")
    if args.jid:
        raise FleetError("--jid names one IED; several IEDs or a fleet take --jid-pattern")
    served: list[tuple[str, Any]] = []
    if args.jid_pattern is not None:
        if len(ieds) > 1 and "{ied}" not in args.jid_pattern:
            raise FleetError(
                f"--jid-pattern {args.jid_pattern!r}: {len(ieds)} IEDs need {{ied}} in it "
                "(otherwise their instances would share JIDs)"
            )
        for ied in ieds:
            served += [
                (j, ied)
                for j in expand_pattern(
                    args.jid_pattern, count=count, ied=ied.name, first=args.first
                )
            ]
    elif count > 1:
        raise FleetError(f"--fleet {count} needs --jid-pattern with {{n}} (e.g. der{{n}}@domain)")
    else:
        for ied in ieds:
            address = next(
                (ap.address.jid for ap in ied.access_points if ap.address and ap.address.jid),
                None,
            )
            if address is None:
                raise FleetError(
                    f"IED {ied.name} has no JID address in the SCL: give --jid-pattern"
                )
            served.append((bare_jid(address, f"IED {ied.name}'s JID address"), ied))
    check_unique(jid for jid, _ in served)
    return served


def _write_printer(jid: str) -> Any:
    """What ``serve`` prints of a client's write to the IED ``jid``."""

    def told(domain: str, item: str, value: Any, peer: str) -> None:
        print(f"{jid}: write by {peer}: {domain}/{item} = {value!r}", flush=True)

    return told


def serve_fleet(args: argparse.Namespace, scl: Any, ieds: list[Any], account: Any) -> int:
    """Serve several IEDs (or each N times) from this process, one event loop."""
    from gen61850.runtime.device.clock import DeviceClock
    from gen61850.runtime.sntp.aio import NTP_PORT, Discipline
    from gen61850.runtime.xmpp.controls import ControlService
    from gen61850.runtime.xmpp.fleet import (
        Fleet,
        FleetError,
        instances,
        members,
        read_passwords,
        rss_kib,
    )
    from gen61850.runtime.xmpp.model import ServedModel
    from gen61850.runtime.xmpp.server import AcsiServer
    from gen61850.runtime.xmpp.setting_groups import SettingGroupService
    from gen61850.runtime.xmpp.simulate import Simulator

    for option, given in (
        ("--sv-interface", args.sv_interface),
        ("--report-store", args.report_store),
        ("--files", args.files),
    ):
        if given is not None:
            raise FleetError(f"{option} serves one IED; not with several IEDs or --fleet")
    if args.logins < 1:
        raise FleetError(f"--logins {args.logins}: at least 1")
    served = _fleet_jids(args, ieds)
    passwords: dict[str, str] = {}
    if args.accounts is not None:
        passwords = read_passwords(args.accounts)
        missing = [jid for jid, _ in served if jid not in passwords]
        if missing:
            raise FleetError(
                f"{args.accounts}: no password for {missing[0]}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            )
    elif not account.password:
        raise FleetError(
            "no password for the IEDs (--password, GEN61850_XMPP_PASSWORD, a config file "
            "or --accounts)"
        )
    # server, CA, SASL and timeouts of every IED; each gets its own JID and password
    template = replace(account, jid=served[0][0], password=account.password or "-").settings(
        "fleet", timeout=args.timeout
    )
    clock = DeviceClock()
    before = rss_kib()
    entries: list[tuple[str, Any, str]] = []
    for ied in ieds:
        jids = [jid for jid, of in served if of is ied]
        for jid, model in zip(
            jids,
            instances(ied, jids, lambda i: ServedModel.from_ied(i, clock=clock.now)),
            strict=True,
        ):
            if args.sntp:
                model.time_quality = clock.quality
            stat = args.scl.stat()
            model.add_file(args.scl.name, stat.st_size, stat.st_mtime)
            model.on_write(_write_printer(jid))
            entries.append((jid, model, ied.name))
    fleet_members = members(
        entries,
        passwords=lambda jid: passwords.get(jid) or account.password,
        template=template,
    )

    def setup(server: AcsiServer) -> None:
        ControlService(server.core)
        SettingGroupService(server.core)

    async def body() -> None:
        fleet = Fleet(fleet_members, setup=setup, logins=args.logins, clock=clock.now)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        discipline = None
        if args.sntp:
            host, _, port = args.sntp.partition(":")
            discipline = Discipline(clock, host, int(port or NTP_PORT))
            discipline.start()
        print(
            f"starting {len(fleet)} IEDs, {args.logins} logins at a time; Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        try:
            if await _started(fleet, stop):
                await _serving(fleet, stop)
        finally:
            if discipline is not None:
                discipline.stop()

    async def _serving(fleet: Fleet, stop: asyncio.Event) -> None:
        after = rss_kib()
        settle_heap()  # the models live as long as the process: no full collection walks them
        kinds = ", ".join(f"{ied.name} x{sum(1 for _, of in served if of is ied)}" for ied in ieds)
        per_ied = (after - before) / len(fleet)
        print(
            f"serving {len(fleet)} IEDs ({kinds}) as {fleet.jids[0]} ... {fleet.jids[-1]}; "
            f"{(after - before) / 1024:.1f} MiB RSS for them, {per_ied:.0f} KiB per IED; "
            "Ctrl-C stops",
            flush=True,
        )
        simulation = None
        if args.simulate is not None:
            simulators = [Simulator(m.model, seed=61850 + n) for n, m in enumerate(fleet_members)]
            print(f"simulating the values of {len(simulators)} IEDs every {args.simulate:g} s")

            async def simulate() -> None:
                while True:
                    await asyncio.sleep(args.simulate)
                    for simulator in simulators:
                        simulator.step()

            simulation = asyncio.ensure_future(simulate())
        try:
            await stop.wait()
        finally:
            if simulation is not None:
                simulation.cancel()
            await fleet.stop()

    asyncio.run(body())
    return 0


async def _started(fleet: Any, stop: asyncio.Event) -> bool:
    """Start the fleet unless ``stop`` is set first (a fleet takes a while to log in, and
    Ctrl-C or SIGTERM meanwhile must stop it cleanly); False when stopped. FleetError when
    some IEDs did not start (the others are stopped again)."""
    starting = asyncio.ensure_future(fleet.start())
    interrupted = asyncio.ensure_future(stop.wait())
    await asyncio.wait({starting, interrupted}, return_when=asyncio.FIRST_COMPLETED)
    interrupted.cancel()
    if starting.done():
        starting.result()
        return True
    starting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await starting
    await fleet.stop()
    return False


# ---------------------------------------------------------------- provisioning


def dev_server_options(dev: argparse.ArgumentParser) -> None:
    """``xmpp dev-server --fleet N``: the accounts of a fleet, made in bulk."""
    dev.add_argument(
        "--fleet",
        type=int,
        metavar="N",
        help="also make the accounts of a fleet of N IEDs (random passwords, one file)",
    )
    dev.add_argument(
        "--fleet-user",
        default="der{n}",
        metavar="PATTERN",
        help="account names of the fleet, {n} = 1..N (default der{n})",
    )


def check_fleet_user(args: argparse.Namespace) -> None:
    """Refuse a bad ``--fleet``/``--fleet-user`` before any server starts."""
    from gen61850.runtime.xmpp.fleet import FleetError, expand_pattern

    if args.fleet is None:
        return
    if "@" in args.fleet_user:
        raise FleetError(
            f"--fleet-user {args.fleet_user!r}: the name only (the domain is the server's)"
        )
    expand_pattern(f"{args.fleet_user}@example.test", count=args.fleet)


def provision_fleet(dev: Any, count: int, user_pattern: str, folder: Path, client: str) -> Path:
    """Make ``count`` accounts in one bulk call (``register_many``), write their passwords
    file, print how to serve and poll them; returns the file."""
    import secrets

    from gen61850.runtime.xmpp.fleet import expand_pattern, write_passwords

    jids = expand_pattern(f"{user_pattern}@{dev.domain}", count=count)
    passwords = {jid: secrets.token_hex(12) for jid in jids}
    dev.register_many({jid.split("@")[0]: password for jid, password in passwords.items()})
    path = folder / "fleet-accounts.txt"
    write_passwords(path, passwords)
    pattern = f"{user_pattern}@{dev.domain}"
    server = f"--server {dev.host}:{dev.port} --ca {dev.ca_file}"
    print(f"fleet: {count} accounts {jids[0]} ... {jids[-1]}, passwords in {path}")
    print(
        f"  gen61850 xmpp serve SCLFILE --fleet {count} --jid-pattern '{pattern}' "
        f"--accounts {path} {server}"
    )
    print(
        f"  gen61850 xmpp poll REF --fleet {count} --jid-pattern '{pattern}' "
        f"--config {folder / client}.toml"
    )
    return path


# ---------------------------------------------------------------- poll


def register_poll(commands: argparse._SubParsersAction[Any], connection: Any) -> None:
    """``xmpp poll``: read references from every IED of a fleet."""
    poll = commands.add_parser(
        "poll",
        help="read references from every IED of a fleet over one XMPP session; print a summary",
    )
    poll.add_argument(
        "references", nargs="+", metavar="REF", help="LD/LN$FC$DO$DA or LD/LN.DO.DA[FC]"
    )
    targets = poll.add_argument_group("which IEDs")
    targets.add_argument(
        "--ied", action="append", default=[], metavar="JID", help="an IED (repeatable)"
    )
    targets.add_argument("--fleet", type=int, metavar="N", help="IEDs 1..N of --jid-pattern")
    targets.add_argument("--jid-pattern", metavar="PATTERN", help="e.g. der{n}@dso.example")
    targets.add_argument(
        "--first", type=int, default=1, metavar="K", help="the first IED's number (1)"
    )
    targets.add_argument("--ieds", type=Path, metavar="FILE", help="one JID per line")
    poll.add_argument("--rounds", type=int, default=1, metavar="R", help="reads per IED (1)")
    poll.add_argument(
        "--per-ied", type=int, default=1, metavar="K", help="outstanding requests per IED (1)"
    )
    poll.add_argument(
        "--outstanding", type=int, default=64, metavar="T", help="outstanding requests in all (64)"
    )
    poll.add_argument(
        "--format",
        choices=("text", "jsonl"),
        default="text",
        help="jsonl: one line per read, then the summary as one line",
    )
    poll.add_argument("--as", dest="jid", help="our own JID (or GEN61850_XMPP_JID)")
    connection(poll, "our account")
    poll.set_defaults(func=_poll)


def _poll_targets(args: argparse.Namespace) -> list[str]:
    from gen61850.runtime.xmpp.fleet import FleetError, bare_jid, check_unique, expand_pattern

    jids = [bare_jid(jid, "--ied") for jid in args.ied]
    if args.fleet is not None or args.jid_pattern is not None:
        if args.fleet is None or args.jid_pattern is None:
            raise FleetError("--fleet N and --jid-pattern go together")
        if "{ied}" in args.jid_pattern:
            raise FleetError("--jid-pattern of poll: {n} only ({ied} is for serve)")
        jids += expand_pattern(args.jid_pattern, count=args.fleet, first=args.first)
    if args.ieds is not None:
        try:
            lines = args.ieds.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise FleetError(f"{args.ieds}: {error}") from None
        for number, line in enumerate(lines, 1):
            if line.strip() and not line.strip().startswith("#"):
                jids.append(bare_jid(line.strip(), f"{args.ieds}:{number}"))
    if not jids:
        raise FleetError("no IEDs to poll (--ied, --fleet N --jid-pattern P, or --ieds FILE)")
    check_unique(jids)
    return jids


def _poll(args: argparse.Namespace) -> int:
    from gen61850.cli.xmpp import _account, _quiet
    from gen61850.runtime.xmpp.client import AcsiClient
    from gen61850.runtime.xmpp.fleet_client import FleetClient, PollResult, parse_references, poll

    _quiet(args.verbose)
    for name, value in (
        ("--rounds", args.rounds),
        ("--per-ied", args.per_ied),
        ("--outstanding", args.outstanding),
    ):
        if value < 1:
            raise Gen61850Error(f"{name} {value}: at least 1")
    parse_references(args.references)
    jids = _poll_targets(args)
    settings = _account(args).settings("client", timeout=args.timeout)

    def show(result: PollResult) -> None:
        if args.format == "jsonl":
            print(json.dumps(result.as_dict(), ensure_ascii=False), flush=True)
        elif result.error is not None:
            print(
                printable(f"{result.jid} #{result.round}: {result.kind}: {result.error}"),
                file=sys.stderr,
                flush=True,
            )

    async def body() -> Any:
        client = AcsiClient(settings)
        await client.start()
        try:
            fleet = FleetClient(client, per_ied=args.per_ied, total=args.outstanding)
            return await poll(
                fleet, jids, args.references, rounds=args.rounds, on_result=show, freeze_gc=True
            )
        finally:
            await client.stop()

    summary = asyncio.run(body())
    if args.format == "jsonl":
        print(json.dumps({"summary": summary.as_dict()}), flush=True)
    else:
        for line in summary.lines():
            print(line)
    clean = summary.answered == summary.requests == len(jids) * args.rounds
    return 0 if clean and not summary.value_failures else 1
