"""The generated codec and the value mapping, without a network: transcripts, tables, errors,
random round trips checked by the XSD (lxml), and the generated files' drift check."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gen61850 import resource_path
from gen61850.generated.scsm_8_2 import codec, services
from gen61850.generated.scsm_8_2.bindings import (
    AccessResult,
    AssociationContext,
    Boolean,
    ConfirmedResponsePdu,
    ConfirmedServiceResponse,
    Data,
    DataList,
    GetNameListRequest,
    GetNameListResponse,
    ListOfAccessResult,
    ListOfIdentifier,
    Mmspdu,
    Null,
    ObjectClass,
    ObjectScope,
    ReadRequest,
    ReadResponse,
)
from gen61850.generator.xmpp import target
from gen61850.runtime.device import BasicType, TimeQuality, Timestamp
from gen61850.runtime.xmpp import pdus
from gen61850.runtime.xmpp.client import variables
from gen61850.runtime.xmpp.errors import PayloadError, PayloadRangeError, PayloadTooDeep
from gen61850.runtime.xmpp.values import (
    ValueMismatch,
    data_to_scalar,
    parse_text,
    scalar_to_data,
)
from tests.xmpp.conftest import SchemaCheck

NS = codec.NAMESPACE


def text(element: ET.Element) -> str:
    return ET.tostring(element, encoding="unicode", default_namespace=NS)


def test_read_request_transcript() -> None:
    pdu = services.read_request(
        7,
        ReadRequest(variable_access_specification=variables([("IED1LD0", "MMXU1$MX$TotW$mag$f")])),
    )
    element = codec.encode(pdus.context("a1", pdu))
    assert text(element) == (
        f'<AssociationContext xmlns="{NS}"><associationID>a1</associationID><pdu>'
        "<confirmed-RequestPDU><invokeID>7</invokeID><service><read>"
        "<variableAccessSpecification><listOfVariable><SEQUENCE><variableSpecification><name>"
        "<domain-specific><domainID>IED1LD0</domainID><itemID>MMXU1$MX$TotW$mag$f</itemID>"
        "</domain-specific></name></variableSpecification></SEQUENCE></listOfVariable>"
        "</variableAccessSpecification></read></service></confirmed-RequestPDU></pdu>"
        "</AssociationContext>"
    )
    assert codec.decode(element) == pdus.context("a1", pdu)
    assert services.request_iq_type(pdu.confirmed_request_pdu.service) == "get"  # type: ignore[union-attr]


def test_read_response_transcript_with_structure_and_failure() -> None:
    data = Data(
        structure=DataList(
            data=[
                Data(floating_point=b"\x08" + struct.pack(">f", 1.5)),
                Data(bit_string="0000000000000"),
                Data(boolean=Boolean(true=Null())),
            ]
        )
    )
    pdu = Mmspdu(
        confirmed_response_pdu=ConfirmedResponsePdu(
            invoke_id=3,
            service=ConfirmedServiceResponse(
                read=ReadResponse(
                    list_of_access_result=ListOfAccessResult(
                        access_result=[AccessResult(success=data), AccessResult(failure=10)]
                    )
                )
            ),
        )
    )
    element = codec.encode(pdus.context("a1", pdu))
    body = text(element)
    assert (
        "<AccessResult><success><structure><Data><floating-point>083FC00000</floating-point>"
        "</Data><Data><bit-string>0000000000000</bit-string></Data><Data><boolean><true />"
        "</boolean></Data></structure></success></AccessResult>"
        "<AccessResult><failure>10</failure></AccessResult>"
    ) in body
    assert codec.decode(element) == pdus.context("a1", pdu)
    assert services.read_response(pdu.confirmed_response_pdu) is not None  # type: ignore[arg-type]
    with pytest.raises(PayloadError):
        services.write_response(pdu.confirmed_response_pdu)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("xml", "path", "reason"),
    [
        ("<associationID>a</associationID>", "/AssociationContext", "missing element <pdu>"),
        (
            "<associationID>a</associationID><pdu><confirmed-RequestPDU><invokeID>x</invokeID>"
            "</confirmed-RequestPDU></pdu>",
            "/AssociationContext/pdu/confirmed-RequestPDU/invokeID",
            "not an integer",
        ),
        (
            "<associationID>a</associationID><pdu><confirmed-RequestPDU><invokeID>1</invokeID>"
            "<service><foo/></service></confirmed-RequestPDU></pdu>",
            "/AssociationContext/pdu/confirmed-RequestPDU/service",
            "unexpected element",
        ),
        (
            "<associationID>a</associationID><pdu><confirmed-ResponsePDU><invokeID>1</invokeID>"
            "<service><read><listOfAccessResult><AccessResult><success><utc-time>XYZ</utc-time>"
            "</success></AccessResult></listOfAccessResult></read></service></confirmed-ResponsePDU>"
            "</pdu>",
            "utc-time",
            "not hexadecimal",
        ),
    ],
)
def test_decode_errors_name_the_element_path(xml: str, path: str, reason: str) -> None:
    element = ET.fromstring(f'<AssociationContext xmlns="{NS}">{xml}</AssociationContext>')
    with pytest.raises(PayloadError) as error:
        codec.decode(element)
    assert path in error.value.path and reason in error.value.reason


def _request(invoke: str, service: str = "<conclude/>") -> str:
    return (
        "<associationID>a</associationID><pdu><confirmed-RequestPDU>"
        f"<invokeID>{invoke}</invokeID><service>{service}</service></confirmed-RequestPDU></pdu>"
    )


GET_DOMAINS = (
    "<getNameList><objectClass><basicObjectClass>9</basicObjectClass></objectClass>"
    "<objectScope><vmdSpecific/></objectScope></getNameList>"
)


@pytest.mark.parametrize(
    ("xml", "error", "reason"),
    [
        # the schema's ranges: invokeID is Unsigned32, Identifier 1..64 characters
        (_request("-1", GET_DOMAINS), PayloadRangeError, "outside 0..4294967295"),
        (_request(str(2**32), GET_DOMAINS), PayloadRangeError, "outside 0..4294967295"),
        (_request(str(10**23), GET_DOMAINS), PayloadRangeError, "outside"),
        (
            _request(
                "1", GET_DOMAINS.replace("<vmdSpecific/>", f"<domainSpecific>{'D' * 65}")
            ).replace("</objectScope>", "</domainSpecific></objectScope>"),
            PayloadRangeError,
            "at most 64",
        ),
        (
            _request("1", GET_DOMAINS.replace("<vmdSpecific/>", "<domainSpecific/>")),
            PayloadRangeError,
            "at least 1",
        ),
        (
            "<associationID>a\tb</associationID><pdu><conclude-RequestPDU/></pdu>",
            PayloadRangeError,
            "does not match",
        ),
        # what int() and bytes.fromhex() take but XML Schema does not
        (_request("1_0", GET_DOMAINS), PayloadError, "not an integer"),
        (_request("\u0663", GET_DOMAINS), PayloadError, "not an integer"),  # an Arabic 3
        (_request("0x10", GET_DOMAINS), PayloadError, "not an integer"),
        (_request("9" * 5000, GET_DOMAINS), PayloadError, "an integer of 5000 digits"),
        (
            "<associationID>a</associationID><pdu><confirmed-ResponsePDU><invokeID>1</invokeID>"
            "<service><read><listOfAccessResult><AccessResult><success><octet-string>01 02"
            "</octet-string></success></AccessResult></listOfAccessResult></read></service>"
            "</confirmed-ResponsePDU></pdu>",
            PayloadError,
            "not hexadecimal",
        ),
        # an element twice, a choice with two or no alternatives
        (
            "<associationID>a</associationID><associationID>b</associationID>"
            "<pdu><conclude-RequestPDU/></pdu>",
            PayloadError,
            "more than once",
        ),
        (
            "<associationID>a</associationID><pdu><conclude-RequestPDU/>"
            "<conclude-ResponsePDU/></pdu>",
            PayloadError,
            "exactly one element, not 2",
        ),
        ("<associationID>a</associationID><pdu/>", PayloadError, "exactly one element, not 0"),
        # attributes, text where elements belong, elements inside a simple value
        (
            '<associationID>a</associationID><pdu><conclude-RequestPDU evil="1"/></pdu>',
            PayloadError,
            "unexpected attribute evil",
        ),
        (
            "<associationID>a</associationID><pdu>junk<conclude-RequestPDU/></pdu>",
            PayloadError,
            "unexpected text 'junk'",
        ),
        (
            "<associationID>a</associationID><pdu><conclude-RequestPDU/>junk</pdu>",
            PayloadError,
            "unexpected text 'junk'",
        ),
        (
            f"<associationID>a<x xmlns='{NS}'/></associationID><pdu><conclude-RequestPDU/></pdu>",
            PayloadError,
            "in a simple value",
        ),
    ],
)
def test_decode_checks_what_the_schema_allows(
    xml: str, error: type[PayloadError], reason: str
) -> None:
    element = ET.fromstring(f'<AssociationContext xmlns="{NS}">{xml}</AssociationContext>')
    with pytest.raises(error) as raised:
        codec.decode(element)
    assert reason in raised.value.reason


def _nested_data(levels: int) -> ET.Element:
    inner = "<integer>1</integer>"
    for _ in range(levels):
        inner = f"<structure><Data>{inner}</Data></structure>"
    return ET.fromstring(
        f'<AssociationContext xmlns="{NS}"><associationID>a</associationID><pdu>'
        "<confirmed-ResponsePDU><invokeID>1</invokeID><service><read><listOfAccessResult>"
        f"<AccessResult><success>{inner}</success></AccessResult></listOfAccessResult></read>"
        "</service></confirmed-ResponsePDU></pdu></AssociationContext>"
    )


def test_nesting_is_bounded_by_the_generated_limit() -> None:
    """MAX_NESTING_LEVEL levels of Data decode; far deeper payloads are refused by depth,
    before Python's recursion limit is anywhere near (no RecursionError)."""
    assert codec.MAX_NESTING_LEVEL == 16
    assert codec.MAX_NESTING_LEVEL * 2 < codec.MAX_DEPTH < 200
    decoded = codec.decode(_nested_data(codec.MAX_NESTING_LEVEL))
    assert decoded.pdu.confirmed_response_pdu is not None
    for levels in (codec.MAX_DEPTH, 600, 5000):
        with pytest.raises(PayloadTooDeep, match=f"deeper than {codec.MAX_DEPTH}"):
            codec.decode(_nested_data(levels))


