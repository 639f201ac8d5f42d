"""Seeded, bounded fuzzing of the control blocks (RCB, LCB, GoCB, MSVCB) and log queries.

Schema-valid requests with hostile values: any Data written to any attribute of any control
block (or to the block whole, or below it), reads of them, GI and enables in any order, log
queries with any range. Through the server's handling, output captured at slixmpp's
``send()``: each request gets exactly one answer, every payload is valid against the XSD,
messages beside a result are only informationReports, nothing reaches the catch-all, and
the store's values still pass its checks.
"""

from __future__ import annotations

import asyncio
import logging
import random
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from slixmpp.xmlstream import tostring

from gen61850.generated.scsm_8_2 import codec, services
from gen61850.generated.scsm_8_2.bindings import (
    Data,
    DataList,
    DomainSpecificName,
    EntryToStartAfter,
    ObjectName,
    RangeStartSpecification,
    RangeStopSpecification,
    ReadJournalRequest,
    ReadRequest,
    TypeDescription,
    WriteRequest,
)
from gen61850.runtime.device import DataAttribute
from gen61850.runtime.xmpp import pdus
from gen61850.runtime.xmpp.client import variables
from gen61850.runtime.xmpp.model import _stored_from_data, _value_data
from gen61850.runtime.xmpp.server import AcsiServer
from gen61850.runtime.xmpp.transport import XmppSettings
from gen61850.runtime.xmpp.values import boolean
from tests.conftest import fuzz_budget
from tests.xmpp.conftest import SchemaCheck, served_model
from tests.xmpp.test_fuzz_server import random_data

SCL = Path(__file__).parent / "report_ied.icd"
LD = "RIEDLD0"
PEERS = ("fuzz@iec61850.test/IEC", "other@iec61850.test/IEC")
NS = codec.NAMESPACE


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _hex_time(rng: random.Random) -> str:
    return rng.choice(
        (
            "0000000000000000"[:12],
            "05265C000001",
            "FFFFFFFFFFFF",
            "01B774003D68",
            "00000001",  # 4 octets: no date
        )
    )


def typed_data(rng: random.Random, description: TypeDescription) -> Data:
    """A value of the described type, often at an edge of its range."""
    if description.structure is not None:
        components = description.structure.components.sequence
        return Data(
            structure=DataList(
                data=[
                    typed_data(rng, c.component_type.type_description)
                    for c in components
                    if c.component_type.type_description is not None
                ]
            )
        )
    if description.boolean is not None:
        return Data(boolean=boolean(rng.random() < 0.5))
    if description.bit_string is not None:
        width = abs(description.bit_string)
        return Data(bit_string="".join(rng.choice("01") for _ in range(width)))
    if description.unsigned is not None:
        bits = description.unsigned
        return Data(unsigned=rng.choice((0, 1, 5, 60, 150, (1 << bits) - 1)))
    if description.integer is not None:
        bits = description.integer
        return Data(integer=rng.choice((0, -1, 1, 30, (1 << (bits - 1)) - 1)))
    if description.octet_string is not None:
        return Data(octet_string=rng.choice((bytes(8), (1).to_bytes(8, "big"), rng.randbytes(8))))
    if description.binary_time is not None:
        return Data(binary_time=rng.randbytes(6))
    if description.visible_string is not None:
        return Data(
            visible_string=rng.choice(
                ("", "RIEDLD0/LLN0$Events", "RIEDLD0/LLN0$Meas", "RIEDLD0/LLN0$Gse", "@Mine", "x")
            )
        )
    return random_data(rng)


