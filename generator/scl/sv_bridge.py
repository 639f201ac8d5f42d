"""The SCL side of the SV commands: a stream or layouts from an SCL file, at publish time.

``stream_config_for`` loads the file and returns the ``StreamConfig`` of one
SampledValueControl, or raises a located ``SclError`` saying why it cannot be published
(the same reason ``scl check`` reports as a warning); ``layouts_for`` gives every usable SV
data set layout by svID. How a control block becomes a stream: ``sv_streams``.
"""

from __future__ import annotations

from pathlib import Path

from gen61850.generator.scl.diagnostics import Diagnostic, SclError, Severity
from gen61850.generator.scl.model import SclModel, load_scl
from gen61850.generator.scl.sv_streams import layout_or_reason, stream_or_reason
from gen61850.runtime.device import Ied, LogicalDevice, SampledValueControl
from gen61850.runtime.sv.dataset import DataSetLayout
from gen61850.runtime.sv.stream import StreamConfig


def _fail(model: SclModel | str, message: str, line: int = 0) -> SclError:
    file = str(model.path) if isinstance(model, SclModel) else model
    return SclError((Diagnostic(file, line, Severity.ERROR, message),))


def _find_svc(
    model: SclModel, ied: Ied, msvcb_ref: str
) -> tuple[LogicalDevice, SampledValueControl]:
    ld_name, _, rest = msvcb_ref.partition("/")
    ln_name, _, cb_name = rest.partition(".")
    ld = ied.logical_device(ld_name)
    ln = ld.child(ln_name) if ld is not None else None
    svc = next((s for s in ln.sv_controls if s.name == cb_name), None) if ln else None
    if ld is None or svc is None:
        known = [
            f"{d.inst}/{n.name}.{s.name}"
            for d in ied.logical_devices
            for n in d.logical_nodes
            for s in n.sv_controls
        ]
        raise _fail(
            model,
            f"no SampledValueControl {msvcb_ref!r} in IED {ied.name} "
            f"(known: {', '.join(known) or 'none'})",
        )
    return ld, svc


def stream_config_for(
    scl_path: Path | str, ied: str, msvcb_ref: str, *, signal_frequency: float = 50.0
) -> StreamConfig:
    """The stream ``LD/LLN0.NAME`` of IED ``ied`` as the SV runtime describes it.

    ``LD`` is the LDevice inst or its full name. ``signal_frequency`` turns ``SmpPerSec``
    rates into samples per period. Raises ``SclError`` (located) when the IED or the
    control block is not in the file or was left out, or the stream cannot be published.
    """
    model = load_scl(Path(scl_path), validate=False)
    device = model.ied(ied)
    ld, svc = _find_svc(model, device, msvcb_ref)
    found = stream_or_reason(
        device,
        ld,
        svc,
        edition=model.edition,
        incomplete=model.incomplete_in(device.name, ld.inst, "LLN0"),
        signal_frequency=signal_frequency,
    )
    if isinstance(found, str):
        line = model.streams.get((device.name, ld.inst, svc.name), (0, ""))[0]
        raise _fail(
            model,
            f"SampledValueControl {ld.name}/LLN0.{svc.name} cannot be published: {found}",
            line,
        )
    return found


def layouts_for(scl_path: Path | str) -> dict[str, DataSetLayout]:
    """Every usable SV data set layout in the file, keyed by svID (first one wins)."""
    model = load_scl(Path(scl_path), validate=False)
    layouts: dict[str, DataSetLayout] = {}
    for device in model.ieds:
        for ld in device.logical_devices:
            for ln in ld.logical_nodes:
                for svc in ln.sv_controls:
                    if svc.smv_id in layouts or not svc.dat_set:
                        continue
                    data_set = ln.data_set(svc.dat_set)
                    if data_set is None:
                        continue
                    layout = layout_or_reason(device, data_set)
                    if not isinstance(layout, str):
                        layouts[svc.smv_id] = layout
    return layouts


__all__ = ["layouts_for", "stream_config_for"]