def test_decode_refuses_another_root() -> None:
    with pytest.raises(PayloadError, match="expected <AssociationContext>"):
        codec.decode(ET.fromstring("<x/>"))


@pytest.mark.parametrize(
    ("btype", "value", "data"),
    [
        (BasicType.FLOAT32, 1.5, Data(floating_point=bytes.fromhex("083FC00000"))),
        (BasicType.FLOAT64, -2.0, Data(floating_point=bytes.fromhex("0BC000000000000000"))),
        (BasicType.DBPOS, 2, Data(bit_string="10")),
        (BasicType.QUALITY, 0b0100000000001, Data(bit_string="0100000000001")),
        (BasicType.INT8, -128, Data(integer=-128)),
        (BasicType.INT32U, 4_000_000_000, Data(unsigned=4_000_000_000)),
        (BasicType.ENUM, 5, Data(integer=5)),
        (BasicType.BOOLEAN, True, Data(boolean=Boolean(true=Null()))),
        (BasicType.TIMESTAMP, Timestamp(1.5), Data(utc_time=bytes.fromhex("000000018000000A"))),
        (
            BasicType.TIMESTAMP,
            Timestamp(2.0, TimeQuality(True, False, True, 24)),  # TimeQuality is carried
            Data(utc_time=bytes.fromhex("00000002000000B8")),
        ),
        (BasicType.VISSTRING64, "abc", Data(visible_string="abc")),
        (BasicType.UNICODE255, "Ωμ", Data(m_msstring="Ωμ")),
        (BasicType.OCTET64, b"\x01\xff", Data(octet_string=b"\x01\xff")),
        (
            BasicType.ENTRYTIME,
            441_763_200 + 86_400 * 2 + 1.5,
            Data(binary_time=bytes.fromhex("000005DC0002")),
        ),
    ],
)
def test_value_table(btype: BasicType, value: object, data: Data) -> None:
    assert scalar_to_data(btype, value) == data  # type: ignore[arg-type]
    assert data_to_scalar(btype, data) == value


