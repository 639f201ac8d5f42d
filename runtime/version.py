"""The runtime API version that generated code was made for, checked when it is imported."""

from __future__ import annotations

from gen61850.runtime.errors import Gen61850Error

# Raised whenever the helpers generated code calls change incompatibly.
RUNTIME_API = 1


def require_runtime_api(expected: int, module: str) -> None:
    """Fail early, with the fix, when generated code and the runtime do not fit together."""
    if expected != RUNTIME_API:
        raise Gen61850Error(
            f"{module} was generated for runtime API {expected}, this runtime is "
            f"{RUNTIME_API}: run `gen61850 generate` (or regenerate your device stack)"
        )
