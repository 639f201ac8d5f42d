"""The 8-2 server as a sans-I/O core: payloads and a clock in, ordered outputs out.

Shaped like h11 or aioquic: the adapter (slixmpp in ``server.AcsiServer``) hands over every
8-2 iq with ``receive(sender, iq_type, iq_id, element, now)`` and carries out the outputs
it gets back, in order (``outputs.IqResult``, ``IqError``, ``Message``, ``Presence``,
``Job``); ``handle_timer(now)`` runs what is due and returns what that produced (reports,
aborts), ``next_deadline()`` says when to call it again, and ``on_wake`` tells the adapter
that something (a value change the application made) produced outputs to collect.

Every request is handled to the end (answered, rejected or refused), so one bad client never
stops the others: payloads that do not decode get a rejectPDU (``message`` normal, 8-2 table
D.1) and an RFC 6120 iq error; requests outside an association a confirmed-ErrorPDU;
answers above the negotiated PDU size a ``service pdu-size`` error. A handler answers at
once, or raises ``Deferred`` for work outside the loop (the adapter runs the ``Job`` and
calls ``complete``). Effects a handler queues on its ``CallContext`` go out around its
answer: ``before`` ahead of it, ``after`` behind it, then whatever the services posted.

Association lifetime: associations belong to the XMPP *session*. A TCP cut that XEP-0198
resumes (``link_down`` then ``link_resumed``) keeps them; the session ending
(``session_lost``: resumption refused, or none within the adapter's resumption window)
aborts every association, as 8-2 clause 6 says for a lost link; a peer going unavailable
aborts its own.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

from gen61850.generated.scsm_8_2 import codec
from gen61850.generated.scsm_8_2.bindings import (
    AssociationContext,
    CancelErrorPdu,
    ConfirmedRequestPdu,
    ConfirmedResponsePdu,
    ConfirmedServiceResponse,
    Mmspdu,
)
from gen61850.generated.scsm_8_2.services import (
    PDU_STANZAS,
    SERVICES,
    dispatch,
    pdu_kind,
    request_service,
    wrap_response,
)
from gen61850.runtime.xmpp import mapping, pdus
from gen61850.runtime.xmpp.association import (
    Association,
    Event,
    InitiateRefused,
    Offer,
    State,
    negotiate,
)
from gen61850.runtime.xmpp.attribute_forms import to_attributes, to_elements
from gen61850.runtime.xmpp.errors import PayloadError, PayloadRangeError, PayloadTooDeep
from gen61850.runtime.xmpp.handlers import ModelHandlers, ServiceFailure
from gen61850.runtime.xmpp.mapping import ConfirmedRequestReject, PduErrorReject
from gen61850.runtime.xmpp.model import ServedModel
from gen61850.runtime.xmpp.outputs import (
    IqError,
    IqRequest,
    IqResult,
    Job,
    Message,
    Output,
    Presence,
)
from gen61850.runtime.xmpp.scope import AssociationScope, CallContext
from gen61850.runtime.xmpp.timers import Timer, Timers

log = logging.getLogger(__name__)
_ASSOCIATION_REQUESTS = ("initiate-RequestPDU", "conclude-RequestPDU", "cancel-RequestPDU")
_INVOKE_ID_PATH = "/confirmed-RequestPDU/invokeID"
Inspector = Callable[[str, Element], None]
LinkListener = Callable[[bool, float], None]
AssociationKey = tuple[str, str]  # (peer JID, association id)


class Deferred(Exception):
    """Raised by a handler whose answer needs work outside the event loop (SQLite, files).

    The core hands ``work`` to the adapter as a ``Job``; when it is done, ``finish(result)``
    makes the answer (or raises ``ServiceFailure``), as if the handler had returned it.
    Without ``work`` the answer waits for something else (answers of requests the server
    sent, as SetFile's transfer): the core sets ``token``, and a later
    ``Job(token, work)`` (posted) or ``complete(token, result, now)`` answers it.
    """

    def __init__(self, work: Callable[[], Any] | None, finish: Callable[[Any], object]) -> None:
        super().__init__("deferred")
        self.work = work
        self.finish = finish
        self.token = 0


Answer = Mmspdu | Exception
AnswerHandler = Callable[[Answer], None]
REQUEST_TIMEOUT = 30.0  # s a request the server sends waits for its answer


@dataclass
class _Request:
    """A request the server sent a peer (SetFile's fileOpen, fileRead, fileClose)."""

    peer: str
    association_id: str
    on_answer: AnswerHandler
    timer: Timer | None = None


@dataclass
class _Waiting:
    """A request whose answer waits for a job."""

    sender: str
    iq_id: str
    association_id: str
    invoke_id: int
    service: str
    call: CallContext
    finish: Callable[[Any], object]


class ServerCore:
    """The server side of 8-2 for one IED: associations, services, timers; no I/O."""

    def __init__(
        self,
        model: ServedModel,
        *,
        local_jid: str = "",
        max_pdu_size: int = pdus.DEFAULT_MAX_PDU_SIZE,
        max_outstanding: int = pdus.DEFAULT_MAX_OUTSTANDING,
        max_associations_per_peer: int = 16,
        inspect: Inspector | None = None,
        attribute_form: bool = False,
    ) -> None:
        self.model = model
        self.local_jid = local_jid
        self.handlers = ModelHandlers(model)
        self.max_pdu_size = max_pdu_size
        self.max_outstanding = max_outstanding
        self.max_associations_per_peer = max_associations_per_peer
        self.inspect = inspect
        self.attribute_form = attribute_form  # write some components as attributes
        self.scopes: dict[AssociationKey, AssociationScope] = {}
        self.closed: list[tuple[str, str, str]] = []  # (peer, association id, why)
        self.timers = Timers(on_earlier=self.wake)
        self.link_up = True
        self.now = 0.0  # the time of the latest call (what close hooks, services and work
        # started from callbacks act at)
        self.on_wake: Callable[[], None] | None = None
        self.services_supported = pdus.SERVICES_SUPPORTED
        self._outbox: list[Output] = []
        self._link_listeners: list[LinkListener] = []
        self._association_listeners: list[Callable[[AssociationScope], None]] = []
        self._jobs = itertools.count(1)
        self._waiting: dict[int, _Waiting] = {}
        self._request_ids = itertools.count(1)
        self._requests: dict[str, _Request] = {}
        self.offer = self._make_offer()

    def _make_offer(self) -> Offer:
        return Offer(
            version=pdus.VERSION,
            max_pdu_size=self.max_pdu_size,
            min_pdu_size=pdus.MIN_PDU_SIZE,
            max_outstanding=self.max_outstanding,
            max_nesting_level=codec.MAX_NESTING_LEVEL,
            min_nesting_level=self.model.nesting_level,
            parameter_cbb=pdus.PARAMETER_CBB,
            services=self.services_supported,
        )

    def advertise(self, service_bits: tuple[int, ...]) -> None:
        """Add ServiceSupportOptions bits (e.g. informationReport, 79) to what Associate says."""
        bits = list(self.services_supported)
        for bit in service_bits:
            bits[bit] = "1"
        self.services_supported = "".join(bits)
        self.offer = self._make_offer()

    # ------------------------------------------------------------ for services

    @property
    def associations(self) -> dict[AssociationKey, Association]:
        """The open associations by (peer, association id)."""
        return {key: scope.association for key, scope in self.scopes.items()}

    def post(self, output: Output) -> None:
        """An output not answering a request (a report): collected at the next call or wake."""
        self._outbox.append(output)
        if self.on_wake is not None:
            self.on_wake()

    def call_at(self, when: float, callback: Callable[[float], None]) -> Timer:
        """Run ``callback(now)`` at ``when`` (the core's clock), and tell the adapter so it
        re-arms its timer (services schedule from outside a request too)."""
        timer = self.timers.call_at(when, callback)
        self.wake()
        return timer

    def wake(self) -> None:
        """Tell the adapter to call ``handle_timer`` (a deadline moved earlier)."""
        if self.on_wake is not None:
            self.on_wake()

    def on_link(self, listener: LinkListener) -> None:
        """``listener(up, now)`` whenever the XMPP link goes down or comes back."""
        self._link_listeners.append(listener)

    def on_association(self, listener: Callable[[AssociationScope], None]) -> None:
        """``listener(scope)`` for each new association (services hang close hooks on it)."""
        self._association_listeners.append(listener)

    def scope(self, peer: str, association_id: str) -> AssociationScope | None:
        return self.scopes.get((peer, association_id))

    def sent(self, element: Element) -> Element:
        """``element`` as it is sent (shown to ``inspect`` in the schema's form, then in the
        attribute form when ``attribute_form``): for payloads services encode."""
        if self.inspect is not None:
            self.inspect("sent", element)
        if self.attribute_form:
            to_attributes(element)
        return element

    _sent = sent

    def encode(self, association_id: str, pdu: Mmspdu) -> Element:
        """The payload of ``pdu`` in ``association_id``'s context (and shown to ``inspect``)."""
        return self._sent(codec.encode(pdus.context(association_id, pdu)))

    def _drain(self, outputs: list[Output]) -> list[Output]:
        if self._outbox:
            outputs.extend(self._outbox)
            self._outbox = []
        return outputs

    # ------------------------------------------------------------ requests to peers

    def request(
        self,
        peer: str,
        association_id: str,
        iq_type: str,
        pdu: Mmspdu,
        on_answer: AnswerHandler,
        now: float,
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        """Send ``pdu`` (a confirmed-RequestPDU) to ``peer`` in its association; the answer
        (its MMSpdu, or the exception: an iq error, a payload that does not decode, no answer
        within ``timeout``) goes to ``on_answer``. Posted: it leaves with the next outputs."""
        iq_id = f"g61850-{next(self._request_ids)}"
        pending = _Request(peer, association_id, on_answer)
        self._requests[iq_id] = pending

        def expired(_now: float) -> None:
            if self._requests.pop(iq_id, None) is not None:
                self._tell(pending, TimeoutError(f"no answer from {peer} within {timeout:g} s"))

        pending.timer = self.call_at(now + timeout, expired)
        self.post(IqRequest(peer, iq_type, iq_id, self.encode(association_id, pdu)))

    def receive_answer(
        self,
        sender: str,
        iq_id: str,
        element: Element | None,
        now: float,
        condition: str = "",
    ) -> list[Output]:
        """The answer (an iq result's payload, or None and the condition of an iq error) to a
        request the server sent; anything else with that id is ignored."""
        self.now = now
        pending = self._requests.get(iq_id)
        if pending is None or pending.peer != sender:
            return self._drain([])
        del self._requests[iq_id]
        if pending.timer is not None:
            pending.timer.cancel()
        answer: Answer
        if element is None:
            answer = PayloadError("iq", f"{sender} answered with an XMPP error: {condition}")
        else:
            try:
                context = codec.decode(element)
                if context.association_id != pending.association_id:
                    raise PayloadError("associationID", "an answer in another association")
                answer = context.pdu
            except PayloadError as error:
                answer = error
        self._tell(pending, answer)
        return self._drain([])

    def _tell(self, pending: _Request, answer: Answer) -> None:
        try:
            pending.on_answer(answer)
        except Exception:
            log.exception("8-2 server: handling the answer of %s failed", pending.peer)

    # ------------------------------------------------------------ time

    def next_deadline(self) -> float | None:
        return self.timers.next_deadline()

    def handle_timer(self, now: float) -> list[Output]:
        """Run the timers due at ``now``; returns what they (and earlier wakes) produced."""
        self.now = now
        self.timers.run_due(now)
        return self._drain([])

    # ------------------------------------------------------------ the link

    def link_down(self, now: float) -> list[Output]:
        """The TCP link is gone, the XMPP session may resume: associations wait."""
        self.now = now
        if self.link_up:
            self.link_up = False
            for listener in list(self._link_listeners):
                listener(False, now)
        return self._drain([])

    def link_resumed(self, now: float) -> list[Output]:
        """XEP-0198 resumed the session: associations go on."""
        self.now = now
        if not self.link_up:
            self.link_up = True
            for listener in list(self._link_listeners):
                listener(True, now)
        return self._drain([])

    def session_lost(self, now: float, reason: str = "link lost") -> list[Output]:
        """The XMPP session ended (not resumable): every association over it is aborted."""
        self.now = now
        self._abort_all(now, f"aborted: {reason}")
        return self._drain([])

    def session_started(self, now: float, local_jid: str | None = None) -> list[Output]:
        """A new XMPP session: associations of an earlier one cannot go on."""
        self.now = now
        if local_jid:
            self.local_jid = local_jid
        if self.scopes:
            self._abort_all(now, "aborted: link lost")
        if not self.link_up:
            self.link_up = True
            for listener in list(self._link_listeners):
                listener(True, now)
        return self._drain([])

    def peer_unavailable(self, jid: str, now: float) -> list[Output]:
        """``jid`` (full or bare) went unavailable: its associations are aborted."""
        self.now = now
        for scope in list(self.scopes.values()):
            if scope.peer == jid or scope.peer.split("/")[0] == jid:
                scope.association.abort(f"{jid} unavailable")
                self._forget(scope, "aborted: peer unavailable")
        return self._drain([])

    def _abort_all(self, now: float, why: str) -> None:
        for scope in list(self.scopes.values()):
            scope.association.abort(why)
            self._forget(scope, why if why.startswith("aborted") else f"aborted: {why}")

    def _forget(self, scope: AssociationScope, why: str) -> None:
        self.scopes.pop(scope.owner, None)
        scope.close(why)
        self.closed.append((scope.peer, scope.association_id, why))

    # ------------------------------------------------------------ receiving

    def receive(
        self, sender: str, iq_type: str, iq_id: str, element: Element, now: float
    ) -> list[Output]:
        """Handle one 8-2 iq (get or set) from ``sender``; returns the outputs, in order."""
        self.now = now
        outputs: list[Output] = []
        try:
            self._handle(outputs, sender, iq_type, iq_id, element, now)
        except Exception:  # a bug of ours must not stop the server; answer and log
            log.exception("8-2 server: request from %s failed", sender)
            outputs = [o for o in outputs if not isinstance(o, IqResult | IqError)]
            try:
                outputs.append(self._internal_error(sender, iq_id, element))
            except Exception:
                log.exception("8-2 server: could not answer %s", sender)
                outputs.append(IqError(sender, iq_id, "internal-server-error"))
        return self._drain(outputs)

    def complete(self, token: int, result: Any, now: float) -> list[Output]:
        """A job's ``result`` (or the exception it raised): the waiting request is answered."""
        self.now = now
        waiting = self._waiting.pop(token, None)
        if waiting is None:
            return self._drain([])
        outputs: list[Output] = []
        try:
            if isinstance(result, BaseException):
                raise result
            response = wrap_response(waiting.service, waiting.finish(result))
            pdu = Mmspdu(
                confirmed_response_pdu=ConfirmedResponsePdu(
                    invoke_id=waiting.invoke_id, service=response
                )
            )
        except ServiceFailure as failure:
            pdu = pdus.confirmed_error(waiting.invoke_id, failure.error, failure.description)
        except Exception:
            log.exception("8-2 server: deferred work for %s failed", waiting.sender)
            pdu = pdus.confirmed_error(waiting.invoke_id, ("others", 0), "internal error")
        self._answer_confirmed(outputs, waiting.sender, waiting.iq_id, waiting.call, pdu)
        return self._drain(outputs)

    def _internal_error(self, sender: str, iq_id: str, element: Element) -> Output:
        invoke_id = pdus.raw_invoke_id(element)
        if invoke_id is None:  # initiate, conclude: no invokeID, but the iq gets its answer
            return IqError(sender, iq_id, "internal-server-error")
        association_id = pdus.answerable_association_id(pdus.raw_association_id(element))
        pdu = pdus.confirmed_error(invoke_id, ("others", 0), "internal error")
        return IqResult(sender, iq_id, self.encode(association_id, pdu))

    def _answer(
        self, outputs: list[Output], sender: str, iq_id: str, association_id: str, pdu: Mmspdu
    ) -> None:
        outputs.append(IqResult(sender, iq_id, self.encode(association_id, pdu)))

    def _reject(
        self,
        outputs: list[Output],
        sender: str,
        iq_id: str,
        association_id: str,
        invoke_id: int | None,
        kind: str,
        code: int,
        condition: str,
    ) -> None:
        """rejectPDU in a normal message, and an iq error so the iq is answered too."""
        payload = self.encode(association_id, pdus.reject(invoke_id, kind, code))
        outputs.append(Message(sender, payload))
        outputs.append(IqError(sender, iq_id, condition, f"rejected: {kind} {code}"))

    def _handle(
        self,
        outputs: list[Output],
        sender: str,
        iq_type: str,
        iq_id: str,
        element: Element,
        now: float,
    ) -> None:
        association_id = pdus.answerable_association_id(pdus.raw_association_id(element))
        if pdus.deeper_than(element, codec.MAX_DEPTH):  # before anything recursive sees it
            self._refuse_payload(
                outputs, sender, iq_id, element, association_id, PayloadTooDeep("/", "deep")
            )
            return
        try:
            to_elements(element)  # the attribute forms some peers send
        except PayloadError as error:
            self._refuse_payload(outputs, sender, iq_id, element, association_id, error)
            return
        if self.inspect is not None:
            self.inspect("received", element)
        scope = self.scopes.get((sender, association_id))
        limit = scope.max_pdu_size if scope and scope.max_pdu_size else self.max_pdu_size
        if pdus.payload_size(element) > limit:
            invoke_id = pdus.raw_invoke_id(element)
            if invoke_id is None:
                self._reject(
                    outputs,
                    sender,
                    iq_id,
                    association_id,
                    None,
                    "pdu-error",
                    PduErrorReject.INVALID_PDU,
                    "not-acceptable",
                )
            else:
                self._answer(
                    outputs,
                    sender,
                    iq_id,
                    association_id,
                    pdus.confirmed_error(
                        invoke_id, mapping.SERVICE_PDU_SIZE, f"request larger than {limit} octets"
                    ),
                )
            return
        try:
            context = codec.decode(element)
        except PayloadError as error:
            self._refuse_payload(outputs, sender, iq_id, element, association_id, error)
            return
        context.association_id = association_id  # never echo what the schema does not allow
        kind = pdu_kind(context.pdu)
        if kind in _ASSOCIATION_REQUESTS and iq_type != PDU_STANZAS[kind][1]:
            # 8-2 table D.1: initiate and conclude travel in iq set, cancel in iq get
            self._reject(
                outputs,
                sender,
                iq_id,
                association_id,
                None,
                "pdu-error",
                PduErrorReject.INVALID_PDU,
                "bad-request",
            )
        elif kind == "confirmed-RequestPDU":
            self._confirmed(outputs, sender, iq_type, iq_id, context, scope, now)
        elif kind == "initiate-RequestPDU":
            self._associate(outputs, sender, iq_id, context, now)
        elif kind == "conclude-RequestPDU":
            self._release(outputs, sender, iq_id, context, scope)
        elif kind == "cancel-RequestPDU":
            invoke_id = context.pdu.cancel_request_pdu or 0
            self._answer(
                outputs,
                sender,
                iq_id,
                association_id,
                Mmspdu(
                    cancel_error_pdu=CancelErrorPdu(
                        original_invoke_id=invoke_id,
                        service_error=pdus.service_error(
                            ("cancel", 2), "requests complete at once"
                        ),
                    )
                ),
            )
        else:
            self._reject(
                outputs,
                sender,
                iq_id,
                association_id,
                None,
                "pdu-error",
                PduErrorReject.UNKNOWN_PDU_TYPE,
                "bad-request",
            )

    def _refuse_payload(
        self,
        outputs: list[Output],
        sender: str,
        iq_id: str,
        element: Element,
        association_id: str,
        error: PayloadError,
    ) -> None:
        """A payload that does not follow the schema: the rejectPDU its fault calls for.

        Too deep: max-recursion-exceeded; a value outside the schema's facets (an invokeID
        of -1 or 2^32, a 65-character name): value-out-of-range; an unknown service:
        unrecognized-service; anything else: invalid-argument. Without a usable invokeID
        (initiate, conclude, or the invokeID itself is wrong) the reject carries none and
        says pdu-error invalid-pdu, unless only the invokeID's range is wrong.
        """
        invoke_id = pdus.raw_invoke_id(element)
        out_of_range = isinstance(error, PayloadRangeError)
        if isinstance(error, PayloadTooDeep):
            reason = ConfirmedRequestReject.MAX_RECURSION_EXCEEDED
            condition = "not-acceptable"
        elif invoke_id is not None and pdus.is_unknown_service(element):
            reason, condition = (
                ConfirmedRequestReject.UNRECOGNIZED_SERVICE,
                "feature-not-implemented",
            )
        elif out_of_range and (invoke_id is not None or error.path.endswith(_INVOKE_ID_PATH)):
            reason, condition = ConfirmedRequestReject.VALUE_OUT_OF_RANGE, "bad-request"
        else:
            reason, condition = ConfirmedRequestReject.INVALID_ARGUMENT, "bad-request"
        if invoke_id is not None or reason is ConfirmedRequestReject.VALUE_OUT_OF_RANGE:
            self._reject(
                outputs,
                sender,
                iq_id,
                association_id,
                invoke_id,
                "confirmed-requestPDU",
                reason,
                condition,
            )
        else:
            self._reject(
                outputs,
                sender,
                iq_id,
                association_id,
                None,
                "pdu-error",
                PduErrorReject.INVALID_PDU,
                condition,
            )
        log.info("8-2 server: rejected payload from %s: %s", sender, error)

    def _confirmed(
        self,
        outputs: list[Output],
        sender: str,
        iq_type: str,
        iq_id: str,
        context: AssociationContext,
        scope: AssociationScope | None,
        now: float,
    ) -> None:
        request = context.pdu.confirmed_request_pdu
        assert request is not None
        invoke_id = request.invoke_id
        service = request_service(request.service)
        association_id = context.association_id
        if service is None:
            self._reject(
                outputs,
                sender,
                iq_id,
                association_id,
                invoke_id,
                "confirmed-requestPDU",
                ConfirmedRequestReject.UNRECOGNIZED_SERVICE,
                "feature-not-implemented",
            )
            return
        if iq_type != SERVICES[service].iq_type:
            self._reject(
                outputs,
                sender,
                iq_id,
                association_id,
                invoke_id,
                "confirmed-requestPDU",
                ConfirmedRequestReject.INVALID_ARGUMENT,
                "bad-request",
            )
            return
        if scope is None or scope.association.state is not State.ASSOCIATED:
            self._answer(
                outputs,
                sender,
                iq_id,
                association_id,
                pdus.confirmed_error(
                    invoke_id,
                    mapping.APPLICATION_REFERENCE_INVALID,
                    f"no association {association_id[:64]!r} with {sender}",
                ),
            )
            return
        call = CallContext(
            peer=sender,
            association_id=association_id,
            max_pdu_size=scope.max_pdu_size or self.max_pdu_size,
            now=now,
            scope=scope,
        )
        self._serve(outputs, sender, iq_id, request, service, call)

    def _serve(
        self,
        outputs: list[Output],
        sender: str,
        iq_id: str,
        request: ConfirmedRequestPdu,
        service: str,
        call: CallContext,
    ) -> None:
        invoke_id = request.invoke_id
        try:
            response: ConfirmedServiceResponse | None = dispatch(
                self.handlers, call, request.service
            )
            assert response is not None
            pdu = Mmspdu(
                confirmed_response_pdu=ConfirmedResponsePdu(invoke_id=invoke_id, service=response)
            )
        except ServiceFailure as failure:
            pdu = pdus.confirmed_error(invoke_id, failure.error, failure.description)
        except Deferred as deferred:
            token = next(self._jobs)
            deferred.token = token
            self._waiting[token] = _Waiting(
                sender, iq_id, call.association_id, invoke_id, service, call, deferred.finish
            )
            outputs.extend(call.before)
            if deferred.work is not None:
                outputs.append(Job(token, deferred.work))
            call.before = []
            return
        self._answer_confirmed(outputs, sender, iq_id, call, pdu)

    def _answer_confirmed(
        self, outputs: list[Output], sender: str, iq_id: str, call: CallContext, pdu: Mmspdu
    ) -> None:
        """``before`` effects, the answer (a pdu-size error if it is too large), ``after``."""
        element = codec.encode(pdus.context(call.association_id, pdu))
        if pdus.payload_size(element) > call.max_pdu_size:
            invoke_id = (
                pdu.confirmed_response_pdu.invoke_id
                if pdu.confirmed_response_pdu is not None
                else pdu.confirmed_error_pdu.invoke_id
                if pdu.confirmed_error_pdu is not None
                else 0
            )
            pdu = pdus.confirmed_error(
                invoke_id, mapping.SERVICE_PDU_SIZE, "the answer exceeds the negotiated PDU size"
            )
            element = codec.encode(pdus.context(call.association_id, pdu))
        outputs.extend(call.before)
        outputs.append(IqResult(sender, iq_id, self._sent(element)))
        outputs.extend(call.after)

    def _associate(
        self,
        outputs: list[Output],
        sender: str,
        iq_id: str,
        context: AssociationContext,
        now: float,
    ) -> None:
        request = context.pdu.initiate_request_pdu
        assert request is not None
        association_id = context.association_id
        key = (sender, association_id)
        existing = self.scopes.get(key)
        if association_id == pdus.NO_ASSOCIATION:
            self._answer(
                outputs,
                sender,
                iq_id,
                association_id,
                Mmspdu(
                    initiate_error_pdu=pdus.service_error(
                        mapping.INITIATE_OTHER,
                        f"AssociationID: 1 to 64 printable ASCII characters, "
                        f"not {pdus.NO_ASSOCIATION!r}",
                    )
                ),
            )
            return
        if existing is not None and existing.association.state is not State.CLOSED:
            self._answer(
                outputs,
                sender,
                iq_id,
                association_id,
                Mmspdu(
                    initiate_error_pdu=pdus.service_error(
                        mapping.INITIATE_OTHER, "AssociationID already in use with this peer"
                    )
                ),
            )
            return
        try:
            negotiated = negotiate(pdus.proposal_of(request), self.offer)
        except InitiateRefused as refused:
            self._answer(
                outputs,
                sender,
                iq_id,
                association_id,
                Mmspdu(initiate_error_pdu=pdus.service_error(refused.error, refused.description)),
            )
            return
        association = Association(association_id, self.local_jid, sender)
        association.negotiated = negotiated
        association.handle(Event.ACCEPT_INITIATE)
        mine = [s for s in self.scopes.values() if s.peer == sender]
        for old in mine[: max(0, len(mine) + 1 - self.max_associations_per_peer)]:
            old.association.abort("superseded by newer associations of the same peer")
            self._forget(old, "aborted: superseded")
        scope = AssociationScope(association)
        scope.on_close(lambda _why: self.model.association_closed(scope.owner))
        self.scopes[key] = scope
        for listener in list(self._association_listeners):
            listener(scope)
        outputs.append(Presence(sender))
        self._answer(outputs, sender, iq_id, association_id, pdus.initiate_response(negotiated))

    def _release(
        self,
        outputs: list[Output],
        sender: str,
        iq_id: str,
        context: AssociationContext,
        scope: AssociationScope | None,
    ) -> None:
        if scope is None or scope.association.state is not State.ASSOCIATED:
            self._answer(
                outputs,
                sender,
                iq_id,
                context.association_id,
                Mmspdu(
                    conclude_error_pdu=pdus.service_error(
                        mapping.APPLICATION_REFERENCE_INVALID, "no such association"
                    )
                ),
            )
            return
        scope.association.handle(Event.ACCEPT_CONCLUDE)
        self._forget(scope, "released")
        self._answer(outputs, sender, iq_id, context.association_id, pdus.conclude_response())


__all__ = ["REQUEST_TIMEOUT", "Answer", "AnswerHandler", "AssociationKey", "Deferred", "ServerCore"]
