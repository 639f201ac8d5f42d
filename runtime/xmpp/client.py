"""The 8-2 client role: associate with an IED's JID and call ACSI services on it.

``AcsiClient`` is the XMPP account; ``associate(jid)`` returns a ``ClientAssociation`` whose
async methods are the ACSI services (GetServerDirectory ... GetDataSetDirectory). Requests
are correlated by invokeID, bounded by the negotiated number outstanding and timed out.
Associations belong to the XMPP session: a TCP cut that XEP-0198 resumes keeps them and
what is pending (resent requests get their answers); the session ending, or the server's
presence going unavailable, aborts them and fails what is pending. A request that failed
(timeout, abort, cancelled) is withdrawn from slixmpp's queues, so it is never sent after
a resumption once the caller was told it failed.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar, cast
from xml.etree.ElementTree import Element

from slixmpp.xmlstream.handler import Callback

from gen61850.generated.scsm_8_2 import codec, services
from gen61850.generated.scsm_8_2.bindings import (
    AccessResult,
    AlternateAccess,
    AlternateAccessItem,
    AlternateAccessSelection,
    AssociationContext,
    ConfirmedRequestPdu,
    ConfirmedResponsePdu,
    ConfirmedServiceResponse,
    Data,
    DataList,
    DefineNamedVariableListRequest,
    DeleteNamedVariableListRequest,
    DomainSpecificName,
    FileDirectoryRequest,
    FileName,
    GetNameListRequest,
    GetVariableAccessAttributesRequest,
    InformationReport,
    InitiateResponsePdu,
    ListOfObjectName,
    ListOfVariable,
    Mmspdu,
    Null,
    ObjectClass,
    ObjectName,
    ObjectScope,
    ReadJournalRequest,
    ReadJournalResponse,
    ReadRequest,
    SelectAccess,
    TypeDescription,
    VariableAccessSpecification,
    VariableDef,
    VariableSpecification,
    WriteRequest,
)
from gen61850.runtime.device import Ref
from gen61850.runtime.xmpp import pdus
from gen61850.runtime.xmpp.association import Association, Event, Negotiated, State
from gen61850.runtime.xmpp.attribute_forms import to_attributes, to_elements
from gen61850.runtime.xmpp.errors import (
    AssociationError,
    DataAccessFailure,
    PayloadError,
    PeerError,
    ServiceErrorResponse,
    TimeoutError61850,
    ValueRefused,
)
from gen61850.runtime.xmpp.handlers import (
    OBJECT_CLASS_DOMAIN,
    OBJECT_CLASS_NAMED_VARIABLE,
    OBJECT_CLASS_NAMED_VARIABLE_LIST,
    ServiceFailure,
)
from gen61850.runtime.xmpp.matchers import PayloadPath
from gen61850.runtime.xmpp.references import parse_reference
from gen61850.runtime.xmpp.transport import Endpoint, XmppSettings, full_jid
from gen61850.runtime.xmpp.typed import PlainValue, data_of, plain_value, typed_value
from gen61850.runtime.xmpp.values import ValueMismatch, is_true

ROOT_TAG = "{" + codec.NAMESPACE + "}AssociationContext"
log = logging.getLogger(__name__)
Inspector = Callable[[str, Element], None]
ReportListener = Callable[[str, InformationReport], None]
RequestHandler = Callable[[ConfirmedRequestPdu], ConfirmedServiceResponse]
R = TypeVar("R")
T = TypeVar("T")
Reference = tuple[str, str]  # (domain = logical device, item = $-name)


class MemberReference(NamedTuple):
    """A data set member: a named variable, or element ``ix`` of an array (as FCDA ``ix``)."""

    domain: str
    item: str
    ix: int | None = None


@dataclass
class _Pending:
    association: ClientAssociation
    invoke_id: int | None
    future: asyncio.Future[AssociationContext]


def object_name(domain: str | None, item: str) -> ObjectName:
    """Domain-specific name, or aa-specific when ``domain`` is None."""
    if domain is None:
        return ObjectName(aa_specific=item)
    return ObjectName(domain_specific=DomainSpecificName(domain_id=domain, item_id=item))


def variable_def(domain: str, item: str, index: int | None = None) -> VariableDef:
    access = None
    if index is not None:
        access = AlternateAccess(
            choice=[
                AlternateAccessItem(
                    unnamed=AlternateAccessSelection(select_access=SelectAccess(index=index))
                )
            ]
        )
    return VariableDef(
        variable_specification=VariableSpecification(name=object_name(domain, item)),
        alternate_access=access,
    )


def variables(references: list[Reference]) -> VariableAccessSpecification:
    return VariableAccessSpecification(
        list_of_variable=ListOfVariable(sequence=[variable_def(d, i) for d, i in references])
    )


def data_objects(names: list[str]) -> dict[str, dict[str, list[str]]]:
    """LN → data object → its FCs, from a domain's names (``LN$FC$DO``), in one pass."""
    found: dict[str, dict[str, list[str]]] = {}
    for name in names:
        parts = name.split("$")
        if len(parts) == 3:
            found.setdefault(parts[0], {}).setdefault(parts[2], []).append(parts[1])
    return found


