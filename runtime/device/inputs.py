"""External references of a logical node (SCL ``Inputs/ExtRef``): what it subscribes to.

An ``ExtRef`` names the source data (``iedName``, ``ldInst``, ``prefix``, ``lnClass``,
``lnInst``, ``doName``, ``daName``), how it arrives (``serviceType``: GOOSE, SMV, Report,
Poll) and, from Ed. 2, the source control block (``srcLDInst``/``srcLNClass``/``srcCBName``).
``intAddr`` is the receiving IED's own internal address. An ExtRef with only ``intAddr``
(and maybe the Ed. 2 ``pServT``/``pLN``/``pDO``/``pDA`` restrictions) is not bound yet.
"""

from __future__ import annotations

from dataclasses import dataclass

SERVICE_TYPES = ("Poll", "Report", "GOOSE", "SMV")


@dataclass(frozen=True, slots=True)
class ExtRef:
    """One Inputs/ExtRef; the empty string stands for an attribute SCL leaves out."""

    ied_name: str = ""
    ld_inst: str = ""
    prefix: str = ""
    ln_class: str = ""
    ln_inst: str = ""
    do_name: str = ""
    da_name: str = ""
    int_addr: str = ""
    service_type: str = ""
    src_ld_inst: str = ""
    src_prefix: str = ""
    src_ln_class: str = ""
    src_ln_inst: str = ""
    src_cb_name: str = ""
    desc: str = ""
    p_serv_t: str = ""
    p_ln: str = ""
    p_do: str = ""
    p_da: str = ""

    @property
    def is_bound(self) -> bool:
        """Whether it names its source data (IED, LD, LN class and DO)."""
        return bool(self.ied_name and self.ld_inst and self.ln_class and self.do_name)

    @property
    def data_path(self) -> str:
        """``ldInst/LN.DO[.DA]`` in the source IED (``Ied.find`` resolves it); "" if unbound."""
        if not self.is_bound:
            return ""
        ln = f"{self.prefix}{self.ln_class}{self.ln_inst}"
        return ".".join(p for p in (f"{self.ld_inst}/{ln}", self.do_name, self.da_name) if p)

    @property
    def control_block_path(self) -> str:
        """``srcLDInst/LN.srcCBName`` in the source IED (LLN0 and ``ldInst`` by default)."""
        if not self.src_cb_name:
            return ""
        ld = self.src_ld_inst or self.ld_inst
        ln = f"{self.src_prefix}{self.src_ln_class or 'LLN0'}{self.src_ln_inst}"
        return f"{ld}/{ln}.{self.src_cb_name}"


__all__ = ["SERVICE_TYPES", "ExtRef"]
