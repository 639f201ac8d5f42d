"""Every ACSI service of part 1 against a real Prosody with TLS, positive and negative."""

from __future__ import annotations

import asyncio
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gen61850.generated.scsm_8_2 import codec
from gen61850.generated.scsm_8_2.bindings import Boolean, Data, DataList, Null
from gen61850.runtime.device import BasicType
from gen61850.runtime.xmpp.client import AcsiClient, MemberReference
from gen61850.runtime.xmpp.errors import DataAccessFailure, RejectedError, ServiceErrorResponse
from gen61850.runtime.xmpp.mapping import DataAccessError
from gen61850.runtime.xmpp.model import DataSetLimits
from gen61850.runtime.xmpp.values import data_to_python, scalar_to_data
from tests.xmpp.conftest import Env, live, run

pytestmark = pytest.mark.prosody
LD = "XIEDLD0"
NS = codec.NAMESPACE
FLOAT32_TWO = Data(floating_point=b"\x08" + struct.pack(">f", 2.0))


def structure_of(*items: Data) -> Data:
    return Data(structure=DataList(data=list(items)))


def test_directories_of_own_scl(xmpp_env: Env, own_scl: Path) -> None:
    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            a = t.association
            assert await a.get_server_directory() == [LD]
            assert await a.get_logical_device_directory(LD) == ["LLN0", "MMXU1", "XCBR1", "GGIO1"]
            assert await a.get_logical_node_directory(LD, "GGIO1") == ["Hist", "Setg"]
            assert await a.get_data_set_names(LD) == ["LLN0$Meas", "LLN0$Arr"]
            with pytest.raises(ServiceErrorResponse) as error:
                await a.get_logical_device_directory("NOSUCHLD")
            assert (error.value.error_class, error.value.code) == ("access", 2)
            t.check.assert_clean()

    run(body())


def test_paging_follows_more_follows_with_a_small_pdu(xmpp_env: Env, complex_model: Path) -> None:
    async def body() -> None:
        async with live(
            xmpp_env, complex_model, server_user="ied1", server_options={"max_pdu_size": 2000}
        ) as t:
            assert t.association.state.negotiated is not None
            assert t.association.state.negotiated.max_pdu_size == 2000
            pages: list[str] = []

            def count_pages(direction: str, element: ET.Element) -> None:
                t.check(direction, element)
                if direction == "received":
                    pages.append(ET.tostring(element, "unicode", default_namespace=NS))

            t.client.inspect = count_pages
            names = await t.association.name_list(0, "ied1Inverter")
            expected = t.server.model.names["ied1Inverter"]
            assert names == expected and len(expected) > 60
            assert len(pages) > 2 and all(len(page.encode()) <= 2000 for page in pages)
            # continueAfter naming nothing is refused
            from gen61850.generated.scsm_8_2 import services
            from gen61850.generated.scsm_8_2.bindings import (
                GetNameListRequest,
                ObjectClass,
                ObjectScope,
            )

            with pytest.raises(ServiceErrorResponse) as error:
                await t.association._call(
                    services.get_name_list_request,
                    services.get_name_list_response,
                    GetNameListRequest(
                        object_class=ObjectClass(basic_object_class=0),
                        object_scope=ObjectScope(domain_specific="ied1Inverter"),
                        continue_after="NOPE$XX",
                    ),
                )
            assert (error.value.error_class, error.value.code) == ("service", 4)
            # an answer that would exceed the negotiated size: service pdu-size
            with pytest.raises(ServiceErrorResponse) as error:
                await t.association.get_all_data_values("ied1Inverter", "ZINV1")
            assert (error.value.error_class, error.value.code) == ("service", 3)
            t.check.assert_clean()

    run(body())


