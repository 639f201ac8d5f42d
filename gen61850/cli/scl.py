"""`gen61850 scl`: placeholder registration, filled in by its area's work."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `scl` commands to the top-level parser."""
    subparsers.add_parser("scl", help="(not yet available)")