def _check_new(page: list[str], seen: set[str], path: str) -> None:
    """Note a page of a paged answer; a name seen before means the server is not paging on
    (it ignored continueAfter), which would otherwise make the client ask forever."""
    for name in page:
        if name in seen:
            raise PayloadError(path, f"{name[:80]!r} again: the server does not page on")
        seen.add(name)


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


async def within(future: asyncio.Future[T], seconds: float) -> T:
    """``await future``, TimeoutError after ``seconds`` (then the future holds it). Unlike
    ``asyncio.wait_for`` no waiter sits between: what sets the future wakes the caller."""
    timer = asyncio.get_running_loop().call_later(seconds, _expire, future)
    try:
        return await future
    finally:
        timer.cancel()


def result_value(reference: str, result: AccessResult) -> Data:
    """The Data of a successful AccessResult; DataAccessFailure otherwise."""
    if result.success is not None:
        return result.success
    raise DataAccessFailure(reference, result.failure if result.failure is not None else -1)


class AcsiClient(Endpoint):
    """An XMPP account that associates with 8-2 servers and calls their services."""

    def __init__(
        self,
        settings: XmppSettings,
        *,
        max_pdu_size: int = pdus.DEFAULT_MAX_PDU_SIZE,
        max_outstanding: int = pdus.DEFAULT_MAX_OUTSTANDING,
        inspect: Inspector | None = None,
        attribute_form: bool = False,
    ) -> None:
        super().__init__(settings)
        self.attribute_form = attribute_form  # write some components as XML attributes
        self.max_pdu_size = max_pdu_size
        self.max_outstanding = max_outstanding
        self.inspect = inspect
        self.associations: dict[str, ClientAssociation] = {}
        self.report_listeners: list[ReportListener] = []
        # told (association, reason) when an association is aborted (not released)
        self.abort_listeners: list[Callable[[ClientAssociation, str], None]] = []
        self._pending: dict[str, _Pending] = {}
        self.register_handler(Callback("8-2 result", PayloadPath("iq", "result"), self._on_result))
        self.register_handler(
            Callback("8-2 iq error", PayloadPath("iq", "error", payload=False), self._on_error)
        )
        self.register_handler(Callback("8-2 message", PayloadPath("message"), self._on_message))
        # requests a server sends its client (SetFile: fileOpen, fileRead, fileClose), by
        # association id: whoever offers something to serve installs a handler there
        self.request_handlers: dict[str, RequestHandler] = {}
        for iq_type in ("get", "set"):
            self.register_handler(
                Callback(
                    f"8-2 request {iq_type}",
                    PayloadPath("iq", iq_type),
                    self._on_request,
                )
            )

    # ------------------------------------------------------------ associate

    async def associate(
        self, server: str, *, association_id: str | None = None
    ) -> ClientAssociation:
        """Associate with ``server`` (its bare or full JID); AssociationError when refused."""
        peer = full_jid(server)
        association_id = association_id or secrets.token_hex(16)
        if association_id in self.associations:
            raise AssociationError(f"association {association_id} already exists")
        state = Association(association_id, str(self.boundjid), peer)
        handle = ClientAssociation(self, state)
        state.handle(Event.SEND_INITIATE)
        self.associations[association_id] = handle
        self.send_presence(pto=peer)
        try:
            answer = await self._exchange(
                handle, None, pdus.initiate_request(self.max_pdu_size, self.max_outstanding), "set"
            )
        except Exception:
            self.associations.pop(association_id, None)
            state.abort("initiate failed")
            raise
        response = answer.pdu.initiate_response_pdu
        if response is None:
            self.associations.pop(association_id, None)
            state.handle(Event.RECV_INITIATE_ERROR)
            if answer.pdu.initiate_error_pdu is not None:
                raise AssociationError(
                    f"{peer} refused the association: {pdus.error_of(answer.pdu.initiate_error_pdu)}"
                )
            raise PayloadError("pdu", "expected initiate-ResponsePDU")
        try:
            state.negotiated = self._accepted(response)
        except AssociationError:
            self.associations.pop(association_id, None)
            state.abort("initiate-ResponsePDU outside what was proposed")
            raise
        state.handle(Event.RECV_INITIATE_RESPONSE)
        return handle

    def _accepted(self, response: InitiateResponsePdu) -> Negotiated:
        """What the server negotiated, if it lies within what we proposed."""
        size = (
            self.max_pdu_size
            if response.local_detail_called is None
            else response.local_detail_called
        )
        nesting = response.negotiated_data_structure_nesting_level
        nesting = codec.MAX_NESTING_LEVEL if nesting is None else nesting
        checks = (
            ("localDetailCalled", size, pdus.MIN_PDU_SIZE, self.max_pdu_size),
            (
                "negotiatedMaxServOutstandingCalling",
                response.negotiated_max_serv_outstanding_calling,
                1,
                self.max_outstanding,
            ),
            (
                "negotiatedMaxServOutstandingCalled",
                response.negotiated_max_serv_outstanding_called,
                1,
                self.max_outstanding,
            ),
            ("negotiatedDataStructureNestingLevel", nesting, 1, codec.MAX_NESTING_LEVEL),
        )
        for name, value, low, high in checks:
            if not low <= value <= high:
                raise AssociationError(f"the server negotiated {name} {value}, not {low}..{high}")
        return Negotiated(
            max_pdu_size=size,
            max_outstanding_calling=response.negotiated_max_serv_outstanding_calling,
            max_outstanding_called=response.negotiated_max_serv_outstanding_called,
            services=response.init_response_detail.services_supported_called,
            nesting_level=nesting,
        )

    # ------------------------------------------------------------ exchange

    async def _exchange(
        self,
        handle: ClientAssociation,
        invoke_id: int | None,
        pdu: Mmspdu,
        iq_type: str,
        timeout: float | None = None,
    ) -> AssociationContext:
        element = codec.encode(pdus.context(handle.state.association_id, pdu))
        if self.inspect is not None:
            self.inspect("sent", element)
        if self.attribute_form:
            to_attributes(element)
        iq = self.make_iq(ito=handle.state.peer, itype=cast(Any, iq_type))
        iq.xml.append(element)
        future: asyncio.Future[AssociationContext] = asyncio.get_running_loop().create_future()
        iq_id = iq["id"]
        self._pending[iq_id] = _Pending(handle, invoke_id, future)
        try:
            self.send(iq)
            return await within(future, timeout or self.settings.request_timeout)
        except TimeoutError:
            self.withdraw(iq_id)
            raise TimeoutError61850(
                f"no answer from {handle.state.peer} within "
                f"{timeout or self.settings.request_timeout:g} s "
                "(withdrawn: it is not sent again; if the server got it, it may have run it)"
            ) from None
        except (AssociationError, asyncio.CancelledError):
            self.withdraw(iq_id)
            raise
        finally:
            self._pending.pop(iq_id, None)
            if invoke_id is not None:
                handle.state.finish_request(invoke_id)

    def _pending_for(self, iq: Any) -> _Pending | None:
        """The request ``iq`` answers: same id, not yet answered, and from the peer we asked."""
        pending = self._pending.get(iq["id"])
        if pending is None or pending.future.done():
            return None
        if str(iq["from"]) != pending.association.state.peer:
            log.warning(
                "8-2: ignored an answer to %s from %s", pending.association.state.peer, iq["from"]
            )
            return None
        return pending

    def _on_result(self, iq: Any) -> None:
        pending = self._pending_for(iq)
        element = iq.xml.find(ROOT_TAG)
        if pending is None or element is None:
            return
        try:
            to_elements(element)  # the attribute forms some peers send
        except PayloadError as error:
            pending.future.set_exception(error)
            return
        if self.inspect is not None:
            self.inspect("received", element)
        try:
            context = codec.decode(element)
        except PayloadError as error:
            pending.future.set_exception(error)
            return
        if context.association_id != pending.association.state.association_id:
            pending.future.set_exception(
                PayloadError("associationID", f"answer for {context.association_id!r}, not ours")
            )
            return
        pending.future.set_result(context)

    def _on_error(self, iq: Any) -> None:
        pending = self._pending_for(iq)
        if pending is None:
            return
        condition = iq["error"]["condition"]
        text = iq["error"]["text"]
        pending.future.set_exception(
            PeerError(
                f"{iq['from']} answered with an XMPP error: {condition}"
                + (f" ({text})" if text else "")
            )
        )

    def _on_request(self, iq: Any) -> None:
        """A request from an associated server, answered by the association's handler."""
        element = iq.xml.find(ROOT_TAG)
        if element is None:
            return
        sender = str(iq["from"])
        if self.inspect is not None:
            self.inspect("received", element)
        try:
            context = codec.decode(element)
        except PayloadError:
            self._refuse_request(iq, "bad-request")
            return
        handle = self.associations.get(context.association_id)
        handler = self.request_handlers.get(context.association_id)
        request = context.pdu.confirmed_request_pdu
        if handle is None or handle.state.peer != sender or handler is None or request is None:
            self._refuse_request(iq, "service-unavailable")
            return
        try:
            pdu = Mmspdu(
                confirmed_response_pdu=ConfirmedResponsePdu(
                    invoke_id=request.invoke_id, service=handler(request)
                )
            )
        except ServiceFailure as failure:
            pdu = pdus.confirmed_error(request.invoke_id, failure.error, failure.description)
        payload = codec.encode(pdus.context(context.association_id, pdu))
        if self.inspect is not None:
            self.inspect("sent", payload)
        reply = self.make_iq_result(id=iq["id"], ito=sender)
        reply.xml.append(payload)
        reply.send()  # type: ignore[no-untyped-call]

    def _refuse_request(self, iq: Any, condition: str) -> None:
        error = self.make_iq_error(  # type: ignore[no-untyped-call]
            iq["id"], "cancel", condition, None, ito=str(iq["from"])
        )
        error["type"] = "error"
        error.send()

    def _on_message(self, message: Any) -> None:
        element = message.xml.find(ROOT_TAG)
        if element is None:
            return
        try:
            to_elements(element)
        except PayloadError:
            return
        if self.inspect is not None:
            self.inspect("received", element)
        try:
            context = codec.decode(element)
        except PayloadError:
            return
        if context.pdu.reject_pdu is not None:
            invoke_id = context.pdu.reject_pdu.original_invoke_id
            for pending in self._pending.values():
                if (
                    pending.invoke_id == invoke_id
                    and not pending.future.done()
                    and pending.association.state.association_id in (context.association_id, "-")
                    and pending.association.state.peer == str(message["from"])
                ):
                    pending.future.set_exception(pdus.rejected_of(context.pdu.reject_pdu))
                    break
        elif context.pdu.unconfirmed_pdu is not None:
            report = context.pdu.unconfirmed_pdu.unconfirmed_service.information_report
            handle = self.associations.get(context.association_id)
            sender = str(message["from"])
            if report is None or handle is None or not handle.is_open:
                return
            if handle.state.peer != sender:  # only the associated peer reports in it
                log.warning("8-2: ignored a report in %s from %s", context.association_id, sender)
                return
            for listener in [*self.report_listeners, *handle.report_listeners]:
                try:
                    listener(sender, report)
                except Exception:
                    log.exception("8-2: a report listener failed")

    # ------------------------------------------------------------ aborts

    def _abort(self, handles: list[ClientAssociation], reason: str) -> None:
        for handle in handles:
            if handle.state.state is not State.CLOSED:
                handle.state.abort(reason)
            self.associations.pop(handle.state.association_id, None)
        closed = {id(h) for h in handles}
        for pending in self._pending.values():
            if id(pending.association) in closed and not pending.future.done():
                pending.future.set_exception(AssociationError(f"association aborted: {reason}"))
        for handle in handles:
            for listener in list(self.abort_listeners):
                try:
                    listener(handle, reason)
                except Exception:
                    log.exception("8-2: an abort listener failed")

    def session_lost(self, reason: str) -> None:
        self._abort(list(self.associations.values()), f"link lost ({reason})")

    def peer_unavailable(self, jid: str) -> None:
        self._abort(
            [
                h
                for h in self.associations.values()
                if h.state.peer == jid or h.state.peer.split("/")[0] == jid
            ],
            f"{jid} went unavailable",
        )