def test_get_data_values_of_every_type(xmpp_env: Env, own_scl: Path) -> None:
    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            a = t.association
            f = await a.get_data_values(LD, "MMXU1$MX$TotW$mag$f")
            assert f.floating_point == b"\x08" + struct.pack(">f", 12.5)
            assert data_to_python(await a.get_data_values(LD, "GGIO1$SP$Setg$setVal")) == 2.5
            d = await a.get_data_values(LD, "GGIO1$SP$Setg$setVal")
            assert d.floating_point is not None and d.floating_point[0] == 0x0B
            assert (await a.get_data_values(LD, "XCBR1$ST$Pos$stVal")).bit_string == "01"
            assert (await a.get_data_values(LD, "XCBR1$ST$Pos$q")).bit_string == "0" * 13
            assert (await a.get_data_values(LD, "LLN0$ST$Mod$stVal")).integer == 1
            assert (await a.get_data_values(LD, "GGIO1$SP$Setg$limit")).integer == -5
            assert (await a.get_data_values(LD, "MMXU1$CF$TotW$db")).unsigned == 1000
            enabled = await a.get_data_values(LD, "GGIO1$SP$Setg$enabled")
            assert enabled.boolean is not None and enabled.boolean.true is not None
            assert (await a.get_data_values(LD, "LLN0$DC$NamPlt$d")).m_msstring == "Прибор"
            assert (
                await a.get_data_values(LD, "LLN0$DC$NamPlt$vendor")
            ).visible_string == "gen61850"
            t.server.model.set_value(f"{LD}/XCBR1$ST$Pos$t", 1_700_000_000.5)
            utc = (await a.get_data_values(LD, "XCBR1$ST$Pos$t")).utc_time
            assert utc == struct.pack(">I", 1_700_000_000) + bytes((0x80, 0, 0, 0x0A))
            hist = await a.get_data_values(LD, "GGIO1$ST$Hist$hstVal")
            assert data_to_python(hist) == (1, 2, 3, 4)
            third = await a.get_data_values(LD, "GGIO1$ST$Hist$hstVal", index=2)
            assert third.integer == 3
            # structure: DO with FC
            pos = await a.get_data_values(LD, "XCBR1$ST$Pos")
            assert pos.structure is not None and len(pos.structure.data) == 3
            # negative: unknown variable, array index out of range, index on a non-array
            for item, index, code in (
                ("XCBR1$ST$Pos$nope", None, DataAccessError.OBJECT_NON_EXISTENT),
                ("GGIO1$ST$Hist$hstVal", 4, DataAccessError.OBJECT_NON_EXISTENT),
                ("XCBR1$ST$Pos$stVal", 0, DataAccessError.OBJECT_ACCESS_UNSUPPORTED),
            ):
                with pytest.raises(DataAccessFailure) as failure:
                    await a.get_data_values(LD, item, index)
                assert failure.value.code == code
            # several at once: per-member results
            results = await a.read([(LD, "MMXU1$MX$TotW$q"), (LD, "NOPE"), ("NOLD", "LLN0")])
            assert results[0].success is not None
            assert results[1].failure == results[2].failure == 10
            t.check.assert_clean()

    run(body())


def test_get_all_data_values(xmpp_env: Env, complex_model: Path) -> None:
    async def body() -> None:
        async with live(xmpp_env, complex_model, server_user="ied1") as t:
            everything = await t.association.get_all_data_values("ied1Inverter", "ZINV1")
            assert everything.structure is not None
            fcs = [
                n.split("$")[1]
                for n in t.server.model.names["ied1Inverter"]
                if n.startswith("ZINV1$") and n.count("$") == 1
            ]
            assert len(everything.structure.data) == len(fcs) >= 2
            st = await t.association.get_all_data_values("ied1Inverter", "ZINV1", "ST")
            assert st == everything.structure.data[fcs.index("ST")]
            with pytest.raises(DataAccessFailure):
                await t.association.get_all_data_values("ied1Inverter", "ZINV1", "BL")
            t.check.assert_clean()

    run(body())


