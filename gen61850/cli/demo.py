"""``gen61850 demo``: the main job on the embedded default (see ``gen61850.demo``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``demo`` to the top-level parser."""
    parser = subparsers.add_parser(
        "demo",
        help="generate a stack from the bundled SCL, run SV over it and serve it over 8-2",
        description=(
            "Generate the device stack of the bundled merging unit, publish its SV stream and "
            "subscribe to it on a local interface, start a local XMPP server with TLS, serve "
            "the IED over IEC 61850-8-2 and browse it; then stop everything. Needs root."
        ),
    )
    parser.add_argument("--scl", type=Path, help="another SCL file (default: the bundled one)")
    parser.add_argument("--iface", default="lo", help="interface for SV (default: lo)")
    parser.add_argument("--duration", type=float, default=1.0, help="SV seconds (default: 1)")
    parser.add_argument("--no-xmpp", action="store_true", help="skip the 8-2 part")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gen61850.demo import DemoOptions, run_demo

    options = DemoOptions(iface=args.iface, duration=args.duration, xmpp=not args.no_xmpp)
    if args.scl is not None:
        options.scl = args.scl
    return run_demo(options)
