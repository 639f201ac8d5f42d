"""Seeded, bounded fuzzing of the 8-2 server's payload handling.

Valid requests of every service (built with our own builders) are mutated the ways an
attacker would: deep nesting, huge and negative numbers, bad names, wrong types (another
schema element in place), duplicate, unknown and missing elements, attributes, unusual
characters, oversized text, foreign associationIDs, the other iq type. Many cases go
through the server's handling directly, its XMPP output captured where slixmpp would write
it to the socket; fewer go through a real Prosody. Every request must get exactly one
answer (a result, or a rejectPDU and its iq error), each answer well-formed XML whose
payload follows the XSD; no request may reach the server's catch-all for its own bugs; the
server keeps serving another client, and the stored values still pass the store's checks.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath
from slixmpp.xmlstream.tostring import tostring

from gen61850.generated.scsm_8_2 import codec, services
from gen61850.generated.scsm_8_2.bindings import (
    Data,
    DataList,
    DefineNamedVariableListRequest,
    DeleteNamedVariableListRequest,
    FileDirectoryRequest,
    FileName,
    FileOpenRequest,
    GetNameListRequest,
    GetVariableAccessAttributesRequest,
    ListOfObjectName,
    ListOfVariable,
    Mmspdu,
    Null,
    ObjectClass,
    ObjectScope,
    ObtainFileRequest,
    ReadRequest,
    VariableAccessSpecification,
    WriteRequest,
)
from gen61850.runtime.device import BasicType, DataAttribute
from gen61850.runtime.xmpp import pdus
from gen61850.runtime.xmpp.client import object_name, variable_def, variables
from gen61850.runtime.xmpp.model import ServedModel, _stored_from_data, _value_data
from gen61850.runtime.xmpp.server import AcsiServer
from gen61850.runtime.xmpp.transport import XmppSettings
from gen61850.runtime.xmpp.values import scalar_to_data
from tests.conftest import fuzz_budget
from tests.xmpp.conftest import OWN_SCL, Env, SchemaCheck, live, run, served_model
from tests.xmpp.test_hostile import Raw

NS = codec.NAMESPACE
LD = "XIEDLD0"
PEER = "fuzz@iec61850.test/IEC"
ASSOCIATION = "fz"
TAGS = sorted({v for k, v in vars(codec).items() if k.startswith("_T_")})
BAD_NUMBERS = ("-1", str(2**32), str(2**63), str(10**23), "9" * 5000, "", " 7 ", "1_0", "0x1f")
BAD_NAMES = ("", "A" * 65, "$$", "LLN0$evil$$ds", "LLN0$ST$x", " ", "a\tb", "Ω", "XIEDLD0")
ODD_TEXT = ("tab\there", "line\nbreak", "cr\rcr", "\u0085\u2028\ufeff", "\U0001f600", "&<>'\"")


# ---------------------------------------------------------------- valid requests


def _request(invoke_id: int, build: Callable[[int, Any], Mmspdu], value: Any) -> Mmspdu:
    return build(invoke_id, value)


def seed_requests() -> list[tuple[str, Mmspdu]]:
    """(iq type, PDU) of a valid request of every service the server answers."""
    scope = ObjectScope(domain_specific=LD)
    integer = Data(integer=7)
    setg = Data(
        structure=DataList(
            data=[
                scalar_to_data(BasicType.FLOAT64, 1.5),
                Data(integer=3),
                scalar_to_data(BasicType.BOOLEAN, True),
                Data(octet_string=b"\x01"),
                Data(visible_string="x"),
            ]
        )
    )
    member = ListOfVariable(sequence=[variable_def(LD, "GGIO1$SP$Setg$limit")])
    requests: list[tuple[Callable[[int, Any], Mmspdu], Any]] = [
        (
            services.get_name_list_request,
            GetNameListRequest(
                object_class=ObjectClass(basic_object_class=9),
                object_scope=ObjectScope(vmd_specific=Null()),
            ),
        ),
        (
            services.get_name_list_request,
            GetNameListRequest(
                object_class=ObjectClass(basic_object_class=0),
                object_scope=scope,
                continue_after="GGIO1",
            ),
        ),
        (
            services.get_name_list_request,
            GetNameListRequest(object_class=ObjectClass(basic_object_class=2), object_scope=scope),
        ),
        (
            services.read_request,
            ReadRequest(
                variable_access_specification=variables(
                    [(LD, "MMXU1$MX$TotW$mag$f"), (LD, "XCBR1$ST$Pos"), (LD, "GGIO1")]
                )
            ),
        ),
        (
            services.read_request,
            ReadRequest(
                variable_access_specification=VariableAccessSpecification(
                    list_of_variable=ListOfVariable(
                        sequence=[variable_def(LD, "GGIO1$ST$Hist$hstVal", 2)]
                    )
                )
            ),
        ),
        (
            services.read_request,
            ReadRequest(
                variable_access_specification=VariableAccessSpecification(
                    variable_list_name=object_name(LD, "LLN0$Meas")
                )
            ),
        ),
        (
            services.write_request,
            WriteRequest(
                variable_access_specification=variables([(LD, "GGIO1$SP$Setg$limit")]),
                list_of_data=DataList(data=[integer]),
            ),
        ),
        (
            services.write_request,
            WriteRequest(
                variable_access_specification=variables([(LD, "GGIO1$SP$Setg")]),
                list_of_data=DataList(data=[setg]),
            ),
        ),
        (
            services.write_request,
            WriteRequest(
                variable_access_specification=variables([(LD, "LLN0$DC$NamPlt$d")]),
                list_of_data=DataList(data=[Data(m_msstring="Ω")]),
            ),
        ),
        (
            services.get_variable_access_attributes_request,
            GetVariableAccessAttributesRequest(name=object_name(LD, "MMXU1$MX$TotW")),
        ),
        (
            services.define_named_variable_list_request,
            DefineNamedVariableListRequest(
                variable_list_name=object_name(LD, "GGIO1$fz"), list_of_variable=member
            ),
        ),
        (
            services.define_named_variable_list_request,
            DefineNamedVariableListRequest(
                variable_list_name=object_name(None, "temp"), list_of_variable=member
            ),
        ),
        (services.get_named_variable_list_attributes_request, object_name(LD, "LLN0$Arr")),
        (
            services.delete_named_variable_list_request,
            DeleteNamedVariableListRequest(
                scope_of_delete=0,
                list_of_variable_list_name=ListOfObjectName(
                    object_name=[object_name(LD, "GGIO1$fz")]
                ),
            ),
        ),
        (services.file_directory_request, FileDirectoryRequest()),
        (
            services.file_open_request,
            FileOpenRequest(file_name=FileName(graphic_string=["a.txt"]), initial_position=0),
        ),
        (services.file_read_request, 1),
        (services.file_close_request, 1),
        (services.file_delete_request, FileName(graphic_string=["a.txt"])),
        (
            services.obtain_file_request,
            ObtainFileRequest(
                source_file=FileName(graphic_string=["a"]),
                destination_file=FileName(graphic_string=["b"]),
            ),
        ),
    ]
    out: list[tuple[str, Mmspdu]] = []
    for n, (build, value) in enumerate(requests, start=1):
        pdu = build(n, value)
        assert pdu.confirmed_request_pdu is not None
        out.append((services.request_iq_type(pdu.confirmed_request_pdu.service), pdu))
    out.append(("set", pdus.initiate_request(65_000, 5)))
    out.append(("set", pdus.conclude_request()))
    out.append(("get", Mmspdu(cancel_request_pdu=3)))
    return out


# ---------------------------------------------------------------- mutations


def _elements(root: ET.Element) -> list[ET.Element]:
    return list(root.iter())


def _leaves(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter() if len(e) == 0 and e is not root]


def _parents(root: ET.Element) -> dict[int, ET.Element]:
    return {id(child): parent for parent in root.iter() for child in parent}


DEPTHS = (20, 100, 600, 3000)
SHALLOWER = (20, 100, 300)  # what the Prosody part's (recursive) serializer can write


def deep(rng: random.Random, root: ET.Element, depths: tuple[int, ...] = DEPTHS) -> str:
    levels = rng.choice(depths)
    target = rng.choice(_elements(root))
    inner = target
    for i in range(levels):
        inner = ET.SubElement(inner, f"{{{NS}}}{'structure' if i % 2 else 'Data'}")
    return f"deep {levels}"


def number(rng: random.Random, root: ET.Element) -> str:
    numeric = [e for e in _leaves(root) if (e.text or "").strip().lstrip("-").isdigit()]
    target = rng.choice(numeric or _leaves(root) or [root])
    target.text = rng.choice(BAD_NUMBERS)
    return "number"


def name(rng: random.Random, root: ET.Element) -> str:
    named = [e for e in _leaves(root) if (e.text or "") and not (e.text or "").isdigit()]
    target = rng.choice(named or _leaves(root) or [root])
    target.text = rng.choice(BAD_NAMES)
    return "name"


def wrong_type(rng: random.Random, root: ET.Element) -> str:
    target = rng.choice(_elements(root)[1:] or [root])
    target.tag = rng.choice(TAGS)
    return "wrong type"


def duplicate(rng: random.Random, root: ET.Element) -> str:
    parents = _parents(root)
    target = rng.choice(_elements(root)[1:])
    parent = parents[id(target)]
    parent.insert(list(parent).index(target), copy.deepcopy(target))
    return "duplicate"


def unknown(rng: random.Random, root: ET.Element) -> str:
    target = rng.choice(_elements(root))
    tag = rng.choice((f"{{{NS}}}bogus", "{urn:other}x", f"{{{NS}}}SEQUENCE"))
    target.insert(rng.randint(0, len(target)), ET.Element(tag))
    return "unknown"


def remove(rng: random.Random, root: ET.Element) -> str:
    parents = _parents(root)
    target = rng.choice(_elements(root)[1:])
    parents[id(target)].remove(target)
    return "remove"


def attribute(rng: random.Random, root: ET.Element) -> str:
    target = rng.choice(_elements(root))
    key = rng.choice(("evil", "{http://www.w3.org/XML/1998/namespace}lang", "moreFollows"))
    target.set(key, rng.choice(("1", "false", "x" * 100)))
    return "attribute"


def odd_text(rng: random.Random, root: ET.Element) -> str:
    target = rng.choice(_elements(root))
    if len(target):
        target[-1].tail = rng.choice(ODD_TEXT)
    else:
        target.text = rng.choice(ODD_TEXT) * rng.choice((1, 50))
    return "odd text"


def oversize(rng: random.Random, root: ET.Element) -> str:
    rng.choice(_leaves(root) or [root]).text = "A" * rng.choice((70_000, 200_000))
    return "oversize"


def association(rng: random.Random, root: ET.Element) -> str:
    found = root.find(f"{{{NS}}}associationID")
    if found is not None:
        found.text = rng.choice(("other", "", "-", "x" * 65, "a\tb", ASSOCIATION + " "))
    return "associationID"


MUTATIONS = (
    deep,
    number,
    name,
    wrong_type,
    duplicate,
    unknown,
    remove,
    attribute,
    odd_text,
    oversize,
    association,
)


@dataclass
class Case:
    iq_type: str
    payload: ET.Element
    what: list[str] = field(default_factory=list)


def fuzz_case(
    rng: random.Random, seeds: list[tuple[str, Mmspdu]], depths: tuple[int, ...] = DEPTHS
) -> Case:
    iq_type, pdu = rng.choice(seeds)
    case = Case(iq_type, codec.encode(pdus.context(ASSOCIATION, pdu)))
    chosen = rng.sample(MUTATIONS, rng.choice((1, 1, 2, 3)))
    chosen.sort(key=lambda m: m is deep)  # deep last: the test's own deep copies recurse
    for mutation in chosen:
        if mutation is deep:
            case.what.append(deep(rng, case.payload, depths))
        else:
            case.what.append(mutation(rng, case.payload))
    if rng.random() < 0.1:
        case.iq_type = "get" if iq_type == "set" else "set"
        case.what.append("iq type")
    return case


# ---------------------------------------------------------------- schema-valid, hostile values


def random_data(rng: random.Random, depth: int = 0) -> Data:
    """Any Data the schema allows: the right element, any value in it."""
    kinds = ["boolean", "bits", "integer", "unsigned", "float", "octets", "visible", "mms"]
    kinds += ["utc", "binary"] + (["structure", "array"] if depth < 3 else [])
    kind = rng.choice(kinds)
    if kind in ("structure", "array"):
        items = DataList(data=[random_data(rng, depth + 1) for _ in range(rng.randint(0, 6))])
        return Data(structure=items) if kind == "structure" else Data(array=items)
    if kind == "boolean":
        return scalar_to_data(BasicType.BOOLEAN, rng.random() < 0.5)
    if kind == "bits":
        return Data(bit_string="".join(rng.choice("01") for _ in range(rng.randint(0, 16))))
    if kind == "integer":
        return Data(integer=rng.choice((0, -1, 7, -(2**63), 2**63 - 1, rng.randint(-999, 999))))
    if kind == "unsigned":
        return Data(unsigned=rng.choice((0, 1, 2**32, 2**64 - 1, rng.randint(0, 70_000))))
    if kind == "float":
        return Data(floating_point=rng.randbytes(rng.choice((5, 9, 0, 3, 12))))
    if kind == "octets":
        return Data(octet_string=rng.randbytes(rng.choice((0, 1, 6, 64, 65, 300))))
    if kind == "visible":
        text = "".join(chr(rng.randint(0x20, 0x7E)) for _ in range(rng.randint(0, 40)))
        return Data(visible_string=rng.choice((text, text + "\t", "x" * 256)))
    if kind == "mms":
        text = "".join(chr(rng.choice((0x41, 0x3A9, 0x4E2D, 0x1F600, 0x85))) for _ in range(9))
        return Data(m_msstring=rng.choice((text, text * 40, "a\nb")))
    if kind == "utc":
        return Data(utc_time=rng.randbytes(rng.choice((8, 8, 7, 0))))
    return Data(binary_time=rng.randbytes(rng.choice((6, 4, 5))))


def semantic_request(rng: random.Random, model: ServedModel) -> tuple[str, Mmspdu]:
    """A request the schema accepts, with names and values chosen to hurt: existing and
    made-up variables, any index, any Data for any variable, data set names good and bad."""
    names = [item for (domain, item) in model.variables if domain == LD]
    item = rng.choice([*names, "GGIO1$SP$Nope", "A" * 64, "LLN0$ST", "GGIO1"])
    index = rng.choice((None, None, 0, 1, 3, 4, 2**32 - 1))
    data_set = rng.choice(
        ("GGIO1$ok", "LLN0$evil$$ds", "NOLN$x", "GGIO1$" + "D" * 33, "ok", "bad name", "LLN0$Meas")
    )
    choice = rng.randrange(6)
    if choice == 0:
        spec = VariableAccessSpecification(
            list_of_variable=ListOfVariable(sequence=[variable_def(LD, item, index)])
        )
        pdu = services.write_request(
            1,
            WriteRequest(
                variable_access_specification=spec,
                list_of_data=DataList(
                    data=[random_data(rng) for _ in range(rng.choice((1, 1, 2)))]
                ),
            ),
        )
    elif choice == 1:
        pdu = services.read_request(
            1,
            ReadRequest(
                variable_access_specification=VariableAccessSpecification(
                    list_of_variable=ListOfVariable(sequence=[variable_def(LD, item, index)])
                )
            ),
        )
    elif choice == 2:
        domain = None if "$" not in data_set else LD
        members = [variable_def(LD, rng.choice(names), rng.choice((None, None, 1, 9)))]
        pdu = services.define_named_variable_list_request(
            1,
            DefineNamedVariableListRequest(
                variable_list_name=object_name(domain, data_set),
                list_of_variable=ListOfVariable(sequence=members * rng.choice((1, 2, 300))),
            ),
        )
    elif choice == 3:
        domain = None if "$" not in data_set else LD
        pdu = services.delete_named_variable_list_request(
            1,
            DeleteNamedVariableListRequest(
                scope_of_delete=rng.choice((0, 0, 1, 10**20)),
                list_of_variable_list_name=ListOfObjectName(
                    object_name=[object_name(domain, data_set)]
                ),
            ),
        )
    elif choice == 4:
        pdu = services.get_name_list_request(
            1,
            GetNameListRequest(
                object_class=ObjectClass(basic_object_class=rng.choice((0, 2, 9, 8, -1, 10**30))),
                object_scope=rng.choice(
                    (ObjectScope(domain_specific=LD), ObjectScope(aa_specific=Null()))
                ),
                continue_after=rng.choice((None, item)),
            ),
        )
    else:
        pdu = services.get_variable_access_attributes_request(
            1, GetVariableAccessAttributesRequest(name=object_name(LD, item))
        )
    assert pdu.confirmed_request_pdu is not None
    return services.request_iq_type(pdu.confirmed_request_pdu.service), pdu


# ---------------------------------------------------------------- checks


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class Answers:
    """Checks the stanzas a server sent for one request, as they go on the wire."""

    def __init__(self) -> None:
        self.schema = SchemaCheck()

    def check(self, server: AcsiServer, sent: list[Any], request_id: str) -> str:
        stanzas = [s for s in sent if s.name != "presence"]
        texts = [
            tostring(s.xml, xmlns=server.default_ns, stream=server, top_level=True) for s in stanzas
        ]
        parsed = [ET.fromstring(text) for text in texts]  # well-formed, or this raises
        iqs = [p for p in parsed if _local(p.tag) == "iq"]
        assert len(iqs) == 1, texts  # exactly one answer to the iq
        answer = iqs[0]
        assert answer.get("id") == request_id and answer.get("to") == PEER
        messages = [p for p in parsed if _local(p.tag) == "message"]
        for element in parsed:
            payload = element.find(f"{{{NS}}}AssociationContext")
            if payload is not None:
                self.schema("sent", payload)
                codec.decode(payload)
        if answer.get("type") == "result":
            assert messages == [], texts
            pdu = answer.find(f"{{{NS}}}AssociationContext/{{{NS}}}pdu")
            assert pdu is not None and len(pdu) == 1, texts
            return _local(pdu[0].tag)
        assert answer.get("type") == "error", texts
        errors = [c for c in answer if _local(c.tag) == "error"]
        assert len(errors) == 1, texts
        assert "internal-server-error" not in {_local(c.tag) for c in errors[0]}, texts
        assert len(messages) == 1, texts  # the rejectPDU that goes with the iq error
        reason = messages[0].find(f"{{{NS}}}AssociationContext/{{{NS}}}pdu/{{{NS}}}rejectPDU")
        assert reason is not None, texts
        return "reject " + "/".join(_local(c.tag) for c in reason.iter())


def assert_store_intact(model: ServedModel) -> None:
    """Every stored value still passes the store's own checks and is kept normalised, and
    the data sets clients made stay within the limits and the naming rules."""
    for (domain, item), value in model.values.items():
        node = model.variables[(domain, item)].node
        assert isinstance(node, DataAttribute)
        assert _stored_from_data(node, _value_data(node, value)) == value, (domain, item)
    data_sets = model.store.data_sets
    made = [n for r, n in data_sets.items() if r.domain is not None and n.owner is not None]
    assert len(made) <= model.limits.persistent
    for ref in data_sets:
        if ref.domain is not None:
            assert "$" in ref.name and ref.name.count("$") == 1, ref.name
        else:
            assert "$" not in ref.name and ref.owner is not None, ref
    owners = {n.owner for n in data_sets.values() if n.owner is not None}
    for owner in owners:
        assert (
            sum(1 for n in data_sets.values() if n.owner == owner) <= model.limits.per_association
        )


class Harness:
    """A server fed stanzas directly; what it sends is captured at slixmpp's send()."""

    def __init__(self, model: ServedModel) -> None:
        self.server = AcsiServer(XmppSettings("xied@iec61850.test", "unused"), model)
        self.sent: list[Any] = []
        self.server.send = self.sent.append  # type: ignore[method-assign,assignment]
        self.count = 0

    def ask(self, iq_type: str, payload: ET.Element) -> tuple[str, list[Any]]:
        self.count += 1
        iq = self.server.make_iq(id=f"fz{self.count}", ifrom=PEER, itype=iq_type)  # type: ignore[arg-type]
        iq.xml.append(payload)
        self.sent.clear()
        self.server._on_iq(iq)
        return iq["id"], list(self.sent)

    def associate(self) -> None:
        if (PEER, ASSOCIATION) in self.server.associations:
            return
        initiate = codec.encode(pdus.context(ASSOCIATION, pdus.initiate_request(65_000, 5)))
        _, sent = self.ask("set", initiate)
        assert any("initiate-ResponsePDU" in str(s) for s in sent)