def test_a_float_timestamp_is_seconds_with_the_default_quality() -> None:
    assert scalar_to_data(BasicType.TIMESTAMP, 1.5) == scalar_to_data(
        BasicType.TIMESTAMP, Timestamp(1.5, TimeQuality(accuracy=10))
    )
    assert data_to_scalar(
        BasicType.TIMESTAMP, Data(utc_time=bytes.fromhex("0000000100000045"))
    ) == Timestamp(1.0, TimeQuality(clock_failure=True, accuracy=5))
    stamp = data_to_scalar(BasicType.TIMESTAMP, Data(utc_time=bytes.fromhex("6553F100000000E1")))
    assert isinstance(stamp, Timestamp)
    assert stamp.quality == TimeQuality(True, True, True, 1)
    assert stamp.datetime.isoformat() == "2023-11-14T22:13:20+00:00"


@pytest.mark.parametrize(
    ("btype", "data"),
    [
        (BasicType.FLOAT32, Data(floating_point=bytes.fromhex("0B3FC00000"))),
        (BasicType.INT8, Data(integer=128)),
        (BasicType.INT16U, Data(unsigned=-1)),
        (BasicType.QUALITY, Data(bit_string="01")),
        (BasicType.QUALITY, Data(bit_string="000000000000x")),
        (BasicType.TIMESTAMP, Data(utc_time=b"\x00")),
        (BasicType.VISSTRING32, Data(visible_string="x" * 33)),
        # what XML text cannot carry unchanged (ASN.1 VisibleString is 0x20-0x7E)
        (BasicType.VISSTRING255, Data(visible_string="a\x1b[2Jb")),
        (BasicType.VISSTRING255, Data(visible_string="tab\there")),
        (BasicType.VISSTRING255, Data(visible_string="é")),
        (BasicType.OBJREF, Data(visible_string="LD/LN\x00")),
        (BasicType.UNICODE255, Data(m_msstring="a\x00b")),
        (BasicType.UNICODE255, Data(m_msstring="a\rb")),  # XML turns CR into LF
        (BasicType.UNICODE255, Data(m_msstring="\ufffe")),
        (BasicType.UNICODE255, Data(m_msstring="x" * 256)),
        (BasicType.BOOLEAN, Data(integer=1)),
        (BasicType.ENTRYTIME, Data(binary_time=bytes.fromhex("FFFFFFFF0000"))),
    ],
)
def test_values_that_do_not_fit(btype: BasicType, data: Data) -> None:
    with pytest.raises(ValueMismatch):
        data_to_scalar(btype, data)


