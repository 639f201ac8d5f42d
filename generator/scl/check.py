"""Pass 3: the rules that need linked parts, for one IED and for the whole file.

- ``check_logical_nodes``: MMS names of at most 64 characters (a data object producing a
  longer one is left out) and one LN per name in an LD (the later one is left out);
- ``check_streams``: every SampledValueControl against what the SV runtime can send, with
  the file's edition semantics (the reasons become warnings: the block stays described);
- ``check_document``: what spans IEDs: duplicate IED names, IEDs whose packages would have
  the same name, ConnectedAPs for IEDs that are not in the file, Inputs/ExtRef sources.

The same functions run for ``scl check`` and ``scl generate``: both report the same
problems, and ``generate`` finds nothing new while rendering.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from gen61850.generator.scl.diagnostics import Diagnostics
from gen61850.generator.scl.identity import Dangling, IdentityRules
from gen61850.generator.scl.mmslength import MmsLengthCheck
from gen61850.generator.scl.naming import package_name
from gen61850.generator.scl.read import ControlRecord, LnRecord
from gen61850.generator.scl.typedefs import TypeDefs
from gen61850.runtime.device import Ied, LogicalNode, SampledValueControl

if TYPE_CHECKING:  # the SV runtime (and numpy) is imported only when a file has SV streams
    from gen61850.runtime.sv.stream import StreamConfig

StreamKey = tuple[str, str, str]  # (IED, LD inst, SampledValueControl name)


def check_logical_nodes(
    lns: Sequence[tuple[LnRecord, LogicalNode]],
    ld_name: str,
    typedefs: TypeDefs,
    mms: MmsLengthCheck,
    diagnostics: Diagnostics,
) -> list[tuple[LnRecord, LogicalNode]]:
    """The LNs of one LD that are kept, each without the data objects it cannot serve."""
    kept: list[tuple[LnRecord, LogicalNode]] = []
    seen: dict[str, int] = {}
    for record, ln in lns:
        if ln.name in seen:
            diagnostics.error(
                record.line,
                f"duplicate LN {ln.name} in {ld_name} (first at line {seen[ln.name]}): the "
                "later one is left out",
                cost=f"LN {ld_name}/{ln.name}",
                rule="identity",
                tag=record.tag,
            )
            continue
        seen[ln.name] = record.line
        definition = typedefs.lnode_types.get(ln.ln_type)
        culprits = mms.check(ln, record.element, definition, ld_name)
        if culprits:
            ln = replace(
                ln, data_objects=tuple(d for d in ln.data_objects if d.name not in culprits)
            )
        kept.append((record, ln))
    return kept


def check_streams(
    ied: Ied,
    controls: Iterable[tuple[str, ControlRecord, SampledValueControl]],
    incomplete: Mapping[tuple[str, str], frozenset[str]],
    edition: str,
    diagnostics: Diagnostics,
) -> dict[StreamKey, tuple[int, StreamConfig | str]]:
    """Each SampledValueControl's stream, or the reason (a warning) it has none."""
    found: dict[StreamKey, tuple[int, StreamConfig | str]] = {}
    controls = list(controls)
    if not controls:
        return found
    from gen61850.generator.scl.sv_streams import stream_or_reason

    for ld_inst, record, svc in controls:
        ld = ied.logical_device(ld_inst)
        if ld is None:
            continue
        what = f"SampledValueControl {ld.name}/LLN0.{svc.name}"
        if edition == "1" and record.smp_mod_given:
            diagnostics.warning(
                record.line,
                f"{what}: smpMod is not an Edition 1 attribute (read anyway)",
                rule="edition",
                tag="SampledValueControl",
            )
        result = stream_or_reason(
            ied,
            ld,
            svc,
            edition=edition,
            incomplete=incomplete.get((ld_inst, "LLN0"), frozenset()),
        )
        if isinstance(result, str):
            diagnostics.warning(
                record.line,
                f"{what}: described without a stream: {result}",
                rule="stream",
                tag="SampledValueControl",
            )
        found[(ied.name, ld_inst, svc.name)] = (record.line, result)
    return found


def check_document(
    ieds: list[Ied],
    lines: Mapping[str, int],
    dangling: Iterable[Dangling],
    rules: IdentityRules,
    diagnostics: Diagnostics,
) -> list[Ied]:
    """The IEDs that are kept: one per package name; warnings for references to IEDs that
    the file does not hold."""
    kept: list[Ied] = []
    packages: dict[str, Ied] = {}
    for ied in ieds:
        package = package_name(ied.name)
        other = packages.get(package)
        if other is not None:
            with diagnostics.scoped(f"IED:{ied.name}"):
                diagnostics.error(
                    lines.get(ied.name, 0),
                    f"IED {ied.name} left out: its package name {package!r} is that of IED "
                    f"{other.name} (line {lines.get(other.name, 0)})",
                    cost=f"IED {ied.name}",
                    rule="identity",
                    tag="IED",
                )
            continue
        packages[package] = ied
        kept.append(ied)
    for reference in dangling:
        target = rules.keys.get(reference.constraint.refer)
        kind = target.selector[0][-1] if target is not None and target.selector else "key"
        key = ", ".join(repr(k) for k in reference.found.key)
        diagnostics.warning(
            reference.found.line,
            f"{reference.found.tag} names {kind} {key}, which is not in the file (schema: "
            f"{reference.constraint.name})",
            rule="identity",
            tag=reference.found.tag,
        )
    return kept


__all__ = ["StreamKey", "check_document", "check_logical_nodes", "check_streams"]
