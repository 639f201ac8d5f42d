"""XML test vectors of the control, setting-group and file services, as docs/xmpp.md shows
them: each service's request, the answer and the reports in between, exactly as the
sans-I/O core produces them for ``control_ied.icd`` at a fixed time.

``test_controls_docs.py`` checks the documented vectors (docs/xmpp.md, docs/xmpp-vectors.md)
against these; ``python -m tests.xmpp.vectors --write`` rewrites them after a deliberate change.
"""

from __future__ import annotations

import os
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gen61850.generated.scsm_8_2 import codec, services
from gen61850.generated.scsm_8_2.bindings import (
    ConfirmedResponsePdu,
    ConfirmedServiceResponse,
    Data,
    DataList,
    FileAttributes,
    FileDirectoryRequest,
    FileName,
    FileOpenRequest,
    FileOpenResponse,
    FileReadResponse,
    Mmspdu,
    Null,
    ObtainFileRequest,
    ReadRequest,
    WriteRequest,
)
from gen61850.runtime.device import BasicType
from gen61850.runtime.device.control import (
    AddCause,
    Command,
    Completion,
    ControlObject,
    Decision,
    Later,
    Origin,
)
from gen61850.runtime.device.controllable import FollowCtlVal
from gen61850.runtime.filestore import FileStore
from gen61850.runtime.xmpp import pdus
from gen61850.runtime.xmpp.client import variables
from gen61850.runtime.xmpp.control_client import request_data
from gen61850.runtime.xmpp.controls import ControlService
from gen61850.runtime.xmpp.core import ServerCore
from gen61850.runtime.xmpp.files import FileService
from gen61850.runtime.xmpp.outputs import IqRequest, IqResult, Job, Message, Output
from gen61850.runtime.xmpp.setting_groups import SettingGroupService
from gen61850.runtime.xmpp.values import boolean, scalar_to_data
from tests.xmpp.controls_harness import LD, T0, A, control_model

DOCS_FOLDER = Path(__file__).resolve().parents[2] / "docs"
DOCS = (DOCS_FOLDER / "xmpp.md", DOCS_FOLDER / "xmpp-vectors.md")
NS = codec.NAMESPACE
ASSOCIATION = "7f3a"
ORIGIN = Origin(3, b"dms")
FILE_TIME = 1_798_761_600  # 2027-01-01T00:00:00Z


@dataclass
class Step:
    who: str
    stanza: str
    element: ET.Element


WIDTH = 100  # an element whose one-line form fits in this stays on one line


def pretty(element: ET.Element) -> str:
    """Indented, with every element that fits in ``WIDTH`` columns kept on one line."""
    copy = ET.fromstring(ET.tostring(element))
    for node in copy.iter():
        node.tag = node.tag.split("}", 1)[1]
    copy.set("xmlns", NS)
    lines: list[str] = []
    _lines(copy, 0, lines)
    return "\n".join(lines)


def _lines(node: ET.Element, depth: int, out: list[str]) -> None:
    pad = "  " * depth
    flat = ET.tostring(node, encoding="unicode").strip()
    if len(node) == 0 or len(pad) + len(flat) <= WIDTH:
        out.append(pad + flat)
        return
    attributes = "".join(f' {k}="{v}"' for k, v in node.attrib.items())
    out.append(f"{pad}<{node.tag}{attributes}>")
    for child in node:
        child.tail = None
        _lines(child, depth + 1, out)
    out.append(f"{pad}</{node.tag}>")


def render(steps: list[Step]) -> str:
    return "\n".join(f"<!-- {s.who}: {s.stanza} -->\n{pretty(s.element)}" for s in steps)


class Later1(FollowCtlVal):
    """Answers Later for GGIO1.SPCSO3 (so the vector can show a termination after the answer)."""

    def __init__(self) -> None:
        super().__init__()
        self.completions: list[Completion] = []

    def operate(self, control: ControlObject, command: Command, completion: Completion) -> Decision:
        if control.name.endswith("GGIO1.SPCSO3"):
            self.completions.append(completion)
            return Later()
        return super().operate(control, command, completion)


