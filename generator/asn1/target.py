"""The ``sv-codec`` target: BER codecs for the ASN.1 modules under ``specs/asn1/``."""

from __future__ import annotations

from gen61850 import resource_path
from gen61850.generator import naming  # noqa: F401  (registers the naming filters)
from gen61850.generator.asn1.frontend import parse_module
from gen61850.generator.asn1.view import module_view
from gen61850.generator.render import environment, header, render_python
from gen61850.runtime.version import RUNTIME_API

# ASN.1 input (under specs/) → generated module (under generated/).
MODULES: tuple[tuple[str, str], ...] = (("asn1/iec61850-9-2.asn", "sv/iec61850_9_2.py"),)


def build() -> dict[str, str]:
    """Render every ASN.1 module of ``MODULES`` and the package ``__init__`` beside it."""
    env = environment()
    files: dict[str, str] = {}
    for spec, output in MODULES:
        path = resource_path("specs", *spec.split("/"))
        source_name = f"specs/{spec}"
        source = path.read_bytes()
        module = parse_module(path, source_name)
        files[output] = render_python(
            env,
            "asn1_ber/module.py.j2",
            {"module": module, "runtime_api": RUNTIME_API, "sequences": module_view(module)},
            source_name=source_name,
            source_bytes=source,
            filename=output,
        )
        package_init = output.rsplit("/", 1)[0] + "/__init__.py"
        files[package_init] = header(source_name, source) + (
            '"""Codecs generated from the ASN.1 modules in specs/asn1/."""\n'
        )
    return files
