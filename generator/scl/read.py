"""Pass 1 of an IED section: read elements into records, attributes typed from the schema facts.

``AttributeReader`` reads the attributes of one element as the schema facts describe them
(base type, enumeration, bounds, default, required): a value that does not fit falls back to
its default with a located warning; a required attribute that is missing is a warning, or an
error that leaves the element out when the element cannot be used without it (``essential``).
The record types hold what the later passes need (``link`` resolves references, ``check``
applies the rules, ``build`` makes the runtime model); each element is read through
``guarded``, so a failure costs that element only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar, cast

from lxml import etree

from gen61850.generator.scl.diagnostics import Diagnostics
from gen61850.generator.scl.facts import AttributeFact, SchemaFacts
from gen61850.generator.scl.guard import guarded
from gen61850.generator.scl.identity import IdentityRules, Result, report_clashes
from gen61850.generator.scl.xmlread import (
    line_of,
    local_name,
    scl_child,
    scl_children,
    scl_children_named,
)
from gen61850.runtime.device import (
    GseControl,
    LogControl,
    OptFields,
    ReportControl,
    SampledValueControl,
    SettingControl,
    SmpMod,
    SmvOpts,
    TrgOps,
)

_TRUE = frozenset(("true", "1"))
_FALSE = frozenset(("false", "0"))
Value = str | int | bool | None
# What an LN holds besides its DOIs, read once per LN (by local name).
LN_PARTS = (
    "DataSet",
    "ReportControl",
    "LogControl",
    "GSEControl",
    "SampledValueControl",
    "SettingControl",
    "Inputs",
)
_LN_CHILDREN = (*LN_PARTS, "DOI")
# Keys whose references the linker checks itself (it reports what they cost).
_LINKED_KEYS = frozenset({"LDeviceInIEDKey"})


class AttributeReader:
    """Typed attribute values of one file, with its edition's defaults."""

    def __init__(self, facts: SchemaFacts, diagnostics: Diagnostics, edition: str) -> None:
        self.facts = facts
        self.diagnostics = diagnostics
        self.edition = edition
        self._tables: dict[tuple[str, str], Mapping[str, AttributeFact]] = {}
        # per (tag, parent): (name, fact, fallback value, plain text) for each attribute
        self._compiled: dict[tuple[str, str], list[tuple[str, AttributeFact, Value, bool]]] = {}
        # (fact's id, text) → what ``convert`` gives (the facts are held by ``_compiled``)
        self._converted: dict[tuple[int, str], tuple[Value, str | None]] = {}
        self._fallbacks: dict[tuple[str, str], dict[str, Value]] = {}

    def table(self, tag: str, parent: str = "") -> Mapping[str, AttributeFact]:
        key = (tag, parent)
        found = self._tables.get(key)
        if found is None:
            found = self._tables[key] = self.facts.attributes(tag, parent)
        return found

    def read(
        self,
        element: etree._Element,
        tag: str,
        what: str,
        *,
        essential: tuple[str, ...] = (),
        parent: str = "",
    ) -> dict[str, Value] | None:
        """Every attribute the schema declares for ``tag``: typed, or its fallback (None when
        it has none). None, with an error costing ``what``, when an ``essential`` attribute
        is missing or empty."""
        values: dict[str, Value] = {}
        table = self.table(tag, parent)
        missing = [n for n in essential if not (element.get(n) or "").strip()]
        if missing:
            names = " and ".join(repr(n) for n in missing)
            self.diagnostics.error(
                element.sourceline,
                f"{what} left out: no {names}",
                cost=what,
                rule="required",
                tag=tag,
            )
            return None
        compiled = self._compiled.get((tag, parent))
        if compiled is None:
            compiled = self._compiled[(tag, parent)] = [
                (name, fact, self._fallback(fact), _plain(fact)) for name, fact in table.items()
            ]
        get = element.get
        for name, fact, fallback, plain in compiled:
            text = get(name)
            if text is None:
                if fact.required:
                    self.diagnostics.warning(
                        element.sourceline,
                        f"{what}: required attribute {name!r} missing"
                        + ("" if fact.fallback is None else f" (read as {fact.fallback!r})"),
                        rule="required",
                        tag=tag,
                    )
                values[name] = fallback
            elif plain:
                values[name] = text if fact.base == "string" else " ".join(text.split())
            else:
                converted = self._converted.get((id(fact), text))
                if converted is not None and converted[1] is None:
                    values[name] = converted[0]
                else:
                    values[name] = self.value(element, tag, fact, text, what)
        return values

    def fallbacks(self, tag: str) -> dict[str, Value]:
        """Every attribute of ``tag`` at its fallback (an element that is absent); a copy."""
        found = self._fallbacks.get((tag, ""))
        if found is None:
            table = self.table(tag)
            found = self._fallbacks[(tag, "")] = {n: self._fallback(f) for n, f in table.items()}
        return dict(found)

    def _fallback(self, fact: AttributeFact) -> Value:
        text = fact.fallback_in(self.edition)
        if text is None:
            return None
        return self.convert(fact, text)[0]

    def value(
        self, element: etree._Element, tag: str, fact: AttributeFact, text: str, what: str
    ) -> Value:
        """``text`` as the schema types it; the fallback, with a warning, when it does not fit."""
        key = (id(fact), text)
        converted = self._converted.get(key)
        if converted is None:
            converted = self._converted[key] = self.convert(fact, text)
        value, problem = converted
        if problem is None:
            return value
        fallback = fact.fallback_in(self.edition)
        instead = f"read as {fallback!r}" if fallback is not None else "ignored"
        self.diagnostics.warning(
            element.sourceline,
            f"{what}: {fact.name} {_shown(text)} {problem} ({instead})",
            rule="value",
            tag=tag,
        )
        return self._fallback(fact)

    @staticmethod
    def convert(fact: AttributeFact, text: str) -> tuple[Value, str | None]:
        """(value, None), or (None, why it does not fit)."""
        if fact.base == "boolean":
            word = text.strip().lower()
            if word in _TRUE:
                return True, None
            if word in _FALSE:
                return False, None
            return None, "is not a boolean"
        if fact.is_integer:
            stripped = text.strip()
            if not stripped.lstrip("+-").isdigit() or len(stripped) > 40:
                return None, "is not an integer"
            number = int(stripped)
            if fact.minimum is not None and number < fact.minimum:
                return None, f"is below {fact.minimum}"
            if fact.maximum is not None and number > fact.maximum:
                return None, f"is above {fact.maximum}"
            return number, None
        value = " ".join(text.split()) if fact.base != "string" else text
        if fact.enumeration and not fact.open_enumeration and value not in fact.enumeration:
            shown = ", ".join(fact.enumeration[:8]) + (", ..." if len(fact.enumeration) > 8 else "")
            return None, f"is not one of {shown}"
        return value, None


