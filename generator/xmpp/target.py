"""Target ``scsm-8-2``: everything generated from ``specs/xsd/scsm_8_2/`` into ``generated/scsm_8_2/``.

Stages: xsdata bindings of the schema (``generator.xsd.bindings``) → the bindings read back
as an IR (``schema_ir``) → joined with the service table (``view``) → rendered: the
ElementTree codec, the service builders/parsers/dispatch and the slixmpp stanza plugin.
"""

from __future__ import annotations

from gen61850 import resource_path
from gen61850.generator.render import environment, header, render_python, source_digest
from gen61850.generator.targets import GeneratedFiles
from gen61850.generator.xmpp.schema_ir import read_bindings
from gen61850.generator.xmpp.view import FILTERS, build_view
from gen61850.generator.xsd.bindings import build_bindings
from gen61850.generator.xsd.facets import read_choices, read_facets

SCHEMA = "specs/xsd/scsm_8_2/scsm_8_2.xsd"
PACKAGE = "gen61850.generated.scsm_8_2.bindings"
OUTPUT = "scsm_8_2"
PLUGIN_ATTRIB = "iec61850"
_ROOT = "gen61850/generated/"


def build() -> GeneratedFiles:
    """Bindings, codec, services and stanza modules, relative to ``generated/``."""
    schema_path = resource_path(*SCHEMA.split("/"))
    schema_bytes = schema_path.read_bytes()
    raw = build_bindings(schema_path, PACKAGE, source_name=SCHEMA)
    package_dir = PACKAGE.replace(".", "/") + "/"
    files: GeneratedFiles = {
        path.removeprefix(_ROOT): text for path, text in raw.items() if path.startswith(package_dir)
    }
    module_files = [p for p in raw if p.startswith(package_dir) and not p.endswith("__init__.py")]
    if len(module_files) != 1:
        raise ValueError(f"{SCHEMA}: expected one bindings module, got {module_files}")
    view = build_view(
        read_bindings(raw[module_files[0]]),
        PACKAGE,
        read_facets(schema_path),
        read_choices(schema_path),
    )
    env = environment(filters=FILTERS)
    context = {"view": view, "plugin_attrib": PLUGIN_ATTRIB, "digest": source_digest(schema_bytes)}
    for template, name in (
        ("xmpp/codec.py.j2", "codec.py"),
        ("xmpp/services.py.j2", "services.py"),
        ("xmpp/stanza.py.j2", "stanza.py"),
    ):
        files[f"{OUTPUT}/{name}"] = render_python(
            env, template, context, source_name=SCHEMA, source_bytes=schema_bytes, filename=name
        )
    files[f"{OUTPUT}/__init__.py"] = header(SCHEMA, schema_bytes) + (
        '"""IEC 61850-8-2 payload: bindings, ElementTree codec, services, stanza plugin."""\n'
    )
    return dict(sorted(files.items()))


__all__ = ["OUTPUT", "PACKAGE", "SCHEMA", "build"]
