"""The ``gen61850`` command line: one sub-command module per area, registered here."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from gen61850 import __version__
from gen61850.runtime.errors import Gen61850Error
from gen61850.runtime.text import printable_lines

# Each module defines ``register(subparsers)`` and sets ``func`` on its parsers.
COMMAND_MODULES = ("generate", "sv", "goose", "scl", "xmpp", "sntp", "demo")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every area's sub-commands, or with area ``only``'s.

    Each area's module imports what its commands need (the SCL reader, numpy, slixmpp),
    which takes a second in all: a command line that names its area builds only that
    area's parser, so that ``gen61850 sv decode ...`` does not wait for the XMPP stack.
    """
    parser = argparse.ArgumentParser(
        prog="gen61850",
        description="IEC 61850 stacks generated from the standards and from SCL.",
    )
    parser.add_argument("--version", action="version", version=f"gen61850 {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES if only is None else (only,):
        module = importlib.import_module(f"gen61850.cli.{name}")
        module.register(subparsers)
    return parser


def _area(argv: Sequence[str]) -> str | None:
    """The area a command line names first (``sv`` in ``sv decode X``), if it is one."""
    return argv[0] if argv and argv[0] in COMMAND_MODULES else None


BROKEN_PIPE = 141  # what a shell reports for a process ended by SIGPIPE (128 + 13)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; our own errors become a one-line message and exit status 1.

    A reader that closes the pipe early (``gen61850 scl show FILE | head``) ends the command
    quietly with status 141, as SIGPIPE would.
    """
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_area(arguments))
    args = parser.parse_args(arguments)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        status: int = func(args)
        sys.stdout.flush()
    except Gen61850Error as error:  # messages quote input: escaped for the terminal
        print(f"gen61850: error: {printable_lines(str(error))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _discard_stdout()
        return BROKEN_PIPE
    return status


def _discard_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
