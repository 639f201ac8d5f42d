"""`gen61850 xmpp`: serve an IED over IEC 61850-8-2, browse/get/set one, run a dev XMPP server.

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

from gen61850.runtime.errors import Gen61850Error
from gen61850.runtime.text import printable

T = TypeVar("T")
DEFAULT_USERS = ("ied1", "ied2", "client1", "client2")


def _connection_options(parser: argparse.ArgumentParser, who: str) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument("--password", help=f"password of {who} (or GEN61850_XMPP_PASSWORD)")
    group.add_argument("--server", help="XMPP server HOST[:PORT] (default: the JID's domain, 5222)")
    group.add_argument("--ca", help="CA certificate file to verify the server with")
    group.add_argument("--sasl", metavar="MECH", help="SASL mechanism (default: best offered)")
    group.add_argument("--config", type=Path, help="TOML file with jid, password, server, ca")
    group.add_argument("--timeout", type=float, default=10.0, help="seconds per step (10)")
    group.add_argument("-v", "--verbose", action="store_true", help="log the XMPP traffic")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `xmpp` commands to the top-level parser."""
    xmpp = subparsers.add_parser("xmpp", help="IEC 61850-8-2: ACSI over XMPP")
    commands = xmpp.add_subparsers(dest="xmpp_command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", help="serve an IED of an SCL file over 8-2")
    serve.add_argument("scl", type=Path, metavar="SCLFILE")
    serve.add_argument("--ied", help="IED name (default: the only or first IED)")
    serve.add_argument("--jid", help="the IED's JID (default: its JID address in the SCL)")
    _connection_options(serve, "the IED's account")
    serve.set_defaults(func=_serve)

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
    dev.set_defaults(func=_dev_server)


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


def _serve(args: argparse.Namespace) -> int:
    from gen61850.generator.scl.model import load_scl
    from gen61850.runtime.xmpp.model import ServedModel
    from gen61850.runtime.xmpp.server import AcsiServer

    _quiet(args.verbose)
    if not args.scl.is_file():
        raise Gen61850Error(f"{args.scl}: no such SCL file")
    scl = load_scl(args.scl)
    for problem in scl.errors:  # what was left out; the rest is served
        print(problem, file=sys.stderr)
    if args.ied:
        ied = scl.ied(args.ied)
    elif scl.ieds:
        ied = scl.ieds[0]
    else:
        raise Gen61850Error(f"{args.scl}: no IED")
    account = _account(args)
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
    model = ServedModel.from_ied(ied)
    stat = args.scl.stat()
    model.add_file(args.scl.name, stat.st_size, stat.st_mtime)
    model.on_write(lambda d, i, v, p: print(f"write by {p}: {d}/{i} = {v!r}", flush=True))

    async def body() -> None:
        server = AcsiServer(settings, model)
        await server.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(
            f"serving IED {ied.name} ({len(model.domains)} logical devices) as "
            f"{server.boundjid}; Ctrl-C stops",
            flush=True,
        )
        await stop.wait()
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