@pytest.mark.parametrize(
    ("btype", "value"),
    [
        (BasicType.BOOLEAN, "false"),  # not True by truth value
        (BasicType.DBPOS, 4),  # 2 bits
        (BasicType.QUALITY, -1),
        (BasicType.INT32, "12"),
        (BasicType.FLOAT32, b"\x00"),
        (BasicType.OCTET64, "0102"),  # not silently empty
        (BasicType.TIMESTAMP, -1.0),
        (BasicType.TIMESTAMP, float(1 << 32)),
        (BasicType.TIMESTAMP, "12:00"),
        (BasicType.FLOAT32, Timestamp(1.0)),
        (BasicType.VISSTRING64, "bell\x07"),
        (BasicType.VISSTRING64, "line\nbreak"),
        (BasicType.VISSTRING64, 5),
        (BasicType.UNICODE255, "nul\x00"),
        (BasicType.UNICODE255, "\udc00"),  # a lone surrogate is no XML character
    ],
)
def test_values_of_another_kind_are_refused(btype: BasicType, value: object) -> None:
    with pytest.raises(ValueMismatch):
        scalar_to_data(btype, value)  # type: ignore[arg-type]


def test_parse_text() -> None:
    assert parse_text(BasicType.BOOLEAN, "true") is True
    assert parse_text(BasicType.DBPOS, "10") == 2
    assert parse_text(BasicType.FLOAT32, "1.25") == 1.25
    with pytest.raises(ValueMismatch, match="not a INT32"):
        parse_text(BasicType.INT32, "abc")


