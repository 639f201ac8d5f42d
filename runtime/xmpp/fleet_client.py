"""A client of a fleet: one XMPP session, associations with many IEDs, fair bounded requests.

``FleetClient`` wraps one ``AcsiClient`` (one account, one XMPP session: what a head-end
holds towards thousands of DER IEDs) and runs every request through a ``FairQueue``: at most
``per_ied`` outstanding per IED (lowered to what each association negotiated) and ``total``
in all, IEDs taking turns. ``poll`` reads a list of references from every IED, round after
round, and sums up rates, errors and latency percentiles.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gen61850.runtime.xmpp.client import AcsiClient, ClientAssociation, Reference
from gen61850.runtime.xmpp.errors import (
    AssociationError,
    DataAccessFailure,
    LocalError,
    TimeoutError61850,
    XmppError,
)
from gen61850.runtime.xmpp.fair import FairQueue
from gen61850.runtime.xmpp.fleet import bare_jid, settle_heap
from gen61850.runtime.xmpp.references import parse_reference
from gen61850.runtime.xmpp.tools import show

T = TypeVar("T")
Job = tuple[Callable[[], Awaitable[Any]], "asyncio.Future[Any]"]


class FleetClient:
    """Associations of one ``AcsiClient`` with many IEDs; requests queued fairly."""

    def __init__(self, client: AcsiClient, *, per_ied: int = 1, total: int = 64) -> None:
        self.client = client
        self.queue: FairQueue[str, Job] = FairQueue(per_peer=per_ied, total=total)
        self.associations: dict[str, ClientAssociation] = {}
        self.refused: dict[str, str] = {}  # IEDs that did not associate, and why
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, jid: str, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` in ``jid``'s turn (queued behind the IED's earlier work)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.queue.submit(jid, (work, future))
        self._pump()
        return await future

    async def call(self, jid: str, action: Callable[[ClientAssociation], Awaitable[T]]) -> T:
        """``action(association)`` with ``jid`` in its turn; AssociationError when none."""

        async def work() -> T:
            association = self.associations.get(jid)
            if association is None or not association.is_open:
                raise AssociationError(f"no open association with {jid}")
            return await action(association)

        return await self.submit(jid, work)

    async def associate(self, jids: Sequence[str]) -> dict[str, str]:
        """Associate with each IED not associated yet (``total`` at a time); returns those
        refused: JID → why."""
        bare = [bare_jid(jid, "IED") for jid in jids]

        async def one(jid: str) -> None:
            known = self.associations.get(jid)
            if known is not None and known.is_open:
                return
            self.refused.pop(jid, None)
            try:
                association = await self.submit(jid, lambda: self.client.associate(jid))
            except XmppError as error:
                self.refused[jid] = str(error)
                return
            self.associations[jid] = association
            negotiated = association.state.negotiated
            if negotiated is not None:
                self.queue.limit(jid, negotiated.max_outstanding_calling)

        await asyncio.gather(*(one(jid) for jid in bare))
        return {jid: self.refused[jid] for jid in bare if jid in self.refused}

    async def release(self) -> None:
        """Release every open association (a failure is not an error: we are leaving anyway)."""

        async def one(jid: str, association: ClientAssociation) -> None:
            if association.is_open:
                with contextlib.suppress(XmppError):
                    await self.submit(jid, association.release)

        await asyncio.gather(*(one(j, a) for j, a in list(self.associations.items())))
        self.associations.clear()

    def _pump(self) -> None:
        while (ready := self.queue.next_ready()) is not None:
            jid, (work, future) = ready
            task = asyncio.ensure_future(self._run(jid, work, future))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, jid: str, work: Callable[[], Awaitable[Any]], future: Any) -> None:
        try:
            if future.cancelled():
                return
            try:
                result = await work()
            except Exception as error:
                if not future.done():
                    future.set_exception(error)
            else:
                if not future.done():
                    future.set_result(result)
        finally:
            self.queue.finished(jid)
            self._pump()


# ---------------------------------------------------------------- polling


@dataclass(frozen=True)
class PollResult:
    """One read of the references from one IED: values (text) or the error it met."""

    jid: str
    round: int
    latency_s: float | None  # None when it never started (no association)
    values: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # per reference: why not read
    error: str | None = None
    kind: str | None = None  # the error's kind: timeout, aborted, no-association, ...

    def as_dict(self) -> dict[str, Any]:
        line: dict[str, Any] = {"ied": self.jid, "round": self.round}
        if self.latency_s is not None:
            line["latency_ms"] = round(self.latency_s * 1e3, 3)
        if self.error is not None:
            line["error"] = self.error
            line["kind"] = self.kind
        else:
            line["values"] = self.values
            if self.failures:
                line["failures"] = self.failures
        return line


@dataclass
class PollSummary:
    """What a poll of a fleet did: counts, errors by kind, latencies, wall time."""

    ieds: int
    associated: int = 0
    requests: int = 0
    answered: int = 0
    value_failures: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    associate_s: float = 0.0
    per_ied_most: int = 0
    total_most: int = 0

    @property
    def unanswered(self) -> int:
        """Requests sent that got no answer in time (timeouts): lost, as far as we know."""
        return self.errors.get("timeout", 0)

    @property
    def rate(self) -> float:
        return self.answered / self.wall_s if self.wall_s > 0 else 0.0

    def percentile(self, fraction: float) -> float | None:
        """Latency (seconds) at ``fraction`` (nearest rank), None without answers."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(fraction * len(ordered)))
        return ordered[rank - 1]

    def as_dict(self) -> dict[str, Any]:
        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1e3, 3)

        return {
            "ieds": self.ieds,
            "associated": self.associated,
            "requests": self.requests,
            "answered": self.answered,
            "value_failures": self.value_failures,
            "errors": dict(sorted(self.errors.items())),
            "unanswered": self.unanswered,
            "wall_s": round(self.wall_s, 4),
            "associate_s": round(self.associate_s, 4),
            "rate_per_s": round(self.rate, 1),
            "latency_ms": {
                "p50": ms(self.percentile(0.5)),
                "p90": ms(self.percentile(0.9)),
                "p99": ms(self.percentile(0.99)),
                "max": ms(max(self.latencies) if self.latencies else None),
            },
            "most_outstanding": {"per_ied": self.per_ied_most, "total": self.total_most},
        }

    def lines(self) -> list[str]:
        """The summary for people."""
        data = self.as_dict()
        latency = data["latency_ms"]
        errors = ", ".join(f"{k} {v}" for k, v in data["errors"].items()) or "none"
        shown = [
            f"IEDs: {self.ieds}, associated {self.associated} (in {self.associate_s:.2f} s)",
            f"requests: {self.requests}, answered {self.answered}, "
            f"unanswered {self.unanswered}, errors: {errors}",
            f"values refused by the IEDs: {self.value_failures}",
            f"wall time {self.wall_s:.3f} s, {self.rate:.1f} answered requests/s",
        ]
        if self.latencies:
            shown.append(
                f"latency ms: p50 {latency['p50']:.2f}, p90 {latency['p90']:.2f}, "
                f"p99 {latency['p99']:.2f}, max {latency['max']:.2f}"
            )
        shown.append(
            f"most outstanding at once: {self.per_ied_most} per IED, {self.total_most} in all"
        )
        return shown


