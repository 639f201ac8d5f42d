"""Located problems found in an SCL file: ``FILE:LINE: error|warning: message``.

The reader and the checks collect ``Diagnostic`` values instead of raising, so one run
reports every problem; ``SclError`` carries them to the command line when reading cannot
go on (or, for ``generate``, when any error was found).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from gen61850.runtime.errors import Gen61850Error


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    """One problem: where (file, line; 0 when unknown) and what."""

    file: str
    line: int
    severity: Severity
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity.value}: {self.message}"


@dataclass
class Diagnostics:
    """Collector for one file; ``error``/``warning`` add a located message."""

    file: str
    items: list[Diagnostic] = field(default_factory=list)

    def error(self, line: object, message: str) -> None:
        """``line`` is an element's ``sourceline`` (None or unknown → 0)."""
        self.items.append(Diagnostic(self.file, _line(line), Severity.ERROR, message))

    def warning(self, line: object, message: str) -> None:
        self.items.append(Diagnostic(self.file, _line(line), Severity.WARNING, message))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.WARNING]

    def sorted(self) -> tuple[Diagnostic, ...]:
        """By line, errors before warnings on the same line, duplicates dropped."""
        return tuple(sorted(set(self.items), key=lambda d: (d.line, d.severity.value, d.message)))


def _line(line: object) -> int:
    return line if isinstance(line, int) else 0


class SclError(Gen61850Error):
    """An SCL file that cannot be used: the message lists its located errors."""

    def __init__(self, diagnostics: tuple[Diagnostic, ...]) -> None:
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity is Severity.ERROR] or list(diagnostics)
        shown = "\n".join(str(d) for d in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} error(s) in SCL input:\n{shown}{more}")


__all__ = ["Diagnostic", "Diagnostics", "SclError", "Severity"]