def test_set_data_values(xmpp_env: Env, own_scl: Path) -> None:
    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            a = t.association
            heard: list[tuple[str, str, object, str]] = []
            t.server.model.on_write(lambda d, i, v, p: heard.append((d, i, v, p)))
            await a.set_data_values(
                LD, "GGIO1$SP$Setg$setVal", scalar_to_data(BasicType.FLOAT64, 7.25)
            )
            assert t.server.model.get_value(f"{LD}/GGIO1$SP$Setg$setVal") == 7.25
            assert heard == [(LD, "GGIO1$SP$Setg$setVal", 7.25, xmpp_env.jid("client1"))]
            # a structure write (the whole Setg DO, FC SP) is all or nothing
            setg = await a.get_data_values(LD, "GGIO1$SP$Setg")
            assert setg.structure is not None
            setg.structure.data[1] = Data(integer=42)
            await a.set_data_values(LD, "GGIO1$SP$Setg", setg)
            assert t.server.model.get_value(f"{LD}/GGIO1$SP$Setg$limit") == 42
            # a whole functional-constraint group of a logical node
            group = await a.get_data_values(LD, "GGIO1$SP")
            assert group.structure is not None and group.structure.data[0] == setg
            heard.clear()
            await a.set_data_values(LD, "GGIO1$SP", group)
            leaves = [i for d, i in t.server.model.values if d == LD and i.startswith("GGIO1$SP$")]
            assert [i for _, i, _, _ in heard] == leaves and len(leaves) >= 4
            # one element of an array of structures (alternateAccess index), and its limits
            await a.set_data_values(LD, "GGIO1$CF$Hist$maxPts", Data(unsigned=9))
            ranges = await a.get_data_values(LD, "GGIO1$CF$Hist$hstRangeC")
            assert ranges.array is not None and len(ranges.array.data) == 2
            element = structure_of(scalar_to_data(BasicType.FLOAT32, -1.0), FLOAT32_TWO)
            heard.clear()
            await a.set_data_values(LD, "GGIO1$CF$Hist$hstRangeC", element, index=1)
            assert await a.get_data_values(LD, "GGIO1$CF$Hist$hstRangeC", index=1) == element
            assert (
                await a.get_data_values(LD, "GGIO1$CF$Hist$hstRangeC", index=0)
                == (ranges.array.data[0])
            )
            assert heard == [
                (
                    LD,
                    "GGIO1$CF$Hist$hstRangeC",
                    [{"min": 0.0, "max": 0.0}, {"min": -1.0, "max": 2.0}],
                    xmpp_env.jid("client1"),
                )
            ]
            for index, data, code in (
                (2, element, DataAccessError.OBJECT_NON_EXISTENT),
                (0, Data(integer=1), DataAccessError.TYPE_INCONSISTENT),
            ):
                with pytest.raises(DataAccessFailure) as failure:
                    await a.set_data_values(LD, "GGIO1$CF$Hist$hstRangeC", data, index=index)
                assert failure.value.code == code
            with pytest.raises(DataAccessFailure) as failure:
                await a.set_data_values(LD, "GGIO1$CF$Hist$maxPts", Data(unsigned=1), index=0)
            assert failure.value.code == DataAccessError.OBJECT_ACCESS_UNSUPPORTED
            # read-only FCs refuse writes; wrong types are type-inconsistent
            for item, data, code in (
                ("MMXU1$MX$TotW$mag$f", scalar_to_data(BasicType.FLOAT32, 1.0), 3),
                ("XCBR1$ST$Pos$stVal", Data(bit_string="10"), 3),
                ("GGIO1$SP$Setg$setVal", Data(integer=1), 7),
                ("GGIO1$SP$Setg$limit", Data(integer=1 << 20), 7),
                ("GGIO1$SP$Setg$enabled", Data(bit_string="1"), 7),
                ("GGIO1$SP$Setg$name", Data(visible_string="x" * 33), 7),
                ("GGIO1$SP$Nope", Data(integer=1), 10),
            ):
                with pytest.raises(DataAccessFailure) as failure:
                    await a.set_data_values(LD, item, data)
                assert failure.value.code == code, item
            assert t.server.model.get_value(f"{LD}/GGIO1$SP$Setg$limit") == 42
            # partial structure refused as a whole
            bad = Data(structure=DataList(data=[Data(integer=1)]))
            with pytest.raises(DataAccessFailure):
                await a.set_data_values(LD, "GGIO1$SP$Setg", bad)
            codes = await a.write(
                [(LD, "GGIO1$SP$Setg$enabled"), (LD, "MMXU1$MX$TotW$q")],
                [Data(boolean=Boolean(false=Null())), Data(bit_string="0" * 13)],
            )
            assert codes == [None, 3]
            assert t.server.model.get_value(f"{LD}/GGIO1$SP$Setg$enabled") is False
            with pytest.raises(ServiceErrorResponse):
                await a.write([(LD, "GGIO1$SP$Setg$enabled")], [])
            t.check.assert_clean()

    run(body())


def test_data_directory_and_definition(xmpp_env: Env, own_scl: Path) -> None:
    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            a = t.association
            assert await a.get_data_directory(LD, "XCBR1$ST$Pos") == ["stVal", "q", "t"]
            assert await a.get_data_directory(LD, "XCBR1") == ["ST"]
            definition = await a.get_data_definition(LD, "MMXU1$MX$TotW")
            assert definition.structure is not None
            mag = definition.structure.components.sequence[0]
            assert mag.component_name == "mag"
            inner = mag.component_type.type_description
            assert inner is not None and inner.structure is not None
            f = inner.structure.components.sequence[0].component_type.type_description
            assert f is not None and f.floating_point is not None
            assert (f.floating_point.format_width, f.floating_point.exponent_width) == (32, 8)
            hist = await a.get_data_definition(LD, "GGIO1$ST$Hist$hstVal")
            assert hist.array is not None and hist.array.number_of_elements == 4
            q = await a.get_data_definition(LD, "XCBR1$ST$Pos$q")
            assert q.bit_string == 13
            with pytest.raises(ServiceErrorResponse):
                await a.get_data_definition(LD, "XCBR1$ST$Nope")
            t.check.assert_clean()

    run(body())


