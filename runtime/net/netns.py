"""Network namespaces and veth pairs for tests and demos (Linux, root).

``VethPair`` creates two namespaces joined by a veth pair and removes both on exit;
``inside(ns)`` moves the calling thread into a namespace for a moment, so that a socket
opened there keeps using that namespace after the thread returns.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from gen61850.runtime.net.packet import NetError

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _ip(*args: str, namespace: str | None = None) -> None:
    command = ["ip", *args] if namespace is None else ["ip", "-n", namespace, *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise NetError(f"{' '.join(command)}: {result.stderr.strip()}")


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise NetError(f"setns failed: {os.strerror(errno)}")


@contextlib.contextmanager
def inside(namespace: str) -> Iterator[None]:
    """Run the block in ``namespace`` (this thread only), then come back."""
    own = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
    target = os.open(f"/var/run/netns/{namespace}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)
        os.close(target)


@dataclass
class VethPair:
    """Namespaces ``<prefix>a``/``<prefix>b`` with interfaces ``<prefix>0``/``<prefix>1``."""

    prefix: str
    mtu: int = 1500

    @property
    def ns_a(self) -> str:
        return f"{self.prefix}a"

    @property
    def ns_b(self) -> str:
        return f"{self.prefix}b"

    @property
    def if_a(self) -> str:
        return f"{self.prefix}0"

    @property
    def if_b(self) -> str:
        return f"{self.prefix}1"

    def __enter__(self) -> VethPair:
        if len(self.if_a) > 15:
            raise NetError(f"interface name {self.if_a!r} is longer than 15 characters")
        self._cleanup()
        _ip("netns", "add", self.ns_a)
        try:
            _ip("netns", "add", self.ns_b)
            _ip(
                "link",
                "add",
                self.if_a,
                "netns",
                self.ns_a,
                "type",
                "veth",
                "peer",
                "name",
                self.if_b,
                "netns",
                self.ns_b,
            )
            for ns, iface in ((self.ns_a, self.if_a), (self.ns_b, self.if_b)):
                _ip("link", "set", iface, "mtu", str(self.mtu), "up", namespace=ns)
        except BaseException:
            self._cleanup()
            raise
        return self

    def _cleanup(self) -> None:
        for ns in (self.ns_a, self.ns_b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)

    def __exit__(self, *exc: object) -> None:
        self._cleanup()
