"""``gen61850 scl``: check an SCL file, show its tree, generate one Python package per IED.

``check`` prints every problem as ``FILE:LINE: error|warning: message`` and exits 1 when
there is an error; ``generate`` refuses files with errors (printing them the same way).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from gen61850.generator import output
from gen61850.generator.scl.device import device_packages
from gen61850.generator.scl.diagnostics import Severity
from gen61850.generator.scl.model import SclModel, load_scl
from gen61850.generator.scl.show import model_lines
from gen61850.runtime.errors import Gen61850Error
from gen61850.runtime.text import printable


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``scl check|show|generate`` to the top-level parser."""
    parser = subparsers.add_parser(
        "scl", help="SCL (IEC 61850-6): check, show, generate device packages"
    )
    commands = parser.add_subparsers(dest="scl_command", metavar="SCL_COMMAND", required=True)

    check = commands.add_parser("check", help="validate (XSD + semantic checks); exit 1 on error")
    check.add_argument("file", type=Path)
    check.add_argument("--no-xsd", action="store_true", help="skip the official XSD")
    check.add_argument("--quiet", "-q", action="store_true", help="errors only")
    check.set_defaults(func=run_check)

    show = commands.add_parser("show", help="print the IED / LD / LN / data set / control tree")
    show.add_argument("file", type=Path)
    show.add_argument("--ied", help="only this IED")
    show.add_argument("--data", action="store_true", help="also every DO/DA with type and value")
    show.set_defaults(func=run_show)

    generate = commands.add_parser("generate", help="write one Python package per IED")
    generate.add_argument("file", type=Path)
    generate.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    generate.add_argument("--ied", action="append", metavar="NAME", help="only these IEDs")
    generate.add_argument("--no-xsd", action="store_true", help="skip the official XSD")
    generate.add_argument(
        "--progress", action="store_true", help="draw a progress bar even when not on a tty"
    )
    generate.set_defaults(func=run_generate)


def _require_file(path: Path) -> None:
    """One line, not a diagnostic and a summary, when there is no file to read at all."""
    if not path.is_file():
        raise Gen61850Error(f"{path}: {'not a file' if path.exists() else 'no such file'}")


def _load(args: argparse.Namespace) -> SclModel:
    _require_file(args.file)
    return load_scl(args.file, validate=not args.no_xsd)


def _print_diagnostics(model: SclModel, stream: TextIO, *, errors_only: bool = False) -> None:
    for diagnostic in model.diagnostics:
        if errors_only and diagnostic.severity is not Severity.ERROR:
            continue
        print(printable(str(diagnostic)), file=stream)


def run_check(args: argparse.Namespace) -> int:
    model = _load(args)
    _print_diagnostics(model, sys.stdout, errors_only=args.quiet)
    errors = len(model.errors)
    warnings = len(model.diagnostics) - len(model.errors)
    print(
        f"{args.file}: {errors} error(s), {warnings} warning(s), {len(model.ieds)} IED(s)",
        file=sys.stderr,
    )
    return 1 if errors else 0


def run_show(args: argparse.Namespace) -> int:
    _require_file(args.file)
    model = load_scl(args.file, validate=False)
    if model.errors and not model.ieds:
        _print_diagnostics(model, sys.stderr, errors_only=True)
        return 1
    if args.ied:
        model.ied(args.ied)  # raises with the known names
    for line in model_lines(model, ied=args.ied, data=args.data):
        print(printable(line))
    return 0


class _Bar:
    """A one-line progress bar on stderr: reading IEDs, then writing files."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    @staticmethod
    def stage(label: str) -> str:
        return "reading" if label.startswith("IED ") else "writing"

    def __call__(self, done: int, total: int, label: str) -> None:
        if not self.enabled:
            return
        width = 30
        filled = width * done // max(total, 1)
        bar = "#" * filled + "-" * (width - filled)
        sys.stderr.write(f"\r{self.stage(label)} [{bar}] {done}/{total} {label[:40]:<40}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def run_generate(args: argparse.Namespace) -> int:
    _require_file(args.file)
    bar = _Bar(args.progress or sys.stderr.isatty())
    model = load_scl(args.file, validate=not args.no_xsd, progress=bar)
    if model.errors:
        _print_diagnostics(model, sys.stderr, errors_only=True)
        print(f"{args.file}: {len(model.errors)} error(s); nothing generated", file=sys.stderr)
        return 1
    files = device_packages(model, ieds=args.ied, progress=bar)
    written = output.write(files, args.output)
    packages = sorted({path.split("/")[0] for path in files})
    print(
        f"{len(packages)} package(s) in {args.output}: {', '.join(packages)} "
        f"({len(files)} files, {len(written)} written)",
        file=sys.stderr,
    )
    return 0
