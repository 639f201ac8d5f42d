"""TLS and authentication: a server without STARTTLS is refused before any credential is sent;
a wrong password or an untrusted certificate fails cleanly with a clear error."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import pytest

from gen61850.runtime.xmpp.client import AcsiClient
from gen61850.runtime.xmpp.devserver import make_certificates
from gen61850.runtime.xmpp.errors import ConnectError
from tests.xmpp.conftest import Env, run

STREAM = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' id='fake' from='iec61850.test' version='1.0'>"
    b"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
    b"<mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms>"
    b"</stream:features>"
)


def test_a_server_without_starttls_is_refused(xmpp_env: Env) -> None:
    received = bytearray()

    async def fake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.extend(await reader.read(4096))
        writer.write(STREAM)
        await writer.drain()
        try:
            while data := await asyncio.wait_for(reader.read(4096), 3):
                received.extend(data)
        except (TimeoutError, ConnectionError):
            pass
        writer.close()

    async def body() -> str:
        server = await asyncio.start_server(fake, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = AcsiClient(xmpp_env.settings("client1", port=port, connect_timeout=5))
        try:
            with pytest.raises(ConnectError) as error:
                await client.start()
            await asyncio.sleep(0.2)
            return str(error.value)
        finally:
            server.close()

    message = run(body())
    assert "STARTTLS" in message and "requires TLS" in message
    assert b"<stream:stream" in received
    assert b"<auth" not in received and b"<response" not in received


def test_wrong_password_fails_with_a_clear_error(xmpp_env: Env) -> None:
    async def body() -> str:
        client = AcsiClient(xmpp_env.settings("client1", password="wrong", connect_timeout=8))
        with pytest.raises(ConnectError) as error:
            await client.start()
        return str(error.value)

    message = run(body())
    assert "authentication failed" in message and "client1@iec61850.test" in message


def test_an_untrusted_server_certificate_is_refused(xmpp_env: Env, tmp_path: Path) -> None:
    other_ca, _, _ = make_certificates(tmp_path, "iec61850.test")

    async def body() -> str:
        client = AcsiClient(xmpp_env.settings("client1", ca_file=str(other_ca), connect_timeout=5))
        with pytest.raises(ConnectError) as error:
            await client.start()
        return str(error.value)

    message = run(body())
    assert "client1@iec61850.test" in message
    assert "certificate" in message or "TLS" in message


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-1"])
def test_sasl_mechanisms_over_tls_and_keepalive(xmpp_env: Env, mechanism: str) -> None:
    async def body() -> tuple[str, bool, float]:
        client = AcsiClient(xmpp_env.settings("client1", sasl_mechanism=mechanism))
        await client.start()
        try:
            used = client.plugin["feature_mechanisms"].mech.name
            secure = client.transport.get_extra_info("ssl_object") is not None
            rtt = await client.plugin["xep_0199"].ping(jid=xmpp_env.server.domain, timeout=5)
            return used, secure and client.plugin["xep_0199"].keepalive, rtt
        finally:
            await client.stop()

    used, secure, rtt = run(body())
    assert used == mechanism and secure and rtt >= 0


def test_a_failed_start_leaves_nothing_trying_to_connect(xmpp_env: Env) -> None:
    """slixmpp retries a refused connection forever; a failed start must end that loop."""
    from gen61850.runtime.xmpp.devserver import free_port

    async def body() -> tuple[str, list[str]]:
        before = asyncio.all_tasks()
        client = AcsiClient(xmpp_env.settings("client1", port=free_port(), connect_timeout=5))
        with pytest.raises(ConnectError) as error:
            await client.start()
        await asyncio.sleep(0.05)  # let cancelled tasks finish
        left = [
            t.get_coro().__qualname__  # type: ignore[union-attr]
            for t in asyncio.all_tasks() - before
        ]
        return str(error.value), left

    message, left = run(body())
    assert "cannot connect" in message
    assert left == []


# ---------------------------------------------------------------- trust: exactly what is configured

TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"
SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl"
HEADER = (
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' id='{id}' from='iec61850.test' version='1.0'>"
)


async def _until(reader: asyncio.StreamReader, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = await asyncio.wait_for(reader.read(4096), 5)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _starttls_server(certificate: Path, key: Path, outcome: list[str]) -> Any:
    """A fake XMPP server: STARTTLS with ``certificate``, then refuses any SASL attempt.

    ``outcome`` gets "handshake failed" or "trusted" (the client went on after TLS)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certificate), str(key))

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await _until(reader, b"<stream:stream")
            writer.write(
                HEADER.format(id="plain").encode()
                + f"<stream:features><starttls xmlns='{TLS_NS}'><required/></starttls>"
                "</stream:features>".encode()
            )
            await _until(reader, b"starttls")
            writer.write(f"<proceed xmlns='{TLS_NS}'/>".encode())
            await writer.drain()
            try:
                await writer.start_tls(context)
            except (ssl.SSLError, ConnectionError, OSError):
                outcome.append("handshake failed")
                return
            await _until(reader, b"<stream:stream")
            outcome.append("trusted")
            writer.write(
                HEADER.format(id="tls").encode()
                + f"<stream:features><mechanisms xmlns='{SASL_NS}'><mechanism>PLAIN</mechanism>"
                "</mechanisms></stream:features>".encode()
            )
            await _until(reader, b"<auth")
            writer.write(f"<failure xmlns='{SASL_NS}'><not-authorized/></failure>".encode())
            await writer.drain()
            await asyncio.sleep(0.5)
        except (ConnectionError, TimeoutError, ssl.SSLError):
            if not outcome:
                outcome.append("no TLS")
        finally:
            writer.close()

    return serve


