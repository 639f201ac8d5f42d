"""A sans-I/O 8-2 core serving ``control_ied.icd`` with its control service, driven by hand.

Shared by the control and setting-group tests and the XML test vectors of the docs:
several clients (peers), a clock the test moves, every payload the core sends checked
against the schema, and helpers that read what came out (which PDU, which report).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gen61850.generated.scsm_8_2 import codec, services
from gen61850.generated.scsm_8_2.bindings import (
    AccessResult,
    Data,
    DataList,
    InformationReport,
    Mmspdu,
    ReadRequest,
    WriteRequest,
)
from gen61850.generator.scl.model import load_scl
from gen61850.runtime.device.control import ControlHandler, Origin
from gen61850.runtime.xmpp import pdus
from gen61850.runtime.xmpp.client import variables
from gen61850.runtime.xmpp.control_client import request_data
from gen61850.runtime.xmpp.controls import ControlService, LastApplError
from gen61850.runtime.xmpp.core import ServerCore
from gen61850.runtime.xmpp.model import ServedModel
from gen61850.runtime.xmpp.outputs import IqError, IqResult, Message, Output
from gen61850.runtime.xmpp.setting_groups import SettingGroupService
from tests.xmpp.conftest import SchemaCheck

HERE = Path(__file__).parent
CONTROL_SCL = HERE / "control_ied.icd"
LD = "CIEDLD0"
A = "client1@iec61850.test/IEC"
B = "client2@iec61850.test/IEC"
NS = "{" + codec.NAMESPACE + "}"
T0 = 1_800_000_000.0  # the clock the tests start at (2027-01-15)


def control_model(clock: Any) -> ServedModel:
    scl = load_scl(CONTROL_SCL)
    scl.raise_on_errors()
    return ServedModel.from_ied(scl.ieds[0], clock=clock)


@dataclass
class Reply:
    """What one request produced: the answer and the reports around it, in order."""

    outputs: list[Output]

    @property
    def kinds(self) -> list[str]:
        return [kind(o) for o in self.outputs]

    @property
    def answer(self) -> Mmspdu:
        found = [o for o in self.outputs if isinstance(o, IqResult)]
        assert len(found) == 1, self.kinds
        return codec.decode(found[0].payload).pdu

    def write_codes(self) -> list[int | None]:
        response = self.answer.confirmed_response_pdu
        assert response is not None and response.service.write is not None, self.kinds
        return [r.failure if r.success is None else None for r in response.service.write.choice]

    def read_results(self) -> list[AccessResult]:
        response = self.answer.confirmed_response_pdu
        assert response is not None and response.service.read is not None, self.kinds
        return response.service.read.list_of_access_result.access_result

    @property
    def reports(self) -> list[InformationReport]:
        return [report_of(o) for o in self.outputs if isinstance(o, Message)]


def kind(output: Output) -> str:
    """``answer``, ``error:COND``, ``LastApplError``, ``CommandTermination+``/``-``, ``report``."""
    if isinstance(output, IqError):
        return f"error:{output.condition}"
    if isinstance(output, IqResult):
        return "answer"
    if isinstance(output, Message):
        try:
            report = report_of(output)
        except AssertionError:
            return "message"
        names = report_names(report)
        if names and names[-1].endswith("$Oper"):
            return "CommandTermination-" if "LastApplError" in names else "CommandTermination+"
        if names == ["LastApplError"]:
            return "LastApplError"
        return "report"
    return type(output).__name__.lower()


def report_of(output: Output) -> InformationReport:
    assert isinstance(output, Message)
    unconfirmed = codec.decode(output.payload).pdu.unconfirmed_pdu
    assert unconfirmed is not None
    report = unconfirmed.unconfirmed_service.information_report
    assert report is not None
    return report


def report_names(report: InformationReport) -> list[str]:
    spec = report.variable_access_specification.list_of_variable
    assert spec is not None
    names = []
    for definition in spec.sequence:
        name = definition.variable_specification.name
        assert name is not None
        if name.vmd_specific is not None:
            names.append(name.vmd_specific)
        else:
            assert name.domain_specific is not None
            names.append(f"{name.domain_specific.domain_id}/{name.domain_specific.item_id}")
    return names


def last_appl_error(report: InformationReport) -> LastApplError:
    names = report_names(report)
    index = names.index("LastApplError")
    data = report.list_of_access_result.access_result[index].success
    assert data is not None
    return LastApplError.of(data)


@dataclass
class ControlDriver:
    """The core with its control service; ``now`` is the clock of both."""

    handler: ControlHandler | None = None
    now: float = T0
    check: SchemaCheck = field(default_factory=SchemaCheck)
    count: int = 0

    def __post_init__(self) -> None:
        self.model = control_model(lambda: self.now)
        self.core = ServerCore(self.model, local_jid="cied@iec61850.test/IEC")
        self.core.inspect = lambda direction, element: (
            self.check(direction, element) if direction == "sent" else None
        )
        self.controls = ControlService(self.core, self.handler)
        self.settings = SettingGroupService(self.core)
        self.ctl_nums: dict[str, int] = {}
        self.last: dict[str, str] = {}

    # ------------------------------------------------------------ association

    def associate(self, peer: str = A, association: str = "a1") -> None:
        reply = self.send(peer, "set", pdus.initiate_request(65_000, 8), association)
        assert reply.answer.initiate_response_pdu is not None

    def release(self, peer: str = A, association: str = "a1") -> None:
        reply = self.send(peer, "set", pdus.conclude_request(), association)
        assert reply.answer.conclude_response_pdu is not None

    def send(
        self, peer: str, iq_type: str, pdu: Mmspdu | ET.Element, association: str = "a1"
    ) -> Reply:
        self.count += 1
        element = (
            pdu if isinstance(pdu, ET.Element) else codec.encode(pdus.context(association, pdu))
        )
        return Reply(self.core.receive(peer, iq_type, f"q{self.count}", element, self.now))

    def advance(self, seconds: float) -> Reply:
        """Move the clock and run the timers due."""
        self.now += seconds
        return Reply(self.core.handle_timer(self.now))

    # ------------------------------------------------------------ services

    def read(self, item: str, peer: str = A, association: str = "a1") -> Reply:
        request = ReadRequest(variable_access_specification=variables([(LD, item)]))
        return self.send(peer, "get", services.read_request(7, request), association)

    def select(self, do: str, peer: str = A, association: str = "a1") -> str:
        """Select (a read of SBO); the string the server answers."""
        (result,) = self.read(f"{do.replace('.', '$CO$', 1)}$SBO", peer, association).read_results()
        assert result.success is not None and result.success.visible_string is not None
        return result.success.visible_string

    def control_data(self, do: str, which: str, value: Any, **parameters: Any) -> Data:
        """The SBOw/Oper/Cancel Data of ``do`` (``LN.DO``) as the client builds it."""
        item = f"{do.replace('.', '$CO$', 1)}${which}"
        # a new ctlNum per SelectWithValue, and per Operate not preceded by one
        fresh = which == "SBOw" or (which == "Oper" and self.last.get(do) != "SBOw")
        ctl_num = parameters.pop("ctl_num", self.ctl_nums.get(do, 0) + fresh)
        self.ctl_nums[do] = ctl_num
        self.last[do] = which
        values = {
            "ctlVal": value,
            "operTm": parameters.pop("oper_tm", None),
            "origin": parameters.pop("origin", Origin(3, b"op1")),
            "ctlNum": ctl_num,
            "T": parameters.pop("t", self.now),
            "Test": parameters.pop("test", False),
            "Check": parameters.pop("check", None),
        }
        assert not parameters, parameters
        return request_data(self.model.stored_type(LD, item), values, item)

    def write(self, item: str, data: Data, peer: str = A, association: str = "a1") -> Reply:
        request = WriteRequest(
            variable_access_specification=variables([(LD, item)]),
            list_of_data=DataList(data=[data]),
        )
        return self.send(peer, "set", services.write_request(9, request), association)

    def control(
        self,
        do: str,
        which: str,
        value: Any = None,
        peer: str = A,
        association: str = "a1",
        **parameters: Any,
    ) -> Reply:
        """SBOw, Oper or Cancel of ``do`` (``LN.DO``)."""
        data = self.control_data(do, which, value, **parameters)
        return self.write(f"{do.replace('.', '$CO$', 1)}${which}", data, peer, association)

    def value(self, item: str) -> Any:
        return self.model.store.values[(LD, item)]


__all__ = [
    "CONTROL_SCL",
    "LD",
    "T0",
    "A",
    "B",
    "ControlDriver",
    "Reply",
    "control_model",
    "kind",
    "last_appl_error",
    "report_names",
    "report_of",
]