class Recorder:
    """One core with controls, setting groups and files at a fixed time; records steps."""

    def __init__(self, folder: Path) -> None:
        self.now = T0
        self.model = control_model(lambda: self.now)
        self.core = ServerCore(self.model, local_jid="cied@iec61850.test/IEC")
        self.handler = Later1()
        ControlService(self.core, self.handler)
        SettingGroupService(self.core)
        FileService(self.core, FileStore(folder))
        self.steps: list[Step] = []
        self.count = 0
        self.invoke = 0
        self.core.receive(
            A,
            "set",
            "init",
            codec.encode(pdus.context(ASSOCIATION, pdus.initiate_request(65_000, 8))),
            self.now,
        )

    def _outputs(self, outputs: list[Output]) -> None:
        queue = list(outputs)
        while queue:
            output = queue.pop(0)
            if isinstance(output, Job):
                try:
                    result: Any = output.work()
                except Exception as error:
                    result = error
                if output.token:
                    queue.extend(self.core.complete(output.token, result, self.now))
            elif isinstance(output, IqResult):
                self.steps.append(Step("IED → client", "iq result", output.payload))
            elif isinstance(output, Message):
                self.steps.append(Step("IED → client", "message normal", output.payload))
            elif isinstance(output, IqRequest):
                self.steps.append(Step("IED → client", f"iq {output.iq_type}", output.payload))
                self.pending = output

    def request(self, iq_type: str, build: Callable[[int, Any], Mmspdu], value: Any) -> None:
        self.invoke += 1
        self.count += 1
        element = codec.encode(pdus.context(ASSOCIATION, build(self.invoke, value)))
        self.steps.append(Step("client → IED", f"iq {iq_type}", element))
        self._outputs(self.core.receive(A, iq_type, f"v{self.count}", element, self.now))

    def answer(self, response: ConfirmedServiceResponse) -> None:
        """The client answers the request the IED sent it last."""
        sent = codec.decode(self.pending.payload).pdu.confirmed_request_pdu
        assert sent is not None
        pdu = Mmspdu(
            confirmed_response_pdu=ConfirmedResponsePdu(invoke_id=sent.invoke_id, service=response)
        )
        element = codec.encode(pdus.context(ASSOCIATION, pdu))
        self.steps.append(Step("client → IED", "iq result", element))
        self._outputs(self.core.receive_answer(A, self.pending.iq_id, element, self.now))

    def later(self, seconds: float, action: Callable[[], None] | None = None) -> None:
        self.now += seconds
        if action is not None:
            action()
        self._outputs(self.core.handle_timer(self.now))

    # ------------------------------------------------------------ requests

    def read(self, item: str) -> None:
        request = ReadRequest(variable_access_specification=variables([(LD, item)]))
        self.request("get", services.read_request, request)

    def write(self, item: str, data: Any) -> None:
        request = WriteRequest(
            variable_access_specification=variables([(LD, item)]),
            list_of_data=DataList(data=[data]),
        )
        self.request("set", services.write_request, request)

    def control(self, do: str, which: str, value: Any, ctl_num: int, **extra: Any) -> None:
        item = f"{do.replace('.', '$CO$', 1)}${which}"
        values = {
            "ctlVal": value,
            "operTm": extra.get("oper_tm"),
            "origin": ORIGIN,
            "ctlNum": ctl_num,
            "T": self.now,
            "Test": False,
            "Check": None,
        }
        self.write(item, request_data(self.model.stored_type(LD, item), values, item))

    def take(self) -> str:
        steps, self.steps = self.steps, []
        return render(steps)