def _data() -> st.SearchStrategy[Data]:
    leaves = st.one_of(
        st.booleans().map(
            lambda b: Data(boolean=Boolean(true=Null()) if b else Boolean(false=Null()))
        ),
        st.integers(-(2**63), 2**63 - 1).map(lambda i: Data(integer=i)),
        st.integers(0, 2**64 - 1).map(lambda i: Data(unsigned=i)),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126)).map(
            lambda s: Data(visible_string=s)
        ),
        st.binary(max_size=12).map(lambda b: Data(octet_string=b)),
        st.from_regex(r"[01]{1,20}", fullmatch=True).map(lambda s: Data(bit_string=s)),
        st.binary(min_size=8, max_size=8).map(lambda b: Data(utc_time=b)),
    )
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4).flatmap(
            lambda items: st.sampled_from(
                [Data(structure=DataList(data=items)), Data(array=DataList(data=items))]
            )
        ),
        max_leaves=12,
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(_data(), max_size=5), st.integers(0, 2**32 - 1))
def test_random_answers_round_trip_and_follow_the_schema(values: list[Data], invoke: int) -> None:
    pdu = Mmspdu(
        confirmed_response_pdu=ConfirmedResponsePdu(
            invoke_id=invoke,
            service=ConfirmedServiceResponse(
                read=ReadResponse(
                    list_of_access_result=ListOfAccessResult(
                        access_result=[AccessResult(success=v) for v in values]
                    )
                )
            ),
        )
    )
    value = AssociationContext(association_id="r", pdu=pdu)
    element = codec.encode(value)
    check = _CHECK
    check("sent", element)
    assert check.errors == []
    assert codec.decode(ET.fromstring(ET.tostring(element))) == value


_CHECK = SchemaCheck()


def test_generated_files_are_up_to_date() -> None:
    generated = resource_path("generated")
    for relative, content in target.build().items():
        assert (generated / relative).read_text(encoding="utf-8") == content, relative


# ---------------------------------------------------------------- asn1tools as a reference

MMS_SUBSET = Path(__file__).with_name("mms_subset.asn")


def _as_asn1tools_xml(element: ET.Element, type_name: str) -> bytes:
    """Our element without namespace, renamed to the ASN.1 type (a top-level XER value)."""
    copy = ET.fromstring(ET.tostring(element))
    for node in copy.iter():
        node.tag = node.tag.split("}", 1)[1]
    copy.tag = type_name
    return ET.tostring(copy)


def _service_element(pdu: Mmspdu, path: str) -> ET.Element:
    found = codec.encode(pdus.context("r", pdu)).find(
        "/".join(f"{{{NS}}}{p}" for p in path.split("/"))
    )
    assert found is not None
    return found


