"""``gen61850 scl``: check an SCL file, show its tree, generate one Python package per IED.

Every problem is printed once, as ``FILE:LINE: error|warning: message``; an error says what
it left out. ``check``, ``show`` and ``generate`` read the file with the same rules and
exit with the same statuses:

- 0: everything is usable (warnings allowed); ``generate`` wrote every package;
- 1: elements were left out (errors), but IEDs are usable; ``generate`` wrote their
  packages, each listing what it lost in ``LEFT_OUT``;
- 2: nothing usable: the file cannot be read, or no IED survives (``generate`` writes
  nothing; also for ``--ied`` naming an IED that is not there). With ``--strict`` any
  error gives 2 and ``generate`` writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from gen61850.generator import output
from gen61850.generator.scl.device import device_packages
from gen61850.generator.scl.diagnostics import SclError, Severity
from gen61850.generator.scl.model import (
    STATUS_COMPLETE,
    STATUS_PARTIAL,
    STATUS_UNUSABLE,
    SclModel,
    load_scl,
)
from gen61850.generator.scl.show import model_lines
from gen61850.generator.scl.xsdcheck import SCHEMA_ENV
from gen61850.runtime.text import printable


def _common(parser: argparse.ArgumentParser, *, xsd: bool = True) -> None:
    parser.add_argument("file", type=Path)
    if xsd:
        parser.add_argument("--no-xsd", action="store_true", help="skip the official XSD")
        parser.add_argument(
            "--xsd",
            action="append",
            type=Path,
            metavar="DIR",
            help=f"a folder of official SCL schemas (or one schema); default ${SCHEMA_ENV}",
        )
    parser.add_argument(
        "--strict", action="store_true", help="any error is fatal (exit 2, nothing written)"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="print errors only")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``scl check|show|generate`` to the top-level parser."""
    parser = subparsers.add_parser(
        "scl",
        help="SCL (IEC 61850-6): check, show, generate device packages",
        description="Exit status: 0 everything usable, 1 elements left out, 2 nothing usable.",
    )
    commands = parser.add_subparsers(dest="scl_command", metavar="SCL_COMMAND", required=True)

    check = commands.add_parser(
        "check", help="validate (semantic checks + official XSD when supplied); see exit status"
    )
    _common(check)
    check.set_defaults(func=run_check)

    show = commands.add_parser("show", help="print the IED / LD / LN / data set / control tree")
    _common(show, xsd=False)
    show.add_argument("--ied", help="only this IED")
    show.add_argument("--data", action="store_true", help="also every DO/DA with type and value")
    show.set_defaults(func=run_show)

    generate = commands.add_parser("generate", help="write one Python package per IED")
    _common(generate)
    generate.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    generate.add_argument("--ied", action="append", metavar="NAME", help="only these IEDs")
    generate.add_argument(
        "--progress", action="store_true", help="draw a progress bar even when not on a tty"
    )
    generate.set_defaults(func=run_generate)


def _missing(path: Path) -> bool:
    """One line and status 2 when there is no file to read at all (not a diagnostic and a
    summary)."""
    if path.is_file():
        return False
    why = "not a file" if path.exists() else "no such file"
    print(f"gen61850: error: {printable(str(path))}: {why}", file=sys.stderr)
    return True


def _load(args: argparse.Namespace, **options: Any) -> SclModel:
    validate = not getattr(args, "no_xsd", True)
    return load_scl(args.file, validate=validate, xsd=getattr(args, "xsd", None), **options)


def _print_diagnostics(model: SclModel, stream: TextIO, *, errors_only: bool = False) -> None:
    for diagnostic in model.diagnostics:
        if errors_only and diagnostic.severity is not Severity.ERROR:
            continue
        print(printable(str(diagnostic)), file=stream)


def status_of(model: SclModel, strict: bool) -> int:
    """The exit status (module docstring): ``model.status``, 2 for any error when strict."""
    if strict and model.errors:
        return STATUS_UNUSABLE
    return model.status


def _summary(model: SclModel) -> str:
    errors = len(model.errors)
    warnings = len(model.warnings)
    schema = f", validated against {model.schema}" if model.schema else ""
    return (
        f"{model.path}: {errors} error(s), {warnings} warning(s), {len(model.ieds)} IED(s){schema}"
    )


def run_check(args: argparse.Namespace) -> int:
    if _missing(args.file):
        return STATUS_UNUSABLE
    model = _load(args)
    _print_diagnostics(model, sys.stdout, errors_only=args.quiet)
    print(_summary(model), file=sys.stderr)
    return status_of(model, args.strict)


def run_show(args: argparse.Namespace) -> int:
    if _missing(args.file):
        return STATUS_UNUSABLE
    model = _load(args)
    status = status_of(model, args.strict)
    _print_diagnostics(model, sys.stderr, errors_only=True)
    if status == STATUS_UNUSABLE and not model.ieds:
        return status
    if args.ied:
        try:
            model.ied(args.ied)
        except SclError as error:
            print(f"gen61850: error: {error.diagnostics[0].message}", file=sys.stderr)
            return STATUS_UNUSABLE
    for line in model_lines(model, ied=args.ied, data=args.data):
        print(printable(line))
    return status


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
    if _missing(args.file):
        return STATUS_UNUSABLE
    bar = _Bar(args.progress or sys.stderr.isatty())
    model = _load(args, progress=bar)
    _print_diagnostics(model, sys.stderr, errors_only=args.quiet)
    status = status_of(model, args.strict)
    if status == STATUS_UNUSABLE or not model.ieds:
        why = "--strict and errors" if model.ieds and model.errors else "no usable IED"
        print(
            f"{args.file}: {len(model.errors)} error(s); nothing generated ({why})", file=sys.stderr
        )
        return STATUS_UNUSABLE
    try:
        files = device_packages(model, ieds=args.ied, progress=bar)
    except SclError as error:
        for diagnostic in error.diagnostics:
            print(printable(str(diagnostic)), file=sys.stderr)
        print(f"{args.file}: nothing generated", file=sys.stderr)
        return STATUS_UNUSABLE
    written = output.write(files, args.output)
    packages = sorted({path.split("/")[0] for path in files})
    chosen = set(args.ied) if args.ied else {i.name for i in model.ieds}
    lost = sum(len(model.left_out(name)) for name in chosen)
    print(
        f"{len(packages)} package(s) in {args.output}: {', '.join(packages)} "
        f"({len(files)} files, {len(written)} written)"
        + (f"; {lost} element(s) left out, listed in LEFT_OUT" if lost else ""),
        file=sys.stderr,
    )
    return STATUS_PARTIAL if model.errors else STATUS_COMPLETE
