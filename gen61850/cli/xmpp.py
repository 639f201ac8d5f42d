"""`gen61850 xmpp`: serve an IED over IEC 61850-8-2, browse/get/set one, receive its reports,
run a dev XMPP server.

Connection options come from the command line, then the environment (GEN61850_XMPP_JID,
GEN61850_XMPP_PASSWORD, GEN61850_XMPP_SERVER, GEN61850_XMPP_CA), then a TOML config file
(``--config``; ``xmpp dev-server`` writes one per account).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from gen61850.cli import xmpp_fleet
from gen61850.runtime.errors import Gen61850Error
from gen61850.runtime.heap import settle_heap
from gen61850.runtime.text import printable

T = TypeVar("T")
DEFAULT_USERS = ("ied1", "ied2", "client1", "client2")


def _connection_options(
    parser: argparse.ArgumentParser, who: str, *, step_timeout: bool = True
) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument("--password", help=f"password of {who} (or GEN61850_XMPP_PASSWORD)")
    group.add_argument("--server", help="XMPP server HOST[:PORT] (default: the JID's domain, 5222)")
    group.add_argument("--ca", help="CA certificate file to verify the server with")
    group.add_argument("--sasl", metavar="MECH", help="SASL mechanism (default: best offered)")
    group.add_argument("--config", type=Path, help="TOML file with jid, password, server, ca")
    if step_timeout:
        group.add_argument("--timeout", type=float, default=10.0, help="seconds per step (10)")
    group.add_argument("-v", "--verbose", action="store_true", help="log the XMPP traffic")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `xmpp` commands to the top-level parser."""
    xmpp = subparsers.add_parser("xmpp", help="IEC 61850-8-2: ACSI over XMPP")
    commands = xmpp.add_subparsers(dest="xmpp_command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", help="serve IEDs of an SCL file over 8-2")
    serve.add_argument("scl", type=Path, metavar="SCLFILE")
    serve.add_argument(
        "--ied",
        action="append",
        help="IED name (default: the only or first IED); repeat it to serve several",
    )
    serve.add_argument("--jid", help="the IED's JID (default: its JID address in the SCL)")
    serve.add_argument(
        "--files", type=Path, metavar="DIR", help="serve file transfer from this folder"
    )
    serve.add_argument(
        "--sntp",
        metavar="HOST[:PORT]",
        help="discipline the IED's clock by this SNTP server (time stamps carry its quality)",
    )
    serve.add_argument(
        "--simulate",
        nargs="?",
        const=1.0,
        type=float,
        metavar="SECONDS",
        help="move MX values and toggle ST values every SECONDS (1) so reports flow",
    )
    serve.add_argument(
        "--sv-interface",
        metavar="IFACE",
        help="publish an MSVCB's SV stream on IFACE while a client sets its SvEna (root)",
    )
    serve.add_argument(
        "--goose-interface",
        metavar="IFACE",
        help="publish a GoCB's GOOSE on IFACE while a client sets its GoEna (root)",
    )
    serve.add_argument(
        "--report-store",
        type=Path,
        metavar="FILE",
        help="SQLite file that keeps BRCB buffers across restarts (default: memory only)",
    )
    xmpp_fleet.fleet_options(serve)
    _connection_options(serve, "the IED's account")
    serve.set_defaults(func=_serve)

    report = commands.add_parser(
        "report",
        help="reserve and enable a BRCB or URCB, print its reports, disable it on exit",
    )
    report.add_argument("target", metavar="JID", help="the server's JID")
    report.add_argument(
        "rcb", metavar="RCB", help="LD/LN.RCBName (an indexed one: the first free instance)"
    )
    report.add_argument("--gi", action="store_true", help="ask a general interrogation first")
    report.add_argument("--intg-pd", type=int, metavar="MS", help="integrity period (ms)")
    report.add_argument("--trg", metavar="LIST", help="TrgOps: some of dchg,qchg,dupd,integrity,gi")
    report.add_argument("--count", type=int, metavar="N", help="stop after N reports")
    report.add_argument(
        "--timeout", type=float, metavar="S", help="stop after S seconds (default: Ctrl-C)"
    )
    report.add_argument("--format", choices=("text", "jsonl"), default="text")
    report.add_argument("--as", dest="jid", help="our own JID (or GEN61850_XMPP_JID)")
    _connection_options(report, "our account", step_timeout=False)
    report.set_defaults(func=_report)

    for name, helptext, func in (
        ("browse", "show a server's logical devices, nodes, data and data sets", _browse),
        ("get", "read values: REF as LD/LN$FC$DO$DA or LD/LN.DO.DA[FC]", _get),
        ("set", "write one value", _set),
    ):
        command = commands.add_parser(name, help=helptext)
        command.add_argument("target", metavar="JID", help="the server's JID")
        if name == "get":
            command.add_argument("references", nargs="+", metavar="REF")
        if name == "set":
            command.add_argument("reference", metavar="REF")
            command.add_argument("value", metavar="VALUE")
        command.add_argument("--as", dest="jid", help="our own JID (or GEN61850_XMPP_JID)")
        _connection_options(command, "our account")
        command.set_defaults(func=func)

    log_command = commands.add_parser(
        "log", help="query a log: QueryLogByTime (--since, --until) or QueryLogAfter (--after)"
    )
    log_command.add_argument("target", metavar="JID", help="the server's JID")
    log_command.add_argument("log", metavar="LOG", help="LD/LN.LogName (LD/LN$LogName)")
    log_command.add_argument("--since", metavar="ISO", help="entries from this time on (ISO-8601)")
    log_command.add_argument("--until", metavar="ISO", help="entries up to this time (ISO-8601)")
    log_command.add_argument(
        "--after",
        metavar="ENTRYID",
        help="entries after this one (hex EntryID; with --since as its time, else the oldest)",
    )
    log_command.add_argument("--format", choices=("text", "jsonl"), default="text")
    log_command.add_argument("--as", dest="jid", help="our own JID (or GEN61850_XMPP_JID)")
    _connection_options(log_command, "our account")
    log_command.set_defaults(func=_log)
    _register_acting(commands)
    xmpp_fleet.register_poll(commands, _connection_options)

    dev = commands.add_parser(
        "dev-server", help="a local XMPP server (Prosody or ejabberd) with TLS and test accounts"
    )
    dev.add_argument("--users", default=",".join(DEFAULT_USERS), help="accounts to create")
    dev.add_argument(
        "--server",
        choices=("prosody", "ejabberd"),
        default="prosody",
        help="which XMPP server (Debian package of that name; default prosody)",
    )
    dev.add_argument("--folder", type=Path, help="keep config, CA and accounts here")
    xmpp_fleet.dev_server_options(dev)
    dev.set_defaults(func=_dev_server)


