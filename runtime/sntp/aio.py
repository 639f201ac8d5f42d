"""SNTP over UDP with asyncio: one query, a serving endpoint, a loop that disciplines a clock.

The sans-I/O parts (``client``, ``server``) decide; this module only moves datagrams. A query
waits for the answer to *its* request: stray, spoofed or malformed datagrams are skipped
(counted in ``skipped``) until the real answer or the timeout.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from gen61850.runtime.device.clock import DeviceClock
from gen61850.runtime.errors import Gen61850Error
from gen61850.runtime.sntp.client import KissOfDeath, Sample, SntpClient, SntpRefused
from gen61850.runtime.sntp.packet import SntpError
from gen61850.runtime.sntp.server import SntpServer

log = logging.getLogger(__name__)
NTP_PORT = 123


class SntpTimeout(Gen61850Error, TimeoutError):
    """No usable answer in time (says what was received instead, if anything)."""


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, Any], None]) -> None:
        self.on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.on_datagram(data, addr)


async def query(
    host: str,
    port: int = NTP_PORT,
    *,
    clock: Callable[[], float] = time.time,
    client: SntpClient | None = None,
    timeout: float = 2.0,
) -> Sample | KissOfDeath:
    """Ask ``host`` once; the Sample (offset against ``clock``) or the kiss-of-death."""
    client = client or SntpClient()
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[Sample | KissOfDeath] = loop.create_future()
    skipped: list[str] = []

    def on_datagram(data: bytes, _addr: Any) -> None:
        if answer.done():
            return
        try:
            answer.set_result(client.receive(data, clock()))
        except SntpRefused as refused:
            if refused.answered:  # the answer, and unusable: no other will come
                answer.set_exception(refused)
            else:
                skipped.append(str(refused))
        except SntpError as error:
            skipped.append(str(error))

    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Datagrams(on_datagram), remote_addr=(host, port)
    )
    try:
        transport.sendto(client.request(clock(), secrets.randbits(16)))
        return await asyncio.wait_for(answer, timeout)
    except TimeoutError:
        seen = f"; skipped: {skipped[-1]}" if skipped else ""
        raise SntpTimeout(f"no SNTP answer from {host}:{port} within {timeout:g} s{seen}") from None
    finally:
        transport.close()


async def serve(
    server: SntpServer, host: str = "127.0.0.1", port: int = 0
) -> tuple[asyncio.DatagramTransport, int]:
    """Answer on ``host``:``port`` (0: a free port); the transport (close it to stop) and
    the port."""
    loop = asyncio.get_running_loop()
    holder: list[asyncio.DatagramTransport] = []

    def on_datagram(data: bytes, addr: Any) -> None:
        reply = server.answer(data, server.clock())
        if reply is not None and holder:
            holder[0].sendto(reply, addr)

    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Datagrams(on_datagram), local_addr=(host, port)
    )
    holder.append(transport)
    bound = transport.get_extra_info("sockname")[1]
    return transport, int(bound)


class Discipline:
    """Keeps ``clock`` disciplined by one SNTP server, every ``client.poll`` seconds.

    Each poll is a burst of queries whose best Sample corrects the clock; a kiss-of-death DENY/RSTR stops the loop and the clock
    loses its synchronisation; RATE doubles the interval; an answer with leap indicator 3
    makes the clock lose it at once; timeouts and bad packets are logged and retried (the
    clock goes out of sync by itself after its ``hold``).
    """

    def __init__(
        self,
        clock: DeviceClock,
        host: str,
        port: int = NTP_PORT,
        *,
        poll: float = 64.0,
        timeout: float = 2.0,
    ) -> None:
        self.clock = clock
        self.host = host
        self.port = port
        self.timeout = timeout
        self.client = SntpClient(poll)
        self.last: Sample | KissOfDeath | Exception | None = None
        self._task: asyncio.Task[None] | None = None

    async def once(self, burst: int = 4) -> Sample | KissOfDeath | Exception:
        """``burst`` queries in a row, the one with the shortest round trip corrects the
        clock (RFC 5905's clock filter: the least delay, the least asymmetry); what came
        back (that sample, a kiss-of-death, or the error) is returned."""
        best: Sample | None = None
        result: Sample | KissOfDeath | Exception | None = None
        for _ in range(max(1, burst)):
            try:
                result = await query(
                    self.host,
                    self.port,
                    clock=self.clock.now,
                    client=self.client,
                    timeout=self.timeout,
                )
            except (SntpTimeout, OSError, SntpError) as error:
                result = error
            if not isinstance(result, Sample):
                break
            if best is None or result.delay < best.delay:
                best = result
        if best is not None and not isinstance(result, KissOfDeath | SntpRefused):
            result = best
            self.clock.discipline(best.offset, best.error, int(best.leap))
        elif (isinstance(result, KissOfDeath) and result.stops) or (
            isinstance(result, SntpRefused) and result.field == "li_vn_mode"
        ):
            self.clock.lose()
        else:
            log.info("sntp %s:%s: %s", self.host, self.port, result)
        assert result is not None
        self.last = result
        return result

    async def run(self) -> None:
        while self.client.stopped is None:
            await self.once()
            await asyncio.sleep(self.client.poll)

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.get_running_loop().create_task(self.run())
        return self._task

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None


__all__ = ["NTP_PORT", "Discipline", "SntpTimeout", "query", "serve"]
