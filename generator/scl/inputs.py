"""Inputs/ExtRef: read each LN's external references, then check them against the model.

Reading happens per IED while streaming; the check waits until every IED is resolved, since
a source IED may come later in the file. Only sources inside the file can be checked: an
ExtRef naming an IED the file does not hold (an ICD/CID seen alone) is kept as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lxml import etree

from gen61850.generator.scl.diagnostics import Diagnostics
from gen61850.generator.scl.xmlread import line_of, scl_children
from gen61850.runtime.device import (
    SERVICE_TYPES,
    ExtRef,
    GseControl,
    Ied,
    ReferenceError61850,
    SampledValueControl,
)

_ATTRIBUTES = {
    "ied_name": "iedName",
    "ld_inst": "ldInst",
    "prefix": "prefix",
    "ln_class": "lnClass",
    "ln_inst": "lnInst",
    "do_name": "doName",
    "da_name": "daName",
    "int_addr": "intAddr",
    "service_type": "serviceType",
    "src_ld_inst": "srcLDInst",
    "src_prefix": "srcPrefix",
    "src_ln_class": "srcLNClass",
    "src_ln_inst": "srcLNInst",
    "src_cb_name": "srcCBName",
    "desc": "desc",
    "p_serv_t": "pServT",
    "p_ln": "pLN",
    "p_do": "pDO",
    "p_da": "pDA",
}


@dataclass(frozen=True, slots=True)
class PendingExtRef:
    """An ExtRef waiting for the whole model: where it is and which LN holds it."""

    line: int
    where: str
    ext_ref: ExtRef


def read_inputs(
    inputs: Iterable[etree._Element], where: str, diagnostics: Diagnostics
) -> tuple[list[ExtRef], list[PendingExtRef]]:
    """The ExtRefs of an LN's Inputs sections, plus what to check once all IEDs are read."""
    found: list[ExtRef] = []
    pending: list[PendingExtRef] = []
    for section in inputs:
        for element in scl_children(section, "ExtRef"):
            ext_ref = ExtRef(**{k: element.get(a, "") for k, a in _ATTRIBUTES.items()})
            line = line_of(element)
            service = ext_ref.service_type
            if service and service not in SERVICE_TYPES:
                diagnostics.warning(
                    line,
                    f"ExtRef in {where}: serviceType {service!r} is not one of "
                    f"{', '.join(SERVICE_TYPES)}",
                    tag="ExtRef",
                    rule="reference",
                )
            if ext_ref.ied_name and not ext_ref.is_bound and not ext_ref.src_cb_name:
                diagnostics.warning(
                    line,
                    f"ExtRef in {where}: iedName {ext_ref.ied_name!r} without ldInst, "
                    "lnClass and doName names no data",
                    tag="ExtRef",
                    rule="reference",
                )
            if ext_ref.src_cb_name and not ext_ref.ied_name:
                diagnostics.warning(
                    line,
                    f"ExtRef in {where}: srcCBName without iedName",
                    tag="ExtRef",
                    rule="reference",
                )
            found.append(ext_ref)
            if ext_ref.ied_name:
                pending.append(PendingExtRef(line, where, ext_ref))
    return found, pending


def check_inputs(
    ieds: Sequence[Ied], pending: Iterable[PendingExtRef], diagnostics: Diagnostics
) -> None:
    """Warn about bound ExtRefs whose source data or control block is not in the file."""
    by_name = {ied.name: ied for ied in ieds}
    for item in pending:
        ext_ref = item.ext_ref
        source = by_name.get(ext_ref.ied_name)
        if source is None:
            continue
        what = f"ExtRef in {item.where}"
        if ext_ref.data_path:
            try:
                source.find(ext_ref.data_path)
            except ReferenceError61850 as problem:
                diagnostics.warning(
                    item.line,
                    f"{what}: source {ext_ref.ied_name} {problem}",
                    tag="ExtRef",
                    rule="reference",
                )
        if not ext_ref.control_block_path:
            continue
        try:
            block = source.find(ext_ref.control_block_path)
        except ReferenceError61850 as problem:
            diagnostics.warning(
                item.line,
                f"{what}: source {ext_ref.ied_name} {problem}",
                tag="ExtRef",
                rule="reference",
            )
            continue
        expected = {"GOOSE": GseControl, "SMV": SampledValueControl}.get(ext_ref.service_type)
        if expected is not None and not isinstance(block, expected):
            diagnostics.warning(
                item.line,
                f"{what}: serviceType {ext_ref.service_type} but "
                f"{ext_ref.ied_name} {ext_ref.control_block_path} is a {type(block).__name__}",
                tag="ExtRef",
                rule="reference",
            )


__all__ = ["PendingExtRef", "check_inputs", "read_inputs"]
