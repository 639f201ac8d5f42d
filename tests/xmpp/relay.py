"""A TCP relay on 127.0.0.1 between an endpoint and its XMPP server, that a test can cut.

``cut()`` resets every relayed connection (a lost link); ``refuse(True)`` makes new
connections fail at once (the link stays down, so XEP-0198 resumption can time out);
``swallow(True)`` drops what the endpoint sends upstream without closing anything (stanzas
written but never delivered: they stay unacknowledged); ``swallow(True, down=True)`` drops
what the XMPP server sends it instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable


class Relay:
    """Relays TCP connections to ``target_port`` on 127.0.0.1."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.writers: list[asyncio.StreamWriter] = []
        self.port = 0
        self.server: asyncio.Server | None = None
        self.refusing = False
        self.swallowing = False
        self.swallowing_down = False
        self.accepted = 0
        self.upstream_bytes = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            _reset(writer)
            return
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            _reset(writer)
            return
        self.writers += [writer, up_writer]

        def upstream(data: bytes) -> bytes | None:
            if self.swallowing:
                return None
            self.upstream_bytes += len(data)
            return data

        def downstream(data: bytes) -> bytes | None:
            return None if self.swallowing_down else data

        await asyncio.gather(
            _pipe(reader, up_writer, upstream), _pipe(up_reader, writer, downstream)
        )

    def cut(self) -> None:
        """Reset every relayed connection (SO_LINGER 0 → RST)."""
        for writer in self.writers:
            _reset(writer)
        self.writers.clear()

    def refuse(self, refusing: bool) -> None:
        self.refusing = refusing

    def swallow(self, swallowing: bool, *, down: bool = False) -> None:
        if down:
            self.swallowing_down = swallowing
        else:
            self.swallowing = swallowing

    async def stop(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()


async def _pipe(
    source: asyncio.StreamReader,
    sink: asyncio.StreamWriter,
    through: Callable[[bytes], bytes | None],
) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await source.read(65536):
            passed = through(data)
            if passed:
                sink.write(passed)
                await sink.drain()
    sink.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
    writer.transport.abort()


async def until(condition: Callable[[], object], seconds: float) -> bool:
    """Poll ``condition`` every 50 ms for up to ``seconds``."""
    for _ in range(int(seconds * 20)):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return bool(condition())


__all__ = ["Relay", "until"]