def test_data_sets(xmpp_env: Env, own_scl: Path) -> None:
    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            a = t.association
            deletable, members = await a.get_data_set_directory(LD, "LLN0$Meas")
            assert not deletable
            assert members == [
                MemberReference(LD, "MMXU1$MX$TotW$mag$f"),
                MemberReference(LD, "XCBR1$ST$Pos$stVal"),
                MemberReference(LD, "GGIO1$SP$Setg$setVal"),
            ]
            values = await a.get_data_set_values(LD, "LLN0$Meas")
            assert [data_to_python(v.success) for v in values if v.success] == [12.5, "01", 2.5]
            codes = await a.set_data_set_values(
                LD,
                "LLN0$Meas",
                [
                    scalar_to_data(BasicType.FLOAT32, 1.0),
                    Data(bit_string="10"),
                    scalar_to_data(BasicType.FLOAT64, 3.5),
                ],
            )
            assert codes == [3, 3, None]
            assert t.server.model.get_value(f"{LD}/GGIO1$SP$Setg$setVal") == 3.5
            assert await a.delete_data_set(LD, "LLN0$Meas") is False
            # persistent data set created by the client
            await a.create_data_set(
                LD, "LLN0$Mine", [(LD, "GGIO1$SP$Setg$limit"), (LD, "XCBR1$ST$Pos")]
            )
            assert "LLN0$Mine" in await a.get_data_set_names(LD)
            deletable, members = await a.get_data_set_directory(LD, "LLN0$Mine")
            assert deletable and members[1] == (LD, "XCBR1$ST$Pos", None)
            mine = await a.get_data_set_values(LD, "LLN0$Mine")
            assert mine[0].success == Data(integer=-5) and mine[1].success is not None
            with pytest.raises(ServiceErrorResponse) as exists:
                await a.create_data_set(LD, "LLN0$Mine", [(LD, "GGIO1$SP$Setg$limit")])
            assert (exists.value.error_class, exists.value.code) == ("definition", 5)
            with pytest.raises(ServiceErrorResponse) as undefined:
                await a.create_data_set(LD, "LLN0$Bad", [(LD, "GGIO1$SP$Nope")])
            assert (undefined.value.error_class, undefined.value.code) == ("definition", 1)
            with pytest.raises(ServiceErrorResponse):
                await a.create_data_set(LD, "NOLN$Bad", [(LD, "GGIO1$SP$Setg$limit")])
            assert await a.delete_data_set(LD, "LLN0$Mine") is True
            with pytest.raises(DataAccessFailure):
                await a.delete_data_set(LD, "LLN0$Mine")
            with pytest.raises(ServiceErrorResponse):
                await a.get_data_set_values(LD, "LLN0$Mine")
            # non-persistent (association-specific) data set
            await a.create_data_set(None, "temp", [(LD, "MMXU1$MX$TotW$mag$f")])
            assert data_to_python((await a.get_data_set_values(None, "temp"))[0].success) == 12.5
            assert (await a.get_data_set_directory(None, "temp"))[0] is True
            t.check.assert_clean()

    run(body())


def test_aa_specific_data_sets_end_with_the_association(xmpp_env: Env, own_scl: Path) -> None:
    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            await t.association.create_data_set(None, "temp", [(LD, "MMXU1$MX$TotW$q")])
            await t.association.release()
            again = await t.client.associate(xmpp_env.jid("xied"))
            with pytest.raises(ServiceErrorResponse):
                await again.get_data_set_values(None, "temp")
            t.check.assert_clean()

    run(body())