@pytest.mark.fuzz
def test_fuzzed_payloads_through_the_handling(
    fuzz_rng: random.Random, caplog: pytest.LogCaptureFixture
) -> None:
    async def body() -> dict[str, int]:
        harness = Harness(served_model(OWN_SCL))
        answers = Answers()
        seeds = seed_requests()
        outcomes: dict[str, int] = {}
        for _ in range(fuzz_budget(400)):
            harness.associate()
            if fuzz_rng.random() < 0.4:  # schema-valid: the handlers and the store
                iq_type, pdu = semantic_request(fuzz_rng, harness.server.model)
                case = Case(iq_type, codec.encode(pdus.context(ASSOCIATION, pdu)), ["valid"])
            else:
                case = fuzz_case(fuzz_rng, seeds)
            request_id, sent = harness.ask(case.iq_type, case.payload)
            try:
                outcome = answers.check(harness.server, sent, request_id)
            except AssertionError as error:
                raise AssertionError(f"{case.what}: {error}") from None
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        assert answers.schema.errors == []
        assert_store_intact(harness.server.model)
        # the server still serves a well-behaved request
        harness.associate()
        read = services.read_request(
            1, ReadRequest(variable_access_specification=variables([(LD, "XCBR1$ST$Pos$q")]))
        )
        _, sent = harness.ask("get", codec.encode(pdus.context(ASSOCIATION, read)))
        assert answers.check(harness.server, sent, f"fz{harness.count}") == "confirmed-ResponsePDU"
        return outcomes

    with caplog.at_level(logging.INFO, logger="gen61850"):
        outcomes = run(body())
    bugs = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert bugs == [], [r.getMessage() for r in bugs]  # no request reached the catch-all
    assert sum(outcomes.values()) == fuzz_budget(400)
    # the fuzzer reaches the interesting answers, not only one kind of reject
    kinds = {k.split("/")[0] for k in outcomes}
    assert {"confirmed-ResponsePDU", "confirmed-ErrorPDU", "reject rejectPDU"} <= kinds, outcomes


