"""Load an SCL file into the device IR: read, resolve, collect located diagnostics.

``load_scl(path)`` is the one entry point the CLI, the generator and the SV bridge use. It
returns an ``SclModel`` even when there are errors (so ``check`` can list them all);
``SclModel.raise_on_errors()`` turns errors into one ``SclError``.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from lxml import etree

from gen61850.generator.scl.communication import read_communication
from gen61850.generator.scl.diagnostics import Diagnostic, Diagnostics, SclError, Severity
from gen61850.generator.scl.inputs import check_inputs
from gen61850.generator.scl.prefetch import SharedSections, fetch_shared
from gen61850.generator.scl.resolve import IedResolver, TypeInstantiator
from gen61850.generator.scl.typedefs import TypeDefs, read_typedefs
from gen61850.generator.scl.xmlread import (
    SclContext,
    iter_sections,
    read_root,
    scan,
    syntax_error_line,
)
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

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.WARNING)

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

    One streaming pass when the shared sections can be fetched ahead (``prefetch``); two
    (sections first, then IEDs) when they cannot or the streamed file disagrees.
    """
    with _cyclic_gc_paused():
        return _load_scl(Path(path), display_name, validate, progress)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while loading (restored afterwards).

    Loading allocates hundreds of thousands of small acyclic objects (frozen dataclasses,
    tuples); each allocation burst would otherwise trigger collections that find nothing
    (about 10 % of the load time). Reference counting still frees everything at once.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load_scl(
    path: Path,
    display_name: str | None,
    validate: bool,
    progress: Callable[[int, int, str], None] | None,
) -> SclModel:
    diagnostics = Diagnostics(display_name or str(path))
    root = read_root(path, diagnostics)
    if root is None:
        return SclModel(path, "", "", "", (), TypeDefs(), diagnostics.sorted())
    if validate:
        validate_xsd(path, root.version, root.release, diagnostics)
    mark = len(diagnostics.items)
    shared = fetch_shared(path, count_ieds=progress is not None)
    if shared is not None:
        context = replace(
            root,
            communication=shared.communication,
            templates=shared.templates,
            ied_count=shared.ied_count,
        )
        try:
            return _load(path, context, diagnostics, progress, shared)
        except _SectionsMoved:
            del diagnostics.items[mark:]  # read again the safe way; report each problem once
    scanned = scan(path, diagnostics)
    if scanned is None:
        return SclModel(path, "", "", "", (), TypeDefs(), diagnostics.sorted())
    return _load(path, scanned, diagnostics, progress, None)


class _SectionsMoved(Exception):
    """The streamed file's shared sections are not the ones fetched ahead."""


def _load(
    path: Path,
    context: SclContext,
    diagnostics: Diagnostics,
    progress: Callable[[int, int, str], None] | None,
    shared: SharedSections | None,
) -> SclModel:
    """Resolve every IED while streaming; ``shared`` set: check the sections on the way."""
    typedefs = read_typedefs(context.templates, diagnostics)
    connected = read_communication(context.communication, diagnostics)
    types = TypeInstantiator(typedefs, diagnostics)
    resolver = IedResolver(types, connected, diagnostics)
    ieds: list[Ied] = []
    names = _SECTIONS if shared is not None else ("IED",)
    seen: set[str] = set()
    try:
        for name, element in iter_sections(path, names):
            if name != "IED":
                if shared is not None and not shared.matches(name, element):
                    raise _SectionsMoved
                seen.add(name)
                continue
            ied = resolver.ied(element)
            if ied is None:
                continue
            if any(i.name == ied.name for i in ieds):
                diagnostics.error(element.sourceline, f"duplicate IED name {ied.name!r}")
                continue
            ieds.append(ied)
            if progress is not None:
                total = max(context.ied_count, len(ieds))
                progress(len(ieds), total, f"IED {ied.name}")
    except etree.XMLSyntaxError as error:
        if shared is None:  # the file changed between the passes
            diagnostics.error(0, f"cannot read the IED sections again: {error}")
        else:
            diagnostics.error(syntax_error_line(error), f"malformed XML: {error.msg}")
            return SclModel(path, "", "", "", (), TypeDefs(), diagnostics.sorted())
    except OSError as error:
        diagnostics.error(0, f"cannot read the IED sections: {error}")
    if shared is not None:
        fetched = {"Communication": shared.communication, "DataTypeTemplates": shared.templates}
        if any((fetched[n] is not None) != (n in seen) for n in fetched):
            raise _SectionsMoved
    check_inputs(ieds, resolver.pending_inputs, diagnostics)
    known = {i.name for i in ieds}
    for ied_name, ap_name in connected:
        if ied_name not in known:
            diagnostics.warning(
                connected[(ied_name, ap_name)].line, f"ConnectedAP for unknown IED {ied_name!r}"
            )
    return SclModel(
        path,
        context.edition,
        context.version,
        context.release,
        tuple(ieds),
        typedefs,
        diagnostics.sorted(),
    )


_SECTIONS = ("Communication", "IED", "DataTypeTemplates")


__all__ = ["SclModel", "load_scl"]
