"""The 8-2 server role: an IED's XMPP account answering ACSI requests over its served model.

Every request stanza is handled to the end (answered, rejected or refused) so that one bad
client never stops the others: payloads that do not decode get a rejectPDU (``message``
normal, 8-2 table D.1) and an RFC 6120 iq error; requests outside an association a
confirmed-ErrorPDU; answers above the negotiated PDU size a ``service pdu-size`` error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

from gen61850.generated.scsm_8_2 import codec
from gen61850.generated.scsm_8_2.bindings import (
    AssociationContext,
    CancelErrorPdu,
    ConfirmedResponsePdu,
    Mmspdu,
)
from gen61850.generated.scsm_8_2.services import (
    PDU_STANZAS,
    SERVICES,
    dispatch,
    pdu_kind,
    request_service,
)
from gen61850.generated.scsm_8_2.stanza import PLUGIN_ATTRIB
from gen61850.runtime.xmpp import mapping, pdus
from gen61850.runtime.xmpp.association import (
    Association,
    Event,
    InitiateRefused,
    Offer,
    State,
    negotiate,
)
from gen61850.runtime.xmpp.errors import PayloadError, PayloadRangeError, PayloadTooDeep
from gen61850.runtime.xmpp.handlers import CallContext, ModelHandlers, ServiceFailure
from gen61850.runtime.xmpp.mapping import ConfirmedRequestReject, PduErrorReject
from gen61850.runtime.xmpp.model import ServedModel
from gen61850.runtime.xmpp.transport import Endpoint, XmppSettings

log = logging.getLogger(__name__)
ROOT_TAG = "{" + codec.NAMESPACE + "}AssociationContext"
_ASSOCIATION_REQUESTS = ("initiate-RequestPDU", "conclude-RequestPDU", "cancel-RequestPDU")
_INVOKE_ID_PATH = "/confirmed-RequestPDU/invokeID"
Inspector = Callable[[str, Element], None]


class AcsiServer(Endpoint):
    """Serves one IED (``model``) to any number of associated clients.

    A peer keeps at most ``max_associations_per_peer`` associations: a client that lost its
    link aborts its side, but the XMPP session may resume without the server noticing, so
    the oldest association of that peer gives way to a new one.
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
    ) -> None:
        super().__init__(settings)
        self.max_associations_per_peer = max_associations_per_peer
        self.model = model
        self.handlers = ModelHandlers(model)
        self.max_pdu_size = max_pdu_size
        self.max_outstanding = max_outstanding
        self.inspect = inspect
        self.associations: dict[tuple[str, str], Association] = {}
        self.closed: list[tuple[str, str, str]] = []  # (peer, association id, why)
        self.offer = Offer(
            version=pdus.VERSION,
            max_pdu_size=max_pdu_size,
            min_pdu_size=pdus.MIN_PDU_SIZE,
            max_outstanding=max_outstanding,
            max_nesting_level=codec.MAX_NESTING_LEVEL,
            min_nesting_level=model.nesting_level,
            parameter_cbb=pdus.PARAMETER_CBB,
            services=pdus.SERVICES_SUPPORTED,
        )
        for iq_type in ("get", "set"):
            self.register_handler(
                Callback(
                    f"8-2 iq {iq_type}",
                    StanzaPath(f"iq@type={iq_type}/{PLUGIN_ATTRIB}"),
                    self._on_iq,
                )
            )

    # ------------------------------------------------------------ sending

    def _answer(self, iq: Any, association_id: str, pdu: Mmspdu) -> None:
        element = codec.encode(pdus.context(association_id, pdu))
        if self.inspect is not None:
            self.inspect("sent", element)
        reply = self._result_for(iq)
        reply.xml.append(element)
        reply.send()

    def _result_for(self, iq: Any) -> Any:
        """An empty ``iq result`` for ``iq`` (slixmpp's ``reply`` deep-copies the request)."""
        return self.make_iq_result(id=iq["id"], ito=iq["from"])

    def _reject(
        self,
        iq: Any,
        association_id: str,
        invoke_id: int | None,
        kind: str,
        code: int,
        condition: str,
    ) -> None:
        """rejectPDU in a normal message, and an iq error so the iq is answered too.

        The error is a new stanza (never ``iq.reply()``, which deep-copies the request: a
        pathological request must not stop its own answer).
        """
        element = codec.encode(pdus.context(association_id, pdus.reject(invoke_id, kind, code)))
        if self.inspect is not None:
            self.inspect("sent", element)
        message = self.make_message(mto=iq["from"], mtype="normal")
        message.xml.append(element)
        message.send()
        self._iq_error(iq, condition, f"rejected: {kind} {code}")

    def _iq_error(self, iq: Any, condition: str, text: str | None = None) -> None:
        kind = {"bad-request": "modify", "internal-server-error": "wait"}.get(condition, "cancel")
        error = self.make_iq_error(iq["id"], kind, condition, text, ito=iq["from"])  # type: ignore[no-untyped-call]
        error["type"] = "error"
        error.send()

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
        peer = str(iq["from"])
        try:
            self._handle(iq, peer, element)
        except Exception:  # a bug of ours must not stop the server; answer and log
            log.exception("8-2 server: request from %s failed", peer)
            try:
                self._internal_error(iq, element)
            except Exception:
                log.exception("8-2 server: could not answer %s", peer)
                self._iq_error(iq, "internal-server-error")

    def _internal_error(self, iq: Any, element: Element) -> None:
        invoke_id = pdus.raw_invoke_id(element)
        if invoke_id is not None:
            self._answer(
                iq,
                pdus.answerable_association_id(pdus.raw_association_id(element)),
                pdus.confirmed_error(invoke_id, ("others", 0), "internal error"),
            )
        else:  # initiate, conclude: no invokeID, but the iq still gets its answer
            self._iq_error(iq, "internal-server-error")

    def _handle(self, iq: Any, peer: str, element: Element) -> None:
        association_id = pdus.answerable_association_id(pdus.raw_association_id(element))
        if pdus.deeper_than(element, codec.MAX_DEPTH):  # before anything recursive sees it
            self._refuse_payload(iq, peer, element, association_id, PayloadTooDeep("/", "deep"))
            return
        if self.inspect is not None:
            self.inspect("received", element)
        association = self.associations.get((peer, association_id))
        limit = (
            association.negotiated.max_pdu_size
            if association and association.negotiated
            else self.max_pdu_size
        )
        if pdus.payload_size(element) > limit:
            invoke_id = pdus.raw_invoke_id(element)
            if invoke_id is None:
                self._reject(
                    iq,
                    association_id,
                    None,
                    "pdu-error",
                    PduErrorReject.INVALID_PDU,
                    "not-acceptable",
                )
            else:
                self._answer(
                    iq,
                    association_id,
                    pdus.confirmed_error(
                        invoke_id, mapping.SERVICE_PDU_SIZE, f"request larger than {limit} octets"
                    ),
                )
            return
        try:
            context = codec.decode(element)
        except PayloadError as error:
            self._refuse_payload(iq, peer, element, association_id, error)
            return
        context.association_id = association_id  # never echo what the schema does not allow
        kind = pdu_kind(context.pdu)
        if kind in _ASSOCIATION_REQUESTS and iq["type"] != PDU_STANZAS[kind][1]:
            # 8-2 table D.1: initiate and conclude travel in iq set, cancel in iq get
            self._reject(
                iq, association_id, None, "pdu-error", PduErrorReject.INVALID_PDU, "bad-request"
            )
        elif kind == "confirmed-RequestPDU":
            self._confirmed(iq, peer, context, association)
        elif kind == "initiate-RequestPDU":
            self._associate(iq, peer, context)
        elif kind == "conclude-RequestPDU":
            self._release(iq, peer, context, association)
        elif kind == "cancel-RequestPDU":
            invoke_id = context.pdu.cancel_request_pdu or 0
            self._answer(
                iq,
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
                iq,
                association_id,
                None,
                "pdu-error",
                PduErrorReject.UNKNOWN_PDU_TYPE,
                "bad-request",
            )

    def _refuse_payload(
        self, iq: Any, peer: str, element: Element, association_id: str, error: PayloadError
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
            self._reject(iq, association_id, invoke_id, "confirmed-requestPDU", reason, condition)
        else:
            self._reject(
                iq, association_id, None, "pdu-error", PduErrorReject.INVALID_PDU, condition
            )
        log.info("8-2 server: rejected payload from %s: %s", peer, error)

    def _confirmed(
        self, iq: Any, peer: str, context: AssociationContext, association: Association | None
    ) -> None:
        request = context.pdu.confirmed_request_pdu
        assert request is not None
        invoke_id = request.invoke_id
        service = request_service(request.service)
        if service is None:
            self._reject(
                iq,
                context.association_id,
                invoke_id,
                "confirmed-requestPDU",
                ConfirmedRequestReject.UNRECOGNIZED_SERVICE,
                "feature-not-implemented",
            )
            return
        if iq["type"] != SERVICES[service].iq_type:
            self._reject(
                iq,
                context.association_id,
                invoke_id,
                "confirmed-requestPDU",
                ConfirmedRequestReject.INVALID_ARGUMENT,
                "bad-request",
            )
            return
        if association is None or association.state is not State.ASSOCIATED:
            self._answer(
                iq,
                context.association_id,
                pdus.confirmed_error(
                    invoke_id,
                    mapping.APPLICATION_REFERENCE_INVALID,
                    f"no association {context.association_id[:64]!r} with {peer}",
                ),
            )
            return
        negotiated = association.negotiated
        self.handlers.call = CallContext(
            peer,
            context.association_id,
            negotiated.max_pdu_size if negotiated else self.max_pdu_size,
        )
        try:
            response = dispatch(self.handlers, peer, request.service)
            assert response is not None
            pdu = Mmspdu(
                confirmed_response_pdu=ConfirmedResponsePdu(invoke_id=invoke_id, service=response)
            )
        except ServiceFailure as failure:
            pdu = pdus.confirmed_error(invoke_id, failure.error, failure.description)
        element = codec.encode(pdus.context(context.association_id, pdu))
        if pdus.payload_size(element) > self.handlers.call.max_pdu_size:
            pdu = pdus.confirmed_error(
                invoke_id, mapping.SERVICE_PDU_SIZE, "the answer exceeds the negotiated PDU size"
            )
            element = codec.encode(pdus.context(context.association_id, pdu))
        if self.inspect is not None:
            self.inspect("sent", element)
        reply = self._result_for(iq)
        reply.xml.append(element)
        reply.send()

    def _associate(self, iq: Any, peer: str, context: AssociationContext) -> None:
        request = context.pdu.initiate_request_pdu
        assert request is not None
        key = (peer, context.association_id)
        existing = self.associations.get(key)
        if context.association_id == pdus.NO_ASSOCIATION:
            self._answer(
                iq,
                context.association_id,
                Mmspdu(
                    initiate_error_pdu=pdus.service_error(
                        mapping.INITIATE_OTHER,
                        f"AssociationID: 1 to 64 printable ASCII characters, "
                        f"not {pdus.NO_ASSOCIATION!r}",
                    )
                ),
            )
            return
        if existing is not None and existing.state is not State.CLOSED:
            self._answer(
                iq,
                context.association_id,
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
                iq,
                context.association_id,
                Mmspdu(initiate_error_pdu=pdus.service_error(refused.error, refused.description)),
            )
            return
        association = Association(context.association_id, str(self.boundjid), peer)
        association.negotiated = negotiated
        association.handle(Event.ACCEPT_INITIATE)
        mine = [a for a in self.associations.values() if a.peer == peer]
        for old in mine[: max(0, len(mine) + 1 - self.max_associations_per_peer)]:
            old.abort("superseded by newer associations of the same peer")
            self._forget(old, "aborted: superseded")
        self.associations[key] = association
        self.send_presence(pto=peer)
        self._answer(iq, context.association_id, pdus.initiate_response(negotiated))

    def _release(
        self, iq: Any, peer: str, context: AssociationContext, association: Association | None
    ) -> None:
        if association is None or association.state is not State.ASSOCIATED:
            self._answer(
                iq,
                context.association_id,
                Mmspdu(
                    conclude_error_pdu=pdus.service_error(
                        mapping.APPLICATION_REFERENCE_INVALID, "no such association"
                    )
                ),
            )
            return
        association.handle(Event.ACCEPT_CONCLUDE)
        self._forget(association, "released")
        self._answer(iq, context.association_id, pdus.conclude_response())

    # ------------------------------------------------------------ aborts

    def _forget(self, association: Association, why: str) -> None:
        self.associations.pop((association.peer, association.association_id), None)
        self.handlers.association_closed(association.peer, association.association_id)
        self.closed.append((association.peer, association.association_id, why))

    def link_lost(self, reason: str) -> None:
        for association in list(self.associations.values()):
            association.abort(f"link lost: {reason}")
            self._forget(association, "aborted: link lost")

    def peer_unavailable(self, jid: str) -> None:
        for association in list(self.associations.values()):
            if association.peer == jid or association.peer.split("/")[0] == jid:
                association.abort(f"{jid} unavailable")
                self._forget(association, "aborted: peer unavailable")


__all__ = ["AcsiServer"]
