"""`gen61850 sntp`: a small SNTP server for tests and demos, and a one-off query."""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from typing import Any

from gen61850.runtime.errors import Gen61850Error


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `sntp` commands to the top-level parser."""
    sntp = subparsers.add_parser("sntp", help="SNTP (RFC 5905): a test server, a query")
    commands = sntp.add_subparsers(dest="sntp_command", metavar="COMMAND", required=True)
    serve = commands.add_parser("serve", help="answer SNTP requests (a test and demo server)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=123, help="UDP port (123; 0: a free one)")
    serve.add_argument(
        "--offset", type=float, default=0.0, help="seconds this server's clock runs ahead"
    )
    serve.add_argument("--stratum", type=int, default=1, help="stratum to claim (1..15)")
    serve.add_argument("--leap", type=int, default=0, choices=(0, 1, 2, 3), help="leap indicator")
    serve.add_argument("--kiss", metavar="CODE", help="answer every request with this kiss code")
    serve.set_defaults(func=_serve)
    query = commands.add_parser("query", help="ask an SNTP server once: offset, delay, stratum")
    query.add_argument("server", metavar="HOST[:PORT]")
    query.add_argument("--samples", type=int, default=4, help="queries; the best is shown (4)")
    query.add_argument("--timeout", type=float, default=2.0, help="seconds per query (2)")
    query.set_defaults(func=_query)


def _serve(args: argparse.Namespace) -> int:
    from gen61850.runtime.sntp.aio import serve
    from gen61850.runtime.sntp.packet import Leap
    from gen61850.runtime.sntp.server import SntpServer

    try:
        server = SntpServer(
            lambda: time.time() + args.offset,
            stratum=args.stratum,
            leap=Leap(args.leap),
            kiss=args.kiss,
        )
    except ValueError as error:
        raise Gen61850Error(str(error)) from None

    async def body() -> None:
        try:
            transport, port = await serve(server, args.host, args.port)
        except OSError as error:
            raise Gen61850Error(f"{args.host}:{args.port}: {error.strerror}") from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        what = f"kiss-of-death {args.kiss}" if args.kiss else f"stratum {args.stratum}"
        print(f"SNTP on {args.host}:{port} ({what}, {args.offset:+g} s); Ctrl-C stops", flush=True)
        await stop.wait()
        transport.close()
        print(f"answered {server.answered}, dropped {server.dropped}")

    asyncio.run(body())
    return 0


def _query(args: argparse.Namespace) -> int:
    from gen61850.runtime.device.clock import DeviceClock
    from gen61850.runtime.sntp.aio import NTP_PORT, Discipline
    from gen61850.runtime.sntp.client import KissOfDeath, Sample

    host, _, port_text = args.server.partition(":")
    try:
        port = int(port_text) if port_text else NTP_PORT
    except ValueError:
        raise Gen61850Error(f"{args.server!r}: expected HOST[:PORT]") from None
    clock = DeviceClock()
    discipline = Discipline(clock, host, port, timeout=args.timeout)
    result = asyncio.run(discipline.once(burst=max(1, args.samples)))
    if isinstance(result, Sample):
        leap = {0: "none", 1: "+1 s", 2: "-1 s", 3: "alarm"}[int(result.leap)]
        print(
            f"offset {result.offset * 1e3:+.3f} ms, delay {result.delay * 1e3:.3f} ms, "
            f"stratum {result.stratum}, leap {leap}, "
            f"reference {result.reference_id.decode('ascii', 'replace').rstrip(chr(0))}"
        )
        quality = clock.quality()
        print(
            f"TimeQuality {quality.to_octet():02X}: leap seconds known "
            f"{quality.leap_seconds_known}, clock not synchronised "
            f"{quality.clock_not_synchronized}, accuracy {quality.accuracy} bits"
        )
        return 0
    if isinstance(result, KissOfDeath):
        print(f"kiss-of-death {result.code}")
        return 1
    raise Gen61850Error(str(result))