def _request(
    rng: random.Random, names: list[str], types: dict[str, TypeDescription]
) -> tuple[str, Any]:
    item = rng.choice(names)
    choice = rng.randrange(5)
    if choice in (0, 1) and item in types and rng.random() < 0.7:
        return "set", services.write_request(
            1,
            WriteRequest(
                variable_access_specification=variables([(LD, item)]),
                list_of_data=DataList(data=[typed_data(rng, types[item])]),
            ),
        )
    if choice in (0, 1):
        value = rng.choice(
            (
                random_data(rng),
                Data(boolean=boolean(rng.random() < 0.5)),
                Data(unsigned=rng.choice((0, 1, 7, 2**32 - 1, 2**32, 2**63))),
                Data(visible_string=rng.choice(("", "RIEDLD0/LLN0$Events", "@x", "a/b$c"))),
                Data(octet_string=rng.randbytes(rng.choice((0, 7, 8, 9)))),
                Data(bit_string=rng.choice(("0", "111111", "0111110010", "1" * 13))),
            )
        )
        return "set", services.write_request(
            1,
            WriteRequest(
                variable_access_specification=variables([(LD, item)]),
                list_of_data=DataList(data=[value]),
            ),
        )
    if choice == 2:
        return "get", services.read_request(
            1, ReadRequest(variable_access_specification=variables([(LD, item)]))
        )
    return "get", services.read_journal_request(
        1,
        ReadJournalRequest(
            journal_name=ObjectName(
                domain_specific=DomainSpecificName(
                    domain_id=LD, item_id=rng.choice(("LLN0$EvLog", "LLN0$MeasLog", "LLN0$No"))
                )
            ),
            range_start_specification=rng.choice(
                (
                    None,
                    RangeStartSpecification(starting_time=_hex_time(rng)),
                    RangeStartSpecification(starting_entry=rng.randbytes(8)),
                )
            ),
            range_stop_specification=rng.choice(
                (
                    None,
                    RangeStopSpecification(ending_time=_hex_time(rng)),
                    RangeStopSpecification(number_of_entries=rng.choice((-1, 0, 3, 2**31 - 1))),
                )
            ),
            entry_to_start_after=rng.choice(
                (
                    None,
                    EntryToStartAfter(
                        time_specification=_hex_time(rng), entry_specification=rng.randbytes(8)
                    ),
                )
            ),
        ),
    )


@pytest.mark.fuzz
def test_fuzzed_control_block_requests(
    fuzz_rng: random.Random, caplog: pytest.LogCaptureFixture
) -> None:
    async def body() -> dict[str, int]:
        model = served_model(SCL)
        server = AcsiServer(XmppSettings("xied@iec61850.test", "unused"), model)
        check = SchemaCheck()
        server.inspect = lambda d, e: check(d, e) if d == "sent" else None
        sent: list[Any] = []
        server.send = sent.append  # type: ignore[method-assign,assignment]
        names = [
            item
            for (domain, item) in model.variables
            if domain == LD and "$" in item and item.split("$")[1] in ("BR", "RP", "LG", "GO", "MS")
        ]
        types = {n: model.type_description(LD, n) for n in names}
        names += ["LLN0$BR$brcbEv01$Nope", "LLN0$GO$gcbA$DstAddress$VID", "LLN0$BR"]
        outcomes: dict[str, int] = {}

        def ask(peer: str, iq_type: str, pdu: Any, count: int) -> str:
            iq = server.make_iq(id=f"fz{count}", ifrom=peer, itype=iq_type)  # type: ignore[arg-type]
            iq.xml.append(codec.encode(pdus.context("fz", pdu)))
            sent.clear()
            server._on_iq(iq)
            texts = [
                tostring(s.xml, xmlns=server.default_ns, stream=server, top_level=True)
                for s in sent
            ]
            parsed = [ET.fromstring(t) for t in texts if not t.startswith("<presence")]
            iqs = [p for p in parsed if _local(p.tag) == "iq"]
            assert len(iqs) == 1 and iqs[0].get("id") == f"fz{count}", texts
            for message in (p for p in parsed if _local(p.tag) == "message"):
                assert message.find(f".//{{{NS}}}informationReport") is not None, texts
            pdu_element = iqs[0].find(f"{{{NS}}}AssociationContext/{{{NS}}}pdu")
            assert pdu_element is not None and iqs[0].get("type") == "result", texts
            return _local(pdu_element[0].tag)

        for number, peer in enumerate(PEERS):
            ask(peer, "set", pdus.initiate_request(65_000, 5), -1 - number)
        for count in range(fuzz_budget(400)):
            iq_type, pdu = _request(fuzz_rng, names, types)
            outcome = ask(fuzz_rng.choice(PEERS), iq_type, pdu, count)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if count % 50 == 0:  # values change too: reports and log entries follow
                model.set_status(f"{LD}/GGIO1.Cnt.stVal[ST]", count)
                await asyncio.sleep(0)
        assert check.errors == []
        for (domain, item), value in model.values.items():
            node = model.variables[(domain, item)].node
            assert isinstance(node, DataAttribute)
            assert _stored_from_data(node, _value_data(node, value)) == value
        await server.stop()
        return outcomes

    with caplog.at_level(logging.INFO, logger="gen61850"):
        outcomes = asyncio.run(body())
    bugs = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert bugs == [], [r.getMessage() for r in bugs]
    assert outcomes.get("confirmed-ResponsePDU", 0) > 0