class ClientAssociation:
    """One association with a server; its methods are the ACSI services.

    ``get``/``set``/``read_values`` work with plain Python values (``typed``); the other
    methods with the MMS ``Data`` of the wire.
    """

    def __init__(self, client: AcsiClient, state: Association) -> None:
        self.client = client
        self.state = state
        self._definitions: dict[Reference, TypeDescription] = {}
        # (sender, informationReport) of the reports that arrive in this association
        self.report_listeners: list[ReportListener] = []

    @property
    def is_open(self) -> bool:
        return self.state.is_open

    async def _call(
        self,
        build: Callable[[int, Any], Mmspdu],
        parse: Callable[[ConfirmedResponsePdu], R],
        request: Any,
        timeout: float | None = None,
    ) -> R:
        """One confirmed service: build, send, await the answer (``timeout``: the settings'
        request timeout unless given), parse it; service errors raise."""
        invoke_id = self.state.start_request(asyncio.get_running_loop().time())
        pdu = build(invoke_id, request)
        assert pdu.confirmed_request_pdu is not None
        iq_type = services.request_iq_type(pdu.confirmed_request_pdu.service)
        try:
            answer = await self.client._exchange(self, invoke_id, pdu, iq_type, timeout)
        except BaseException:
            self.state.finish_request(invoke_id)
            raise
        error = answer.pdu.confirmed_error_pdu
        response = answer.pdu.confirmed_response_pdu
        if error is not None:
            if error.invoke_id != invoke_id:
                raise PayloadError("invokeID", f"error for {error.invoke_id}, asked {invoke_id}")
            raise pdus.error_of(error.service_error)
        if response is None:
            raise PayloadError("pdu", "expected confirmed-ResponsePDU or confirmed-ErrorPDU")
        if response.invoke_id != invoke_id:
            raise PayloadError("invokeID", f"answer to {response.invoke_id}, asked {invoke_id}")
        return parse(response)

    # ------------------------------------------------------------ release

    async def release(self) -> None:
        """Release (conclude) the association."""
        self.state.handle(Event.SEND_CONCLUDE)
        try:
            answer = await self.client._exchange(self, None, pdus.conclude_request(), "set")
        except BaseException:
            self.state.abort("release failed")
            self.client.associations.pop(self.state.association_id, None)
            raise
        if answer.pdu.conclude_response_pdu is None:
            self.state.handle(Event.RECV_CONCLUDE_ERROR)
            if answer.pdu.conclude_error_pdu is not None:
                raise pdus.error_of(answer.pdu.conclude_error_pdu)
            raise PayloadError("pdu", "expected conclude-ResponsePDU or conclude-ErrorPDU")
        self.state.handle(Event.RECV_CONCLUDE_RESPONSE)
        self.client.associations.pop(self.state.association_id, None)

    # ------------------------------------------------------------ directory services

    async def name_list(self, object_class: int, domain: str | None) -> list[str]:
        """Every name of a getNameList, following moreFollows/continueAfter."""
        names: list[str] = []
        scope = (
            ObjectScope(vmd_specific=Null())
            if domain is None
            else ObjectScope(domain_specific=domain)
        )
        continue_after: str | None = None
        seen: set[str] = set()
        while True:
            response = await self._call(
                services.get_name_list_request,
                services.get_name_list_response,
                GetNameListRequest(
                    object_class=ObjectClass(basic_object_class=object_class),
                    object_scope=scope,
                    continue_after=continue_after,
                ),
            )
            page = response.list_of_identifier.identifier
            _check_new(page, seen, "listOfIdentifier")
            names.extend(page)
            more = response.more_follows is None or is_true(response.more_follows)
            if not more or not page:
                return names
            continue_after = page[-1]

    async def get_server_directory(self) -> list[str]:
        """GetServerDirectory(LOGICAL-DEVICE): the logical devices."""
        return await self.name_list(OBJECT_CLASS_DOMAIN, None)

    async def get_logical_device_directory(self, ld: str) -> list[str]:
        """GetLogicalDeviceDirectory: the logical nodes (names without ``$``)."""
        return [n for n in await self.name_list(OBJECT_CLASS_NAMED_VARIABLE, ld) if "$" not in n]

    async def get_logical_node_directory(self, ld: str, ln: str) -> list[str]:
        """GetLogicalNodeDirectory(DATA): the data objects of ``ln`` (each once, MMS order)."""
        names = await self.name_list(OBJECT_CLASS_NAMED_VARIABLE, ld)
        return list(data_objects(names).get(ln, {}))

    async def get_server_files(self) -> list[tuple[str, int, str | None]]:
        """GetServerDirectory(FILE): (name, size, last modified) of every file, paged."""
        files: list[tuple[str, int, str | None]] = []
        seen: set[str] = set()
        continue_after: FileName | None = None
        while True:
            response = await self._call(
                services.file_directory_request,
                services.file_directory_response,
                FileDirectoryRequest(continue_after=continue_after),
            )
            entries = response.list_of_directory_entry.directory_entry
            page = ["/".join(entry.file_name.graphic_string) for entry in entries]
            _check_new(page, seen, "listOfDirectoryEntry")
            for name, entry in zip(page, entries, strict=True):
                attributes = entry.file_attributes
                files.append((name, attributes.size_of_file, attributes.last_modified))
            if not entries or not is_true(response.more_follows):
                return files
            continue_after = entries[-1].file_name

    async def get_file_attribute_values(self, name: str) -> tuple[int, str | None]:
        """GetFileAttributeValues of one file: (size, last modified)."""
        response = await self._call(
            services.file_directory_request,
            services.file_directory_response,
            FileDirectoryRequest(file_specification=FileName(graphic_string=[name])),
        )
        entries = response.list_of_directory_entry.directory_entry
        if len(entries) != 1:
            raise PayloadError("listOfDirectoryEntry", f"{len(entries)} entries for one file")
        return entries[0].file_attributes.size_of_file, entries[0].file_attributes.last_modified

    async def get_data_set_names(self, ld: str) -> list[str]:
        """GetLogicalNodeDirectory(DATA-SET) over the whole LD: ``LN$name`` of each data set."""
        return await self.name_list(OBJECT_CLASS_NAMED_VARIABLE_LIST, ld)

    # ------------------------------------------------------------ data

    async def read(self, references: list[Reference]) -> list[AccessResult]:
        response = await self._call(
            services.read_request,
            services.read_response,
            ReadRequest(variable_access_specification=variables(references)),
        )
        results = response.list_of_access_result.access_result
        if len(results) != len(references):
            raise PayloadError(
                "listOfAccessResult", f"{len(results)} results for {len(references)}"
            )
        return results

    async def get_data_values(self, domain: str, item: str, index: int | None = None) -> Data:
        """GetDataValues of one FCD/FCDA (``LN$FC$DO[$DA]``); DataAccessFailure on failure."""
        response = await self._call(
            services.read_request,
            services.read_response,
            ReadRequest(
                variable_access_specification=VariableAccessSpecification(
                    list_of_variable=ListOfVariable(sequence=[variable_def(domain, item, index)])
                )
            ),
        )
        results = response.list_of_access_result.access_result
        if len(results) != 1:
            raise PayloadError("listOfAccessResult", f"{len(results)} results for 1")
        return result_value(f"{domain}/{item}", results[0])

    # ------------------------------------------------------------ plain values

    async def get(self, ref: Ref[T]) -> T:
        """The value of a typed reference, as its type says (``float`` for ``Ref[float]``,
        ``Quality``, ``Timestamp``, ...); DataAccessFailure when the server refuses it."""
        data = await self.get_data_values(ref.ld, ref.item)
        value: T = typed_value(ref.btype, ref.count, data, ref.reference)
        return value

    async def set(self, ref: Ref[T], value: T) -> None:
        """SetDataValues of a typed reference; ValueRefused (before sending) for a value its
        type cannot carry, DataAccessFailure when the server refuses it."""
        try:
            data = data_of(ref.btype, ref.count, value)
        except ValueMismatch as error:
            raise ValueRefused(f"{ref.reference}: {value!r}: {error}") from None
        await self.set_data_values(ref.ld, ref.item, data)

    async def read_values(
        self, references: Sequence[str | Ref[Any]]
    ) -> list[PlainValue | DataAccessFailure]:
        """Several values in one read, each a plain value or the DataAccessFailure it met.

        A typed reference converts as its type says; a text reference (``LD/LN$FC$DO$DA`` or
        ``LD/LN.DO.DA[FC]``) as the server's type description (GetDataDefinition, asked
        once per variable of this association): structures become dicts by component name,
        a 13-bit string a Quality, other bit strings a BitString.
        """
        targets: list[Reference] = []
        for reference in references:
            if isinstance(reference, Ref):
                targets.append((reference.ld, reference.item))
            else:
                targets.append(parse_reference(reference))
        missing: dict[Reference, DataAccessFailure] = {}
        for target, reference in zip(targets, references, strict=True):
            if isinstance(reference, Ref) or target in self._definitions or target in missing:
                continue
            try:
                self._definitions[target] = await self.get_data_definition(*target)
            except ServiceErrorResponse:
                missing[target] = DataAccessFailure(str(reference), 10)
        results = await self.read(targets)
        values: list[PlainValue | DataAccessFailure] = []
        for target, reference, result in zip(targets, references, results, strict=True):
            shown = str(reference)
            if result.success is None:
                code = result.failure if result.failure is not None else -1
                values.append(DataAccessFailure(shown, code))
            elif isinstance(reference, Ref):
                values.append(typed_value(reference.btype, reference.count, result.success, shown))
            elif target in missing:
                values.append(missing[target])
            else:
                values.append(plain_value(self._definitions[target], result.success, shown))
        return values

    async def get_all_data_values(self, ld: str, ln: str, fc: str | None = None) -> Data:
        """GetAllDataValues of a logical node (all FCs, or one)."""
        return await self.get_data_values(ld, ln if fc is None else f"{ln}${fc}")

    async def write(self, references: list[Reference], values: list[Data]) -> list[int | None]:
        """Write; per variable None for success or the DataAccessError code."""
        return await self._write(variables(references), values, len(references))

    async def _write(
        self, spec: VariableAccessSpecification, values: list[Data], expected: int | None
    ) -> list[int | None]:
        response = await self._call(
            services.write_request,
            services.write_response,
            WriteRequest(variable_access_specification=spec, list_of_data=DataList(data=values)),
        )
        if expected is not None and len(response.choice) != expected:
            raise PayloadError("write", f"{len(response.choice)} results for {expected}")
        return [None if r.success is not None else r.failure for r in response.choice]

    async def set_data_values(
        self, domain: str, item: str, value: Data, index: int | None = None
    ) -> None:
        """SetDataValues of one FCD/FCDA (or one array element); DataAccessFailure when refused."""
        spec = VariableAccessSpecification(
            list_of_variable=ListOfVariable(sequence=[variable_def(domain, item, index)])
        )
        (code,) = await self._write(spec, [value], 1)
        if code is not None:
            raise DataAccessFailure(f"{domain}/{item}", code)

    async def get_data_definition(self, domain: str, item: str) -> TypeDescription:
        """GetDataDefinition: the full MMS type of a variable."""
        response = await self._call(
            services.get_variable_access_attributes_request,
            services.get_variable_access_attributes_response,
            GetVariableAccessAttributesRequest(name=object_name(domain, item)),
        )
        return response.type_description

    async def get_data_directory(self, domain: str, item: str) -> list[str]:
        """GetDataDirectory: the names of the components one level below a variable."""
        description = await self.get_data_definition(domain, item)
        if description.structure is None:
            return []
        return [c.component_name or "" for c in description.structure.components.sequence]

    # ------------------------------------------------------------ logs

    async def read_journal(self, request: ReadJournalRequest) -> ReadJournalResponse:
        """readJournal (one page of QueryLogByTime/QueryLogAfter; ``logs.query`` pages on)."""
        return await self._call(
            services.read_journal_request, services.read_journal_response, request
        )

    # ------------------------------------------------------------ data sets

    async def get_data_set_values(self, domain: str | None, name: str) -> list[AccessResult]:
        response = await self._call(
            services.read_request,
            services.read_response,
            ReadRequest(
                variable_access_specification=VariableAccessSpecification(
                    variable_list_name=object_name(domain, name)
                )
            ),
        )
        return response.list_of_access_result.access_result

    async def set_data_set_values(
        self, domain: str | None, name: str, values: list[Data]
    ) -> list[int | None]:
        """SetDataSetValues; per member None for success or the DataAccessError code."""
        spec = VariableAccessSpecification(variable_list_name=object_name(domain, name))
        return await self._write(spec, values, len(values))

    async def create_data_set(
        self, domain: str | None, name: str, members: list[Reference]
    ) -> None:
        """CreateDataSet: persistent (``domain``, ``LN$name``) or non-persistent (domain None)."""
        await self._call(
            services.define_named_variable_list_request,
            services.define_named_variable_list_response,
            DefineNamedVariableListRequest(
                variable_list_name=object_name(domain, name),
                list_of_variable=ListOfVariable(sequence=[variable_def(d, i) for d, i in members]),
            ),
        )

    async def delete_data_set(self, domain: str | None, name: str) -> bool:
        """DeleteDataSet; False when the data set exists but may not be deleted."""
        response = await self._call(
            services.delete_named_variable_list_request,
            services.delete_named_variable_list_response,
            DeleteNamedVariableListRequest(
                scope_of_delete=0,
                list_of_variable_list_name=ListOfObjectName(
                    object_name=[object_name(domain, name)]
                ),
            ),
        )
        if response.number_matched == 0:
            raise DataAccessFailure(f"{domain or '@'}/{name}", 10)
        return response.number_deleted == 1

    async def get_data_set_directory(
        self, domain: str | None, name: str
    ) -> tuple[bool, list[MemberReference]]:
        """GetDataSetDirectory: (deletable, members); an array element member has its index."""
        response = await self._call(
            services.get_named_variable_list_attributes_request,
            services.get_named_variable_list_attributes_response,
            object_name(domain, name),
        )
        members = []
        for definition in response.list_of_variable.sequence:
            dsn = definition.variable_specification.name
            if dsn is None or dsn.domain_specific is None:
                raise PayloadError("listOfVariable", "a member without a domain-specific name")
            index = selected_index(definition.alternate_access)
            members.append(
                MemberReference(dsn.domain_specific.domain_id, dsn.domain_specific.item_id, index)
            )
        return is_true(response.mms_deletable), members


def selected_index(access: AlternateAccess | None) -> int | None:
    """The array index an alternateAccess selects (PayloadError for any other selection)."""
    if access is None:
        return None
    item = access.choice[0] if len(access.choice) == 1 else None
    select = item.unnamed.select_access if item and item.unnamed else None
    if select is None or select.index is None:
        raise PayloadError("alternateAccess", "only a single index selection is understood")
    return select.index


__all__ = [
    "AcsiClient",
    "ClientAssociation",
    "MemberReference",
    "Reference",
    "data_objects",
    "object_name",
    "result_value",
    "selected_index",
    "variable_def",
    "variables",
]
