"""Object providers: named variables whose reads and writes follow their own rules.

Control blocks (RCB, LCB, GoCB, MSVCB, SGCB) and control objects (``$SBO``, ``$SBOw``,
``$Oper``, ``$Cancel``) are named variables of a logical node like any other, but reading
or writing them is a service with its own rules (who may, when, with which side effects).
A provider owns every name at or below its prefix (``LLN0$BR$brcbA01`` and
``LLN0$BR$brcbA01$RptEna``); the served model asks the registry first and falls back to
the stored values. A provider refuses a write with ``AccessFailure(code)`` and may queue
effects on the call (a report after the answer, a LastApplError before it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from gen61850.generated.scsm_8_2.bindings import Data, TypeDescription

if TYPE_CHECKING:
    from gen61850.runtime.xmpp.scope import CallContext


class ObjectProvider(Protocol):
    """Reads, writes and describes the variables at or below the prefix it is registered at."""

    def read(self, domain: str, item: str, call: CallContext | None) -> Data:
        """The value of ``item``; ``AccessFailure`` when it cannot be read."""
        ...

    def write(self, domain: str, item: str, data: Data, call: CallContext) -> None:
        """Write ``item``; ``AccessFailure(code)`` refuses (nothing changed)."""
        ...

    def type_description(self, domain: str, item: str) -> TypeDescription:
        """The MMS type of ``item``."""
        ...


class ProviderRegistry:
    """Providers by (domain, name prefix); the longest registered prefix of a name wins."""

    def __init__(self) -> None:
        self._by_prefix: dict[tuple[str, str], ObjectProvider] = {}
        self._deepest = 0

    def register(self, domain: str, prefix: str, provider: ObjectProvider) -> None:
        self._by_prefix[(domain, prefix)] = provider
        self._deepest = max(self._deepest, prefix.count("$") + 1)

    def owner(self, domain: str, prefix: str) -> ObjectProvider | None:
        """The provider registered at exactly ``prefix``, or None."""
        return self._by_prefix.get((domain, prefix))

    def find(self, domain: str, item: str) -> tuple[str, ObjectProvider] | None:
        """(prefix, provider) of ``item``, or None when no provider owns it."""
        if not self._by_prefix:
            return None
        parts = item.split("$")
        for end in range(min(len(parts), self._deepest), 0, -1):
            prefix = "$".join(parts[:end])
            provider = self._by_prefix.get((domain, prefix))
            if provider is not None:
                return prefix, provider
        return None

    def may_own_below(self, item: str) -> bool:
        """Whether a provider could own a name below ``item`` that it does not own itself:
        only one registered at a prefix deeper than ``item``. ``find`` of any name below
        an ``item`` this denies looks at the prefixes ``find(item)`` looked at."""
        return item.count("$") + 1 < self._deepest

    def __len__(self) -> int:
        return len(self._by_prefix)


__all__ = ["ObjectProvider", "ProviderRegistry"]
