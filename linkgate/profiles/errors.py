"""The profile error type, apart from the pydantic models so policies without a target never load them."""

from __future__ import annotations

from linkgate.core.exitcodes import CannotEvaluateError


class ProfileError(CannotEvaluateError):
    """A profile file cannot be read or is not a valid profile."""

    prefix = "policy error: "

    def __init__(self, source: str, line: int | None, message: str) -> None:
        super().__init__(source + (f":{line}" if line else "") + f": {message}")
        self.source, self.line, self.message = source, line, message