def _register_acting(commands: argparse._SubParsersAction[Any]) -> None:
    """``operate``, ``cancel``, ``sg`` and ``file``: acting on a server."""
    operate = commands.add_parser(
        "operate", help="operate a control: REF as LD/LN.DO, VALUE as its ctlVal takes it"
    )
    operate.add_argument("target", metavar="JID", help="the server's JID")
    operate.add_argument("reference", metavar="REF", help="LD/LN.DO (e.g. XIEDLD0/XCBR1.Pos)")
    operate.add_argument("value", metavar="VALUE", help="true/false, an integer, lower/higher")
    operate.add_argument("--sbo", action="store_true", help="select first (as its ctlModel says)")
    operate.add_argument("--test", action="store_true", help="set the Test flag")
    _origin_options(operate)
    operate.add_argument(
        "--check", metavar="LIST", help="ask for checks: interlock,synchro (either or both)"
    )
    cancel = commands.add_parser("cancel", help="cancel a selection or a time-activated operate")
    cancel.add_argument("target", metavar="JID", help="the server's JID")
    cancel.add_argument("reference", metavar="REF", help="LD/LN.DO")
    _origin_options(cancel)
    sg = commands.add_parser("sg", help="setting groups: show, activate, edit, confirm")
    sg.add_argument("target", metavar="JID", help="the server's JID")
    sg.add_argument("ld", metavar="LD", help="the logical device (e.g. XIEDLD0)")
    sg.add_argument("--active", type=int, metavar="N", help="SelectActiveSG N")
    sg.add_argument("--edit", type=int, metavar="N", help="SelectEditSG N")
    sg.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="REF=VALUE",
        help="SetEditSGValue (REF as LN.DO.DA, e.g. PTOC1.StrVal.setMag.f=150); repeatable",
    )
    sg.add_argument("--confirm", action="store_true", help="ConfirmEditSGValues")
    files = commands.add_parser("file", help="files: ls [FOLDER], get NAME [TARGET], put, rm")
    files.add_argument("action", choices=("ls", "get", "put", "rm"))
    files.add_argument("target", metavar="JID", help="the server's JID")
    files.add_argument("arguments", nargs="*", metavar="ARG")
    for command, func in ((operate, _operate), (cancel, _cancel), (sg, _sg), (files, _file)):
        command.add_argument("--as", dest="jid", help="our own JID (or GEN61850_XMPP_JID)")
        _connection_options(command, "our account")
        command.set_defaults(func=func)


