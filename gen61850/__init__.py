"""gen61850: IEC 61850 stacks generated from the standards' definitions and from SCL.

Subpackages: ``gen61850.generator`` (front ends, IR, rendering), ``gen61850.generated``
(emitted code, checked in) and ``gen61850.runtime`` (sockets, timing, XMPP wiring).
"""

from importlib.resources import files
from pathlib import Path

__version__ = "0.1.0"


def resource_path(*parts: str) -> Path:
    """Where a bundled resource (``templates/...``, ``specs/...``) lives on disk."""
    return Path(str(files("gen61850").joinpath(*parts)))
