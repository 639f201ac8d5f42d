"""Load an SCL file into the device IR: read → link → check → build, with located diagnostics.

``load_scl(path)`` is the one entry point the CLI, the generator and the SV bridge use. It
returns an ``SclModel`` even when there are problems: every IED that survives is in it, and
each problem is one located diagnostic that says what it cost (see ``diagnostics``). The
passes run per IED while the file streams (``read``: records with typed attributes,
``link``: references followed, ``check``: the rules, ``build``: the runtime model); the
shared sections (templates, Communication) are read first.

Exit statuses derive from the model (``SclModel.status``): 0 nothing left out, 1 elements
left out but something usable, 2 nothing usable.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

import gen61850.generated.scl_facts  # noqa: F401  (the schema facts, imported with the reader)
from gen61850.generator.scl.build import BuiltIed, IedBuilder
from gen61850.generator.scl.cache import ResolutionCache
from gen61850.generator.scl.check import StreamKey, check_document
from gen61850.generator.scl.communication import CommunicationReader
from gen61850.generator.scl.diagnostics import (
    Diagnostic,
    Diagnostics,
    SclError,
    Severity,
    ordered,
)
from gen61850.generator.scl.facts import SchemaFacts, schema_facts
from gen61850.generator.scl.guard import guarded
from gen61850.generator.scl.identity import (
    DocumentIdentities,
    IdentityRules,
    Result,
    report_clashes,
)
from gen61850.generator.scl.inputs import check_inputs
from gen61850.generator.scl.lines import at_start_lines
from gen61850.generator.scl.link import InstanceValues, Linker
from gen61850.generator.scl.link_types import TypeGraph, TypeInstantiator, types_below
from gen61850.generator.scl.mmslength import MmsLengthCheck
from gen61850.generator.scl.prefetch import SharedSections, fetch_shared
from gen61850.generator.scl.read import AttributeReader, ControlReader, IedReader
from gen61850.generator.scl.typedefs import TemplateReader, TypeDefs
from gen61850.generator.scl.xmlread import (
    SclContext,
    adopt,
    iter_sections,
    line_of,
    read_root,
    report_syntax_error,
    scan,
)
from gen61850.generator.scl.xsdcheck import validate_xsd
from gen61850.runtime.device import DataObject, Ied

if TYPE_CHECKING:  # the SV runtime (and numpy) is imported only when a file has SV streams
    from gen61850.runtime.sv.stream import StreamConfig

STATUS_COMPLETE = 0
STATUS_PARTIAL = 1
STATUS_UNUSABLE = 2
# Keyrefs whose dangling references the linker reports itself, with what they cost.
_LINKED_KEYREFS = frozenset({"LNodeTypeKey"})


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
    readable: bool = True  # False: the file could not be read as SCL at all
    revision: str = ""
    schema: str = ""  # the official schema it was validated against ("" when none)
    streams: Mapping[StreamKey, tuple[int, StreamConfig | str]] = field(default_factory=dict)
    incomplete: frozenset[tuple[str, str, str, str]] = frozenset()  # IED, LD, LN, data set
    ln_types: Mapping[str, frozenset[str]] = field(default_factory=dict)  # per IED
    ied_lines: Mapping[str, int] = field(default_factory=dict)
    ied_sections: int = 0  # IED elements in the file (whether or not they survived)
    type_graph: TypeGraph = field(default_factory=TypeGraph)
    base_objects: Mapping[tuple[str, str, int], DataObject | None] = field(default_factory=dict)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.WARNING)

    @property
    def status(self) -> int:
        """0: nothing left out; 1: elements left out, the rest usable; 2: nothing usable
        (the file could not be read, or it has IED sections and none survived)."""
        if not self.readable:
            return STATUS_UNUSABLE
        if not self.errors:
            return STATUS_COMPLETE
        return STATUS_PARTIAL if self.ieds or not self.ied_sections else STATUS_UNUSABLE

    def raise_on_errors(self) -> None:
        if self.errors:
            raise SclError(self.diagnostics)

    def ied(self, name: str) -> Ied:
        """The IED called ``name``; SclError listing the known names otherwise (and why it
        was left out, when it was)."""
        found = next((i for i in self.ieds if i.name == name), None)
        if found is None:
            known = ", ".join(i.name for i in self.ieds) or "none"
            why = [d for d in self.errors if d.cost == f"IED {name}"]
            message = f"no IED {name!r} (IEDs: {known})"
            if why:
                message = f"IED {name!r} was left out: {why[0]}"
            raise SclError((Diagnostic(str(self.path), 0, Severity.ERROR, message),))
        return found

    def left_out(self, ied: str) -> tuple[Diagnostic, ...]:
        """The errors that cost IED ``ied`` something: its own, and those of the types it
        uses (a type's problem is reported once, at the type)."""
        errors = self.errors
        if not errors:
            return ()
        scopes = {f"IED:{ied}"}
        for ln_type in self.ln_types.get(ied, ()):
            scopes |= types_below(self.typedefs, ln_type)
        return tuple(d for d in errors if d.scope in scopes)

    def incomplete_in(self, ied: str, ld_inst: str, ln_name: str) -> frozenset[str]:
        """Names of the data sets of one LN that lost members."""
        return frozenset(
            ds for i, ld, ln, ds in self.incomplete if (i, ld, ln) == (ied, ld_inst, ln_name)
        )


def load_scl(
    path: Path,
    *,
    display_name: str | None = None,
    validate: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
    facts: SchemaFacts | None = None,
    xsd: Sequence[Path] | None = None,
) -> SclModel:
    """Read and resolve ``path``; all problems are in ``SclModel.diagnostics``.

    ``validate`` also checks against the official XSD of the file's version when one is
    supplied (``xsd`` folders, else ``$GEN61850_SCL_XSD``; see ``xsdcheck``); ``progress`` is
    called after each IED with (done, total, label); ``facts`` replaces the schema facts of
    ``specs/xsd/scl`` (tests, new schemas).

    One streaming pass when the shared sections can be fetched ahead (``prefetch``); two
    (sections first, then IEDs) when they cannot or the streamed file disagrees.
    """
    with _cyclic_gc_paused():
        diagnostics = Diagnostics(display_name or str(path))
        loader = _Loader(Path(path), diagnostics, facts or schema_facts(), progress)
        return loader.load(validate, xsd)


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


class _SectionsMoved(Exception):
    """The streamed file's shared sections are not the ones fetched ahead."""


class _SplicedStumbled(Exception):
    """Malformed XML met while the stream skipped the sections fetched ahead."""


_SECTIONS = ("Communication", "IED", "DataTypeTemplates")


class _Loader:
    def __init__(
        self,
        path: Path,
        diagnostics: Diagnostics,
        facts: SchemaFacts,
        progress: Callable[[int, int, str], None] | None,
    ) -> None:
        self.path = path
        self.diagnostics = diagnostics
        self.facts = facts
        self.rules = IdentityRules(facts)
        self.progress = progress
        self.root: SclContext | None = None

    def unusable(self, context: SclContext | None = None) -> SclModel:
        return SclModel(
            self.path,
            context.edition if context else "",
            context.version if context else "",
            context.release if context else "",
            (),
            TypeDefs(),
            self.diagnostics.sorted(),
            readable=False,
        )

    def load(self, validate: bool, xsd: Sequence[Path] | None = None) -> SclModel:
        model = self._read()
        schema = None
        if validate and self.root is not None:
            schema = validate_xsd(self.path, self.root, self.diagnostics, xsd)
        located = ordered(at_start_lines(self.path, self.diagnostics.items))
        return replace(model, diagnostics=located, schema=schema or "")

    def _read(self) -> SclModel:
        diagnostics = self.diagnostics
        root = self.root = read_root(self.path, diagnostics)
        if root is None:
            return self.unusable()
        mark = len(diagnostics.items)
        shared = fetch_shared(self.path, count_ieds=self.progress is not None)
        if shared is not None:
            context = replace(
                root,
                communication=shared.communication,
                templates=shared.templates,
                ied_count=shared.ied_count,
            )
            # the stream skips the sections fetched ahead; should it stumble (malformed XML
            # where the guess was wrong), it is read again whole, as if never skipped
            for spliced in (True, False) if shared.cuts else (False,):
                try:
                    return self._load(context, shared, spliced)
                except _SplicedStumbled:
                    del diagnostics.items[mark:]
                    diagnostics.forget_rules()
                except _SectionsMoved:
                    del diagnostics.items[mark:]  # read again the safe way; report each once
                    diagnostics.forget_rules()
                    break
        scanned = scan(self.path, diagnostics)
        if scanned is None:
            return self.unusable(root)
        return self._load(scanned, None)

    def _load(
        self, context: SclContext, shared: SharedSections | None, spliced: bool = False
    ) -> SclModel:
        """Resolve every IED while streaming; ``shared`` set: check the sections on the way
        (``spliced``: the stream skips their bytes, see ``SharedSections.cuts``)."""
        d = self.diagnostics
        edition = context.edition
        attributes = AttributeReader(self.facts, d, edition)
        for section in (context.templates, context.communication):
            adopt(section, context.namespace)
        typedefs = TemplateReader(self.facts, self.rules, d).read(context.templates)
        connected = CommunicationReader(self.rules, d).read(context.communication)
        document = DocumentIdentities(self.rules, skip=_LINKED_KEYREFS)
        for section in (context.templates, context.communication):
            if section is not None:
                self._feed(document, section)
        cache = ResolutionCache()
        graph = TypeGraph.analyse(typedefs, d)
        types = TypeInstantiator(typedefs, d, cache, graph)
        values = InstanceValues(types, self.rules, d, cache)
        linker = Linker(types, values, ControlReader(attributes), connected, d, cache)
        builder = IedBuilder(types, linker, MmsLengthCheck(d, cache), connected, edition, d)
        reader = IedReader(attributes, self.rules, d)
        built: list[BuiltIed] = []
        sections = 0
        names = _SECTIONS if shared is not None else ("IED",)
        seen: set[str] = set()
        stumbled = False
        try:
            cuts = shared.cuts if shared is not None and spliced else ()
            for name, element in iter_sections(self.path, names, context.namespace, cuts):
                if name != "IED":
                    if shared is not None and not shared.matches(name, element, spliced=spliced):
                        raise _SectionsMoved
                    seen.add(name)
                    continue
                sections += 1
                if self._feed(document, element):
                    continue  # a repeated IED name: left out, reported by _feed
                made = self._ied(element, reader, builder)
                if made is None:
                    continue
                built.append(made)
                if self.progress is not None:
                    total = max(context.ied_count, len(built))
                    self.progress(len(built), total, f"IED {made.ied.name}")
        except etree.XMLSyntaxError as error:
            if spliced:
                stumbled = True  # raised below: raised here, the error's frames would
                # form a cycle with this one, and collecting it can crash lxml's iterparse
            elif shared is None:  # the file changed between the passes
                d.error(0, f"cannot read the IED sections again: {error.msg}", cost="file")
            else:
                report_syntax_error(self.path, error, d)
            if not stumbled:
                return self.unusable(context)
        except OSError as error:
            d.error(0, f"cannot read the IED sections: {error.strerror or error}", cost="file")
            return self.unusable(context)
        if stumbled:
            raise _SplicedStumbled
        if shared is not None:
            fetched = {"Communication": shared.communication, "DataTypeTemplates": shared.templates}
            if any((fetched[n] is not None) != (n in seen) for n in fetched):
                raise _SectionsMoved
        ieds = [b.ied for b in built]
        lines = {b.ied.name: b.line for b in built}
        check_inputs(ieds, builder.pending_inputs, d)
        kept = check_document(ieds, lines, document.dangling(), self.rules, d)
        kept_names = {i.name for i in kept}
        streams: dict[StreamKey, tuple[int, StreamConfig | str]] = {}
        incomplete: set[tuple[str, str, str, str]] = set()
        for b in built:
            if b.ied.name in kept_names:
                streams.update(b.streams)
                incomplete.update((b.ied.name, *x) for x in b.incomplete)
        return SclModel(
            self.path,
            edition,
            context.version,
            context.release,
            tuple(kept),
            typedefs,
            d.sorted(),
            revision=context.revision,
            streams=streams,
            incomplete=frozenset(incomplete),
            ln_types={b.ied.name: b.ln_types for b in built if b.ied.name in kept_names},
            ied_lines=lines,
            ied_sections=sections,
            type_graph=graph,
            base_objects=cache.data_objects,
        )

    def _feed(self, document: DocumentIdentities, section: etree._Element) -> bool:
        """Feed a top-level section to the document's constraints; True when it repeats an
        earlier one (it is then left out)."""
        clashes = document.feed(section)
        if not clashes:
            return False
        dropped = report_clashes(Result(clashes=clashes), "the file", self.diagnostics)
        return id(section) in dropped

    def _ied(
        self, element: etree._Element, reader: IedReader, builder: IedBuilder
    ) -> BuiltIed | None:
        d = self.diagnostics
        name = (element.get("name") or "").strip()
        with d.scoped(f"IED:{name}"):
            record = guarded(d, line_of(element), f"IED {name}", reader.ied, element)
            if record is None:
                return None
            return guarded(d, record.line, f"IED {name}", builder.build, record)


__all__ = [
    "STATUS_COMPLETE",
    "STATUS_PARTIAL",
    "STATUS_UNUSABLE",
    "SclModel",
    "load_scl",
]
