"""The layering holds: runtime/ and generated/ never import the generator, the CLI or the demo.

``nox -s lint`` checks the same with import-linter (contracts in pyproject.toml); this test
reads every import statement, including those inside functions, so it runs with the suite.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("gen61850.generator", "gen61850.cli", "gen61850.demo")


def _imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{a.name}") for a in node.names)
    return found


def test_runtime_and_generated_never_import_the_generator() -> None:
    broken = [
        f"{path.relative_to(ROOT)}:{line}: imports {name}"
        for folder in ("runtime", "generated")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line, name in _imports(path)
        if name.startswith(FORBIDDEN)
    ]
    assert broken == []
