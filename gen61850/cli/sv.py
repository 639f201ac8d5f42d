"""`gen61850 sv`: placeholder registration, filled in by its area's work."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `sv` commands to the top-level parser."""
    subparsers.add_parser("sv", help="(not yet available)")
