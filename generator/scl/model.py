"""Load an SCL file into the device IR: read, resolve, collect located diagnostics.

``load_scl(path)`` is the one entry point the CLI, the generator and the SV bridge use. It
returns an ``SclModel`` even when there are errors (so ``check`` can list them all);
``SclModel.raise_on_errors()`` turns errors into one ``SclError``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from gen61850.generator.scl.communication import read_communication
from gen61850.generator.scl.diagnostics import Diagnostic, Diagnostics, SclError, Severity
from gen61850.generator.scl.resolve import IedResolver, TypeInstantiator
from gen61850.generator.scl.typedefs import TypeDefs, read_typedefs
from gen61850.generator.scl.xmlread import iter_ieds, scan
from gen61850.generator.scl.xsdcheck import validate_xsd
from gen61850.runtime.device import Ied


@dataclass(frozen=True)
class SclModel:
    """Everything the generator uses from one SCL file."""

    path: Path
    edition: str
    version: str
    release: str
    ieds: tuple[Ied, ...]
    typedefs: TypeDefs
    diagnostics: tuple[Diagnostic, ...]

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.ERROR)

    def raise_on_errors(self) -> None:
        if self.errors:
            raise SclError(self.diagnostics)

    def ied(self, name: str) -> Ied:
        """The IED called ``name``; SclError listing the known names otherwise."""
        found = next((i for i in self.ieds if i.name == name), None)
        if found is None:
            known = ", ".join(i.name for i in self.ieds) or "none"
            raise SclError(
                (Diagnostic(str(self.path), 0, Severity.ERROR, f"no IED {name!r} (IEDs: {known})"),)
            )
        return found


def load_scl(
    path: Path,
    *,
    display_name: str | None = None,
    validate: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
) -> SclModel:
    """Read and resolve ``path``; all problems are in ``SclModel.diagnostics``.

    ``validate`` also checks against the official XSD of the file's version when present;
    ``progress`` is called after each IED with (done, total, label).
    """
    diagnostics = Diagnostics(display_name or str(path))
    context = scan(Path(path), diagnostics)
    if context is None:
        return SclModel(Path(path), "", "", "", (), TypeDefs(), diagnostics.sorted())
    if validate:
        validate_xsd(Path(path), context.version, context.release, diagnostics)
    typedefs = read_typedefs(context.templates, diagnostics)
    connected = read_communication(context.communication, diagnostics)
    types = TypeInstantiator(typedefs, diagnostics)
    resolver = IedResolver(types, connected, diagnostics)
    ieds: list[Ied] = []
    try:
        for element in iter_ieds(Path(path)):
            ied = resolver.ied(element)
            if ied is None:
                continue
            if any(i.name == ied.name for i in ieds):
                diagnostics.error(element.sourceline, f"duplicate IED name {ied.name!r}")
                continue
            ieds.append(ied)
            if progress is not None:
                progress(len(ieds), context.ied_count, f"IED {ied.name}")
    except (etree.XMLSyntaxError, OSError) as error:  # the file changed between the passes
        diagnostics.error(0, f"cannot read the IED sections again: {error}")
    known = {i.name for i in ieds}
    for ied_name, ap_name in connected:
        if ied_name not in known:
            diagnostics.warning(
                connected[(ied_name, ap_name)].line, f"ConnectedAP for unknown IED {ied_name!r}"
            )
    return SclModel(
        Path(path),
        context.edition,
        context.version,
        context.release,
        tuple(ieds),
        typedefs,
        diagnostics.sorted(),
    )


__all__ = ["SclModel", "load_scl"]
