"""TLS and authentication: a server without STARTTLS is refused before any credential is sent;
a wrong password or an untrusted certificate fails cleanly with a clear error."""

from __future__ import annotations

import asyncio
from pathlib import Path

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
