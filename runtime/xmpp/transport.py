"""The XMPP side of an 8-2 endpoint: a slixmpp client set up as IEC 61850-8-2 requires.

TLS is required (STARTTLS; a server that offers none is refused before any credential is
sent) and the certificate is verified against exactly what the user configured: the given CA
file only, or the system store when none is given (``trust_context``); SASL (PLAIN or SCRAM as the
server offers, never over plaintext); resource ``IEC``; XEP-0198 stream management with
resumption, reconnection after a lost link; XEP-0199 keepalive pings. Subclasses (client and
server roles) hear ``link_lost`` and ``peer_unavailable`` and abort their associations.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass, field
from typing import Any

import slixmpp
from slixmpp import JID
from slixmpp.stanza import StreamFeatures

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
        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("session_resumed", self._on_session_resumed)
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
        self.send_presence()
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)
        self.session_started()

    def _on_session_resumed(self, _event: Any) -> None:
        log.info("%s: XEP-0198 session resumed", self.boundjid)

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

    def _on_disconnected(self, reason: Any) -> None:
        if not self._started and self._failure is None and self._stage != "before connecting":
            self._fail(_closed_early(self._stage))
        if self._started:
            self.link_lost(str(reason) if reason else "XMPP link lost")
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

    def link_lost(self, reason: str) -> None:
        """The XMPP link went down: every association over it is aborted (8-2 clause 6)."""

    def peer_unavailable(self, jid: str) -> None:
        """``jid`` went unavailable: the associations with it are aborted."""


__all__ = ["RESOURCE", "Endpoint", "XmppSettings", "full_jid", "trust_context"]