def _origin_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--orcat", type=int, default=3, metavar="N", help="originator category (3: remote)"
    )
    parser.add_argument("--orident", default="", metavar="S", help="originator identification")


def _origin(args: argparse.Namespace) -> Any:
    from gen61850.runtime.device.control import Origin

    if not 0 <= args.orcat <= 8:
        raise Gen61850Error(f"--orcat {args.orcat}: 0 to 8 (IEC 61850-7-3 orCategory)")
    ident = args.orident.encode("utf-8")
    if len(ident) > 64:
        raise Gen61850Error("--orident: at most 64 octets")
    return Origin(args.orcat, ident)


def _operate(args: argparse.Namespace) -> int:
    from gen61850.runtime.xmpp import acting
    from gen61850.runtime.xmpp.control_client import control_reference

    control_reference(args.reference)
    check = acting.check_of(args.check)
    origin = _origin(args)
    ok, lines = _with_association(
        args,
        lambda a: acting.operate(
            a, args.reference, args.value, sbo=args.sbo, origin=origin, test=args.test, check=check
        ),
    )
    for line in lines:
        print(printable(line))
    return 0 if ok else 1


def _cancel(args: argparse.Namespace) -> int:
    from gen61850.runtime.xmpp import acting
    from gen61850.runtime.xmpp.control_client import control_reference

    control_reference(args.reference)
    origin = _origin(args)
    ok, lines = _with_association(args, lambda a: acting.cancel(a, args.reference, origin=origin))
    for line in lines:
        print(printable(line))
    return 0 if ok else 1


def _sg(args: argparse.Namespace) -> int:
    from gen61850.runtime.xmpp import acting

    settings = []
    for text in args.set:
        reference, equals, value = text.partition("=")
        if not equals or not reference:
            raise Gen61850Error(f"--set {text!r}: REF=VALUE (e.g. PTOC1.StrVal.setMag.f=150)")
        settings.append((reference.strip(), value.strip()))
    if (settings or args.confirm) and args.edit is None:
        raise Gen61850Error("--set and --confirm need --edit N (the group to edit)")
    lines = _with_association(
        args,
        lambda a: acting.setting_groups(
            a, args.ld, active=args.active, edit=args.edit, settings=settings, confirm=args.confirm
        ),
    )
    for line in lines:
        print(printable(line))
    return 0


def _file(args: argparse.Namespace) -> int:
    from gen61850.runtime.xmpp import acting

    needed = {"ls": (0, 1), "get": (1, 2), "put": (1, 2), "rm": (1, 1)}[args.action]
    if not needed[0] <= len(args.arguments) <= needed[1]:
        usage = {
            "ls": "ls JID [FOLDER]",
            "get": "get JID NAME [TARGET]",
            "put": "put JID LOCAL [NAME]",
            "rm": "rm JID NAME",
        }
        raise Gen61850Error(f"file {usage[args.action]}")
    lines = _with_association(args, lambda a: acting.files(a, args.action, args.arguments))
    for line in lines:
        print(printable(line))
    return 0


# SASL payloads in slixmpp's traffic log: PLAIN carries the password (base64), SCRAM proofs.
_SASL = re.compile(r"(<(auth|response|challenge|success)\b[^>]*xmpp-sasl[^>]*>)[^<]+(</\2>)")


