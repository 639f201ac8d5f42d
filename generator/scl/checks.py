"""Checks that need the whole resolved model (run by ``gen61850 scl check``).

MMS identifiers (``LLN0$ST$Mod$stVal``) are at most 64 characters (IEC 61850-8-1); a longer
one cannot be served over MMS or named in 8-2, so it is an error.
"""

from __future__ import annotations

from gen61850.generator.scl.diagnostics import Diagnostic, Severity
from gen61850.generator.scl.model import SclModel
from gen61850.runtime.device import MAX_NAME_LENGTH, mms_items


def mms_name_problems(model: SclModel) -> list[Diagnostic]:
    """One error per MMS name longer than 64 characters (and per LD name over 64)."""
    found: list[Diagnostic] = []
    file = str(model.path)
    for ied in model.ieds:
        for ld in ied.logical_devices:
            for ln in ld.logical_nodes:
                for item in mms_items(ln):
                    if len(item.name) > MAX_NAME_LENGTH:
                        found.append(
                            Diagnostic(
                                file,
                                0,
                                Severity.ERROR,
                                f"{ld.name}: MMS name {item.name!r} has {len(item.name)} characters "
                                f"(at most {MAX_NAME_LENGTH})",
                            )
                        )
    return found


__all__ = ["mms_name_problems"]
