"""A whole local 8-2 set-up in one call, for demos: dev Prosody, an IED served, a client.

    model = load_scl(Path("station.icd"))     # gen61850.generator.scl.model: the caller loads
    with local_ied(model.ieds[0]) as ied:     # the runtime takes the device model
        for line in ied.browse():
            print(line)
        print(ied.get(["LD0/MMXU1.TotW.mag.f[MX]"]))

The server runs on its own asyncio loop in a background thread; ``browse``/``get``/``set``
run a client in the caller's thread. Everything started is stopped on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from gen61850.runtime.device import Ied
from gen61850.runtime.xmpp import tools
from gen61850.runtime.xmpp.client import ClientAssociation
from gen61850.runtime.xmpp.devserver import DevServer
from gen61850.runtime.xmpp.errors import LocalError
from gen61850.runtime.xmpp.model import ServedModel
from gen61850.runtime.xmpp.server import AcsiServer
from gen61850.runtime.xmpp.transport import XmppSettings

T = TypeVar("T")


class ServerThread:
    """An ``AcsiServer`` on its own event loop in a daemon thread."""

    def __init__(self, settings: XmppSettings, model: ServedModel) -> None:
        self.settings = settings
        self.model = model
        self.loop = asyncio.new_event_loop()
        self.server: AcsiServer | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="gen61850-8-2-server", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            self.server = AcsiServer(self.settings, self.model)
            await self.server.start()

        try:
            self.loop.run_until_complete(start())
        except BaseException as error:  # reported to the starting thread
            self._error = error
        self._started.set()
        try:
            if self._error is None:
                self.loop.run_forever()
        finally:
            self._close_loop()

    def _close_loop(self) -> None:
        """End what slixmpp left scheduled, then close the loop (its selector and sockets)."""
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def start(self, timeout: float = 20.0) -> None:
        self._thread.start()
        if not self._started.wait(timeout):
            raise LocalError("the 8-2 server did not start in time")
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self.server is not None and self.loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop)
            with contextlib.suppress(Exception):
                future.result(timeout=5)
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


@dataclass
class LocalIed:
    """A served IED on a local dev server, and a client account to talk to it."""

    dev: DevServer
    ied_jid: str
    client: XmppSettings
    server: ServerThread

    def _with_association(self, action: Callable[[ClientAssociation], Awaitable[T]]) -> T:
        return asyncio.run(tools.with_association(self.client, self.ied_jid, action))

    def browse(self) -> list[str]:
        return self._with_association(tools.browse)

    def get(self, references: list[str]) -> list[str]:
        return self._with_association(lambda a: tools.get_values(a, references))

    def set(self, reference: str, text: str) -> str:
        return self._with_association(lambda a: tools.set_value(a, reference, text))


@contextlib.contextmanager
def local_ied(device: Ied) -> Iterator[LocalIed]:
    """Start a dev Prosody, serve ``device`` over 8-2, stop everything on exit.

    The runtime does not read SCL: the caller loads the model (the command line or the
    application, with ``gen61850.generator.scl.model.load_scl``) and hands the IED over.
    """
    with DevServer() as dev:
        user = "".join(c for c in device.name.lower() if c.isalnum()) or "ied"
        ied_password, client_password = secrets.token_hex(8), secrets.token_hex(8)
        ied_jid = dev.register(user, ied_password)
        client_jid = dev.register("client", client_password)

        def settings(jid: str, password: str) -> XmppSettings:
            return XmppSettings(
                jid=jid, password=password, host=dev.host, port=dev.port, ca_file=str(dev.ca_file)
            )

        server = ServerThread(settings(ied_jid, ied_password), ServedModel.from_ied(device))
        try:
            server.start()
            yield LocalIed(dev, ied_jid, settings(client_jid, client_password), server)
        finally:
            server.stop()


__all__ = ["LocalIed", "ServerThread", "local_ied"]