def _plain(fact: AttributeFact) -> bool:
    """Whether any text is a value of the attribute (a string without a closed list)."""
    return (
        fact.base not in ("boolean",)
        and not fact.is_integer
        and not (fact.enumeration and not fact.open_enumeration)
    )


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:40] + "...")


def text(values: Mapping[str, Value], name: str, default: str = "") -> str:
    value = values.get(name)
    return value if isinstance(value, str) else default


def number(values: Mapping[str, Value], name: str, default: int = 0) -> int:
    value = values.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def flag(values: Mapping[str, Value], name: str, default: bool = False) -> bool:
    value = values.get(name)
    return value if isinstance(value, bool) else default


# -- records -----------------------------------------------------------------------------------


@dataclass(slots=True)
class LnRecord:
    """An LN or LN0 as read: attributes, its element (for DOIs) and its parts by kind."""

    element: etree._Element
    tag: str
    line: int
    ln_class: str
    ln_type: str
    prefix: str
    inst: str
    desc: str
    parts: dict[str, list[etree._Element]]
    identities: Result
    dois: list[etree._Element] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.prefix}{self.ln_class}{self.inst}"


@dataclass(slots=True)
class LdRecord:
    element: etree._Element
    line: int
    inst: str
    name: str
    desc: str
    ap_name: str
    lns: list[LnRecord] = field(default_factory=list)


@dataclass(slots=True)
class ApRecord:
    name: str
    line: int
    lds: list[LdRecord] = field(default_factory=list)


