"""What `check` and `diff` share: the policy to judge with, the archive bounds, and publishing a report."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from linkgate.check import ci
from linkgate.core.exitcodes import CannotEvaluateError, ExitCode
from linkgate.core.findings import Report
from linkgate.formats import FormatName, renderer
from linkgate.policy.cache import cache_dir, cached_policy
from linkgate.policy.compiled import CompiledPolicy
from linkgate.policy.locate import find_policy_file

if TYPE_CHECKING:
    from linkgate.archives.limits import Limits

# Bounds on reading archives (linkgate.archives.limits.ENVIRONMENT).
ARCHIVE_LIMITS = "LINKGATE_ARCHIVE_LIMITS"

# Side outputs, so one run feeds every consumer (code scanning, MR widgets, the log).
SIDE_REPORTS = (("--sarif", "SARIF 2.1.0"), ("--gitlab-report", "GitLab Code Quality"), ("--junit", "JUnit XML"))


def publish(
    report: Report,
    args: argparse.Namespace,
    context: ci.CiContext,
    summary: Callable[[Report], str],
    *,
    baseline_file: str | None = None,
    json_rows: list[str] | None = None,
) -> int:
    """Stdout in the chosen format, the summary line, the side reports; the report's exit code.

    `json_rows`: the JSON report's finding lines, written as the results came (commands.check.collect).
    """
    output = ci.output_format(args.format, context)
    if json_rows is not None:
        from linkgate.formats import json as json_format  # noqa: PLC0415 - lazy: start-up

        sys.stdout.write(json_format.assemble(report, json_rows))
    else:
        sys.stdout.write(renderer(output)(report))
    if output in ("text", "github"):
        print(summary(report), file=sys.stderr)
    reports: tuple[tuple[str | None, FormatName], ...] = (
        (args.sarif, "sarif"), (args.gitlab_report, "gitlab"), (args.junit, "junit"), (baseline_file, "json"),
    )  # fmt: skip
    ci.write_reports(report, [(path, renderer(name)) for path, name in reports if path])
    ci.append_step_summary(report, context)
    return ExitCode.of(report)


def archive_limits(environ: Mapping[str, str]) -> Limits | None:
    """LINKGATE_ARCHIVE_LIMITS (None when unset: the defaults); CannotEvaluateError (exit 2) when malformed."""
    if not environ.get(ARCHIVE_LIMITS):
        return None
    from linkgate.archives.limits import limits_from  # noqa: PLC0415 - lazy: start-up

    try:
        return limits_from(environ)
    except ValueError as error:
        raise CannotEvaluateError(str(error)) from None


def compiled_policy(spec: str | None, cwd: str) -> CompiledPolicy:
    """The policy to check with: from the cache while its files are unchanged, else loaded and validated."""
    found = find_policy_file(cwd) if spec is None else None
    key = f"{spec!r}|{found}|{cwd}"

    def load() -> CompiledPolicy:
        from pathlib import Path  # noqa: PLC0415 - lazy: start-up

        from linkgate.policy.loader import load_policy  # noqa: PLC0415 - lazy: start-up

        return load_policy(spec, Path(cwd))

    return cached_policy(key, cache_dir(os.environ), load)


def add_output_arguments(parser: argparse.ArgumentParser, formats: list[str], default_help: str) -> None:
    """--format and the side-report flags, the same for check and diff."""
    parser.add_argument("--format", choices=["auto", *formats], default="auto", help=default_help)
    for flag, what in SIDE_REPORTS:
        parser.add_argument(flag, metavar="FILE", help=f"also write a {what} report to FILE")