class _HideCredentials(logging.Filter):
    """``-v`` shows the XMPP traffic, but not the SASL exchange's contents."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "xmpp-sasl" in text:
            record.msg, record.args = _SASL.sub(r"\1(hidden)\3", text), None
        return True


def _quiet(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.CRITICAL, format="%(name)s: %(message)s"
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(_HideCredentials())


def _account(args: argparse.Namespace) -> Any:
    from gen61850.runtime.xmpp.tools import Account, read_account_file

    given = Account(getattr(args, "jid", None), args.password, args.server, args.ca, args.sasl)
    env = Account(
        os.environ.get("GEN61850_XMPP_JID"),
        os.environ.get("GEN61850_XMPP_PASSWORD"),
        os.environ.get("GEN61850_XMPP_SERVER"),
        os.environ.get("GEN61850_XMPP_CA"),
    )
    account = given.merged(env)
    if args.config is not None:
        account = account.merged(read_account_file(args.config))
    return account


def _run(coroutine: Awaitable[T]) -> T:
    async def main() -> T:
        return await coroutine

    return asyncio.run(main())


def _with_association(args: argparse.Namespace, action: Callable[[Any], Awaitable[T]]) -> T:
    from gen61850.runtime.xmpp.tools import with_association

    _quiet(args.verbose)
    settings = _account(args).settings("client", timeout=args.timeout)
    return _run(with_association(settings, args.target, action))


def _browse(args: argparse.Namespace) -> int:
    from gen61850.runtime.xmpp.tools import browse

    for line in _with_association(args, browse):
        print(printable(line))
    return 0


def _get(args: argparse.Namespace) -> int:
    from gen61850.runtime.xmpp.tools import get_values, parse_reference

    for reference in args.references:
        parse_reference(reference)
    lines = _with_association(args, lambda a: get_values(a, args.references))
    for line in lines:
        print(printable(line))
    answered = zip(args.references, lines, strict=True)
    return 0 if all(line.startswith(f"{ref} = ") for ref, line in answered) else 1


def _set(args: argparse.Namespace) -> int:
    from gen61850.runtime.xmpp.tools import parse_reference, set_value

    parse_reference(args.reference)
    print(printable(_with_association(args, lambda a: set_value(a, args.reference, args.value))))
    return 0


def _iso_seconds(text: str | None, what: str) -> float | None:
    import datetime

    if text is None:
        return None
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise Gen61850Error(f"{what}: {text!r} is not an ISO-8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def _log(args: argparse.Namespace) -> int:
    import json

    from gen61850.runtime.xmpp.logs.query import query_log
    from gen61850.runtime.xmpp.reports.codes import REASONS, names_of
    from gen61850.runtime.xmpp.reports.render import iso_time, member_value
    from gen61850.runtime.xmpp.tools import show

    domain, slash, rest = args.log.partition("/")
    ln, separator, log_name = rest.replace("$", ".").partition(".")
    if not (slash and separator and ln and log_name):
        raise Gen61850Error(f"{args.log!r}: expected LD/LN.LogName")
    since = _iso_seconds(args.since, "--since")
    until = _iso_seconds(args.until, "--until")
    after: tuple[float, bytes] | None = None
    if args.after is not None:
        try:
            entry = bytes.fromhex(args.after)
        except ValueError:
            raise Gen61850Error(f"--after: {args.after!r} is not hex") from None
        if len(entry) != 8:
            raise Gen61850Error("--after: an EntryID is 8 octets (16 hex digits)")
        after = (since or 0.0, entry)
        since = None

    async def action(association: Any) -> Any:
        return await query_log(
            association, domain, f"{ln}${log_name}", start=since, stop=until, after=after
        )

    for entry in _with_association(args, action):
        values = [
            {
                "ref": ref,
                "value": member_value(value, None, ref),
                "reason": names_of(REASONS, reasons),
            }
            for ref, value, reasons in entry.values
        ]
        if args.format == "jsonl":
            line = {
                "entryID": entry.entry_id.hex(),
                "time": iso_time(entry.time),
                "entries": values,
            }
            print(json.dumps(line, ensure_ascii=False), flush=True)
        else:
            shown = "; ".join(
                f"{v['ref']} = {show(value)}"
                + (f" ({', '.join(v['reason'])})" if v["reason"] else "")
                for v, (_, value, _r) in zip(values, entry.values, strict=True)
            )
            print(printable(f"{entry.entry_id.hex()} {iso_time(entry.time)}: {shown}"), flush=True)
    return 0


def _report(args: argparse.Namespace) -> int:
    from gen61850.runtime.xmpp.reports.codes import TRIGGERS, mask

    _quiet(args.verbose)
    settings: dict[str, Any] = {}
    if args.trg is not None:
        try:
            settings["TrgOps"] = mask(TRIGGERS, [t.strip() for t in args.trg.split(",") if t])
        except ValueError as error:
            raise Gen61850Error(f"--trg: {error}") from None
    if args.intg_pd is not None:
        if not 0 <= args.intg_pd <= 0xFFFFFFFF:
            raise Gen61850Error("--intg-pd: 0 to 4294967295 ms")
        settings["IntgPd"] = args.intg_pd
    if args.count is not None and args.count < 1:
        raise Gen61850Error("--count: at least 1")
    account = _account(args).settings("client")
    return _run(_receive_reports(args, account, settings))


async def _receive_reports(args: argparse.Namespace, account: Any, settings: dict[str, Any]) -> int:
    from gen61850.runtime.xmpp.client import AcsiClient
    from gen61850.runtime.xmpp.reports.subscription import (
        ReportSubscription,
        get_rcb_values,
        parse_rcb_reference,
    )

    parse_rcb_reference(args.rcb)
    client = AcsiClient(account)
    await client.start()
    subscription = ReportSubscription(client, args.target, args.rcb, settings=settings, gi=args.gi)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        rcb = await subscription.start()
        association = subscription.association
        assert association is not None
        renderer = await _renderer(association, (await get_rcb_values(association, rcb))["DatSet"])
        print(f"# {rcb.reference} enabled", file=sys.stderr, flush=True)
        deadline = None if args.timeout is None else loop.time() + args.timeout
        printed = 0
        while args.count is None or printed < args.count:
            waits: set[asyncio.Future[Any]] = {
                asyncio.ensure_future(subscription.reports.get()),
                asyncio.ensure_future(stop.wait()),
            }
            left = None if deadline is None else max(0.0, deadline - loop.time())
            done, pending = await asyncio.wait(waits, timeout=left, return_when="FIRST_COMPLETED")
            for future in pending:
                future.cancel()
            report = next((f.result() for f in done if not isinstance(f.result(), bool)), None)
            if report is None:
                break
            line = renderer.json(report) if args.format == "jsonl" else renderer.text(report)
            print(printable(line) if args.format == "text" else line, flush=True)
            printed += 1
    finally:
        await subscription.stop()
        await client.stop()
    return 0


async def _renderer(association: Any, dat_set: str) -> Any:
    """Member references and types of the RCB's data set, for the printed reports."""
    from gen61850.runtime.xmpp.errors import XmppError
    from gen61850.runtime.xmpp.reports.render import ReportRenderer

    references: list[str] = []
    descriptions: dict[int, Any] = {}
    domain, _, name = dat_set.partition("/")
    if not dat_set or dat_set.startswith("@"):
        return ReportRenderer(references)
    try:
        _, members = await association.get_data_set_directory(domain, name)
    except XmppError:
        return ReportRenderer(references)
    for position, member in enumerate(members):
        reference = f"{member.domain}/{member.item}"
        if member.ix is not None:
            reference += f"({member.ix})"
        references.append(reference)
        try:
            description = await association.get_data_definition(member.domain, member.item)
        except XmppError:
            continue
        if member.ix is not None and description.array is not None:
            description = description.array.element_type.type_description
        if description is not None:
            descriptions[position] = description
    return ReportRenderer(references, descriptions)