@dataclass(slots=True)
class IedRecord:
    element: etree._Element
    line: int
    name: str
    manufacturer: str
    type: str
    config_version: str
    desc: str
    aps: list[ApRecord] = field(default_factory=list)


class IedReader:
    """Reads one IED section into records; leaves out what cannot be read, located."""

    def __init__(
        self, attributes: AttributeReader, rules: IdentityRules, diagnostics: Diagnostics
    ) -> None:
        self.attributes = attributes
        self.rules = rules
        self.diagnostics = diagnostics

    def ied(self, element: etree._Element) -> IedRecord | None:
        values = self.attributes.read(element, "IED", "IED", essential=("name",))
        if values is None:
            return None
        name = text(values, "name")
        record = IedRecord(
            element,
            line_of(element),
            name,
            text(values, "manufacturer"),
            text(values, "type"),
            text(values, "configVersion"),
            text(values, "desc"),
        )
        identities = self.rules.check("IED", element, skip=_LINKED_KEYS)
        dropped = self.report_clashes(identities, f"IED {name}")
        for ap in scl_children(element, "AccessPoint"):
            if id(ap) in dropped:
                continue
            made = guarded(
                self.diagnostics,
                line_of(ap),
                f"AccessPoint {name}/{ap.get('name', '')}",
                self._access_point,
                ap,
                record,
                dropped,
            )
            if made is not None:
                record.aps.append(made)
        return record

    def report_clashes(self, identities: Result, where: str) -> dict[int, etree._Element]:
        return report_clashes(identities, where, self.diagnostics)

    def _access_point(
        self, element: etree._Element, ied: IedRecord, dropped: dict[int, etree._Element]
    ) -> ApRecord:
        values = self.attributes.read(element, "AccessPoint", f"AccessPoint {ied.name}") or {}
        ap = ApRecord(text(values, "name"), line_of(element))
        self.report_clashes(self.rules.check("AccessPoint", element), f"AccessPoint {ap.name}")
        server = scl_child(element, "Server")
        if server is None:
            return ap
        for ld in scl_children(server, "LDevice"):
            if id(ld) in dropped:
                continue
            made = guarded(
                self.diagnostics,
                line_of(ld),
                f"LDevice {ied.name}{ld.get('inst', '')}",
                self._logical_device,
                ld,
                ied,
                ap,
            )
            if made is not None:
                ap.lds.append(made)
        return ap

    def _logical_device(
        self, element: etree._Element, ied: IedRecord, ap: ApRecord
    ) -> LdRecord | None:
        what = f"LDevice in IED {ied.name}"
        values = self.attributes.read(element, "LDevice", what, essential=("inst",))
        if values is None:
            return None
        inst = text(values, "inst")
        name = text(values, "ldName") or f"{ied.name}{inst}"
        if len(name) > 64:
            self.diagnostics.error(
                element.sourceline,
                f"LDevice {name} left out: its name has {len(name)} characters (at most 64)",
                cost=f"LDevice {name}",
                rule="value",
                tag="LDevice",
            )
            return None
        ld = LdRecord(element, line_of(element), inst, name, text(values, "desc"), ap.name)
        dropped = self.report_clashes(self.rules.check("LDevice", element), f"LDevice {name}")
        for child in element:
            tag = local_name(child)
            if tag not in ("LN0", "LN") or id(child) in dropped:
                continue
            made = guarded(
                self.diagnostics,
                line_of(child),
                f"{tag} in {name}",
                self._logical_node,
                child,
                tag,
                name,
            )
            if made is not None:
                ld.lns.append(made)
        return ld

    def _logical_node(self, element: etree._Element, tag: str, ld_name: str) -> LnRecord | None:
        where = (
            f"{ld_name}/{element.get('prefix', '')}{element.get('lnClass', '')}"
            f"{element.get('inst', '')}"
        )
        values = self.attributes.read(
            element, tag, f"{tag} {where}", essential=("lnClass", "lnType")
        )
        if values is None:
            return None
        found = scl_children_named(element, _LN_CHILDREN)
        children = {name: found.get(name, []) for name in _LN_CHILDREN}
        parts = {name: found[name] for name in LN_PARTS if name in found}
        return LnRecord(
            element,
            tag,
            line_of(element),
            text(values, "lnClass"),
            text(values, "lnType"),
            text(values, "prefix"),
            text(values, "inst"),
            text(values, "desc"),
            parts,
            self.rules.check(tag, element, children),
            children["DOI"],
        )


