"""The process exit codes: the whole contract with CI and shell pipelines."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Mirrored in README.md ("Exit codes")."""

    OK = 0  # no error-level findings
    FINDINGS = 1  # error-level findings, or warnings with --strict
    # bad arguments, invalid policy, missing or special path, no ELF artifact found, lost worker, internal error
    CANNOT_EVALUATE = 2


class CannotEvaluateError(Exception):
    """The run cannot give a verdict: the CLI prints the message and exits CANNOT_EVALUATE."""
