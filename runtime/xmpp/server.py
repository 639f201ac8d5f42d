"""The 8-2 server role: an IED's XMPP account, the slixmpp adapter of ``core.ServerCore``.

The core decides everything (see ``core.py``); this adapter hands it each 8-2 iq and the
life of the XMPP session, carries out the outputs it returns in order (iq results and
errors, ``message`` normal, presence; jobs in one worker thread, in order), and calls
``handle_timer`` when the core's next deadline comes or when it wakes the adapter (a value
change the application made produced reports).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable
from typing import Any, cast
from xml.etree.ElementTree import Element

from slixmpp.xmlstream.handler import Callback

from gen61850.generated.scsm_8_2 import codec
from gen61850.runtime.goose.publisher import GooseConfig
from gen61850.runtime.sv.stream import StreamConfig
from gen61850.runtime.xmpp import pdus
from gen61850.runtime.xmpp.association import Association, Offer
from gen61850.runtime.xmpp.core import AssociationKey, ServerCore
from gen61850.runtime.xmpp.goose_runner import GooseOutput, GooseRunner
from gen61850.runtime.xmpp.handlers import ModelHandlers
from gen61850.runtime.xmpp.logs.engine import LogEngine, LogSettings
from gen61850.runtime.xmpp.matchers import PayloadPath
from gen61850.runtime.xmpp.model import ServedModel
from gen61850.runtime.xmpp.multicast_blocks import GooseControl, MulticastBlocks, SvControl
from gen61850.runtime.xmpp.outputs import (
    IqError,
    IqRequest,
    IqResult,
    Job,
    Message,
    Output,
    Presence,
)
from gen61850.runtime.xmpp.reports.engine import ReportEngine, ReportSettings
from gen61850.runtime.xmpp.sv_runner import SvOutput, SvRunner
from gen61850.runtime.xmpp.transport import Endpoint, XmppSettings

log = logging.getLogger(__name__)
ROOT_TAG = "{" + codec.NAMESPACE + "}AssociationContext"
Inspector = Callable[[str, Element], None]


class AcsiServer(Endpoint):
    """Serves one IED (``model``) to any number of associated clients.

    A peer keeps at most ``max_associations_per_peer`` associations: the oldest gives way
    to a new one. ``clock`` gives the core its time (wall-clock seconds). The report
    control blocks of the SCL are served (``reports``: buffer bounds and the SQLite file
    that keeps BRCB buffers across restarts), and so are its GoCBs and MSVCBs; an MSVCB
    with a stream in ``sv_streams`` (by reference, ``LD/LLN0$MS$name``) publishes it on
    ``sv_output`` while SvEna is TRUE, and a GoCB with a configuration in ``gooses`` (by
    ``LD/LLN0$GO$name``) its GOOSE on ``goose_output`` while GoEna is TRUE. Its LogControls feed logs (``logs``: how many
    entries each keeps), in the same SQLite file as the BRCB buffers when there is one.
    ``attribute_form`` writes scopeOfDelete, moreFollows and specificationWithResult as XML
    attributes (``attribute_forms``); both forms are accepted either way.
    """

    def __init__(
        self,
        settings: XmppSettings,
        model: ServedModel,
        *,
        max_pdu_size: int = pdus.DEFAULT_MAX_PDU_SIZE,
        max_outstanding: int = pdus.DEFAULT_MAX_OUTSTANDING,
        inspect: Inspector | None = None,
        max_associations_per_peer: int = 16,
        clock: Callable[[], float] = time.time,
        reports: ReportSettings | None = None,
        sv_output: SvOutput | None = None,
        sv_streams: dict[str, StreamConfig] | None = None,
        goose_output: GooseOutput | None = None,
        gooses: dict[str, GooseConfig] | None = None,
        logs: LogSettings | None = None,
        attribute_form: bool = False,
    ) -> None:
        super().__init__(settings)
        self.clock = clock
        self._pump_scheduled = False
        self._in_core = False  # a core call is running: its own outputs and deadline follow it
        self._timer: asyncio.TimerHandle | None = None
        self._worker: concurrent.futures.ThreadPoolExecutor | None = None
        self.core = ServerCore(
            model,
            max_pdu_size=max_pdu_size,
            max_outstanding=max_outstanding,
            max_associations_per_peer=max_associations_per_peer,
            inspect=inspect,
            attribute_form=attribute_form,
        )
        self.core.on_wake = self._wake
        self.reports = ReportEngine(self.core, reports)
        self.logs = LogEngine(self.core, self.reports.journal, logs)
        runners: dict[str, SvControl] = {}
        if sv_output is not None:
            runners = {reference: SvRunner(sv_output) for reference in sv_streams or {}}
        goose_runners: dict[str, GooseControl] = {}
        if goose_output is not None:
            goose_runners = {reference: GooseRunner(goose_output) for reference in gooses or {}}
        self.multicast = MulticastBlocks(model, sv_streams, runners, gooses, goose_runners)
        for iq_type in ("get", "set"):
            self.register_handler(
                Callback(
                    f"8-2 iq {iq_type}",
                    PayloadPath("iq", iq_type),
                    self._on_iq,
                )
            )
        # answers to the requests the core sends (SetFile's transfer from the client)
        self.register_handler(Callback("8-2 answer", PayloadPath("iq", "result"), self._on_answer))
        self.register_handler(
            Callback("8-2 answer error", PayloadPath("iq", "error", payload=False), self._on_answer)
        )

    # ------------------------------------------------------------ what tests and tools see

    @property
    def model(self) -> ServedModel:
        return self.core.model

    @property
    def handlers(self) -> ModelHandlers:
        return self.core.handlers

    @property
    def associations(self) -> dict[AssociationKey, Association]:
        return self.core.associations

    @property
    def closed(self) -> list[tuple[str, str, str]]:
        return self.core.closed

    @property
    def inspect(self) -> Inspector | None:
        return self.core.inspect

    @inspect.setter
    def inspect(self, inspect: Inspector | None) -> None:
        self.core.inspect = inspect

    @property
    def offer(self) -> Offer:
        return self.core.offer

    @property
    def max_pdu_size(self) -> int:
        return self.core.max_pdu_size

    # ------------------------------------------------------------ receiving

    def too_deep(self, incoming: Any) -> None:
        """An 8-2 request nested too deep gets its rejectPDU like any other payload."""
        is_request = incoming.name == "iq" and incoming["type"] in ("get", "set")
        if is_request and incoming.xml.find(ROOT_TAG) is not None:
            self._on_iq(incoming)
        else:
            super().too_deep(incoming)

    def _on_iq(self, iq: Any) -> None:
        element = iq.xml.find(ROOT_TAG)
        if element is None:
            return
        sender = str(iq["from"])
        self._in_core = True
        try:
            outputs = self.core.receive(sender, iq["type"], iq["id"], element, self.clock())
        finally:
            self._in_core = False
        self._emit(outputs, answering=(sender, iq["id"]))

    def _on_answer(self, iq: Any) -> None:
        element = iq.xml.find(ROOT_TAG) if iq["type"] == "result" else None
        condition = iq["error"]["condition"] if iq["type"] == "error" else ""
        outputs = self.core.receive_answer(
            str(iq["from"]), iq["id"], element, self.clock(), condition
        )
        self._emit(outputs)

    # ------------------------------------------------------------ sending

    def _emit(self, outputs: list[Output], answering: tuple[str, str] | None = None) -> None:
        """Carry out ``outputs`` in order; an iq being answered always gets an answer."""
        answered = False
        try:
            for output in outputs:
                self._carry_out(output)
                answered = answered or (
                    isinstance(output, IqResult | IqError)
                    and answering == (output.to, output.iq_id)
                )
        except Exception:
            log.exception("8-2 server: could not send to %s", answering)
            if answering is not None and not answered:
                try:
                    self._carry_out(IqError(*answering, "internal-server-error"))
                except Exception:
                    log.exception("8-2 server: could not answer %s", answering)
        self._arm_timer()

    def _carry_out(self, output: Output) -> None:
        if isinstance(output, IqResult):
            reply = self.make_iq_result(id=output.iq_id, ito=output.to)
            reply.xml.append(output.payload)
            reply.send()  # type: ignore[no-untyped-call]
        elif isinstance(output, Message):
            message = self.make_message(mto=output.to, mtype="normal")
            message.xml.append(output.payload)
            message.send()
        elif isinstance(output, IqError):
            # a new stanza, never iq.reply() (which deep-copies a possibly hostile request)
            error = self.make_iq_error(  # type: ignore[no-untyped-call]
                output.iq_id, output.error_type, output.condition, output.text, ito=output.to
            )
            error["type"] = "error"
            error.send()
        elif isinstance(output, IqRequest):
            request = self.make_iq(id=output.iq_id, ito=output.to, itype=cast(Any, output.iq_type))
            request.xml.append(output.payload)
            self.send(request)
        elif isinstance(output, Presence):
            self.send_presence(pto=output.to)
        elif isinstance(output, Job):
            self._run_job(output)

    def _run_job(self, job: Job) -> None:
        """Jobs run in one worker thread, in the order given (SQLite wants one writer)."""
        if self._worker is None:
            self._worker = concurrent.futures.ThreadPoolExecutor(1, "gen61850-8-2-jobs")
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._worker, job.work)

        def done(finished: asyncio.Future[Any]) -> None:
            error = finished.exception()
            result = error if error is not None else finished.result()
            if job.token:
                self._emit(self.core.complete(job.token, result, self.clock()))
            elif error is not None:
                log.error("8-2 server: background work failed: %s", error)

        future.add_done_callback(done)

    # ------------------------------------------------------------ time

    def _wake(self) -> None:
        """The core has outputs or an earlier deadline: collect them soon (once). Not while
        ``receive`` runs: what it posts comes back with its outputs, and ``_emit`` re-arms
        the timer after them (no loop turn and no second ``handle_timer`` per request)."""
        if self._pump_scheduled or self._in_core:
            return
        self._pump_scheduled = True
        try:
            asyncio.get_running_loop().call_soon(self._pump)
        except RuntimeError:  # no loop in this thread: the next event collects them
            self._pump_scheduled = False

    def _pump(self) -> None:
        self._pump_scheduled = False
        self._timer = None
        self._emit(self.core.handle_timer(self.clock()))

    def _arm_timer(self) -> None:
        deadline = self.core.next_deadline()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if deadline is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._timer = loop.call_later(max(0.0, deadline - self.clock()), self._pump)

    # ------------------------------------------------------------ the session

    def session_started(self) -> None:
        self._emit(self.core.session_started(self.clock(), str(self.boundjid)))

    def link_down(self, reason: str) -> None:
        self._emit(self.core.link_down(self.clock()))

    def link_resumed(self) -> None:
        self._emit(self.core.link_resumed(self.clock()))

    def session_lost(self, reason: str) -> None:
        self._emit(self.core.session_lost(self.clock(), "link lost"))

    def peer_unavailable(self, jid: str) -> None:
        self._emit(self.core.peer_unavailable(jid, self.clock()))

    async def stop(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.multicast.close)
        await super().stop()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._worker is not None:
            worker, self._worker = self._worker, None
            await asyncio.get_running_loop().run_in_executor(None, worker.shutdown)
        self.reports.close()


__all__ = ["AcsiServer"]