def test_every_variable_of_complex_model_reads_and_describes(
    xmpp_env: Env, complex_model: Path
) -> None:
    async def body() -> None:
        async with live(xmpp_env, complex_model, server_user="ied1") as t:
            a = t.association
            total = 0
            for ld in await a.get_server_directory():
                names = await a.name_list(0, ld)
                assert names == t.server.model.names[ld]
                for start in range(0, len(names), 40):
                    batch = [(ld, n) for n in names[start : start + 40]]
                    results = await a.read(batch)
                    assert all(r.success is not None for r in results), batch
                    total += len(results)
                for ln in [n for n in names if "$" not in n]:
                    definition = await a.get_data_definition(ld, ln)
                    assert definition.structure is not None
            assert total == sum(len(v) for v in t.server.model.names.values())
            t.check.assert_clean()

    run(body())


def test_server_directory_of_files(xmpp_env: Env, own_scl: Path) -> None:
    async def body() -> None:
        async with live(xmpp_env, own_scl, server_options={"max_pdu_size": 2000}) as t:
            assert await t.association.get_server_files() == []
            for number in range(40):
                t.server.model.add_file(f"COMTRADE/rec{number:03}.cfg", 100 + number, 1.7e9)
            t.server.model.add_file("station.icd", 5, 0.0)
            files = await t.association.get_server_files()
            assert len(files) == 41  # more than one page at 2,000 octets
            assert files[0] == ("COMTRADE/rec000.cfg", 100, "20231114221320Z")
            assert files[-1] == ("station.icd", 5, "19700101000000Z")
            size, modified = await t.association.get_file_attribute_values("station.icd")
            assert (size, modified) == (5, "19700101000000Z")
            with pytest.raises(ServiceErrorResponse) as error:
                await t.association.get_file_attribute_values("nope.txt")
            assert (error.value.error_class, error.value.code) == ("file", 7)
            t.check.assert_clean()

    run(body())


def test_a_server_that_does_not_page_on_is_not_asked_forever(xmpp_env: Env, own_scl: Path) -> None:
    from gen61850.generated.scsm_8_2.bindings import (
        GetNameListRequest,
        GetNameListResponse,
        ListOfIdentifier,
    )
    from gen61850.runtime.xmpp.errors import PayloadError

    def same_page(peer: str, request: GetNameListRequest) -> GetNameListResponse:
        return GetNameListResponse(
            list_of_identifier=ListOfIdentifier(identifier=["A", "B"]),
            more_follows=Boolean(true=Null()),
        )

    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            t.server.handlers.get_name_list = same_page  # type: ignore[method-assign]
            with pytest.raises(PayloadError, match="'A' again"):
                await asyncio.wait_for(t.association.get_server_directory(), 10)

    run(body())


def test_fcda_ix_names_one_array_element(xmpp_env: Env, own_scl: Path) -> None:
    """FCDA ix=2 on hstVal is element 2, not the whole array; an ix into a component of a
    structure array's element cannot be served and says so per member."""

    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            a = t.association
            _, members = await a.get_data_set_directory(LD, "LLN0$Arr")
            assert members == [
                MemberReference(LD, "GGIO1$ST$Hist$hstVal", 2),
                MemberReference(LD, "GGIO1$CF$Hist$hstRangeC", 1),
                MemberReference(LD, "GGIO1$CF$Hist$hstRangeC", 1),
            ]
            values = await a.get_data_set_values(LD, "LLN0$Arr")
            assert values[0].success == Data(integer=3)
            assert values[1].success == structure_of(
                scalar_to_data(BasicType.FLOAT32, 0.0), scalar_to_data(BasicType.FLOAT32, 0.0)
            )
            assert values[2].failure == DataAccessError.OBJECT_ACCESS_UNSUPPORTED
            element = structure_of(scalar_to_data(BasicType.FLOAT32, -1.0), FLOAT32_TWO)
            codes = await a.set_data_set_values(
                LD, "LLN0$Arr", [Data(integer=9), element, scalar_to_data(BasicType.FLOAT32, 1.0)]
            )
            assert codes == [3, None, DataAccessError.OBJECT_ACCESS_UNSUPPORTED]
            assert t.server.model.get_value(f"{LD}/GGIO1$CF$Hist$hstRangeC")[1] == {  # type: ignore[index]
                "min": -1.0,
                "max": 2.0,
            }
            t.check.assert_clean()

    run(body())


