"""The receiver's routes: what it knows per stream shape on the path to physical values.

A route is one learned shape at one APPID offset (tagged or not) and, usually, one
*variant*: the VLAN TCI and reserved1 a stream keeps from frame to frame although its
shape lets them vary (``scaled.variant_of``). A route holds the filter decision, the
emitted function once the shape has been seen often enough, and the supervision state
of its stream while it may advance it in place. A shape gets at most
``MAX_VARIANTS`` routes of its own variant; further variants share one route whose
function reads the TCI and reserved1 as variable fields.

The table is bounded: at most ``limit`` routes (the oldest goes first) and
``MAX_COMPILED`` emitted functions.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from gen61850.runtime.sv.frame import ETHERTYPE_SV, TPID_8021Q
from gen61850.runtime.sv.scaled import Emitted, ScaledFrame
from gen61850.runtime.sv.shape import FrameShape
from gen61850.runtime.sv.supervision import StreamState

MAX_VARIANTS = 4
"""Routes of their own variant per shape and APPID offset (a stream whose VLAN tag or
reserved1 changes often shares the shape's generic route)."""
MAX_COMPILED = 1024
"""Emitted functions kept; beyond that the oldest route's is let go."""
_TPID = TPID_8021Q.to_bytes(2, "big")
_ETHERTYPE = ETHERTYPE_SV.to_bytes(2, "big")

Feed = Callable[[bytes, "float | None"], "ScaledFrame | None"]
RouteKey = tuple[int, int, int | None]
"""id of the shape (kept alive by its route), APPID offset, variant (None: generic)."""


def unowned() -> StreamState:
    """A state nobody advances: what a route holds until its stream's real one is known."""
    return StreamState(0, 0, False, 0, 0.0, 1, False)


class Route:
    """One shape at one APPID offset (and one variant) as the receiver sees it."""

    __slots__ = (
        "appid",
        "base",
        "conf_rev",
        "count",
        "dispatch",
        "emitted",
        "keep",
        "seen",
        "shape",
        "single",
        "smp_synch",
        "state",
        "stream",
        "variant",
    )

    def __init__(
        self, shape: FrameShape, base: int, variant: int | None, keep: tuple[int, ...] | None
    ) -> None:
        self.shape = shape
        self.base = base
        self.variant = variant
        self.keep = keep
        """Indices of the ASDUs delivered (None: all; empty: the frame is filtered)."""
        self.count = len(shape.asdus)
        self.seen = 0
        """Frames decoded the plain way (until the function is emitted)."""
        self.emitted: Emitted | None = None
        first = shape.asdus[0]
        self.single = len(set(shape.sv_ids)) == 1 and all(
            (a.conf_rev, a.smp_synch) == (first.conf_rev, first.smp_synch) for a in shape.asdus
        )
        """Every ASDU belongs to one stream: an in-order frame is supervised in place."""
        self.appid = shape.appid
        self.stream = (shape.appid, first.sv_id)
        self.conf_rev = first.conf_rev
        self.smp_synch = first.smp_synch
        self.state = unowned()
        self.dispatch = dispatch_key(shape, base, variant)

    @property
    def key(self) -> RouteKey:
        return (id(self.shape), self.base, self.variant)

    @property
    def compiled(self) -> bool:
        return self.emitted is not None

    @property
    def feed(self) -> Feed | None:
        return None if self.emitted is None else self.emitted.feed

    def own(self, state: StreamState) -> None:
        """Advance ``state`` in place from now on (until the Supervisor takes it back)."""
        state.owner = self
        self.state = state
        if self.emitted is not None:
            self.emitted.bind(state)

    def disown(self) -> None:
        if self.state.owner is self:
            self.state.owner = None


def dispatch_key(shape: FrameShape, base: int, variant: int | None) -> bytes:
    """The octets that find a route's function for a frame: from 12 to the end of
    reserved1 (TPID, TCI, Ethertype, APPID, Length, reserved1) for a variant, else a
    marker, the APPID offset, the Ethertype, APPID and Length."""
    head = shape.appid.to_bytes(2, "big") + shape.length.to_bytes(2, "big")
    if variant is None:
        return b"G" + bytes((base,)) + _ETHERTYPE + head
    reserved1 = (variant & 0xFFFF).to_bytes(2, "big")
    if base == 18:
        return _TPID + (variant >> 16).to_bytes(2, "big") + _ETHERTYPE + head + reserved1
    return _ETHERTYPE + head + reserved1


def frame_keys(frame: bytes, base: int) -> tuple[bytes, bytes]:
    """A frame's two dispatch keys: its variant's and the generic one."""
    exact = bytes(frame[12 : base + 6])
    return exact, b"G" + bytes((base,)) + bytes(frame[base - 2 : base + 4])


class RouteTable:
    """Routes by (shape, APPID offset, variant), bounded, with the compiled ones filed by
    their dispatch keys. ``released(route)`` is called before a route's function goes."""

    def __init__(self, limit: int, released: Callable[[Route], None]) -> None:
        self.limit = limit
        self.routes: OrderedDict[RouteKey, Route] = OrderedDict()
        self.by_shape: dict[int, list[Route]] = {}
        self.compiled: dict[bytes, list[Route]] = {}
        self._released = released

    def find(self, shape: FrameShape, base: int, variant: int) -> Route | None:
        """The route a frame of ``shape`` with ``variant`` takes, if there is one."""
        routes = self.routes
        return routes.get((id(shape), base, variant)) or routes.get((id(shape), base, None))

    def route(
        self,
        shape: FrameShape,
        base: int,
        variant: int,
        keep: Callable[[FrameShape], tuple[int, ...] | None],
    ) -> Route:
        """The route of a frame, made when new (its own variant while the shape has fewer
        than ``MAX_VARIANTS``, else the shape's generic route)."""
        found = self.find(shape, base, variant)
        if found is not None:
            return found
        family = self.by_shape.setdefault(id(shape), [])
        own = sum(1 for r in family if r.base == base and r.variant is not None)
        chosen: int | None = variant if own < MAX_VARIANTS else None
        route = Route(shape, base, chosen, keep(shape))
        self.routes[route.key] = route
        family.append(route)
        if len(self.routes) > self.limit:
            self.drop(next(iter(self.routes.values())))
        return route

    def candidates(self, frame: bytes, base: int) -> list[Route] | None:
        exact, generic = frame_keys(frame, base)
        return self.compiled.get(exact) or self.compiled.get(generic)

    def compiled_routes(self) -> list[Route]:
        return [route for bucket in self.compiled.values() for route in bucket]

    def compile(self, route: Route, emit: Callable[[Route], Emitted]) -> None:
        if len(self.compiled_routes()) >= MAX_COMPILED:
            for oldest in self.routes.values():
                if oldest.compiled:
                    self.uncompile(oldest)
                    break
        route.emitted = emit(route)
        self.compiled.setdefault(route.dispatch, []).append(route)

    def uncompile(self, route: Route) -> None:
        if route.emitted is None:
            return
        self._released(route)
        route.emitted = None
        route.seen = 0
        bucket = self.compiled.get(route.dispatch, [])
        if route in bucket:
            bucket.remove(route)
            if not bucket:
                del self.compiled[route.dispatch]

    def drop(self, route: Route) -> None:
        self.uncompile(route)
        self.routes.pop(route.key, None)
        family = self.by_shape.get(id(route.shape))
        if family is not None and route in family:
            family.remove(route)
            if not family:
                del self.by_shape[id(route.shape)]
        route.disown()

    def drop_shape(self, shape: FrameShape) -> None:
        """Every route of a shape the quick parser let go."""
        for route in list(self.by_shape.get(id(shape), ())):
            if route.shape is shape:
                self.drop(route)


__all__ = ["MAX_COMPILED", "MAX_VARIANTS", "Route", "RouteTable", "dispatch_key", "unowned"]
