"""The sans-I/O server core, without any XMPP: payloads and a clock in, ordered outputs out.

Tables of (request, expected outputs); object providers plugged in by name prefix; effects
around an answer; deferred answers; the association's life against the XMPP session.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest

from gen61850.generated.scsm_8_2 import codec, services
from gen61850.generated.scsm_8_2.bindings import (
    Data,
    GetNameListRequest,
    GetNameListResponse,
    ListOfIdentifier,
    Mmspdu,
    ObjectClass,
    ObjectScope,
    ReadRequest,
    TypeDescription,
    WriteRequest,
)
from gen61850.runtime.device import FC, BasicType, DataAttribute
from gen61850.runtime.xmpp import pdus
from gen61850.runtime.xmpp.client import variables
from gen61850.runtime.xmpp.core import Deferred, ServerCore
from gen61850.runtime.xmpp.handlers import ServiceFailure
from gen61850.runtime.xmpp.mapping import DataAccessError
from gen61850.runtime.xmpp.model import AccessFailure, ServedModel
from gen61850.runtime.xmpp.outputs import IqError, IqResult, Job, Message, Output, Presence
from gen61850.runtime.xmpp.scope import CallContext
from gen61850.runtime.xmpp.values import boolean, leaf_type_description, structure_description
from tests.xmpp.conftest import OWN_SCL, SchemaCheck, served_model

PEER = "client1@iec61850.test/IEC"
LD = "XIEDLD0"
NS = "{" + codec.NAMESPACE + "}"


def _pdu_kind(output: Output) -> str:
    """``iq:initiate-ResponsePDU``, ``message:rejectPDU``, ``error:bad-request``, ..."""
    if isinstance(output, IqError):
        return f"error:{output.condition}"
    if isinstance(output, Presence):
        return "presence"
    if isinstance(output, Job):
        return "job"
    pdu = output.payload.find(f"{NS}pdu")
    assert pdu is not None and len(pdu) == 1
    kind = pdu[0].tag.removeprefix(NS)
    if kind == "confirmed-ErrorPDU":
        error_class = pdu[0].find(f"{NS}serviceError/{NS}errorClass")
        assert error_class is not None
        kind += f"({error_class[0].tag.removeprefix(NS)}={error_class[0].text})"
    return f"{'iq' if isinstance(output, IqResult) else 'message'}:{kind}"


class Driver:
    """A core fed requests directly, every payload checked against the schema."""

    def __init__(self, model: ServedModel | None = None) -> None:
        self.check = SchemaCheck()
        self.core = ServerCore(model or served_model(OWN_SCL), local_jid="xied@x/IEC")
        # what the core sends must be valid; some requests here are invalid on purpose
        self.core.inspect = lambda direction, element: (
            self.check(direction, element) if direction == "sent" else None
        )
        self.count = 0
        self.now = 1000.0

    def ask(self, iq_type: str, pdu: Mmspdu | ET.Element, association: str = "a1") -> list[Output]:
        self.count += 1
        element = (
            pdu if isinstance(pdu, ET.Element) else codec.encode(pdus.context(association, pdu))
        )
        return self.core.receive(PEER, iq_type, f"q{self.count}", element, self.now)

    def kinds(self, iq_type: str, pdu: Mmspdu | ET.Element, association: str = "a1") -> list[str]:
        return [_pdu_kind(o) for o in self.ask(iq_type, pdu, association)]

    def associate(self, association: str = "a1") -> None:
        assert self.kinds("set", pdus.initiate_request(65_000, 5), association) == [
            "presence",
            "iq:initiate-ResponsePDU",
        ]


def read_of(*items: str) -> Mmspdu:
    return services.read_request(
        7, ReadRequest(variable_access_specification=variables([(LD, i) for i in items]))
    )


def name_list(domain: str = LD) -> Mmspdu:
    return services.get_name_list_request(
        3,
        GetNameListRequest(
            object_class=ObjectClass(basic_object_class=0),
            object_scope=ObjectScope(domain_specific=domain),
        ),
    )


def _deep(levels: int) -> ET.Element:
    root = codec.encode(pdus.context("a1", read_of("XCBR1$ST$Pos$q")))
    node = root
    for _ in range(levels):
        node = ET.SubElement(node, f"{NS}structure")
    return root


def _unknown_service() -> ET.Element:
    root = codec.encode(pdus.context("a1", read_of("XCBR1$ST$Pos$q")))
    service = root.find(f"{NS}pdu/{NS}confirmed-RequestPDU/{NS}service")
    assert service is not None
    service.clear()
    ET.SubElement(service, f"{NS}fileRename")
    return root


CASES: list[tuple[str, str, Callable[[], Mmspdu | ET.Element], str, list[str]]] = [
    (
        "read outside an association",
        "get",
        lambda: read_of("XCBR1$ST$Pos$q"),
        "zz",
        ["iq:confirmed-ErrorPDU(application-reference=3)"],
    ),
    ("read", "get", lambda: read_of("XCBR1$ST$Pos$q"), "a1", ["iq:confirmed-ResponsePDU"]),
    (
        "read in iq set",
        "set",
        lambda: read_of("XCBR1$ST$Pos$q"),
        "a1",
        ["message:rejectPDU", "error:bad-request"],
    ),
    (
        "unknown service",
        "get",
        _unknown_service,
        "a1",
        ["message:rejectPDU", "error:feature-not-implemented"],
    ),
    ("too deep", "get", lambda: _deep(200), "a1", ["message:rejectPDU", "error:not-acceptable"]),
    (
        "conclude in iq get",
        "get",
        pdus.conclude_request,
        "a1",
        ["message:rejectPDU", "error:bad-request"],
    ),
    ("cancel", "get", lambda: Mmspdu(cancel_request_pdu=3), "a1", ["iq:cancel-ErrorPDU"]),
    (
        "associate twice",
        "set",
        lambda: pdus.initiate_request(65_000, 5),
        "a1",
        ["iq:initiate-ErrorPDU"],
    ),
    ("release", "set", pdus.conclude_request, "a1", ["iq:conclude-ResponsePDU"]),
    ("release again", "set", pdus.conclude_request, "a1", ["iq:conclude-ErrorPDU"]),
]


def test_requests_in_and_outputs_out_as_the_table_says() -> None:
    driver = Driver()
    driver.associate()
    for what, iq_type, build, association, expected in CASES:
        assert driver.kinds(iq_type, build(), association) == expected, what
    driver.check.assert_clean()


def test_every_answer_goes_to_the_sender_with_its_iq_id() -> None:
    driver = Driver()
    driver.associate()
    (answer,) = driver.ask("get", read_of("XCBR1$ST$Pos$q"))
    assert isinstance(answer, IqResult) and (answer.to, answer.iq_id) == (PEER, f"q{driver.count}")


# ---------------------------------------------------------------- object providers


class Gate:
    """A provider of one control-block-like object ``LLN0$BR$gate01`` with two attributes:
    ``Open`` (writable while the caller is its owner) and ``Note`` (read-only)."""

    def __init__(self) -> None:
        self.open = False
        self.owner: str | None = None

    def read(self, domain: str, item: str, call: CallContext | None) -> Data:
        values = {"Open": Data(boolean=boolean(self.open)), "Note": Data(visible_string="gate")}
        leaf = item.rsplit("$", 1)[1]
        if leaf in values:
            return values[leaf]
        return Data(structure=_list(list(values.values())))

    def write(self, domain: str, item: str, data: Data, call: CallContext) -> None:
        if not item.endswith("$Open"):
            raise AccessFailure(DataAccessError.OBJECT_ACCESS_DENIED)
        if self.owner not in (None, call.peer):
            raise AccessFailure(DataAccessError.TEMPORARILY_UNAVAILABLE)
        self.owner = call.peer
        self.open = data.boolean is not None and data.boolean.true is not None
        call.before.append(Message(call.peer, _marker(call.association_id, "before")))
        call.after.append(Message(call.peer, _marker(call.association_id, "after")))

    def type_description(self, domain: str, item: str) -> TypeDescription:
        open_ = leaf_type_description(DataAttribute("Open", FC.BR, BasicType.BOOLEAN))
        note = leaf_type_description(DataAttribute("Note", FC.BR, BasicType.VISSTRING32))
        if item.endswith("$Open"):
            return open_
        if item.endswith("$Note"):
            return note
        return structure_description([("Open", open_), ("Note", note)])


def _list(items: list[Data]) -> Any:
    from gen61850.generated.scsm_8_2.bindings import DataList

    return DataList(data=items)


def _marker(association: str, text: str) -> ET.Element:
    """A payload that tells ``before`` from ``after`` (a rejectPDU with code 0 or 1)."""
    return codec.encode(
        pdus.context(association, pdus.reject(None, "pdu-error", 0 if text == "before" else 1))
    )


def test_a_provider_plugs_in_by_prefix_and_its_names_take_their_mms_place() -> None:
    model = served_model(OWN_SCL)
    gate = Gate()
    model.provide(
        LD, "LLN0$BR$gate01", gate, ["LLN0$BR$gate01", "LLN0$BR$gate01$Open", "LLN0$BR$gate01$Note"]
    )
    names = model.names[LD]
    lln0 = [n for n in names if n == "LLN0" or n.startswith("LLN0$")]
    groups = [n for n in lln0 if n.count("$") == 1]
    assert groups == ["LLN0$ST", "LLN0$CF", "LLN0$DC", "LLN0$BR"]  # MMS FC order
    assert lln0[-3:] == ["LLN0$BR$gate01", "LLN0$BR$gate01$Open", "LLN0$BR$gate01$Note"]
    assert [model.variables[(LD, n)].position for n in names] == list(range(len(names)))
    driver = Driver(model)
    driver.associate()
    (answer,) = driver.ask("get", read_of("LLN0$BR$gate01$Open", "LLN0$BR$gate01$Note"))
    assert _pdu_kind(answer) == "iq:confirmed-ResponsePDU"
    write = services.write_request(
        9,
        WriteRequest(
            variable_access_specification=variables([(LD, "LLN0$BR$gate01$Open")]),
            list_of_data=_list([Data(boolean=boolean(True))]),
        ),
    )
    outputs = driver.ask("set", write)
    # the provider's effects: one before the answer, one after
    assert [_pdu_kind(o) for o in outputs] == [
        "message:rejectPDU",
        "iq:confirmed-ResponsePDU",
        "message:rejectPDU",
    ]
    assert gate.open and gate.owner == PEER
    # a read of the whole LN goes through the provider for its part; so does the type
    assert model.read(LD, "LLN0$BR").structure is not None
    assert model.type_description(LD, "LLN0$BR$gate01").structure is not None
    # the generic refusals hold: a data set cannot take a provider's object
    from gen61850.runtime.xmpp.model import DataSetRefused

    with pytest.raises(DataSetRefused):
        model.member(LD, "LLN0$BR$gate01$Open")
    driver.check.assert_clean()


def test_a_provider_refuses_with_its_own_code() -> None:
    model = served_model(OWN_SCL)
    gate = Gate()
    gate.owner = "someone@else/IEC"
    model.provide(LD, "LLN0$BR$gate01", gate, ["LLN0$BR$gate01", "LLN0$BR$gate01$Open"])
    with pytest.raises(AccessFailure) as refused:
        model.write(LD, "LLN0$BR$gate01$Open", Data(boolean=boolean(True)), CallContext(PEER))
    assert refused.value.code is DataAccessError.TEMPORARILY_UNAVAILABLE
    with pytest.raises(AccessFailure) as refused:
        model.write(LD, "LLN0$BR$gate01", Data(boolean=boolean(True)), CallContext(PEER))
    assert refused.value.code is DataAccessError.OBJECT_ACCESS_DENIED


# ---------------------------------------------------------------- deferred answers, timers


def test_a_deferred_answer_waits_for_its_job() -> None:
    driver = Driver()
    driver.associate()

    def slow(call: CallContext, request: GetNameListRequest) -> GetNameListResponse:
        raise Deferred(
            lambda: ["A", "B"],
            lambda names: GetNameListResponse(
                list_of_identifier=ListOfIdentifier(identifier=names), more_follows=boolean(False)
            ),
        )

    driver.core.handlers.get_name_list = slow  # type: ignore[method-assign]
    (job,) = driver.ask("get", name_list())
    assert isinstance(job, Job)
    (answer,) = driver.core.complete(job.token, job.work(), driver.now)
    assert _pdu_kind(answer) == "iq:confirmed-ResponsePDU" and answer.iq_id == "q2"
    assert driver.core.complete(job.token, ["again"], driver.now) == []  # answered once
    # work that fails, and a finish that refuses
    (job,) = driver.ask("get", name_list())
    (answer,) = driver.core.complete(job.token, OSError("disk"), driver.now)
    assert _pdu_kind(answer) == "iq:confirmed-ErrorPDU(others=0)"

    def refusing(call: CallContext, request: GetNameListRequest) -> GetNameListResponse:
        def finish(_: object) -> GetNameListResponse:
            raise ServiceFailure(("access", 2), "gone")

        raise Deferred(lambda: None, finish)

    driver.core.handlers.get_name_list = refusing  # type: ignore[method-assign]
    (job,) = driver.ask("get", name_list())
    (answer,) = driver.core.complete(job.token, None, driver.now)
    assert _pdu_kind(answer) == "iq:confirmed-ErrorPDU(access=2)"
    driver.check.assert_clean()


def test_posted_outputs_and_timers_come_out_of_handle_timer() -> None:
    driver = Driver()
    woken: list[int] = []
    driver.core.on_wake = lambda: woken.append(1)
    fired: list[float] = []
    driver.core.timers.call_at(1005.0, fired.append)
    assert woken == [1]  # a timer earlier than any other: the adapter must wake earlier
    late = driver.core.timers.call_at(1010.0, fired.append)
    assert woken == [1] and driver.core.next_deadline() == 1005.0
    marker = Message(PEER, _marker("a1", "after"))
    driver.core.post(marker)
    assert woken == [1, 1]
    assert driver.core.handle_timer(1004.0) == [marker] and fired == []
    assert driver.core.handle_timer(1006.0) == [] and fired == [1006.0]
    late.cancel()
    assert driver.core.next_deadline() is None


# ---------------------------------------------------------------- the session


@pytest.mark.parametrize(
    ("events", "open_after", "why"),
    [
        (["link_down"], True, None),
        (["link_down", "link_resumed"], True, None),
        (["link_down", "session_lost"], False, "aborted: link lost"),
        (["session_lost"], False, "aborted: link lost"),
        (["session_started"], False, "aborted: link lost"),
        (["peer_unavailable"], False, "aborted: peer unavailable"),
    ],
)
def test_associations_live_as_long_as_the_xmpp_session(
    events: list[str], open_after: bool, why: str | None
) -> None:
    driver = Driver()
    driver.associate()
    driver.kinds("set", pdus.initiate_request(65_000, 5), "a2")
    links: list[bool] = []
    driver.core.on_link(lambda up, _now: links.append(up))
    for event in events:
        if event == "peer_unavailable":
            driver.core.peer_unavailable(PEER.split("/")[0], driver.now)
        else:
            getattr(driver.core, event)(driver.now)
    assert bool(driver.core.scopes) is open_after
    if why is not None:
        assert [c[2] for c in driver.core.closed] == [why, why]
    if events[:2] == ["link_down", "link_resumed"]:
        assert links == [False, True]


def test_closing_an_association_runs_its_hooks_once() -> None:
    driver = Driver()
    driver.associate()
    scope = driver.core.scope(PEER, "a1")
    assert scope is not None
    ran: list[str] = []
    scope.on_close(ran.append)
    from gen61850.generated.scsm_8_2.bindings import (
        DefineNamedVariableListRequest,
        ListOfVariable,
        ObjectName,
    )
    from gen61850.runtime.xmpp.client import variable_def

    define = services.define_named_variable_list_request(
        4,
        DefineNamedVariableListRequest(
            variable_list_name=ObjectName(aa_specific="Mine"),
            list_of_variable=ListOfVariable(sequence=[variable_def(LD, "XCBR1$ST$Pos")]),
        ),
    )
    assert driver.kinds("set", define) == ["iq:confirmed-ResponsePDU"]
    assert [r.name for r in driver.core.model.store.data_sets_of((PEER, "a1"))] == ["Mine"]
    driver.kinds("set", pdus.conclude_request())
    driver.core.session_lost(driver.now)
    assert ran == ["released"]
    assert list(driver.core.model.store.data_sets_of((PEER, "a1"))) == []


def test_a_model_is_served_by_one_server() -> None:
    """Control blocks are added to the model as providers: a second server over the same
    model would add them twice, and is refused."""
    from gen61850.runtime.xmpp.model import ModelError
    from gen61850.runtime.xmpp.reports.engine import ReportEngine

    model = served_model(OWN_SCL.parent / "report_ied.icd")
    ReportEngine(ServerCore(model))
    with pytest.raises(ModelError, match="already served"):
        ReportEngine(ServerCore(model))