def test_asn1tools_decodes_our_requests_and_answers() -> None:
    asn1tools = pytest.importorskip("asn1tools")
    mms = asn1tools.compile_files(str(MMS_SUBSET), "xer")
    read = services.read_request(
        1,
        ReadRequest(
            variable_access_specification=variables(
                [("LD0", "MMXU1$MX$TotW$mag$f"), ("LD0", "LLN0")]
            )
        ),
    )
    element = _service_element(read, "pdu/confirmed-RequestPDU/service/read")
    assert mms.decode("Read-Request", _as_asn1tools_xml(element, "Read-Request")) == {
        "specificationWithResult": False,
        "variableAccessSpecification": (
            "listOfVariable",
            [
                {
                    "variableSpecification": (
                        "name",
                        ("domain-specific", {"domainID": "LD0", "itemID": "MMXU1$MX$TotW$mag$f"}),
                    )
                },
                {
                    "variableSpecification": (
                        "name",
                        ("domain-specific", {"domainID": "LD0", "itemID": "LLN0"}),
                    )
                },
            ],
        ),
    }
    names = services.get_name_list_request(
        2,
        GetNameListRequest(
            object_class=ObjectClass(basic_object_class=0),
            object_scope=ObjectScope(domain_specific="LD0"),
            continue_after="LLN0$ST",
        ),
    )
    element = _service_element(names, "pdu/confirmed-RequestPDU/service/getNameList")
    assert mms.decode("GetNameList-Request", _as_asn1tools_xml(element, "GetNameList-Request")) == {
        "objectClass": ("basicObjectClass", 0),
        "objectScope": ("domainSpecific", "LD0"),
        "continueAfter": "LLN0$ST",
    }
    answer = Mmspdu(
        confirmed_response_pdu=ConfirmedResponsePdu(
            invoke_id=2,
            service=ConfirmedServiceResponse(
                get_name_list=GetNameListResponse(
                    list_of_identifier=ListOfIdentifier(identifier=["LLN0", "LLN0$ST"]),
                    more_follows=Boolean(false=Null()),
                )
            ),
        )
    )
    element = _service_element(answer, "pdu/confirmed-ResponsePDU/service/getNameList")
    assert mms.decode(
        "GetNameList-Response", _as_asn1tools_xml(element, "GetNameList-Response")
    ) == {"listOfIdentifier": ["LLN0", "LLN0$ST"], "moreFollows": False}
    initiate = pdus.initiate_request(65000, 64)
    element = _service_element(initiate, "pdu/initiate-RequestPDU")
    decoded = mms.decode("Initiate-RequestPDU", _as_asn1tools_xml(element, "Initiate-RequestPDU"))
    assert decoded["localDetailCalling"] == 65000
    assert decoded["initRequestDetail"]["servicesSupportedCalling"][1] == 93
    # str1, str2, vnam, valt, vlis: the octets IEC 61850-8-1 peers send (F1 00, 11 bits)
    assert decoded["initRequestDetail"]["proposedParameterCBB"] == (b"\xf1\x00", 11)
    error = pdus.confirmed_error(3, ("access", 2), "no such thing")
    element = _service_element(error, "pdu/confirmed-ErrorPDU/serviceError")
    assert mms.decode("ServiceError", _as_asn1tools_xml(element, "ServiceError")) == {
        "errorClass": ("access", 2),
        "additionalDescription": "no such thing",
    }


def test_stanza_plugin_carries_the_payload() -> None:
    from slixmpp import Iq, Message

    from gen61850.generated.scsm_8_2 import stanza

    stanza.register()
    value = pdus.context("a9", pdus.conclude_request())
    iq = Iq()
    iq[stanza.PLUGIN_ATTRIB].set_context(value)
    assert iq[stanza.PLUGIN_ATTRIB].context() == value
    assert f'<AssociationContext xmlns="{NS}"><associationID>a9</associationID>' in str(iq)
    message = Message()
    message[stanza.PLUGIN_ATTRIB].set_context(value)
    parsed = Message(xml=ET.fromstring(str(message)))
    assert parsed[stanza.PLUGIN_ATTRIB].context() == value


