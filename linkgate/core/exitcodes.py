"""The process exit codes: the whole contract with CI and shell pipelines."""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from linkgate.core.findings import Report


class ExitCode(IntEnum):
    """Mirrored in README.md ("Exit codes")."""

    OK = 0  # no error-level findings
    FINDINGS = 1  # error-level findings, or warnings with --strict
    # bad arguments, invalid policy, missing or special path, no ELF artifact found, lost worker, internal error
    CANNOT_EVALUATE = 2

    @classmethod
    def of(cls, report: Report) -> ExitCode:
        """A checked report's exit code: the report carries the verdict."""
        return cls.OK if report.passed else cls.FINDINGS


# What each code means, as `linkgate --help` and `check --help` list them.
MEANINGS = {
    ExitCode.OK: "no error-level findings",
    ExitCode.FINDINGS: "error-level findings (or warnings with --strict)",
    ExitCode.CANNOT_EVALUATE: "could not evaluate: bad arguments or policy, missing path, no ELF file, internal error",
}


class CannotEvaluateError(Exception):
    """The run cannot give a verdict: the CLI prints `linkgate: PREFIX MESSAGE` and exits CANNOT_EVALUATE.

    Every exit-2 error is one of these; a subclass names its kind with `prefix` ("policy error: ").
    """

    prefix: ClassVar[str] = ""
