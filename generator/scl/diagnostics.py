"""Located problems found in an SCL file: ``FILE:LINE: error|warning: message``.

The reader and the checks collect ``Diagnostic`` values instead of raising, so one run
reports every problem. The severity says what a problem cost:

- ``error``: something the file describes is left out of the model (``cost`` names it: an
  IED, an LN, a data set member, a stream, a type, ...); everything else is still read;
- ``warning``: read with a fallback (a default, a normalised value, a value ignored) or
  described but not usable by the runtime; nothing is left out.

``scope`` ties a problem to what it belongs to (``IED:NAME``, ``LNodeType:ID``, ``DOType:ID``,
``DAType:ID``, ``EnumType:ID``; empty for the whole file), so each generated package can
record what it lost and why. ``rule`` names the kind of check (``required``, ``identity``,
``value``, ...), which lets an official-schema finding that repeats one of ours be dropped.
``SclError`` carries diagnostics to the command line when reading cannot go on.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from gen61850.runtime.errors import Gen61850Error

_SPACES = re.compile(r"\s+")
_MESSAGE_LIMIT = 400


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    """One problem: where (file, line; 0 when unknown), how bad, what; and what it cost."""

    file: str
    line: int
    severity: Severity
    message: str
    cost: str = field(default="", compare=False)
    scope: str = field(default="", compare=False)
    rule: str = field(default="", compare=False)
    tag: str = field(default="", compare=False)  # the element's tag, to locate its start

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity.value}: {self.message}"


def one_line(message: str) -> str:
    """A message on one line (white space runs collapsed) and of bounded length."""
    text = _SPACES.sub(" ", message).strip()
    if len(text) > _MESSAGE_LIMIT:
        text = text[: _MESSAGE_LIMIT - 15] + f"... ({len(text)} characters)"
    return text


@dataclass
class Diagnostics:
    """Collector for one file; ``error``/``warning`` add a located message.

    ``scoped(scope)`` sets the scope of every problem added inside it (the innermost wins).
    """

    file: str
    items: list[Diagnostic] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    _rules: set[tuple[int, str, str]] = field(default_factory=set, repr=False)

    def error(
        self, line: object, message: str, *, cost: str = "", rule: str = "", tag: str = ""
    ) -> None:
        """``line`` is an element's ``sourceline`` (None or unknown → 0); ``cost`` what is
        left out because of this problem."""
        self.add(Severity.ERROR, line, message, cost=cost, rule=rule, tag=tag)

    def warning(self, line: object, message: str, *, rule: str = "", tag: str = "") -> None:
        self.add(Severity.WARNING, line, message, rule=rule, tag=tag)

    def add(
        self,
        severity: Severity,
        line: object,
        message: str,
        *,
        cost: str = "",
        rule: str = "",
        tag: str = "",
        scope: str | None = None,
    ) -> None:
        where = self.scopes[-1] if scope is None and self.scopes else (scope or "")
        located = _line(line)
        self.items.append(
            Diagnostic(self.file, located, severity, one_line(message), cost, where, rule, tag)
        )
        if rule:
            self._rules.add((located, rule, ""))
            self._rules.add((located, rule, tag))

    def forget_rules(self) -> None:
        """Rebuild the index of ``reported`` from ``items`` (after items were removed)."""
        self._rules = {(d.line, d.rule, t) for d in self.items if d.rule for t in ("", d.tag)}

    def reported(self, line: int, rule: str, tag: str = "") -> bool:
        """Whether a problem of kind ``rule`` (about an element ``tag``, when given) was
        already reported at ``line``."""
        return (line, rule, tag) in self._rules

    def scoped(self, scope: str) -> _Scope:
        """``with diagnostics.scoped("DOType:x"):`` (a plain object: this runs per type)."""
        return _Scope(self.scopes, scope)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.WARNING]

    def sorted(self) -> tuple[Diagnostic, ...]:
        """By line, errors before warnings on the same line, duplicates dropped."""
        return ordered(self.items)


class _Scope:
    __slots__ = ("scope", "scopes")

    def __init__(self, scopes: list[str], scope: str) -> None:
        self.scopes = scopes
        self.scope = scope

    def __enter__(self) -> None:
        self.scopes.append(self.scope)

    def __exit__(self, *exc: object) -> None:
        self.scopes.pop()


def ordered(items: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    """By line, errors before warnings on the same line, duplicates dropped (first kept)."""
    unique: dict[Diagnostic, Diagnostic] = {}
    for item in items:
        unique.setdefault(item, item)
    return tuple(sorted(unique, key=lambda d: (d.line, d.severity.value, d.message)))


def _line(line: object) -> int:
    return line if isinstance(line, int) and line > 0 else 0


class SclError(Gen61850Error):
    """An SCL file that cannot be used: the message lists its located errors."""

    def __init__(self, diagnostics: tuple[Diagnostic, ...]) -> None:
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity is Severity.ERROR] or list(diagnostics)
        shown = "\n".join(str(d) for d in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} error(s) in SCL input:\n{shown}{more}")


__all__ = ["Diagnostic", "Diagnostics", "SclError", "Severity", "one_line", "ordered"]
