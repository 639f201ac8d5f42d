"""The XMPP side of an 8-2 endpoint: a slixmpp client set up as IEC 61850-8-2 requires.

TLS is required (STARTTLS; a server that offers none is refused before any credential is
sent) and the certificate is verified against exactly what the user configured: the given CA
file only, or the system store when none is given (``trust_context``); SASL (PLAIN or SCRAM as the
server offers, never over plaintext); resource ``IEC``; XEP-0198 stream management with
resumption, reconnection after a lost link with a bounded back-off; XEP-0199 keepalive pings.

Subclasses (client and server roles) hear the life of the XMPP session: ``link_down`` (the
TCP link is gone, the session may resume), ``link_resumed``, ``session_lost`` (it cannot:
every association over it is aborted) and ``session_started``, and ``peer_unavailable``.
Two repairs of slixmpp 1.17's XEP-0198 are here: after a resumption it sent the stanzas
queued while disconnected *before* the unacknowledged ones it resends, so they arrived out
of order and its count of acknowledged stanzas no longer matched what the server had (a
second drop then resent the wrong ones); and its reconnection back-off grew to 300 s and was
only reset by a success, so an IED came back up to five minutes after its XMPP server.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from dataclasses import dataclass, field
from typing import Any

import slixmpp
from slixmpp import JID
from slixmpp.plugins.xep_0198 import stanza as sm_stanza
from slixmpp.stanza import StreamFeatures
from slixmpp.stanza.rootstanza import RootStanza
from slixmpp.xmlstream import tostring
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from gen61850.generated.scsm_8_2 import codec, stanza
from gen61850.runtime.xmpp.errors import ConnectError
from gen61850.runtime.xmpp.pdus import deeper_than

RESOURCE = "IEC"
# The deepest stanza an endpoint takes in: an 8-2 payload at the codec's limit inside its
# stanza. slixmpp serializes and copies stanzas recursively (its debug log, the error reply
# to an iq nobody handles): a few thousand levels raise RecursionError there and drop the
# connection, so deeper stanzas are answered and dropped before slixmpp sees them.
MAX_STANZA_DEPTH = codec.MAX_DEPTH + 2
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class XmppSettings:
    """Where and how to connect: JID, password, server address, CA, timeouts."""

    jid: str
    password: str = field(repr=False)  # reprs end up in logs and tracebacks
    host: str = ""
    port: int = 5222
    ca_file: str | None = None
    connect_timeout: float = 10.0
    request_timeout: float = 10.0
    keepalive_interval: float = 30.0
    reconnect: bool = True
    sasl_mechanism: str | None = None  # None: the best the server offers (SCRAM before PLAIN)
    # Longest wait between two reconnection attempts (a random part of it, so a fleet of
    # IEDs does not come back in one burst): an IED is back this long after its XMPP server.
    max_reconnect_delay: float = 5.0
    # How long associations wait for a lost link to be resumed (XEP-0198) before they are
    # aborted; the XMPP server's own resumption window (``<enabled max=...>``) if shorter.
    resume_window: float = 60.0


def trust_context(ca_file: str | None) -> ssl.SSLContext:
    """The TLS client context of an endpoint: certificates and host names always verified.

    With ``ca_file`` the server must chain to a CA in that file and to nothing else (the
    system store is not loaded); without it, to the system store. slixmpp's default context
    loads the system store first and adds the CA file to it, which trusts far more than
    the user asked for.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except FileNotFoundError:
            raise ConnectError(f"CA file {ca_file}: not found") from None
        except (ssl.SSLError, OSError, ValueError) as error:
            raise ConnectError(f"CA file {ca_file}: no usable PEM certificate ({error})") from None
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    return context


def full_jid(jid: str) -> str:
    """``user@domain/IEC`` for any form of ``jid`` (the resource is fixed by 8-2)."""
    parsed = JID(jid)
    return f"{parsed.bare}/{RESOURCE}"


def _closed_early(stage: str) -> str:
    """Why a server that closes the stream at ``stage`` most likely did so."""
    hints = {
        "before TLS": "the server closed the connection before TLS: it offered no TLS "
        "(check its certificate and key; its log says why)",
        "after TLS, before login": "the server closed the connection after TLS, before login "
        "(wrong domain, or the account does not exist)",
        "after login": "the server closed the connection after login, before the session began "
        "(resource conflict or server policy)",
    }
    return hints.get(stage, f"the connection closed {stage}")


