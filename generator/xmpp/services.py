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

# The confirmed services behind the directory, data, data-set, file and log ACSI services (8-2
# clause 8, table D.1: fileRead and obtainFile in iq get; fileOpen, fileClose, fileDelete set).
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
    ConfirmedService("fileOpen", "set", ("GetFile",)),
    ConfirmedService("fileRead", "get", ("GetFile",)),
    ConfirmedService("fileClose", "set", ("GetFile",)),
    ConfirmedService("fileDelete", "set", ("DeleteFile",)),
    ConfirmedService("obtainFile", "get", ("SetFile",)),
    ConfirmedService("readJournal", "get", ("QueryLogByTime", "QueryLogAfter")),
)


@dataclass(frozen=True)
class AttributeForm:
    """A component that public 8-2 traces carry as an XML attribute of its parent element
    (EXTENDED-XER style: ``<deleteNamedVariableList scopeOfDelete="specific"/>``) where our
    schema, in BASIC-XER, has a child element. Peers use both: the runtime accepts both on
    receive and writes the one a setting chooses.

    ``kind``: ``boolean`` (attribute ``true``/``false``, element ``<true/>``/``<false/>``) or
    ``enumerated`` (attribute the identifier, element the number: ``names``); ``first``:
    the element is its parent's first child (else its last).
    """

    parent: str
    component: str
    kind: str
    first: bool
    names: tuple[tuple[str, int], ...] = ()


# The components the two public traces carry as attributes (see the project note on 8-2
# traffic), and the other moreFollows of the same kind.
ATTRIBUTE_FORMS: tuple[AttributeForm, ...] = (
    AttributeForm("read", "specificationWithResult", "boolean", first=True),
    AttributeForm(
        "deleteNamedVariableList",
        "scopeOfDelete",
        "enumerated",
        first=True,
        names=(("specific", 0), ("aa-specific", 1), ("domain", 2), ("vmd", 3)),
    ),
    AttributeForm("getNameList", "moreFollows", "boolean", first=False),
    AttributeForm("fileDirectory", "moreFollows", "boolean", first=False),
    AttributeForm("readJournal", "moreFollows", "boolean", first=False),
)

# Types that hold the two sides of the confirmed services, named as in the schema.
REQUEST_CHOICE = "ConfirmedServiceRequest"
RESPONSE_CHOICE = "ConfirmedServiceResponse"

__all__ = [
    "ATTRIBUTE_FORMS",
    "CONFIRMED_SERVICES",
    "MAX_NESTING_LEVEL",
    "NAMESPACE",
    "PDU_STANZAS",
    "REQUEST_CHOICE",
    "RESPONSE_CHOICE",
    "ROOT_ELEMENT",
    "AttributeForm",
    "ConfirmedService",
    "PduStanza",
]
