"""Write generated files, or compare them with what is checked in (``--check``).

A target owns the folders its files are in: a file there that the target no longer
produces (a type removed from a schema, say) is stale, reported by the check and removed
by a write.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gen61850.generator.targets import GeneratedFiles


@dataclass(frozen=True)
class Drift:
    """How the files on disk differ from what the generator produces now."""

    changed: tuple[str, ...]
    missing: tuple[str, ...]
    stale: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return not (self.changed or self.missing or self.stale)

    def lines(self) -> list[str]:
        return (
            [f"changed: {p}" for p in self.changed]
            + [f"missing: {p}" for p in self.missing]
            + [f"stale: {p}" for p in self.stale]
        )


def stale_files(files: GeneratedFiles, root: Path) -> list[str]:
    """Files in the folders ``files`` own that are not among ``files`` (caches aside)."""
    folders = {Path(relative).parent for relative in files}
    found: list[str] = []
    for folder in sorted(folders):
        if folder == Path("."):
            continue  # the top of generated/ is shared by every target
        directory = root / folder
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            relative = path.relative_to(root).as_posix()
            if path.is_file() and relative not in files and path.suffix != ".pyc":
                found.append(relative)
    return found


def compare(files: GeneratedFiles, root: Path) -> Drift:
    """Which of ``files`` differ from, or are absent in, the tree at ``root``; which are stale."""
    changed: list[str] = []
    missing: list[str] = []
    for relative, text in sorted(files.items()):
        path = root / relative
        if not path.exists():
            missing.append(relative)
        elif path.read_text(encoding="utf-8") != text:
            changed.append(relative)
    return Drift(tuple(changed), tuple(missing), tuple(stale_files(files, root)))


def write(files: GeneratedFiles, root: Path) -> list[str]:
    """Write every file whose text changed and remove stale ones; return the paths touched."""
    written: list[str] = []
    for relative, text in sorted(files.items()):
        path = root / relative
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(relative)
    for relative in stale_files(files, root):
        (root / relative).unlink()
        written.append(relative)
    return written
