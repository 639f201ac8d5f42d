"""Error codes of the mapping: DataAccessError, ServiceError classes, reject reasons (ISO 9506-2)."""

from __future__ import annotations

import enum


class DataAccessError(enum.IntEnum):
    """Per-member failure of a read or write (ISO 9506-2 DataAccessError)."""

    OBJECT_INVALIDATED = 0
    HARDWARE_FAULT = 1
    TEMPORARILY_UNAVAILABLE = 2
    OBJECT_ACCESS_DENIED = 3
    OBJECT_UNDEFINED = 4
    INVALID_ADDRESS = 5
    TYPE_UNSUPPORTED = 6
    TYPE_INCONSISTENT = 7
    OBJECT_ATTRIBUTE_INCONSISTENT = 8
    OBJECT_ACCESS_UNSUPPORTED = 9
    OBJECT_NON_EXISTENT = 10
    OBJECT_VALUE_INVALID = 11


def data_access_error_name(code: int) -> str:
    """``object-non-existent`` for 10; ``unknown`` outside the table."""
    try:
        return DataAccessError(code).name.lower().replace("_", "-")
    except ValueError:
        return "unknown"


class ConfirmedRequestReject(enum.IntEnum):
    """rejectReason confirmed-requestPDU."""

    OTHER = 0
    UNRECOGNIZED_SERVICE = 1
    UNRECOGNIZED_MODIFIER = 2
    INVALID_INVOKE_ID = 3
    INVALID_ARGUMENT = 4
    INVALID_MODIFIER = 5
    MAX_SERV_OUTSTANDING_EXCEEDED = 6
    MAX_RECURSION_EXCEEDED = 8
    VALUE_OUT_OF_RANGE = 9


class PduErrorReject(enum.IntEnum):
    """rejectReason pdu-error."""

    UNKNOWN_PDU_TYPE = 0
    INVALID_PDU = 1
    ILLEGAL_ACSE_MAPPING = 2


# ServiceError classes and the codes we use (ISO 9506-2 ServiceError.errorClass).
DEFINITION_OBJECT_UNDEFINED = ("definition", 1)
DEFINITION_TYPE_INCONSISTENT = ("definition", 4)
DEFINITION_OBJECT_EXISTS = ("definition", 5)
ACCESS_OBJECT_NON_EXISTENT = ("access", 2)
ACCESS_OBJECT_ACCESS_DENIED = ("access", 3)
SERVICE_PDU_SIZE = ("service", 3)
SERVICE_CONTINUATION_INVALID = ("service", 4)
SERVICE_OBJECT_CONSTRAINT_CONFLICT = ("service", 5)
RESOURCE_CAPABILITY_UNAVAILABLE = ("resource", 4)
APPLICATION_REFERENCE_INVALID = ("application-reference", 3)
INITIATE_OTHER = ("initiate", 0)
INITIATE_VERSION_INCOMPATIBLE = ("initiate", 1)
INITIATE_MAX_SEGMENT_INSUFFICIENT = ("initiate", 2)
INITIATE_CALLING_INSUFFICIENT = ("initiate", 3)  # max-services-outstanding-calling-insufficient
INITIATE_CALLED_INSUFFICIENT = ("initiate", 4)  # max-services-outstanding-called-insufficient
INITIATE_PARAMETER_CBB_INSUFFICIENT = ("initiate", 6)
INITIATE_NESTING_INSUFFICIENT = ("initiate", 7)
CONCLUDE_FURTHER_COMMUNICATION_REQUIRED = ("conclude", 1)
FILE_OTHER = ("file", 0)
FILE_BUSY = ("file", 2)
FILE_NAME_SYNTAX_ERROR = ("file", 3)
FILE_POSITION_INVALID = ("file", 5)
FILE_ACCESS_DENIED = ("file", 6)
FILE_NON_EXISTENT = ("file", 7)
FILE_INSUFFICIENT_SPACE = ("file", 9)

__all__ = [
    "ACCESS_OBJECT_ACCESS_DENIED",
    "ACCESS_OBJECT_NON_EXISTENT",
    "APPLICATION_REFERENCE_INVALID",
    "CONCLUDE_FURTHER_COMMUNICATION_REQUIRED",
    "DEFINITION_OBJECT_EXISTS",
    "DEFINITION_OBJECT_UNDEFINED",
    "DEFINITION_TYPE_INCONSISTENT",
    "FILE_ACCESS_DENIED",
    "FILE_BUSY",
    "FILE_INSUFFICIENT_SPACE",
    "FILE_NAME_SYNTAX_ERROR",
    "FILE_NON_EXISTENT",
    "FILE_OTHER",
    "FILE_POSITION_INVALID",
    "INITIATE_CALLED_INSUFFICIENT",
    "INITIATE_CALLING_INSUFFICIENT",
    "INITIATE_MAX_SEGMENT_INSUFFICIENT",
    "INITIATE_NESTING_INSUFFICIENT",
    "INITIATE_OTHER",
    "INITIATE_PARAMETER_CBB_INSUFFICIENT",
    "INITIATE_VERSION_INCOMPATIBLE",
    "RESOURCE_CAPABILITY_UNAVAILABLE",
    "SERVICE_CONTINUATION_INVALID",
    "SERVICE_OBJECT_CONSTRAINT_CONFLICT",
    "SERVICE_PDU_SIZE",
    "ConfirmedRequestReject",
    "DataAccessError",
    "PduErrorReject",
    "data_access_error_name",
]