def _sv_streams(scl: Any, ied: Any) -> dict[str, Any]:
    """The SV stream of each MSVCB of ``ied`` (by ``LD/LLN0$MS$name``) the SV runtime can
    publish; one it cannot is named on stderr and left out."""
    from gen61850.generator.scl.sv_streams import stream_or_reason

    streams: dict[str, Any] = {}
    for ld in ied.logical_devices:
        lln0 = ld.lln0
        for svc in lln0.sv_controls if lln0 is not None else ():
            if not svc.multicast:
                continue
            found = stream_or_reason(
                ied,
                ld,
                svc,
                edition=scl.edition,
                incomplete=scl.incomplete_in(ied.name, ld.inst, "LLN0"),
            )
            if isinstance(found, str):
                why = printable(found)
                print(f"gen61850: {ld.name}/LLN0.{svc.name} not published: {why}", file=sys.stderr)
                continue
            streams[f"{ld.name}/LLN0$MS${svc.name}"] = found
    return streams


def _gooses(scl: Any, ied: Any) -> dict[str, Any]:
    """The GOOSE configuration of each GoCB of ``ied`` (by ``LD/LLN0$GO$name``) the GOOSE
    runtime can publish; one it cannot is named on stderr and left out."""
    from gen61850.generator.scl.diagnostics import SclError
    from gen61850.generator.scl.goose_bridge import control_blocks

    gooses: dict[str, Any] = {}
    for found in control_blocks(scl, ied):
        if isinstance(found, SclError):
            for line in found.diagnostics:
                why = printable(line.message)
                print(f"gen61850: GOOSE not published: {why}", file=sys.stderr)
            continue
        gooses[found.config.gocb_ref] = found.config
    return gooses