def test_valkind_ro_and_conf_are_not_client_writable(xmpp_env: Env, own_scl: Path) -> None:
    """valKind RO (on the DA type) → object-access-denied; Conf (on the DAI, overriding the
    type's Set) → temporarily-unavailable; also inside a structure write; the application
    still sets them."""

    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            a = t.association
            text = Data(visible_string="2.0")
            for item, data, code in (
                ("LLN0$DC$NamPlt$swRev", text, DataAccessError.OBJECT_ACCESS_DENIED),
                ("MMXU1$CF$TotW$db", Data(unsigned=5), DataAccessError.TEMPORARILY_UNAVAILABLE),
            ):
                with pytest.raises(DataAccessFailure) as failure:
                    await a.set_data_values(LD, item, data)
                assert failure.value.code == code, item
            # the whole nameplate: refused as a whole (vendor and d are Set)
            plate = await a.get_data_values(LD, "LLN0$DC$NamPlt")
            with pytest.raises(DataAccessFailure) as failure:
                await a.set_data_values(LD, "LLN0$DC$NamPlt", plate)
            assert failure.value.code == DataAccessError.OBJECT_ACCESS_DENIED
            await a.set_data_values(LD, "LLN0$DC$NamPlt$vendor", Data(visible_string="me"))
            assert (await a.get_data_values(LD, "LLN0$DC$NamPlt$swRev")).visible_string == "1.0"
            assert (await a.get_data_values(LD, "MMXU1$CF$TotW$db")).unsigned == 1000
            t.server.model.set_value(f"{LD}/MMXU1$CF$TotW$db", 7)
            assert (await a.get_data_values(LD, "MMXU1$CF$TotW$db")).unsigned == 7

    run(body())


def test_data_set_names_and_limits(xmpp_env: Env, own_scl: Path) -> None:
    """IEC 61850-7-2/8-1 naming (persistent LN$name, non-persistent @name; the name 1 to 32
    letters, digits and _ starting with a letter) and what one association may create."""

    async def body() -> None:
        async with live(xmpp_env, own_scl) as t:
            a = t.association
            member = [(LD, "GGIO1$SP$Setg$limit")]
            for domain, name, error in (
                (LD, "LLN0$evil$$ds", ("service", 5)),
                (LD, "LLN0$" + "D" * 33, ("service", 5)),
                (LD, "LLN0$1st", ("service", 5)),
                (LD, "LLN0", ("service", 5)),
                (LD, "NOLN$ds", ("definition", 1)),
                (LD, "LLN0$ST$x", ("service", 5)),
                (None, "a$b", ("service", 5)),
                (None, "with space", ("service", 5)),
                ("NOLD", "LLN0$ds", ("access", 2)),
            ):
                with pytest.raises(ServiceErrorResponse) as refused:
                    await a.create_data_set(domain, name, member)
                assert (refused.value.error_class, refused.value.code) == error, name
            # 105 characters break the schema's Identifier before any naming rule
            with pytest.raises(RejectedError):
                await a.create_data_set(LD, "LLN0$" + "E" * 100, member)
            assert await a.get_data_set_names(LD) == ["LLN0$Meas", "LLN0$Arr"]
            # per association: 16 data sets, persistent and non-persistent together
            limit = t.server.model.limits.per_association
            for i in range(limit // 2):
                await a.create_data_set(LD, f"GGIO1$ds{i}", member)
                await a.create_data_set(None, f"mine{i}", member)
            with pytest.raises(ServiceErrorResponse) as refused:
                await a.create_data_set(None, "one_more", member)
            assert (refused.value.error_class, refused.value.code) == ("resource", 4)
            # persistent ones are seen by every client; non-persistent ones by their own only
            other = AcsiClient(xmpp_env.settings("client2"))
            await other.start()
            try:
                b = await other.associate(xmpp_env.jid("xied"))
                names = await b.get_data_set_names(LD)
                assert len([n for n in names if n.startswith("GGIO1$ds")]) == limit // 2
                with pytest.raises(ServiceErrorResponse):
                    await b.get_data_set_values(None, "mine0")
                await b.create_data_set(None, "mine0", member)  # its own, same name
                assert await b.delete_data_set(LD, "GGIO1$ds0") is True  # persistent: anyone
                await b.release()
            finally:
                await other.stop()
            # a server-wide bound on persistent data sets made by clients (7 are left now)
            t.server.model.limits = DataSetLimits(persistent=limit // 2 - 1)
            await a.delete_data_set(None, "mine0")
            with pytest.raises(ServiceErrorResponse) as refused:
                await a.create_data_set(LD, "GGIO1$late", member)
            assert (refused.value.error_class, refused.value.code) == ("resource", 4)
            # the only payloads off the schema are the two 105-character names we sent
            assert [e[:5] for e in t.check.errors] == ["sent:", "recei"]
            assert all("'105'" in e or "E" * 100 in e for e in t.check.errors[:1])

    run(body())
