"""GOOSE subscriber: receive on an interface and feed the sans-I/O ``GooseReceiver``.

A raw socket behind a kernel BPF filter (GOOSE Ethertype, optionally APPIDs) with kernel
receive timestamps; waits no longer than the next stream's timeAllowedtoLive, so a lost
stream is reported on time even when nothing arrives.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable, Iterable, Iterator

from gen61850.runtime.goose.receiver import (
    GooseMessage,
    GooseReceiver,
    ReceiverStats,
    Subscription,
)
from gen61850.runtime.net.bpf import goose_program
from gen61850.runtime.net.packet import PacketSocket


class GooseSubscriber:
    """Receive GOOSE on ``iface`` (root or CAP_NET_RAW).

    ``for message in sub.messages(duration=1.0)`` or ``sub.run(callback, count=10)``;
    ``sub.receiver.take_events()`` gives supervision events (MessageLost, StateChanged,
    ...), ``sub.stats`` the counters. ``outgoing`` (default: all but ``lo``) keeps frames
    this host sends; ``all_multicast`` asks the interface for every multicast frame.
    """

    def __init__(
        self,
        iface: str,
        subscriptions: Iterable[Subscription] = (),
        *,
        appids: Iterable[int] | None = None,
        gocb_refs: Iterable[str] | None = None,
        margin: float = 0.0,
        quick: bool = True,
        keep_raw: bool = False,
        promiscuous: bool = False,
        all_multicast: bool = True,
        outgoing: bool | None = None,
    ) -> None:
        subscriptions = list(subscriptions)
        appid_list = None if appids is None else sorted(set(appids))
        if appid_list is None and subscriptions and all(s.appid is not None for s in subscriptions):
            appid_list = sorted({s.appid for s in subscriptions if s.appid is not None})
        self.receiver = GooseReceiver(
            subscriptions,
            appids=appid_list,
            gocb_refs=gocb_refs,
            margin=margin,
            quick=quick,
            keep_raw=keep_raw,
        )
        keep_outgoing = iface != "lo" if outgoing is None else outgoing
        self._socket = PacketSocket(
            iface,
            program=goose_program(appid_list, outgoing=keep_outgoing),
            promiscuous=promiscuous,
            all_multicast=all_multicast,
        )

    @property
    def stats(self) -> ReceiverStats:
        kernel = self._socket.stats()
        self.receiver.stats.kernel_packets += kernel.packets
        self.receiver.stats.kernel_drops += kernel.drops
        return self.receiver.stats

    def messages(
        self, *, count: int | None = None, duration: float | None = None, poll: float = 0.05
    ) -> Iterator[GooseMessage]:
        """Accepted messages until ``count`` of them or ``duration`` seconds.

        Streams are supervised while waiting: MessageLost goes to ``receiver.events`` when
        its timeAllowedtoLive passes, whether other frames arrive or not.
        """
        deadline = None if duration is None else clock.monotonic() + duration
        delivered = 0
        receiver = self.receiver
        while count is None or delivered < count:
            wait = poll
            if deadline is not None:
                wait = min(wait, deadline - clock.monotonic())
                if wait <= 0:
                    return
            lost_at = receiver.supervisor.next_deadline()
            if lost_at is not None:
                wait = max(0.0, min(wait, lost_at - clock.time() + 0.0005))
            item = self._socket.receive(wait)
            if item is not None:
                data, stamp = item
                message = receiver.feed(data, stamp / 1e9)
                if message is not None:
                    delivered += 1
                    receiver.tick(clock.time())
                    yield message
                    continue
            receiver.tick(clock.time())

    def run(
        self,
        callback: Callable[[GooseMessage], object],
        *,
        count: int | None = None,
        duration: float | None = None,
    ) -> ReceiverStats:
        """Call ``callback`` for each accepted message; returns the statistics."""
        for message in self.messages(count=count, duration=duration):
            callback(message)
        return self.stats

    def close(self) -> None:
        self._socket.close()

    def __enter__(self) -> GooseSubscriber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["GooseSubscriber"]
