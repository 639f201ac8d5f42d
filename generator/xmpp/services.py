"""The declarative service table of IEC 61850-8-2: which PDU, which MMS service, which stanza.

This is the one place that names the XER elements of the schema (IEC 61850-8-2 table D.1 and
clause 8 as the project note sums them up). The generator turns it, together with the
bindings xsdata builds from the schema, into request builders, response parsers, a server
dispatch table and the stanza plugin. Swapping in the official Annex G schema means
editing these names only.
"""

from __future__ import annotations

from dataclasses import dataclass

NAMESPACE = "http://www.iec.ch/61850/2018/SCSM_8_2"
ROOT_ELEMENT = "AssociationContext"
# How many levels of structure and array a payload may nest (MMS dataStructureNestingLevel,
# proposed and negotiated at Associate). IEC 61850 data needs about 6 (LN, FC, DO, SDO, DA,
# BDA); the codec's element-depth limit is derived from this and the schema's cycles.
MAX_NESTING_LEVEL = 16


@dataclass(frozen=True)
class PduStanza:
    """One MMSpdu alternative and the stanza that carries it (``iq`` get/set/result, ``message``)."""

    pdu: str
    stanza: str
    stanza_type: str


@dataclass(frozen=True)
class ConfirmedService:
    """One confirmed MMS service: its element in ConfirmedServiceRequest/Response, iq type, ACSI users."""

    element: str
    iq_type: str
    acsi: tuple[str, ...]


# IEC 61850-8-2 table D.1. A confirmed request's iq type depends on the service (below).
PDU_STANZAS: tuple[PduStanza, ...] = (
    PduStanza("confirmed-RequestPDU", "iq", "service"),
    PduStanza("confirmed-ResponsePDU", "iq", "result"),
    PduStanza("confirmed-ErrorPDU", "iq", "result"),
    PduStanza("unconfirmed-PDU", "message", "normal"),
    PduStanza("rejectPDU", "message", "normal"),
    PduStanza("initiate-RequestPDU", "iq", "set"),
    PduStanza("initiate-ResponsePDU", "iq", "result"),
    PduStanza("initiate-ErrorPDU", "iq", "result"),
    PduStanza("conclude-RequestPDU", "iq", "set"),
    PduStanza("conclude-ResponsePDU", "iq", "result"),
    PduStanza("conclude-ErrorPDU", "iq", "result"),
    PduStanza("cancel-RequestPDU", "iq", "get"),
    PduStanza("cancel-ResponsePDU", "iq", "result"),
    PduStanza("cancel-ErrorPDU", "iq", "result"),
)

# The confirmed services behind the directory, data, data-set and log ACSI services (8-2 clause 8).
CONFIRMED_SERVICES: tuple[ConfirmedService, ...] = (
    ConfirmedService(
        "getNameList",
        "get",
        ("GetServerDirectory", "GetLogicalDeviceDirectory", "GetLogicalNodeDirectory"),
    ),
    ConfirmedService("read", "get", ("GetAllDataValues", "GetDataValues", "GetDataSetValues")),
    ConfirmedService("write", "set", ("SetDataValues", "SetDataSetValues")),
    ConfirmedService(
        "getVariableAccessAttributes", "get", ("GetDataDirectory", "GetDataDefinition")
    ),
    ConfirmedService("defineNamedVariableList", "set", ("CreateDataSet",)),
    ConfirmedService("getNamedVariableListAttributes", "get", ("GetDataSetDirectory",)),
    ConfirmedService("deleteNamedVariableList", "set", ("DeleteDataSet",)),
    ConfirmedService("fileDirectory", "get", ("GetServerDirectory", "GetFileAttributeValues")),
    ConfirmedService("readJournal", "get", ("QueryLogByTime", "QueryLogAfter")),
)

# Types that hold the two sides of the confirmed services, named as in the schema.
REQUEST_CHOICE = "ConfirmedServiceRequest"
RESPONSE_CHOICE = "ConfirmedServiceResponse"

__all__ = [
    "CONFIRMED_SERVICES",
    "MAX_NESTING_LEVEL",
    "NAMESPACE",
    "PDU_STANZAS",
    "REQUEST_CHOICE",
    "RESPONSE_CHOICE",
    "ROOT_ELEMENT",
    "ConfirmedService",
    "PduStanza",
]
