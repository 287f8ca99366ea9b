"""The profile error type, apart from the pydantic models so policies without a target never load them."""

from __future__ import annotations


class ProfileError(Exception):
    """A profile file cannot be read or is not a valid profile."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        super().__init__(source + (f":{line}" if line else "") + f": {message}")
        self.source, self.line, self.message = source, line, message
