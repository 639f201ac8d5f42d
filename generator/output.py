"""Write generated files, or compare them with what is checked in (``--check``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gen61850.generator.targets import GeneratedFiles


@dataclass(frozen=True)
class Drift:
    """How the files on disk differ from what the generator produces now."""

    changed: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not (self.changed or self.missing)

    def lines(self) -> list[str]:
        return [f"changed: {p}" for p in self.changed] + [f"missing: {p}" for p in self.missing]


def compare(files: GeneratedFiles, root: Path) -> Drift:
    """Which of ``files`` differ from, or are absent in, the tree at ``root``."""
    changed: list[str] = []
    missing: list[str] = []
    for relative, text in sorted(files.items()):
        path = root / relative
        if not path.exists():
            missing.append(relative)
        elif path.read_text(encoding="utf-8") != text:
            changed.append(relative)
    return Drift(tuple(changed), tuple(missing))


def write(files: GeneratedFiles, root: Path) -> list[str]:
    """Write every file whose text changed; return the paths written."""
    written: list[str] = []
    for relative, text in sorted(files.items()):
        path = root / relative
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(relative)
    return written