def vectors(folder: Path) -> dict[str, str]:
    """The vectors by name, in the order the docs show them."""
    (folder / "COMTRADE").mkdir(parents=True, exist_ok=True)
    record = folder / "COMTRADE" / "fault1.cfg"
    record.write_bytes(b"CIED,1,1999\n")
    os.utime(record, (FILE_TIME, FILE_TIME))
    out: dict[str, str] = {}
    r = Recorder(folder)

    r.read("GGIO1$CO$SPCSO2$SBO")
    out["select"] = r.take()
    r.control("GGIO1.SPCSO2", "Oper", True, 1)
    out["operate"] = r.take()
    r.control("GGIO1.SPCSO2", "Oper", False, 2)
    out["operate-refused"] = r.take()
    r.control("XCBR1.Pos", "SBOw", True, 3)
    out["select-with-value"] = r.take()
    r.control("XCBR1.Pos", "Oper", True, 3)
    out["operate-enhanced"] = r.take()
    r.control("GGIO1.SPCSO3", "Oper", True, 4)
    r.later(0.2, lambda: r.handler.completions[0].fail(AddCause.BLOCKED_BY_PROCESS))
    out["command-termination-negative"] = r.take()
    r.control("XCBR1.Pos", "SBOw", False, 5, oper_tm=T0 + 10)
    r.control("XCBR1.Pos", "Oper", False, 5, oper_tm=T0 + 10)
    r.later(10.0)
    out["time-activated-operate"] = r.take()
    r.read("GGIO1$CO$SPCSO2$SBO")
    r.control("GGIO1.SPCSO2", "Cancel", False, 6)
    out["cancel"] = r.take()

    r.read("LLN0$SP$SGCB")
    out["get-sgcb-values"] = r.take()
    r.write("LLN0$SP$SGCB$ActSG", scalar_to_data(BasicType.INT8U, 2))
    out["select-active-sg"] = r.take()
    r.write("LLN0$SP$SGCB$EditSG", scalar_to_data(BasicType.INT8U, 3))
    r.write("PTOC1$SE$StrVal$setMag$f", scalar_to_data(BasicType.FLOAT32, 333.5))
    r.write("LLN0$SP$SGCB$CnfEdit", Data(boolean=boolean(True)))
    out["edit-setting-group"] = r.take()
    r.read("PTOC1$SE$StrVal")
    out["get-edit-sg-value"] = r.take()

    r.request(
        "set",
        services.file_open_request,
        FileOpenRequest(
            file_name=FileName(graphic_string=["COMTRADE/fault1.cfg"]), initial_position=0
        ),
    )
    r.request("get", services.file_read_request, 1)
    r.request("set", services.file_close_request, 1)
    out["get-file"] = r.take()
    r.request(
        "get",
        services.file_directory_request,
        FileDirectoryRequest(file_specification=FileName(graphic_string=["COMTRADE/fault1.cfg"])),
    )
    out["get-file-attribute-values"] = r.take()
    r.request(
        "get",
        services.obtain_file_request,
        ObtainFileRequest(
            source_file=FileName(graphic_string=["settings.xml"]),
            destination_file=FileName(graphic_string=["incoming/settings.xml"]),
        ),
    )
    attributes = FileAttributes(size_of_file=6, last_modified="20270101000000Z")
    r.answer(
        ConfirmedServiceResponse(file_open=FileOpenResponse(frsm_id=1, file_attributes=attributes))
    )
    r.answer(
        ConfirmedServiceResponse(
            file_read=FileReadResponse(file_data=b"<sg/>\n", more_follows=boolean(False))
        )
    )
    r.answer(ConfirmedServiceResponse(file_close=Null()))
    out["set-file"] = r.take()
    r.request(
        "set", services.file_delete_request, FileName(graphic_string=["incoming/settings.xml"])
    )
    out["delete-file"] = r.take()
    return out


def documented(text: str) -> dict[str, str]:
    """The ```xml vector:NAME blocks of the docs, by name."""
    found: dict[str, str] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("```xml vector:"):
            name = line.removeprefix("```xml vector:").strip()
            end = lines.index("```", index + 1)
            found[name] = "\n".join(lines[index + 1 : end])
            index = end
        index += 1
    return found


def rewrite(text: str, current: dict[str, str]) -> str:
    """``text`` with each documented vector replaced by its current form."""
    lines = text.splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        out.append(line)
        if line.startswith("```xml vector:"):
            name = line.removeprefix("```xml vector:").strip()
            end = lines.index("```", index + 1)
            out.extend(current[name].splitlines())
            out.append("```")
            index = end
        index += 1
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        current = vectors(Path(folder))
    if "--write" in sys.argv:
        for path in DOCS:
            path.write_text(rewrite(path.read_text(), current))
    else:
        for name, body in current.items():
            print(f"```xml vector:{name}\n{body}\n```\n")