def test_only_served_services_are_advertised() -> None:
    """ServiceSupportOptions: getNameList 1, read 4, write 5, getVariableAccessAttributes 6,
    defineNamedVariableList 11, getNamedVariableListAttributes 12, deleteNamedVariableList 13,
    fileDirectory 77; informationReport (79) only once reports are sent (controls send
    LastApplError and CommandTermination; report control blocks send reports); readJournal
    (65) only with log control blocks; the file transfer services (obtainFile 46, fileOpen
    72, fileRead 73, fileClose 74, fileDelete 76) only with a file store."""
    from gen61850.runtime.filestore import FileStore
    from gen61850.runtime.xmpp.controls import ControlService
    from gen61850.runtime.xmpp.core import ServerCore
    from gen61850.runtime.xmpp.files import FILE_SERVICE_BITS, FileService
    from tests.xmpp.conftest import OWN_SCL, served_model

    bits = {i for i, bit in enumerate(pdus.SERVICES_SUPPORTED) if bit == "1"}
    assert bits == {1, 4, 5, 6, 11, 12, 13, 77}
    # one bit per served confirmed service (readJournal's with logs)
    assert len(services.SERVICES) == len(bits) + len(FILE_SERVICE_BITS) + 1
    core = ServerCore(served_model(OWN_SCL))
    FileService(core, FileStore(Path(__file__).parent))
    ControlService(core)
    advertised = {i for i, bit in enumerate(core.offer.services) if bit == "1"}
    assert advertised == bits | set(FILE_SERVICE_BITS) | {79}


def test_asn1tools_decodes_our_file_service_elements() -> None:
    from gen61850.generated.scsm_8_2.bindings import (
        ConfirmedResponsePdu,
        ConfirmedServiceResponse,
        FileName,
        FileOpenRequest,
        FileReadResponse,
        ObtainFileRequest,
    )

    asn1tools = pytest.importorskip("asn1tools")
    mms = asn1tools.compile_files(str(MMS_SUBSET), "xer")
    name = FileName(graphic_string=["COMTRADE/fault1.cfg"])
    opened = services.file_open_request(1, FileOpenRequest(file_name=name, initial_position=10))
    element = _service_element(opened, "pdu/confirmed-RequestPDU/service/fileOpen")
    assert mms.decode("FileOpen-Request", _as_asn1tools_xml(element, "FileOpen-Request")) == {
        "fileName": ["COMTRADE/fault1.cfg"],
        "initialPosition": 10,
    }
    obtain = services.obtain_file_request(
        2, ObtainFileRequest(source_file=name, destination_file=FileName(graphic_string=["b"]))
    )
    element = _service_element(obtain, "pdu/confirmed-RequestPDU/service/obtainFile")
    assert mms.decode("ObtainFile-Request", _as_asn1tools_xml(element, "ObtainFile-Request")) == {
        "sourceFile": ["COMTRADE/fault1.cfg"],
        "destinationFile": ["b"],
    }
    chunk = Mmspdu(
        confirmed_response_pdu=ConfirmedResponsePdu(
            invoke_id=3,
            service=ConfirmedServiceResponse(
                file_read=FileReadResponse(
                    file_data=b"\x00\xffab", more_follows=Boolean(false=Null())
                )
            ),
        )
    )
    element = _service_element(chunk, "pdu/confirmed-ResponsePDU/service/fileRead")
    assert mms.decode("FileRead-Response", _as_asn1tools_xml(element, "FileRead-Response")) == {
        "fileData": b"\x00\xffab",
        "moreFollows": False,
    }