@pytest.mark.parametrize(
    ("configured", "expected"),
    [("other CA", "handshake failed"), ("signing CA", "trusted"), ("none", "trusted")],
)
def test_only_the_configured_ca_is_trusted(
    xmpp_env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configured: str, expected: str
) -> None:
    """The server's certificate is signed by a CA the system store holds (SSL_CERT_FILE here).

    With ``ca_file`` naming another CA the handshake must fail: the system store is not
    trusted when a CA is given (slixmpp's default would trust both). With no CA given, the
    system store is what is trusted."""
    (tmp_path / "signing").mkdir()
    (tmp_path / "empty").mkdir()
    signing_ca, certificate, key = make_certificates(tmp_path / "signing", "iec61850.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(signing_ca))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "empty"))
    ca_file = {
        "other CA": str(xmpp_env.server.ca_file),
        "signing CA": str(signing_ca),
        "none": None,
    }[configured]
    outcome: list[str] = []

    async def body() -> str:
        server = await asyncio.start_server(
            _starttls_server(certificate, key, outcome), "127.0.0.1", 0
        )
        port = server.sockets[0].getsockname()[1]
        client = AcsiClient(
            xmpp_env.settings(
                "client1", port=port, ca_file=ca_file, connect_timeout=5, reconnect=False
            )
        )
        try:
            with pytest.raises(ConnectError) as error:
                await client.start()
            return str(error.value)
        finally:
            server.close()

    message = run(body())
    assert outcome[:1] == [expected], message
    if expected == "trusted":
        assert "authentication failed" in message
    else:
        assert "not trusted" in message or "certificate" in message


def test_the_tls_context_holds_only_the_given_ca(xmpp_env: Env) -> None:
    """On a real connection: the CA certificates the context trusts are the given file's."""

    async def body() -> list[dict[str, Any]]:
        client = AcsiClient(xmpp_env.settings("client1"))
        await client.start()
        try:
            assert client.transport.get_extra_info("ssl_object") is not None
            return client.ssl_context.get_ca_certs()
        finally:
            await client.stop()

    trusted = run(body())
    subjects = [dict(item[0] for item in ca["subject"]) for ca in trusted]
    assert subjects == [{"commonName": "gen61850 test CA"}]


def test_a_missing_ca_file_is_named(xmpp_env: Env, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.crt"
    with pytest.raises(ConnectError, match=r"nowhere\.crt: not found"):
        AcsiClient(xmpp_env.settings("client1", ca_file=str(missing)))