class Endpoint(slixmpp.ClientXMPP):
    """A slixmpp client with the 8-2 profile; ``start()``/``stop()`` bound every wait."""

    def __init__(self, settings: XmppSettings) -> None:
        super().__init__(
            full_jid(settings.jid), settings.password, sasl_mech=settings.sasl_mechanism
        )
        self.settings = settings
        self.enable_direct_tls = False
        self.enable_starttls = True
        self.enable_plaintext = False
        self.ssl_context = trust_context(settings.ca_file)
        self.ca_certs = None  # slixmpp would add a CA file to the context: never
        stanza.register()
        self.register_plugin("xep_0198", {"window": 50})
        # slixmpp's handler of <resumed/> queues the resent stanzas behind those sent while
        # disconnected; ours writes them first (see the module docstring)
        self.remove_handler("Stream Management Resumed")
        self.register_handler(
            Callback(
                "Stream Management Resumed",
                MatchXPath(sm_stanza.Resumed.tag_name()),
                self._on_sm_resumed,
                instream=True,
            )
        )
        self.add_event_handler("sm_enabled", self._on_sm_enabled)
        self.register_plugin(
            "xep_0199", {"keepalive": True, "interval": settings.keepalive_interval, "timeout": 10}
        )
        # after the plugins: XEP-0198 has counted the stanza before it is dropped
        self.add_filter("in", self._guard_depth)
        self._ready: asyncio.Future[None] | None = None
        self._stopping = False
        self._started = False
        self._failure: str | None = None
        self._stage = "before connecting"  # how far the last start got, for its error
        self._session_live = False  # a session exists (its link may be down, awaiting resume)
        self._link_up = False
        self._server_resume_window: float | None = None
        self._resume_deadline: asyncio.TimerHandle | None = None
        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("session_resumed", self._on_session_resumed)
        self.add_event_handler("session_end", self._on_session_end)
        self.add_event_handler("failed_auth", self._on_failed_auth)
        self.add_event_handler("no_auth", self._on_no_auth)
        self.add_event_handler("connection_failed", self._on_connection_failed)
        self.add_event_handler("ssl_invalid_chain", self._on_bad_certificate)
        self.add_event_handler("disconnected", self._on_disconnected)
        self.add_event_handler("connected", lambda _: self._reached("before TLS"))
        self.add_event_handler("tls_success", lambda _: self._reached("after TLS, before login"))
        self.add_event_handler("auth_success", lambda _: self._reached("after login"))
        self.add_event_handler("presence_unavailable", self._on_presence_unavailable)

    # ------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Connect, negotiate TLS and SASL, bind ``IEC``, send presence; ConnectError on failure."""
        self._ready = asyncio.get_running_loop().create_future()
        self._stopping = False
        self._failure = None
        self._stage = "before connecting"
        host = self.settings.host or JID(self.settings.jid).domain
        self.connect(host, self.settings.port)
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), self.settings.connect_timeout)
        except TimeoutError:
            self._give_up()
            reason = self._failure or f"no session (the attempt stopped {self._stage})"
            raise ConnectError(
                f"{self.boundjid.bare}: no XMPP session with {host}:{self.settings.port} "
                f"within {self.settings.connect_timeout:g} s: {reason}"
            ) from None
        except ConnectError:
            self._give_up()
            raise
        self._started = True

    async def stop(self) -> None:
        """Close the stream gracefully (ends the XEP-0198 session too); no reconnection after."""
        self._stopping = True
        self._cancel_resume_deadline()
        self.cancel_connection_attempt()
        if self.transport is not None:
            await self.disconnect(wait=2.0)
        self._release_loop()

    def _give_up(self) -> None:
        """After a failed start: close the socket and end slixmpp's retry loop.

        slixmpp reschedules a failed connection attempt forever (with back-off) and its
        ``abort()`` cancels nothing while no socket is open, so an endpoint whose server was
        unreachable would otherwise log in later, unseen, once the server comes up.
        """
        self._stopping = True
        self.cancel_connection_attempt()
        self.abort()
        self._release_loop()

    def _release_loop(self) -> None:
        """Cancel slixmpp's output task now, while its loop runs (not later in ``__del__``)."""
        task = getattr(self, "_run_out_filters", None)
        if task is not None:
            task.cancel()
            self._run_out_filters = None

    def _fail(self, reason: str) -> None:
        self._failure = reason
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(ConnectError(f"{self.boundjid.bare}: {reason}"))

    # ------------------------------------------------------------ slixmpp hooks

    async def _handle_stream_features(self, features: StreamFeatures) -> bool | None:
        """Refuse a server that does not offer STARTTLS on a plaintext stream."""
        secure = self.transport is not None and (
            self.transport.get_extra_info("ssl_object") is not None
        )
        if not secure and "starttls" not in features["features"]:
            self._fail("the server offers no STARTTLS; IEC 61850-8-2 requires TLS, not connecting")
            self._stopping = True
            self.abort()
            return True
        result: bool | None = await super()._handle_stream_features(features)
        return result

    async def _on_session_start(self, _event: Any) -> None:
        if self._session_live:  # a session we never heard end: it is gone all the same
            self._end_session("a new XMPP session replaced it")
        self._cancel_resume_deadline()
        self._session_live = self._link_up = True
        self.send_presence()
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)
        self.session_started()

    def _on_session_resumed(self, _event: Any) -> None:
        log.info("%s: XEP-0198 session resumed", self.boundjid)
        self._cancel_resume_deadline()
        self._link_up = True
        if self._session_live:
            self.link_resumed()

    def _on_session_end(self, _event: Any) -> None:
        if self._session_live:
            self._end_session("XMPP session ended")

    def _end_session(self, reason: str) -> None:
        self._cancel_resume_deadline()
        self._session_live = self._link_up = False
        self.session_lost(reason)

    def _cancel_resume_deadline(self) -> None:
        if self._resume_deadline is not None:
            self._resume_deadline.cancel()
            self._resume_deadline = None

    def _resume_expired(self) -> None:
        self._resume_deadline = None
        if self._session_live and not self._link_up:
            self._end_session(f"not resumed within {self.resume_window:g} s")

    def _on_sm_enabled(self, enabled: Any) -> None:
        """Note the XMPP server's resumption window (``max``, seconds) when it says one."""
        text = enabled["max"]
        self._server_resume_window = float(text) if str(text).isdigit() else None

    @property
    def resume_window(self) -> float:
        """How long a lost link may take to resume before the session counts as lost."""
        server = self._server_resume_window
        window = self.settings.resume_window
        return min(window, server + 2.0) if server is not None else window

    def _on_sm_resumed(self, resumed: Any) -> None:
        """XEP-0198 ``<resumed/>``: resend what the server has not acknowledged *first*, in
        order, then let slixmpp release what was queued while disconnected (it sent those
        ahead, and its unacked queue then no longer matched the wire)."""
        plugin = self.plugin["xep_0198"]
        self.features.add("stream_management")
        plugin.enabled_in = True
        plugin._handle_ack(resumed)  # type: ignore[no-untyped-call]
        for _sequence, queued in plugin.unacked_queue:  # still unacked: stays in the queue
            self.send_raw(tostring(queued.xml, xmlns=self.default_ns, stream=self, top_level=True))
        self.event("session_resumed", resumed)
        self.end_session_on_disconnect = False

    def reschedule_connection_attempt(self) -> asyncio.Future[Any] | None:
        """slixmpp's back-off, bounded by ``settings.max_reconnect_delay`` (with jitter)."""
        if self._current_connection_attempt is None:
            return None
        # slixmpp adds 1 per attempt; 2w-1 waits about 1, 3, 5, ... s (theirs: 3, 9, 21, ...)
        grown = min(self.settings.max_reconnect_delay, self._connect_loop_wait * 2 - 1)
        self._connect_loop_wait = grown * random.uniform(0.5, 1.0)
        self._current_connection_attempt = asyncio.ensure_future(self._connect_loop())
        return self._current_connection_attempt

    def withdraw(self, stanza_id: str) -> None:
        """Make sure the stanza ``stanza_id`` is never sent from now on (a request reported
        as failed must not run after a resumption): dropped if it still waits to be sent;
        replaced by a ping to our server if it awaits an acknowledgement (resent on resume,
        it must still count for XEP-0198)."""
        queued = getattr(self, "_XMLStream__queued_stanzas", None)
        if isinstance(queued, list):
            queued[:] = [
                item
                for item in queued
                if not (isinstance(item[0], RootStanza) and item[0]["id"] == stanza_id)
            ]
        plugin = self.plugin["xep_0198"]
        for position, (sequence, sent) in enumerate(plugin.unacked_queue):
            if isinstance(sent, RootStanza) and sent["id"] == stanza_id:
                placeholder = self.make_iq_get(ito=self.boundjid.domain)
                placeholder.enable("ping")
                plugin.unacked_queue[position] = (sequence, placeholder)

    def _on_failed_auth(self, _event: Any) -> None:
        self._fail("authentication failed (wrong JID or password)")

    def _on_no_auth(self, _event: Any) -> None:
        self._fail("no usable authentication mechanism offered by the server")

    def _on_connection_failed(self, error: Any) -> None:
        self._fail(f"cannot connect: {error}")

    def _on_bad_certificate(self, error: Any) -> None:
        self._fail(f"server certificate not trusted: {error}")

    def _reached(self, stage: str) -> None:
        self._stage = stage

    def _resumable(self) -> bool:
        """Whether the session can still be resumed after a lost link."""
        plugin = self.plugin["xep_0198"]
        return (
            self.settings.reconnect
            and not self._stopping
            and bool(plugin.sm_id)
            and bool(plugin.allow_resume)
        )

    def _on_disconnected(self, reason: Any) -> None:
        if not self._started and self._failure is None and self._stage != "before connecting":
            self._fail(_closed_early(self._stage))
        why = str(reason) if reason else "XMPP link lost"
        if self._started and self._session_live:
            if self._resumable():
                if self._link_up:
                    self._link_up = False
                    self._cancel_resume_deadline()
                    self._resume_deadline = self.loop.call_later(
                        self.resume_window, self._resume_expired
                    )
                    self.link_down(why)
            else:
                self._end_session(why)
        if self._started and not self._stopping and self.settings.reconnect:
            log.info("%s: link lost, reconnecting", self.boundjid)
            host = self.settings.host or JID(self.settings.jid).domain
            self.connect(host, self.settings.port)

    def _on_presence_unavailable(self, presence: Any) -> None:
        self.peer_unavailable(str(presence["from"]))

    def _guard_depth(self, incoming: Any) -> Any:
        """Let a stanza through unless it nests deeper than ``MAX_STANZA_DEPTH``."""
        if not deeper_than(incoming.xml, MAX_STANZA_DEPTH):
            return incoming
        log.info("%s: a stanza from %s nested too deep", self.boundjid, incoming["from"])
        try:
            self.too_deep(incoming)
        except Exception:
            log.exception("%s: could not answer a stanza nested too deep", self.boundjid)
        return None

    # ------------------------------------------------------------ for subclasses

    def too_deep(self, incoming: Any) -> None:
        """Answer a stanza nested too deep (it is dropped after): an iq get or set gets an
        RFC 6120 ``not-acceptable`` error, built new (the request is never copied)."""
        if incoming.name == "iq" and incoming["type"] in ("get", "set"):
            error = self.make_iq_error(  # type: ignore[no-untyped-call]
                incoming["id"], "modify", "not-acceptable", "nested too deep", ito=incoming["from"]
            )
            error["type"] = "error"
            error.send()

    def session_started(self) -> None:
        """Called after each new (not resumed) session."""

    def link_down(self, reason: str) -> None:
        """The TCP link went down; the XMPP session may still resume (XEP-0198)."""

    def link_resumed(self) -> None:
        """XEP-0198 resumed the session after ``link_down``: nothing was lost."""

    def session_lost(self, reason: str) -> None:
        """The XMPP session ended (the link cannot resume): every association over it is
        aborted (8-2 clause 6)."""

    def peer_unavailable(self, jid: str) -> None:
        """``jid`` went unavailable: the associations with it are aborted."""


__all__ = ["RESOURCE", "Endpoint", "XmppSettings", "full_jid", "trust_context"]
