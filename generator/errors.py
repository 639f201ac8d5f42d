"""Errors the generator reports about its inputs, each with a location."""

from __future__ import annotations

from gen61850.runtime.errors import Gen61850Error


class GeneratorError(Gen61850Error):
    """An input the generator cannot turn into code: says where and what."""

    def __init__(self, location: str, message: str) -> None:
        self.location = location
        self.message = message
        super().__init__(f"{location}: {message}")
