"""Fixtures of the 8-2 tests: one real Prosody (TLS, test CA) per session, accounts, helpers.

Every test runs its own asyncio loop (``run``) with fresh XMPP endpoints; payloads of both
sides go through ``SchemaCheck`` (our XSD, lxml) and a test fails on any invalid payload.
"""

from __future__ import annotations

import asyncio
import contextlib
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from lxml import etree

from gen61850 import resource_path
from gen61850.generator.scl.model import load_scl
from gen61850.runtime.xmpp.client import AcsiClient, ClientAssociation
from gen61850.runtime.xmpp.devserver import SERVER_KINDS, XmppDevServer, dev_server
from gen61850.runtime.xmpp.model import ServedModel
from gen61850.runtime.xmpp.server import AcsiServer
from gen61850.runtime.xmpp.transport import XmppSettings
from tests.conftest import require_program

HERE = Path(__file__).parent
OWN_SCL = HERE / "xmpp_ied.icd"
USERS = ("xied", "ied1", "client1", "client2", "raw")
T = TypeVar("T")


def password(user: str) -> str:
    return f"pw-{user}-secret"


@dataclass
class Env:
    server: XmppDevServer

    def settings(self, user: str, **overrides: Any) -> XmppSettings:
        values: dict[str, Any] = {
            "jid": f"{user}@{self.server.domain}",
            "password": password(user),
            "host": "127.0.0.1",
            "port": self.server.port,
            "ca_file": str(self.server.ca_file),
            "connect_timeout": 10.0,
            "request_timeout": 10.0,
        }
        values.update(overrides)
        return XmppSettings(**values)

    def jid(self, user: str) -> str:
        return f"{user}@{self.server.domain}/IEC"


# How deep a stanza each server survives. ejabberd 23.01 (Debian 12) dies with SIGSEGV on a
# stanza nested about 2,000 levels deep (1,500 pass, 2,000 kill the node), before any client
# sees it; Prosody answers 3,000 and more. Deep-payload tests go this deep and no deeper:
# past Python's recursion limit (1,000) either way, which is what they test of our side.
DEEPEST_STANZA = {"prosody": 3000, "ejabberd": 1200}


def deepest(env: Env) -> int:
    """The nesting depth the tests send to ``env``'s server (see DEEPEST_STANZA)."""
    return DEEPEST_STANZA[env.server.kind]


# The program that shows each server is installed (nox -s tests installs both).
SERVER_PROGRAM = {"prosody": "prosody", "ejabberd": "ejabberdctl"}


@pytest.fixture(scope="session", params=SERVER_KINDS)
def xmpp_env(request: pytest.FixtureRequest) -> Iterator[Env]:
    """Every 8-2 test runs against a real Prosody and a real ejabberd, in turn."""
    require_program(SERVER_PROGRAM[request.param])
    require_program("openssl")
    server = dev_server(request.param, hibernation=2)
    server.start()
    try:
        server.register_many({user: password(user) for user in USERS})
        yield Env(server)
    finally:
        server.stop()


class SchemaCheck:
    """Validates every payload a side sends or receives against specs/xsd/scsm_8_2."""

    def __init__(self) -> None:
        xsd = resource_path("specs", "xsd", "scsm_8_2", "scsm_8_2.xsd")
        self.schema = etree.XMLSchema(etree.parse(str(xsd)))
        self.errors: list[str] = []
        self.checked = 0

    def __call__(self, direction: str, element: ET.Element) -> None:
        document = etree.fromstring(ET.tostring(element))
        self.checked += 1
        if not self.schema.validate(document):
            self.errors.append(f"{direction}: {self.schema.error_log.last_error}")

    def assert_clean(self) -> None:
        assert self.checked > 0
        assert self.errors == []


def run(coroutine: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coroutine, timeout)

    return asyncio.run(bounded())


def served_model(path: Path, ied: str | None = None) -> ServedModel:
    model = load_scl(path)
    model.raise_on_errors()
    return ServedModel.from_ied(model.ied(ied) if ied else model.ieds[0])


@dataclass
class Live:
    server: AcsiServer
    client: AcsiClient
    association: ClientAssociation
    check: SchemaCheck
    env: Env


@contextlib.asynccontextmanager
async def live(
    env: Env,
    scl: Path,
    *,
    server_user: str = "xied",
    client_user: str = "client1",
    server_options: dict[str, Any] | None = None,
    client_options: dict[str, Any] | None = None,
) -> AsyncIterator[Live]:
    """A server serving ``scl``, a client associated with it, both schema-checked."""
    check = SchemaCheck()
    server = AcsiServer(
        env.settings(server_user), served_model(scl), inspect=check, **(server_options or {})
    )
    client = AcsiClient(env.settings(client_user), inspect=check, **(client_options or {}))
    await server.start()
    try:
        await client.start()
        try:
            association = await client.associate(env.jid(server_user))
            yield Live(server, client, association, check, env)
        finally:
            await client.stop()
    finally:
        await server.stop()


@pytest.fixture(scope="session")
def own_scl() -> Path:
    return OWN_SCL


@pytest.fixture(scope="session")
def complex_model(corpus: Path) -> Path:
    return corpus / "scl" / "complexModel.icd"
