"""Render one importable Python package per IED from an ``SclModel`` (templates/device/).

``device_packages(model)`` returns ``{relative_path: text}`` (``<package>/__init__.py`` …),
deterministic: the same SCL gives byte-identical files. ``progress`` is called after each
file with (done, total, label) so the CLI can draw a bar on long runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gen61850 import __version__
from gen61850.generator import render
from gen61850.generator.scl import naming
from gen61850.generator.scl.device_view import build_view
from gen61850.generator.scl.diagnostics import Diagnostic, SclError, Severity
from gen61850.generator.scl.goose_bridge import goose_view
from gen61850.generator.scl.model import SclModel
from gen61850.generator.scl.refs_view import build_refs

MODULES = (
    "__init__",
    "enums",
    "types",
    "data",
    "model",
    "datasets",
    "streams",
    "mms",
    "refs",
    "goose",
)
CONTROL_TYPES = {
    "SV_CONTROLS": "SampledValueControl",
    "GOOSE_CONTROLS": "GseControl",
    "REPORT_CONTROLS": "ReportControl",
    "LOG_CONTROLS": "LogControl",
}
Progress = Callable[[int, int, str], None]


def device_packages(
    model: SclModel,
    *,
    ieds: Sequence[str] | None = None,
    source_name: str | None = None,
    progress: Progress | None = None,
) -> dict[str, str]:
    """Every selected IED's package, as paths relative to the output folder."""
    chosen = [model.ied(name) for name in ieds] if ieds else list(model.ieds)
    if not chosen:
        raise SclError(
            (Diagnostic(str(model.path), 0, Severity.ERROR, "no IED to generate a package for"),)
        )
    name = source_name or model.path.name
    source_bytes = model.path.read_bytes()
    env = render.environment(filters=naming.FILTERS)
    files: dict[str, str] = {}
    total = len(chosen) * len(MODULES)
    done = 0
    for ied in chosen:
        view = build_view(model, ied, source_name=name)
        context = {
            "view": view,
            "generator_version": __version__,
            "control_types": CONTROL_TYPES,
            "refs": build_refs(ied),
            "goose": goose_view(model, ied),
        }
        for module in MODULES:
            relative = f"{view.package}/{module}.py"
            files[relative] = render.render_python(
                env,
                f"device/{module}.py.j2",
                context,
                source_name=name,
                source_bytes=source_bytes,
                filename=relative,
            )
            done += 1
            if progress is not None:
                progress(done, total, relative)
    return dict(sorted(files.items()))


__all__ = ["MODULES", "device_packages"]
