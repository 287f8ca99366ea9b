"""What `check` and `diff` share: the policy to judge with, the archive bounds, and publishing a report."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, TextIO

from linkgate.check import ci
from linkgate.core.exitcodes import CannotEvaluateError, ExitCode
from linkgate.core.findings import Report
from linkgate.formats import FormatName, renderer
from linkgate.formats import text as text_format
from linkgate.policy.cache import cache_dir, cached_policy
from linkgate.policy.compiled import CompiledPolicy
from linkgate.policy.locate import find_policy_file

if TYPE_CHECKING:
    from linkgate.archives.limits import Limits


class Summary(Protocol):
    """The stderr line of a run (formats.text.summary, diff_summary)."""

    def __call__(self, report: Report, *, color: bool = ...) -> str: ...


# Bounds on reading archives (linkgate.archives.limits.ENVIRONMENT).
ARCHIVE_LIMITS = "LINKGATE_ARCHIVE_LIMITS"

# Side outputs, so one run feeds every consumer (code scanning, MR widgets, the log).
SIDE_REPORTS = (("--sarif", "SARIF 2.1.0"), ("--gitlab-report", "GitLab Code Quality"), ("--junit", "JUnit XML"))


def publish(
    report: Report,
    args: argparse.Namespace,
    context: ci.CiContext,
    summary: Summary,
    *,
    baseline_file: str | None = None,
    json_rows: list[str] | None = None,
) -> int:
    """Stdout in the chosen format, the summary line, the side reports; the report's exit code.

    `json_rows`: the JSON report's finding lines, written as the results came (commands.check.collect).
    """
    output = ci.output_format(args.format, context)
    try:
        if json_rows is not None:
            from linkgate.formats import json as json_format  # noqa: PLC0415 - lazy: start-up

            sys.stdout.write(json_format.assemble(report, json_rows))
        elif output == "text":
            sys.stdout.write(text_format.render(report, quiet=args.quiet, color=_color(args, sys.stdout)))
        else:
            sys.stdout.write(renderer(output)(report))
        # A pipe block-buffers stdout: unflushed, the stderr summary would come first in every CI log;
        # and a full disk is this error, not a lost report.
        sys.stdout.flush()
    except OSError as error:
        raise CannotEvaluateError(f"cannot write the report to standard output: {error.strerror or error}") from None
    if output in ("text", "github"):
        print(summary(report, color=_color(args, sys.stderr)), file=sys.stderr)
    reports: tuple[tuple[str | None, FormatName], ...] = (
        (args.sarif, "sarif"), (args.gitlab_report, "gitlab"), (args.junit, "junit"), (baseline_file, "json"),
    )  # fmt: skip
    ci.write_reports(report, [(path, renderer(name)) for path, name in reports if path])
    ci.append_step_summary(report, context)
    return ExitCode.of(report)


def _color(args: argparse.Namespace, stream: TextIO) -> bool:
    return ci.color_wanted(args.color, stream, os.environ)


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
    """--format (alias --output-format, ruff's spelling), --color, -q and the side-report flags: check and diff."""
    choices = ["auto", *formats]
    parser.add_argument(
        "--format",
        "--output-format",
        choices=choices,
        default="auto",
        metavar="FORMAT",
        help=f"{', '.join(choices)}; {default_help}",
    )
    parser.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour severities (default auto: on a terminal, unless NO_COLOR is set; FORCE_COLOR forces it)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="text output: only the findings that fail the run")
    for flag, what in SIDE_REPORTS:
        parser.add_argument(flag, metavar="FILE", help=f"also write a {what} report to FILE")
