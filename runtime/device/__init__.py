"""Typed descriptions of IEC 61850 devices: data model, data sets, control blocks, addresses.

Built by the SCL reader and instantiated by generated device packages; the SV runtime and the
IEC 61850-8-2 (XMPP) server consume them. Plain frozen dataclasses, no I/O.
"""

from gen61850.runtime.device.address import Address, EthernetAddress, IpAddress, jid_problem
from gen61850.runtime.device.bitstring import BitString
from gen61850.runtime.device.controls import (
    DataSet,
    DataSetMember,
    Fcda,
    GseControl,
    LogControl,
    OptFields,
    ReportControl,
    SampledValueControl,
    SettingControl,
    SmpMod,
    SmvOpts,
    TrgOps,
)
from gen61850.runtime.device.inputs import SERVICE_TYPES, ExtRef
from gen61850.runtime.device.mms import MAX_NAME_LENGTH, MmsItem, mms_items, mms_name
from gen61850.runtime.device.model import (
    AccessPoint,
    DataAttribute,
    DataObject,
    EnumType,
    Ied,
    LogicalDevice,
    LogicalNode,
    Node,
    ReferenceError61850,
    walk_node,
)
from gen61850.runtime.device.refs import VALUE_TYPES, Ref
from gen61850.runtime.device.timestamp import TimeQuality, Timestamp
from gen61850.runtime.device.types import FC, MMS_FC_ORDER, BasicType, Value

__all__ = [
    "FC",
    "MAX_NAME_LENGTH",
    "MMS_FC_ORDER",
    "SERVICE_TYPES",
    "VALUE_TYPES",
    "AccessPoint",
    "Address",
    "BasicType",
    "BitString",
    "DataAttribute",
    "DataObject",
    "DataSet",
    "DataSetMember",
    "EnumType",
    "EthernetAddress",
    "ExtRef",
    "Fcda",
    "GseControl",
    "Ied",
    "IpAddress",
    "LogControl",
    "LogicalDevice",
    "LogicalNode",
    "MmsItem",
    "Node",
    "OptFields",
    "Ref",
    "ReferenceError61850",
    "ReportControl",
    "SampledValueControl",
    "SettingControl",
    "SmpMod",
    "SmvOpts",
    "TimeQuality",
    "Timestamp",
    "TrgOps",
    "Value",
    "jid_problem",
    "mms_items",
    "mms_name",
    "walk_node",
]