# -- control blocks -----------------------------------------------------------------------------

_Made = TypeVar("_Made")


def _trg_ops(values: Mapping[str, Value]) -> TrgOps:
    return TrgOps(
        dchg=flag(values, "dchg"),
        qchg=flag(values, "qchg"),
        dupd=flag(values, "dupd"),
        period=flag(values, "period"),
        gi=flag(values, "gi", True),
    )


def _opt_fields(values: Mapping[str, Value]) -> OptFields:
    return OptFields(
        seq_num=flag(values, "seqNum"),
        time_stamp=flag(values, "timeStamp"),
        data_set=flag(values, "dataSet"),
        reason_code=flag(values, "reasonCode"),
        data_ref=flag(values, "dataRef"),
        entry_id=flag(values, "entryID"),
        config_ref=flag(values, "configRef"),
        buf_ovfl=flag(values, "bufOvfl", True),
        segmentation=flag(values, "segmentation"),
    )


def _max_clients(values: Mapping[str, Value]) -> int:
    return number(values, "max", 1)


Block = SampledValueControl | GseControl | ReportControl | LogControl


@dataclass(frozen=True, slots=True)
class ControlRecord:
    """A control block as read (no address yet): its kind (element name), line, block."""

    tag: str
    line: int
    block: Block
    smp_mod_given: bool = False  # whether the file wrote smpMod (it has none in Ed. 1)


