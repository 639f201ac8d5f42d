"""Many IEDs served from one process: a fleet of ``AcsiServer`` in one event loop.

A DER aggregator hosts many IEDs in one gateway, and a fleet simulator serves one IED model
N times (``der1@dso.example`` ... ``derN@dso.example``). Each served IED stays what 8-2
asks for, an XMPP account of its own with its own session, associations and values; what
does not differ between them is shared: one TLS client context (``XmppSettings.tls_context``
instead of one per IED, which would load the CA store each time) and, for the instances of
one IED, the model's layout tables and leaf index (``ServedModel.twin``), so an instance
costs its values, its XMPP session and its engines.

Logins are spread over time (``start``: a bounded number at once), so a fleet does not hit
its XMPP server with N TLS handshakes and SASL exchanges in one burst. No I/O here beyond
the servers' own.
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import gc
import os
import re
import resource
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from slixmpp import JID
from slixmpp.jid import InvalidJID

from gen61850.runtime.device import Ied
from gen61850.runtime.xmpp.errors import ConnectError, LocalError
from gen61850.runtime.xmpp.model import ServedModel
from gen61850.runtime.xmpp.server import AcsiServer
from gen61850.runtime.xmpp.transport import XmppSettings, trust_context

NUMBER = "{n}"
IED_NAME = "{ied}"
MAX_FLEET = 100_000
# asyncio reads TLS into a 256 KiB buffer per connection (resident: it is zeroed), two thirds
# of what a served IED costs; a TLS record carries at most 16 KiB, so 32 KiB loses nothing.
TLS_READ_BUFFER = 32 * 1024
SPARE_DESCRIPTORS = 64  # files a fleet process needs besides its IEDs' sockets
_PLACEHOLDER = re.compile(r"\{[^}]*\}")


class FleetError(LocalError):
    """A fleet that cannot be served as asked: a bad JID pattern or count, duplicate JIDs,
    missing passwords, or IEDs whose XMPP sessions did not start (each named)."""


def bare_jid(text: str, what: str) -> str:
    """``text`` as a bare JID (``user@domain``; ``/IEC`` accepted); FleetError otherwise."""
    try:
        jid = JID(text)
    except InvalidJID as error:
        raise FleetError(f"{what}: {text!r} is not a JID ({error})") from None
    if not jid.user or not jid.domain:
        raise FleetError(f"{what}: {text!r} is not a JID of an account (user@domain)")
    if jid.resource and jid.resource != "IEC":
        raise FleetError(f"{what}: {text!r}: an IED's resource is IEC (8-2), not {jid.resource}")
    return str(jid.bare)


def expand_pattern(
    pattern: str, *, count: int, ied: str | None = None, first: int = 1
) -> list[str]:
    """The bare JIDs of ``pattern`` for ``count`` instances of an IED, numbered from ``first``
    (several processes can share a fleet, each its own range).

    ``{n}`` is the instance number, ``{ied}`` the IED name (lower case, for several IEDs);
    a fleet of more than one instance needs ``{n}`` (otherwise every instance would get one
    JID). Any other ``{...}`` is refused, as are JIDs that are not ``user@domain``.
    """
    if not 1 <= count <= MAX_FLEET:
        raise FleetError(f"--fleet {count}: the number of instances is 1 to {MAX_FLEET}")
    if first < 0:
        raise FleetError(f"--first {first}: instance numbers start at 0 or above")
    unknown = sorted(set(_PLACEHOLDER.findall(pattern)) - {NUMBER, IED_NAME})
    if unknown:
        raise FleetError(
            f"--jid-pattern {pattern!r}: unknown placeholder {unknown[0]} "
            f"(known: {NUMBER} the instance number, {IED_NAME} the IED name)"
        )
    if count > 1 and NUMBER not in pattern:
        raise FleetError(
            f"--jid-pattern {pattern!r} has no {NUMBER}: {count} instances would share one "
            f"JID (e.g. der{NUMBER}@dso.example)"
        )
    named = pattern.replace(IED_NAME, (ied or "").lower())
    return [
        bare_jid(named.replace(NUMBER, str(number)), "--jid-pattern")
        for number in range(first, first + count)
    ]


def check_unique(jids: Iterable[str]) -> None:
    """FleetError naming the JIDs given more than once (each IED needs its own account)."""
    counts = Counter(str(JID(jid).bare) for jid in jids)
    twice = sorted(jid for jid, seen in counts.items() if seen > 1)
    if twice:
        shown = ", ".join(twice[:5]) + (f" and {len(twice) - 5} more" if len(twice) > 5 else "")
        raise FleetError(f"duplicate JIDs: {shown} (each served IED needs an account of its own)")


def read_passwords(path: Path) -> dict[str, str]:
    """``JID PASSWORD`` per line (``#`` comments, blank lines skipped): each IED's password."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise FleetError(f"{path}: {error}") from None
    passwords: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts = stripped.split(None, 1)
        if len(parts) != 2:
            raise FleetError(f"{path}:{number}: expected 'JID PASSWORD'")
        bare = bare_jid(parts[0], f"{path}:{number}")
        if bare in passwords:
            raise FleetError(f"{path}:{number}: {bare} given twice")
        passwords[bare] = parts[1]
    return passwords


def write_passwords(path: Path, passwords: dict[str, str]) -> None:
    """The file ``read_passwords`` reads, readable by its owner only from the start."""
    for jid, password in passwords.items():
        if password != password.strip() or not password or "\n" in password or "\r" in password:
            raise FleetError(f"{jid}: a password of a passwords file is one line, not blank")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.writelines(f"{jid} {password}\n" for jid, password in passwords.items())


@dataclass(frozen=True)
class Member:
    """One IED of the fleet: its account (``settings``) and its model."""

    settings: XmppSettings
    model: ServedModel
    ied_name: str


def instances(ied: Ied, jids: list[str], build: Callable[[Ied], ServedModel]) -> list[ServedModel]:
    """One model per JID: the first built from ``ied``, the others its twins (shared layout)."""
    first = build(ied)
    return [first, *(first.twin(clock=first.store.clock) for _ in jids[1:])]


def members(
    entries: list[tuple[str, ServedModel, str]],
    *,
    passwords: Callable[[str], str],
    template: XmppSettings,
) -> list[Member]:
    """Fleet members of (JID, model, IED name), all with ``template``'s server, CA,
    timeouts and one shared TLS context; ``passwords(jid)`` gives each its password."""
    check_unique(jid for jid, _, _ in entries)
    shared = template.tls_context or trust_context(template.ca_file)
    return [
        Member(replace(template, jid=jid, password=passwords(jid), tls_context=shared), model, name)
        for jid, model, name in entries
    ]


class Fleet:
    """The servers of a fleet, started and stopped together in the running event loop.

    ``setup`` is called with each server once made (controls, setting groups, files...).
    ``logins`` bounds how many XMPP sessions are being set up at once. ``tls_read_buffer``
    sets the read buffer of every TLS connection this process opens from now on (asyncio's
    ``SSLProtocol.max_size``, a class attribute: process-wide); None leaves it.
    ``freeze_gc``: once every IED is up, move what exists to the garbage collector's
    permanent generation (``gc.freeze``, process-wide): a full collection walks every
    object of every IED otherwise (~300 ms for 1,000 IEDs, a stall of all of them).
    """

    def __init__(
        self,
        fleet: list[Member],
        *,
        setup: Callable[[AcsiServer], None] | None = None,
        logins: int = 16,
        tls_read_buffer: int | None = TLS_READ_BUFFER,
        freeze_gc: bool = True,
        **server_options: object,
    ) -> None:
        if not fleet:
            raise FleetError("a fleet of no IEDs")
        if logins < 1:
            raise FleetError(f"logins {logins}: at least 1 at a time")
        self.members = fleet
        self.logins = logins
        self.freeze_gc = freeze_gc
        if tls_read_buffer is not None:
            limit_tls_read_buffer(tls_read_buffer)
        self.servers: list[AcsiServer] = []
        for member in fleet:
            server = AcsiServer(member.settings, member.model, **server_options)  # type: ignore[arg-type]
            if setup is not None:
                setup(server)
            self.servers.append(server)

    def __len__(self) -> int:
        return len(self.servers)

    async def start(self) -> None:
        """Start every server, ``logins`` at a time; FleetError naming those that failed
        (the others are stopped again: a fleet is served whole or not at all)."""
        ensure_descriptors(len(self.servers) + SPARE_DESCRIPTORS)
        gate = asyncio.Semaphore(self.logins)

        async def one(server: AcsiServer) -> str | None:
            async with gate:
                try:
                    await server.start()
                except ConnectError as error:
                    return str(error)
                return None

        failures = [f for f in await asyncio.gather(*(one(s) for s in self.servers)) if f]
        if failures:
            await self.stop()
            shown = "; ".join(failures[:3])
            more = f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
            raise FleetError(f"{len(failures)} of {len(self)} IEDs did not start: {shown}{more}")
        if self.freeze_gc:
            settle_heap()

    async def stop(self) -> None:
        """Stop every server (closing their XMPP sessions), ``logins`` at a time."""
        gate = asyncio.Semaphore(self.logins * 4)

        async def one(server: AcsiServer) -> None:
            async with gate:
                await server.stop()

        await asyncio.gather(*(one(s) for s in self.servers))

    @property
    def jids(self) -> list[str]:
        return [member.settings.jid for member in self.members]


def settle_heap() -> None:
    """Move every object that exists now to the garbage collector's permanent generation
    (``gc.freeze``, process-wide), once a fleet's long-lived objects are made: a full
    collection walks all of them otherwise (~300 ms for 1,000 served IEDs, 140-210 ms in a
    client with 1,000 associations), stalling every IED or request of the process. Objects
    made later are collected as before; frozen ones are still freed by reference counting."""
    gc.collect()
    gc.freeze()


def ensure_descriptors(needed: int) -> None:
    """Raise this process's open-file limit to ``needed`` (each served IED holds a socket;
    the usual soft limit is 1,024), up to the hard limit; FleetError when that is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise FleetError(
            f"{needed} open files needed (one socket per IED), the hard limit is {hard}: "
            "raise it (ulimit -Hn, LimitNOFILE= of a systemd unit) or serve fewer IEDs here"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def limit_tls_read_buffer(size: int) -> None:
    """Read TLS in ``size``-octet chunks (at least one TLS record, 16 KiB + overhead)."""
    if size < 17 * 1024:
        raise FleetError(f"TLS read buffer {size}: at least 17408 octets (one TLS record)")
    protocol = getattr(asyncio.sslproto, "SSLProtocol", None)
    if protocol is not None and hasattr(protocol, "max_size"):
        protocol.max_size = size


def rss_kib() -> int:
    """This process's resident memory (KiB), from /proc (0 where there is none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


__all__ = [
    "Fleet",
    "FleetError",
    "Member",
    "bare_jid",
    "check_unique",
    "ensure_descriptors",
    "expand_pattern",
    "instances",
    "limit_tls_read_buffer",
    "members",
    "read_passwords",
    "rss_kib",
    "settle_heap",
    "write_passwords",
]