def _serve(args: argparse.Namespace) -> int:
    from gen61850.generator.scl.model import load_scl
    from gen61850.runtime.device.clock import DeviceClock
    from gen61850.runtime.filestore import FileStore
    from gen61850.runtime.sntp.aio import NTP_PORT, Discipline
    from gen61850.runtime.xmpp.controls import ControlService
    from gen61850.runtime.xmpp.files import FileService
    from gen61850.runtime.xmpp.goose_runner import GooseOutput
    from gen61850.runtime.xmpp.model import ServedModel
    from gen61850.runtime.xmpp.reports.engine import ReportSettings
    from gen61850.runtime.xmpp.server import AcsiServer
    from gen61850.runtime.xmpp.setting_groups import SettingGroupService
    from gen61850.runtime.xmpp.simulate import Simulator
    from gen61850.runtime.xmpp.sv_runner import SvOutput

    _quiet(args.verbose)
    if not args.scl.is_file():
        raise Gen61850Error(f"{args.scl}: no such SCL file")
    if args.simulate is not None and not args.simulate > 0:
        raise Gen61850Error("--simulate: a period in seconds above 0")
    scl = load_scl(args.scl)
    for problem in scl.errors:  # what was left out; the rest is served
        print(printable(str(problem)), file=sys.stderr)
    if args.ied:
        ieds = [scl.ied(name) for name in args.ied]
    elif scl.ieds:
        ieds = [scl.ieds[0]]
    else:
        raise Gen61850Error(f"{args.scl}: no IED")
    account = _account(args)
    if xmpp_fleet.is_fleet(args):
        return xmpp_fleet.serve_fleet(args, scl, ieds, account)
    ied = ieds[0]
    if not account.jid:
        address = next(
            (
                ap.address.jid
                for ap in ied.access_points
                if ap.address is not None and ap.address.jid
            ),
            None,
        )
        account = account.merged(type(account)(jid=address))
    settings = account.settings(f"IED {ied.name}", timeout=args.timeout)
    clock = DeviceClock()
    model = ServedModel.from_ied(ied, clock=clock.now)
    if args.sntp:
        model.time_quality = clock.quality
    store = None
    if args.files is not None:
        store = FileStore(args.files)
    else:
        stat = args.scl.stat()
        model.add_file(args.scl.name, stat.st_size, stat.st_mtime)
    model.on_write(lambda d, i, v, p: print(f"write by {p}: {d}/{i} = {v!r}", flush=True))

    streams = _sv_streams(scl, ied) if args.sv_interface else {}
    gooses = _gooses(scl, ied) if args.goose_interface else {}

    async def body() -> None:
        server = AcsiServer(
            settings,
            model,
            clock=clock.now,
            reports=ReportSettings(journal=args.report_store),
            sv_output=SvOutput(args.sv_interface) if args.sv_interface else None,
            sv_streams=streams,
            goose_output=GooseOutput(args.goose_interface) if args.goose_interface else None,
            gooses=gooses,
        )
        controls = ControlService(server.core)  # the demo handler: statuses follow ctlVal
        SettingGroupService(server.core)
        if store is not None:
            FileService(server.core, store)
        discipline = None
        if args.sntp:
            host, _, port = args.sntp.partition(":")
            discipline = Discipline(clock, host, int(port or NTP_PORT))
            discipline.start()
        await server.start()
        settle_heap()  # the model lives as long as the process: no full collection walks it
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(
            f"serving IED {ied.name} ({len(model.domains)} logical devices, "
            f"{len(controls.providers)} controllable objects) as {server.boundjid}; "
            "Ctrl-C stops",
            flush=True,
        )
        if server.reports.rcbs:
            names = ", ".join(sorted(r.reference for r in server.reports.rcbs.values()))
            print(f"report control blocks: {names}", flush=True)
        simulation = None
        if args.simulate is not None:
            simulator = Simulator(model)
            print(
                f"simulating {len(simulator.analogue)} MX and {len(simulator.status)} ST values "
                f"every {args.simulate:g} s",
                flush=True,
            )

            async def simulate() -> None:
                while True:
                    await asyncio.sleep(args.simulate)
                    simulator.step()

            simulation = asyncio.ensure_future(simulate())
        await stop.wait()
        if discipline is not None:
            discipline.stop()
        if simulation is not None:
            simulation.cancel()
        await server.stop()

    _run(body())
    return 0


