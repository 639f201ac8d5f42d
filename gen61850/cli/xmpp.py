"""`gen61850 xmpp`: placeholder registration, filled in by its area's work."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `xmpp` commands to the top-level parser."""
    subparsers.add_parser("xmpp", help="(not yet available)")