class ControlReader:
    """SampledValueControl, GSEControl, ReportControl, LogControl, SettingControl → runtime
    descriptions, every attribute typed and defaulted by the schema facts."""

    def __init__(self, attributes: AttributeReader) -> None:
        self.attributes = attributes
        self._made: dict[tuple[str, object], object] = {}

    def _options(self, element: etree._Element | None, tag: str, what: str) -> dict[str, Value]:
        if element is None:
            return self.attributes.fallbacks(tag)
        return self.attributes.read(element, tag, what) or {}

    def _shared(
        self,
        element: etree._Element | None,
        tag: str,
        what: str,
        build: Callable[[dict[str, Value]], _Made],
    ) -> _Made:
        """``build`` of an options element's typed attributes (TrgOps, OptFields, ...):
        elements with the same attributes share one object, made once (made and reported
        again each time reading them reported something)."""
        key = (tag, None if element is None else tuple(element.items()))
        found = self._made.get(key)
        if found is None:
            diagnostics = self.attributes.diagnostics
            before = len(diagnostics.items)
            found = build(self._options(element, tag, what))
            if len(diagnostics.items) == before:
                self._made[key] = found
        return cast(_Made, found)

    def sampled_value_control(self, element: etree._Element, where: str) -> ControlRecord | None:
        what = f"SampledValueControl {where}.{element.get('name', '')}"
        values = self.attributes.read(element, "SampledValueControl", what, essential=("name",))
        if values is None:
            return None
        opts = self._options(scl_child(element, "SmvOpts"), "SmvOpts", f"SmvOpts of {what}")
        mod = text(values, "smpMod", SmpMod.SMP_PER_PERIOD.value)
        block = SampledValueControl(
            name=text(values, "name"),
            smv_id=text(values, "smvID"),
            dat_set=text(values, "datSet") or None,
            conf_rev=number(values, "confRev"),
            smp_rate=number(values, "smpRate"),
            nof_asdu=number(values, "nofASDU"),
            smp_mod=SmpMod(mod) if mod in SmpMod._value2member_map_ else SmpMod.SMP_PER_PERIOD,
            multicast=flag(values, "multicast", True),
            opts=SmvOpts(
                refresh_time=flag(opts, "refreshTime"),
                sample_synchronized=flag(opts, "sampleSynchronized", True),
                sample_rate=flag(opts, "sampleRate"),
                data_set=flag(opts, "dataSet"),
                security=flag(opts, "security"),
                timestamp=flag(opts, "timestamp"),
                synch_source_id=flag(opts, "synchSourceId"),
            ),
            security_enable=text(values, "securityEnable", "None"),
            desc=text(values, "desc"),
        )
        given = element.get("smpMod") is not None
        return ControlRecord("SampledValueControl", line_of(element), block, given)

    def gse_control(self, element: etree._Element, where: str) -> ControlRecord | None:
        what = f"GSEControl {where}.{element.get('name', '')}"
        values = self.attributes.read(element, "GSEControl", what, essential=("name",))
        if values is None:
            return None
        block = GseControl(
            name=text(values, "name"),
            app_id=text(values, "appID"),
            dat_set=text(values, "datSet") or None,
            conf_rev=number(values, "confRev"),
            type=text(values, "type", "GOOSE"),
            fixed_offs=flag(values, "fixedOffs"),
            security_enable=text(values, "securityEnable", "None"),
            desc=text(values, "desc"),
        )
        return ControlRecord("GSEControl", line_of(element), block)

    def _trg_ops(self, element: etree._Element | None, what: str) -> TrgOps:
        return self._shared(element, "TrgOps", f"TrgOps of {what}", _trg_ops)

    def report_control(self, element: etree._Element, where: str) -> ControlRecord | None:
        what = f"ReportControl {where}.{element.get('name', '')}"
        values = self.attributes.read(element, "ReportControl", what, essential=("name",))
        if values is None:
            return None
        opt_fields = self._shared(
            scl_child(element, "OptFields"), "OptFields", f"OptFields of {what}", _opt_fields
        )
        enabled_element = scl_child(element, "RptEnabled")
        enabled = (
            self._shared(enabled_element, "RptEnabled", f"RptEnabled of {what}", _max_clients)
            if enabled_element is not None
            else 1
        )
        block = ReportControl(
            name=text(values, "name"),
            rpt_id=text(values, "rptID"),
            dat_set=text(values, "datSet") or None,
            conf_rev=number(values, "confRev"),
            buffered=flag(values, "buffered"),
            buf_time=number(values, "bufTime"),
            intg_pd=number(values, "intgPd"),
            indexed=flag(values, "indexed", True),
            max=enabled,
            trg_ops=self._trg_ops(scl_child(element, "TrgOps"), what),
            opt_fields=opt_fields,
            desc=text(values, "desc"),
        )
        return ControlRecord("ReportControl", line_of(element), block)

    def log_control(self, element: etree._Element, where: str) -> ControlRecord | None:
        what = f"LogControl {where}.{element.get('name', '')}"
        values = self.attributes.read(element, "LogControl", what, essential=("name",))
        if values is None:
            return None
        block = LogControl(
            name=text(values, "name"),
            dat_set=text(values, "datSet") or None,
            log_name=text(values, "logName"),
            log_ena=flag(values, "logEna", True),
            intg_pd=number(values, "intgPd"),
            reason_code=flag(values, "reasonCode", True),
            buf_time=number(values, "bufTime"),
            trg_ops=self._trg_ops(scl_child(element, "TrgOps"), what),
            ld_inst=text(values, "ldInst"),
            prefix=text(values, "prefix"),
            ln_class=text(values, "lnClass", "LLN0"),
            ln_inst=text(values, "lnInst"),
            desc=text(values, "desc"),
        )
        return ControlRecord("LogControl", line_of(element), block)

    def setting_control(self, element: etree._Element, where: str) -> SettingControl | None:
        what = f"SettingControl {where}"
        values = self.attributes.read(element, "SettingControl", what)
        if values is None:
            return None
        resv = values.get("resvTms")
        count = max(1, number(values, "numOfSGs", 1))
        active = number(values, "actSG", 1)
        if not 1 <= active <= count:
            self.attributes.diagnostics.warning(
                element.sourceline,
                f"{what}: actSG {active} is not within 1..{count} (read as 1)",
                rule="value",
                tag="SettingControl",
            )
            active = 1
        return SettingControl(
            count,
            active,
            resv if isinstance(resv, int) and not isinstance(resv, bool) else None,
            text(values, "desc"),
        )


__all__ = [
    "LN_PARTS",
    "ApRecord",
    "AttributeReader",
    "Block",
    "ControlReader",
    "ControlRecord",
    "IedReader",
    "IedRecord",
    "LdRecord",
    "LnRecord",
    "flag",
    "number",
    "text",
]
