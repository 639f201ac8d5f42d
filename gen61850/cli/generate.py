"""``gen61850 generate``: regenerate ``generated/`` from ``specs/``, or check it is current."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gen61850 import resource_path
from gen61850.generator import output
from gen61850.generator.targets import TARGETS, find_target


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``generate`` to the top-level parser."""
    parser = subparsers.add_parser(
        "generate", help="regenerate generated/ from specs/ (or --check that it is current)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and list the files when generated/ is out of date",
    )
    parser.add_argument(
        "--target",
        action="append",
        metavar="NAME",
        help=f"only these targets (default: all of {', '.join(t.name for t in TARGETS)})",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="write into this folder instead of the package's generated/ (for comparisons)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build every selected target, then write or compare."""
    targets = [find_target(n) for n in args.target] if args.target else list(TARGETS)
    root: Path = args.output or resource_path("generated")
    stale: list[str] = []
    for target in targets:
        files = target.build()
        if args.check:
            drift = output.compare(files, root)
            stale.extend(f"{target.name}: {line}" for line in drift.lines())
        else:
            written = output.write(files, root)
            print(f"{target.name}: {len(files)} files, {len(written)} written", file=sys.stderr)
    if stale:
        print(f"{root} is out of date with specs/:", file=sys.stderr)
        for line in stale:
            print(f"  {line}", file=sys.stderr)
        return 1
    if args.check:
        names = ", ".join(t.name for t in targets)
        print(f"{root} is current with specs/ ({names})", file=sys.stderr)
    return 0
