"""XSD → Python dataclass bindings with xsdata, collected in memory and made deterministic.

xsdata's code generator writes into the current directory and stamps a header with the time;
here it runs inside a private temporary folder, with its import check switched off, and the
result comes back as ``{relative_path: text}``, sorted, formatted with the project's pinned
ruff and headed with our fixed header (input name + hash). Any XSD works: the SCL schema
(ours or the official one) and the IEC 61850-8-2 schema alike.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from xsdata.codegen.exceptions import CodegenError
from xsdata.codegen.transformer import ResourceTransformer
from xsdata.codegen.writer import CodeWriter
from xsdata.formats.dataclass.generator import DataclassGenerator
from xsdata.models.config import GeneratorConfig, StructureStyle
from xsdata.utils import package

from gen61850.generator.render import format_python, header
from gen61850.runtime.errors import Gen61850Error

_FORMAT_NAME = "gen61850-dataclasses"
_XSDATA_RUFF_CONFIG = Path(sys.modules[DataclassGenerator.__module__].__file__ or "").with_name(
    "ruff.toml"
)
_CWD_LOCK = threading.Lock()


class BindingsError(Gen61850Error):
    """xsdata could not turn a schema into bindings (names the schema)."""


class _QuietDataclassGenerator(DataclassGenerator):
    """xsdata's dataclass generator without its import check of the output.

    The check imports the freshly written package from the current directory, which would
    clash with (or shadow) an installed package of the same dotted name; we import and
    type-check generated code in our own tests instead.
    """

    def validate_imports(self) -> None:
        return None

    def ruff_code(self, file_paths: list[str]) -> None:
        """xsdata's lint-fix and format pass, with the project's pinned ruff binary.

        xsdata would run whatever ``ruff`` is on PATH (or fail without one); the output must
        not depend on that.
        """
        import ruff

        config = str(_XSDATA_RUFF_CONFIG)
        length = f"line-length={self.config.output.max_line_length}"
        binary = ruff.find_ruff_bin()
        for command in (
            [
                binary,
                "check",
                "--config",
                config,
                "--config",
                length,
                "--fix",
                "--unsafe-fixes",
                "--exit-zero",
                *file_paths,
            ],
            [binary, "format", "--config", config, "--config", length, *file_paths],
        ):
            completed = subprocess.run(command, capture_output=True, check=False)
            if completed.returncode != 0:
                raise CodegenError(f"ruff failed: {completed.stderr.decode().strip()}")


def _register_generator() -> None:
    if _FORMAT_NAME not in CodeWriter.generators:
        CodeWriter.register_generator(_FORMAT_NAME, _QuietDataclassGenerator)


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    """Run with ``folder`` as the working directory (xsdata writes relative to it).

    xsdata caches paths joined with the working directory; they are cleared on the way in
    and out so that one run's folder never leaks into the next.
    """
    with _CWD_LOCK:
        previous = Path.cwd()
        _clear_path_caches()
        os.chdir(folder)
        try:
            yield
        finally:
            os.chdir(previous)
            _clear_path_caches()


def _clear_path_caches() -> None:
    package.package_path.cache_clear()
    package.module_path.cache_clear()


def _config(package: str) -> GeneratorConfig:
    config = GeneratorConfig()
    config.output.package = package
    config.output.format.value = _FORMAT_NAME
    config.output.structure_style = StructureStyle.FILENAMES
    config.output.relative_imports = True
    config.output.include_header = False
    config.output.max_line_length = 100
    return config


def build_bindings(xsd: Path, package: str, *, source_name: str) -> dict[str, str]:
    """Generate xsdata bindings for ``xsd`` as a package called ``package``.

    Returns the files as paths relative to the package's parent folder (``a/b/__init__.py``
    for package ``a.b``) mapped to their text. ``source_name`` is the stable name written
    in each file's header (never an absolute path), hashed together with the schema bytes.
    """
    xsd = xsd.resolve()
    if not xsd.is_file():
        raise BindingsError(f"{xsd}: schema not found")
    _register_generator()
    digest_input = _schema_bytes(xsd)
    xsdata_logger = logging.getLogger("xsdata")
    previous_level = xsdata_logger.level
    xsdata_logger.setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory(prefix="gen61850-xsd-") as tmp:
            root = Path(tmp)
            with _inside(root):
                try:
                    ResourceTransformer(_config(package)).process([xsd.as_uri()])
                except CodegenError as error:
                    raise BindingsError(f"{source_name}: xsdata failed: {error}") from error
            files = _collect(root)
    finally:
        xsdata_logger.setLevel(previous_level)
    if not files:
        raise BindingsError(f"{source_name}: xsdata produced no classes")
    top = header(source_name, digest_input)
    return {
        relative: format_python(top + text, relative) for relative, text in sorted(files.items())
    }


def _collect(root: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        files[path.relative_to(root).as_posix()] = path.read_text(encoding="utf-8")
    return files


def _schema_bytes(xsd: Path) -> bytes:
    """The schema and every ``.xsd`` beside it (its includes), for the header hash."""
    parts = [xsd.read_bytes()]
    for sibling in sorted(xsd.parent.glob("*.xsd")):
        if sibling != xsd:
            parts.append(sibling.name.encode() + b"\0" + sibling.read_bytes())
    return b"\0".join(parts)


__all__ = ["BindingsError", "build_bindings"]
