"""Building and reading the PDUs around the services: initiate, conclude, errors, rejects.

Also the cheap look into a payload that does not decode (to find its invokeID for a reject)
and the size measure used for the negotiated maximum PDU size.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from gen61850.generated.scsm_8_2.bindings import (
    AssociationContext,
    ConfirmedErrorPdu,
    ErrorClass,
    InitiateRequestPdu,
    InitiateResponsePdu,
    InitRequestDetail,
    InitResponseDetail,
    Mmspdu,
    Null,
    RejectPdu,
    RejectReason,
    ServiceError,
)
from gen61850.generated.scsm_8_2.codec import MAX_NESTING_LEVEL, NAMESPACE
from gen61850.generated.scsm_8_2.services import SERVICES
from gen61850.runtime.xmpp.association import Negotiated, Proposal
from gen61850.runtime.xmpp.errors import RejectedError, ServiceErrorResponse
from gen61850.runtime.xmpp.mapping import ConfirmedRequestReject, PduErrorReject

VERSION = 1
DEFAULT_MAX_PDU_SIZE = 65_000
MIN_PDU_SIZE = 1_024  # smaller proposals cannot carry an answer and a directory page
DEFAULT_MAX_OUTSTANDING = 64
# ServiceSupportOptions bits (ISO 9506-2) of what is served: getNameList 1, read 4, write 5,
# getVariableAccessAttributes 6, defineNamedVariableList 11, getNamedVariableListAttributes
# 12, deleteNamedVariableList 13, fileDirectory 77. A server with report or log control blocks
# adds informationReport (79) and readJournal (65) (``ServerCore.advertise``).
SERVICE_BITS = (1, 4, 5, 6, 11, 12, 13, 77)
SERVICES_SUPPORTED = "".join("1" if i in SERVICE_BITS else "0" for i in range(93))
# ParameterSupportOptions (ISO 9506-2): str1 (arrays) 0, str2 (structures) 1, vnam 2, valt 3,
# vadr 4, vsca 5, tpy 6, vlis 7, real 8, (spare) 9, cei 10. IEC 61850-8-1 asks for str1, str2,
# vnam, valt and vlis: octets F1 00 in BER.
PARAMETER_CBB = "".join("1" if i in (0, 1, 2, 3, 7) else "0" for i in range(11))

_ERROR_FIELDS = {
    "vmd-state": "vmd_state",
    "application-reference": "application_reference",
    "definition": "definition",
    "resource": "resource",
    "service": "service",
    "access": "access",
    "initiate": "initiate",
    "conclude": "conclude",
    "cancel": "cancel",
    "file": "file",
    "others": "others",
}
_REJECT_FIELDS = {
    "confirmed-requestPDU": "confirmed_request_pdu",
    "pdu-error": "pdu_error",
    "conclude-requestPDU": "conclude_request_pdu",
    "cancel-requestPDU": "cancel_request_pdu",
}


def service_error(error: tuple[str, int], description: str | None = None) -> ServiceError:
    error_class, code = error
    return ServiceError(
        error_class=ErrorClass(**{_ERROR_FIELDS[error_class]: code}),
        additional_description=description,
    )


def error_of(service_error: ServiceError) -> ServiceErrorResponse:
    """The exception a client raises for a ServiceError it received."""
    for xml_name, attribute in _ERROR_FIELDS.items():
        code = getattr(service_error.error_class, attribute)
        if code is not None:
            return ServiceErrorResponse(xml_name, code, service_error.additional_description)
    return ServiceErrorResponse("unknown", -1, service_error.additional_description)


def confirmed_error(
    invoke_id: int, error: tuple[str, int], description: str | None = None
) -> Mmspdu:
    return Mmspdu(
        confirmed_error_pdu=ConfirmedErrorPdu(
            invoke_id=invoke_id, service_error=service_error(error, description)
        )
    )


def reject(invoke_id: int | None, kind: str, code: int) -> Mmspdu:
    return Mmspdu(
        reject_pdu=RejectPdu(
            original_invoke_id=invoke_id,
            reject_reason=RejectReason(**{_REJECT_FIELDS[kind]: code}),
        )
    )


def rejected_of(pdu: RejectPdu) -> RejectedError:
    for xml_name, attribute in _REJECT_FIELDS.items():
        code = getattr(pdu.reject_reason, attribute)
        if code is not None:
            table = (
                ConfirmedRequestReject if attribute == "confirmed_request_pdu" else PduErrorReject
            )
            try:
                name = table(code).name.lower().replace("_", "-")
            except ValueError:
                name = "unknown"
            return RejectedError(xml_name, code, name)
    return RejectedError("unknown", -1, "unknown")


def initiate_request(
    max_pdu_size: int, max_outstanding: int, nesting_level: int = MAX_NESTING_LEVEL
) -> Mmspdu:
    return Mmspdu(
        initiate_request_pdu=InitiateRequestPdu(
            local_detail_calling=max_pdu_size,
            proposed_max_serv_outstanding_calling=max_outstanding,
            proposed_max_serv_outstanding_called=max_outstanding,
            proposed_data_structure_nesting_level=nesting_level,
            init_request_detail=InitRequestDetail(
                proposed_version_number=VERSION,
                proposed_parameter_cbb=PARAMETER_CBB,
                services_supported_calling=SERVICES_SUPPORTED,
            ),
        )
    )


def initiate_response(negotiated: Negotiated) -> Mmspdu:
    return Mmspdu(
        initiate_response_pdu=InitiateResponsePdu(
            local_detail_called=negotiated.max_pdu_size,
            negotiated_max_serv_outstanding_calling=negotiated.max_outstanding_calling,
            negotiated_max_serv_outstanding_called=negotiated.max_outstanding_called,
            negotiated_data_structure_nesting_level=negotiated.nesting_level,
            init_response_detail=InitResponseDetail(
                negotiated_version_number=VERSION,
                negotiated_parameter_cbb=PARAMETER_CBB,
                services_supported_called=negotiated.services,
            ),
        )
    )


def proposal_of(request: InitiateRequestPdu) -> Proposal:
    detail = request.init_request_detail
    return Proposal(
        version=detail.proposed_version_number,
        max_pdu_size=request.local_detail_calling,
        max_outstanding_calling=request.proposed_max_serv_outstanding_calling,
        max_outstanding_called=request.proposed_max_serv_outstanding_called,
        nesting_level=request.proposed_data_structure_nesting_level,
        parameter_cbb=detail.proposed_parameter_cbb,
    )


def conclude_request() -> Mmspdu:
    return Mmspdu(conclude_request_pdu=Null())


def conclude_response() -> Mmspdu:
    return Mmspdu(conclude_response_pdu=Null())


def context(association_id: str, pdu: Mmspdu) -> AssociationContext:
    return AssociationContext(association_id=association_id, pdu=pdu)


_NS = "{" + NAMESPACE + "}"


def raw_invoke_id(element: Element) -> int | None:
    """The invokeID of a confirmed request that did not decode, when one can be read."""
    found = element.find(f"{_NS}pdu/{_NS}confirmed-RequestPDU/{_NS}invokeID")
    text = (found.text or "").strip() if found is not None else ""
    if not (0 < len(text) <= 10 and text.isascii() and text.isdigit()):
        return None  # at most 10 digits: an Unsigned32, and int() never sees 5,000 of them
    value = int(text)
    return value if value <= 0xFFFFFFFF else None


NO_ASSOCIATION = "-"  # the associationID of answers to payloads without a usable one
_ASSOCIATION_ID = re.compile(r"[ -~]{1,64}")  # the schema's AssociationID


def answerable_association_id(raw: str | None) -> str:
    """``raw`` if it is an AssociationID the schema allows, else ``NO_ASSOCIATION``.

    The server answers with the payload's associationID; one of 10 MB, or with control
    characters, would be echoed (amplified) and would break the schema on the way back.
    """
    if raw is not None and raw != NO_ASSOCIATION and _ASSOCIATION_ID.fullmatch(raw):
        return raw
    return NO_ASSOCIATION


def raw_association_id(element: Element) -> str | None:
    found = element.find(f"{_NS}associationID")
    return None if found is None else (found.text or "")


def is_unknown_service(element: Element) -> bool:
    """A confirmed request whose ``service`` holds an element the schema does not know."""
    service = element.find(f"{_NS}pdu/{_NS}confirmed-RequestPDU/{_NS}service")
    if service is None or len(service) != 1:
        return False
    tag = service[0].tag
    return not (tag.startswith(_NS) and tag[len(_NS) :] in SERVICES)


_TAG_OVERHEAD = 2 * len(_NS) - 5  # Clark tag "{ns}local" twice → "<local></local>"


def deeper_than(element: Element, limit: int) -> bool:
    """Whether ``element`` nests more than ``limit`` elements deep (level by level, no recursion).

    Runs before anything else looks into a received payload, so that a payload nested
    thousands of levels deep is refused before any recursive code (a decoder, a serializer,
    a deep copy) sees it; it stops at ``limit`` levels.
    """
    if len(list(element.iter())) <= limit:  # C speed: no deeper than it has elements
        return False
    level = [element]
    for _ in range(limit):
        level = [child for node in level for child in node]
        if not level:
            return False
    return True


def payload_size(element: Element) -> int:
    """An estimate of the serialized size of ``element`` in octets (tags twice, text).

    Characters are counted, not UTF-8 octets, and attributes are ignored: the payload
    elements carry none; it is a bound for the negotiated PDU size, cheap enough to run on
    every stanza.
    """
    size = 0
    for node in element.iter():
        size += 2 * len(node.tag) - _TAG_OVERHEAD + len(node.text or "")
    return size


__all__ = [
    "DEFAULT_MAX_OUTSTANDING",
    "DEFAULT_MAX_PDU_SIZE",
    "MIN_PDU_SIZE",
    "NO_ASSOCIATION",
    "SERVICES_SUPPORTED",
    "VERSION",
    "answerable_association_id",
    "conclude_request",
    "conclude_response",
    "confirmed_error",
    "context",
    "deeper_than",
    "error_of",
    "initiate_request",
    "initiate_response",
    "is_unknown_service",
    "payload_size",
    "proposal_of",
    "raw_association_id",
    "raw_invoke_id",
    "reject",
    "rejected_of",
    "service_error",
]
