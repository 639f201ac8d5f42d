"""The ``asn1-codecs`` target: BER codecs for the ASN.1 modules ``specs/asn1/modules.toml`` lists.

Per module: front end (as written) → passes (``generator.asn1.passes``) → BER view →
``templates/asn1_ber/module.py.j2``. The imports of a generated module are the runtime
names its body uses, found after a first rendering, so no module imports what it does not use.
"""

from __future__ import annotations

import io
import tokenize
from pathlib import Path

from gen61850.generator import naming
from gen61850.generator.asn1.ber_view import ModuleView, module_view
from gen61850.generator.asn1.catalog import ModuleSpec, load_modules, load_representations
from gen61850.generator.asn1.frontend import parse_module
from gen61850.generator.asn1.passes import run_passes
from gen61850.generator.asn1.passes.representation import RepresentationRule
from gen61850.generator.render import environment, header, render_python
from gen61850.runtime.version import RUNTIME_API

# Where the names a generated body may use come from, in the order the imports are written.
IMPORTABLE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("dataclasses", ("dataclass", "field")),
    ("enum", ("IntEnum",)),
    ("typing", ("TypeAlias",)),
    ("", ()),  # a blank line between the standard library and the project
    (
        "gen61850.runtime.asn1types",
        (
            "BitString",
            "MmsFloat",
            "UtcTime",
            "encode_bit_string",
            "encode_mms_float",
            "encode_utc_time",
            "read_mms_float",
            "read_utc_time",
        ),
    ),
    (
        "gen61850.runtime.ber",
        (
            "encode_integer",
            "encode_length",
            "not_visible_string",
            "read_long_length",
            "skip_element",
            "unexpected_tag",
            "wrong_size",
        ),
    ),
    ("gen61850.runtime.errors", ("DecodeError", "EncodeError")),
    ("gen61850.runtime.version", ("require_runtime_api",)),
)


def import_lines(code: str) -> list[str]:
    """``from X import a, b`` for every importable name ``code`` uses (as a name token, so
    docstrings and comments do not count)."""
    tokens = tokenize.generate_tokens(io.StringIO(code).readline)
    seen = {token.string for token in tokens if token.type == tokenize.NAME}
    lines: list[str] = []
    for module, names in IMPORTABLE:
        if not module:
            lines.append("")
            continue
        used = [n for n in names if n in seen]
        if used:
            lines.append(f"from {module} import {', '.join(used)}")
    return lines


def render_module(
    spec: ModuleSpec, rules: dict[str, RepresentationRule], path: Path | None = None
) -> str:
    """One module's generated code (``path``: read the ASN.1 there instead of specs/)."""
    path = path or spec.path
    source = path.read_bytes()
    module = run_passes(
        parse_module(path, spec.source_name),
        spec.representations,
        rules,
        f"{spec.source_name} (modules.toml)",
    )
    view: ModuleView = module_view(module, spec, rules)
    env = environment(filters=naming.FILTERS)
    context = {"module": view, "runtime_api": RUNTIME_API, "imports": []}
    draft = env.get_template("asn1_ber/module.py.j2").render(**context)
    context["imports"] = import_lines(draft)
    return render_python(
        env,
        "asn1_ber/module.py.j2",
        context,
        source_name=spec.source_name,
        source_bytes=source,
        filename=spec.output,
    )


def build() -> dict[str, str]:
    """Render every module of ``modules.toml`` and the package ``__init__`` beside each."""
    rules = load_representations()
    files: dict[str, str] = {}
    for spec in load_modules():
        files[spec.output] = render_module(spec, rules)
        package_init = spec.output.rsplit("/", 1)[0] + "/__init__.py"
        files[package_init] = header(spec.source_name, spec.path.read_bytes()) + (
            '"""Codecs generated from the ASN.1 modules in specs/asn1/."""\n'
        )
    return files