def error_kind(error: BaseException) -> str:
    """A short name for what went wrong with a request."""
    if isinstance(error, TimeoutError61850):
        return "timeout"
    if isinstance(error, AssociationError):
        return "aborted"
    if isinstance(error, LocalError):
        return "local"
    if isinstance(error, XmppError):
        return type(error).__name__
    return "internal"


def parse_references(references: Sequence[str]) -> list[Reference]:
    """Each reference as (LD, item); ReferenceSyntaxError names a bad one."""
    if not references:
        raise LocalError("no references to read")
    return [parse_reference(reference) for reference in references]


async def poll(
    fleet: FleetClient,
    jids: Sequence[str],
    references: Sequence[str],
    *,
    rounds: int = 1,
    on_result: Callable[[PollResult], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    freeze_gc: bool = False,
) -> PollSummary:
    """Associate with every IED of ``jids``, read ``references`` from each ``rounds`` times
    (one read request per IED and round), release; ``on_result`` hears each read.
    ``freeze_gc``: ``fleet.settle_heap()`` once associated (process-wide; for a program
    that polls, like ``xmpp poll``)."""
    if rounds < 1:
        raise LocalError(f"rounds {rounds}: at least 1")
    targets = parse_references(references)
    bare = [bare_jid(jid, "IED") for jid in jids]
    summary = PollSummary(ieds=len(bare))
    started = clock()
    refused = await fleet.associate(bare)
    summary.associate_s = clock() - started
    summary.associated = len(bare) - len(refused)
    if freeze_gc:
        settle_heap()

    def record(result: PollResult) -> None:
        if result.error is None:
            summary.answered += 1
            summary.value_failures += len(result.failures)
        else:
            summary.errors[result.kind or "internal"] += 1
        if result.latency_s is not None and result.error is None:
            summary.latencies.append(result.latency_s)
        if on_result is not None:
            on_result(result)

    async def read_once(jid: str, number: int) -> None:
        if jid in refused:
            record(PollResult(jid, number, None, error=refused[jid], kind="no-association"))
            return
        summary.requests += 1
        began: list[float] = []

        async def read(association: ClientAssociation) -> Any:
            began.append(clock())
            return await association.read(targets)

        try:
            results = await fleet.call(jid, read)
        except Exception as error:
            latency = clock() - began[0] if began else None
            record(PollResult(jid, number, latency, error=str(error), kind=error_kind(error)))
            return
        latency = clock() - began[0]
        values: dict[str, str] = {}
        failures: dict[str, str] = {}
        for reference, result in zip(references, results, strict=True):
            if result.success is not None:
                values[reference] = show(result.success)
            else:
                code = result.failure if result.failure is not None else -1
                failures[reference] = str(DataAccessFailure(reference, code))
        record(PollResult(jid, number, latency, values, failures))

    began_reading = clock()
    await asyncio.gather(
        *(read_once(jid, number) for number in range(1, rounds + 1) for jid in bare)
    )
    summary.wall_s = clock() - began_reading
    summary.per_ied_most = max((fleet.queue.most_running_of(j) for j in bare), default=0)
    summary.total_most = fleet.queue.most_running
    await fleet.release()
    return summary


__all__ = [
    "FleetClient",
    "PollResult",
    "PollSummary",
    "error_kind",
    "parse_references",
    "poll",
]