def _dev_server(args: argparse.Namespace) -> int:
    import secrets

    from gen61850.runtime.xmpp.devserver import dev_server
    from gen61850.runtime.xmpp.tools import Account, write_account_file

    users = [u.strip() for u in args.users.split(",") if u.strip()]
    if not users:
        raise Gen61850Error("--users: no account names")
    xmpp_fleet.check_fleet_user(args)
    stopped = threading.Event()
    # Before Prosody starts. SIGINT too: a shell starts background jobs with SIGINT ignored,
    # and `kill -INT` must stop the server like Ctrl-C does.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.set())
    with contextlib.ExitStack() as cleanup:
        if args.folder is None:  # configs hold passwords: gone with the server
            temporary = tempfile.TemporaryDirectory(prefix="gen61850-xmpp-")
            folder = Path(cleanup.enter_context(temporary))
        else:  # absolute: the account files name the CA, read from anywhere
            folder = args.folder.resolve()
            folder.mkdir(parents=True, exist_ok=True)
        dev = dev_server(args.server, folder=folder / args.server)
        cleanup.callback(dev.stop)
        dev.start()
        name = {"prosody": "Prosody", "ejabberd": "ejabberd"}[args.server]
        print(f"{name} with TLS on {dev.host}:{dev.port}, domain {dev.domain}")
        print(f"test CA: {dev.ca_file}")
        passwords = {user: secrets.token_hex(8) for user in users}
        for (user, password), jid in zip(
            passwords.items(), dev.register_many(passwords), strict=True
        ):
            config = folder / f"{user}.toml"
            write_account_file(
                config, Account(jid, password, f"{dev.host}:{dev.port}", str(dev.ca_file))
            )
            print(f"  {jid}  password {password}  config {config}")
        if args.fleet is not None:
            xmpp_fleet.provision_fleet(dev, args.fleet, args.fleet_user, folder, users[-1])
        first, last = users[0], users[-1]
        print("try:")
        print(
            f"  gen61850 xmpp serve SCLFILE --jid {first}@{dev.domain} --config {folder / first}.toml"
        )
        print(f"  gen61850 xmpp browse {first}@{dev.domain} --config {folder / last}.toml")
        kept = "" if args.folder else f" and removes {folder}"
        print(f"Ctrl-C stops the server{kept}", flush=True)
        stopped.wait()
    return 0
