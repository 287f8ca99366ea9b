"""The policy error: what the CLI prints (FILE:LINE: KEY: message) before exiting 2."""

from __future__ import annotations

from linkgate.core.exitcodes import CannotEvaluateError


class PolicyError(CannotEvaluateError):
    """The policy cannot be used; the CLI prints it and exits 2."""

    prefix = "policy error: "

    def __init__(self, source: str, line: int | None, key: str | None, message: str) -> None:
        where = source + (f":{line}" if line else "") + (f": {key}" if key else "")
        super().__init__(f"{where}: {message}")
        self.source, self.line, self.key, self.message = source, line, key, message