@pytest.mark.fuzz
@pytest.mark.prosody
def test_fuzzed_payloads_through_prosody(
    xmpp_env: Env, fuzz_rng: random.Random, caplog: pytest.LogCaptureFixture
) -> None:
    """Fewer cases over the real path: each gets one iq answer through Prosody (which would
    end the IED's stream on anything not well-formed), rejects arrive as messages, and the
    well-behaved client beside the attacker is served throughout."""

    async def body() -> int:
        async with live(xmpp_env, OWN_SCL) as t:
            ied = xmpp_env.jid("xied")
            raw = Raw(xmpp_env.settings("raw"))
            await raw.start()
            seeds = seed_requests()
            rejected = 0
            answered: dict[str, int] = {}

            def count(iq: Any) -> None:
                answered[iq["id"]] = answered.get(iq["id"], 0) + 1

            for kind in ("result", "error"):
                raw.register_handler(
                    Callback(f"count {kind}", StanzaPath(f"iq@type={kind}"), count)
                )
            try:
                initiate = pdus.context(ASSOCIATION, pdus.initiate_request(65_000, 5))
                await raw.ask(ied, ET.tostring(codec.encode(initiate), "unicode"), "set")
                for n in range(fuzz_budget(30)):
                    if fuzz_rng.random() < 0.3:
                        iq_type, pdu = semantic_request(fuzz_rng, t.server.model)
                        payload = codec.encode(pdus.context(ASSOCIATION, pdu))
                        case = Case(iq_type, payload, ["valid"])
                    else:
                        case = fuzz_case(fuzz_rng, seeds, SHALLOWER)
                    text = ET.tostring(case.payload, "unicode")
                    answer = await raw.ask_raw(ied, text, case.iq_type)
                    assert answer["type"] in ("result", "error"), case.what
                    if answer["type"] == "error" and answer["error"]["text"].startswith("rejected"):
                        rejected += 1
                        await raw.reject_after(rejected - 1)
                    if n % 10 == 9:
                        assert await t.association.get_server_directory() == [LD]
                await asyncio.sleep(0.2)  # a stray second answer would arrive by now
                assert len(raw.messages) == rejected
                assert len(answered) == fuzz_budget(30) + 1  # and the initiate
                assert set(answered.values()) == {1}  # one answer per request, no more
                check = SchemaCheck()
                for message in raw.messages:
                    check("received", message)
                assert check.errors == []
                assert await t.association.get_server_directory() == [LD]
                assert not any("link lost" in why for _, _, why in t.server.closed)
                assert_store_intact(t.server.model)
            finally:
                await raw.stop()
            return rejected

    with caplog.at_level(logging.INFO, logger="gen61850"):
        run(body(), timeout=300)
    bugs = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR
        # the raw client writes stanzas as text, past slixmpp's XEP-0198 counter
        and not r.getMessage().startswith("Inconsistent sequence numbers")
    ]
    assert bugs == [], [r.getMessage() for r in bugs]
