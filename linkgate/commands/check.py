"""`linkgate check PATH...`: judge artifacts against a policy (the CLI layer)."""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from collections.abc import Callable
from typing import Any

from linkgate.check import ci, progress
from linkgate.check.discover import Candidate, discover
from linkgate.check.scan import ScanOptions, check_each
from linkgate.commands.shared import add_output_arguments, archive_limits, compiled_policy, publish
from linkgate.core.exitcodes import CannotEvaluateError, ExitCode
from linkgate.core.findings import DEFAULT_FAILING, STRICT_FAILING, ArtifactResult, Report, Severity, against_baseline
from linkgate.core.records import replace
from linkgate.core.sourcefile import BASELINE_LIMIT, SourceFileError, read_source
from linkgate.formats import FORMATS
from linkgate.formats import text as text_format
from linkgate.policy.locate import find_policy_file


class BaselineError(CannotEvaluateError):
    """The --baseline report cannot be read: the run cannot be evaluated (exit 2)."""

    prefix = "baseline error: "


def add_parser(commands: Any) -> None:
    """The `check` command on the main parser's subparsers."""
    check = commands.add_parser("check", help="evaluate artifacts against a policy (exit 1 on errors)")
    check.add_argument("paths", nargs="+", metavar="PATH", help="files or directories (recursive)")
    check.add_argument("--policy", help="policy file or preset name (default: nearest linkgate.yml, else 'default')")
    add_output_arguments(check, sorted(FORMATS), "stdout format (default auto: github under GitHub Actions, else text)")
    check.add_argument("--strict", action="store_true", help="warnings also fail the run")
    check.add_argument("--allow-empty", action="store_true", help="pass when PATHS hold no ELF file (default: exit 2)")
    check.add_argument(
        "--jobs", type=_jobs, default=None, metavar="N", help="worker processes (default: the CPU count; 1: none)"
    )
    check.add_argument("--baseline", metavar="REPORT", help="fail only on findings not in this JSON report")
    check.add_argument(
        "--write-baseline", metavar="FILE", help="write the JSON report to FILE as a baseline, and exit 0 once written"
    )
    check.add_argument(
        "--summary-file", metavar="FILE", help="also write the Markdown summary (artifact x target matrix) to FILE"
    )


def _android_member(path: str) -> bool:
    """A library of an Android package (`app.apk!lib/arm64-v8a/libfoo.so`), judged at the package's minSdk."""
    lowered = path.lower()
    return any(f".{kind}!" in lowered for kind in ("apk", "aab", "aar"))


def run(args: argparse.Namespace) -> int:
    context = ci.detect(os.environ, os.getcwd())
    known = read_baseline(args.baseline) if args.baseline else None
    policy = compiled_policy(args.policy, os.getcwd())
    candidates = ci.relative_candidates(discover(args.paths), context.workspace)
    # No policy given or found: a wheel is judged by the platform tag it promises.
    wheel_tags = args.policy is None and find_policy_file(os.getcwd()) is None
    options = ScanOptions(policy, datetime.date.today(), jobs=args.jobs, archive_limits=archive_limits(os.environ),
                          wheel_tags=wheel_tags)  # fmt: skip
    failing = STRICT_FAILING if args.strict else DEFAULT_FAILING
    # JSON's finding lines are written while the workers still read: the parent idles then, and a
    # tree's thousands of lines written after them kept one core busy alone. A baseline changes
    # the findings after the scan, so its runs render the finished report.
    json_rows: list[str] | None = [] if ci.output_format(args.format, context) == "json" and known is None else None
    report = collect(policy.name, candidates, options, failing, json_rows)
    report = ci.with_policy_context(report, policy, context.workspace)
    if wheel_tags and any(".whl!" in artifact.path for artifact in report.artifacts):
        report = replace(report, policy=f"{policy.name} (wheels: their own platform tags)")
    if wheel_tags and any(_android_member(artifact.path) for artifact in report.artifacts):
        report = replace(report, policy=f"{report.policy} (Android packages: their manifest's minSdk)")
    if wheel_tags and report.images:
        report = replace(report, policy=f"{report.policy} (images: their own files)")
    if not report.artifacts and not args.allow_empty:
        # `dist/*.whl`, an empty build directory: nothing was checked, so nothing may pass.
        raise CannotEvaluateError(f"no ELF artifacts found in {' '.join(args.paths)} (--allow-empty to pass)")
    if known is not None:
        report = against_baseline(report, known)
    if context.step_summary is not None or args.summary_file:
        report = _with_summary(report, candidates, args.summary_file)
    code = publish(report, args, context, text_format.summary, baseline_file=args.write_baseline, json_rows=json_rows)
    if args.write_baseline:
        # Writing the first baseline is adopting the gate: the job that writes it succeeds.
        held = len(report.findings)  # the active ones: a waived finding is not known (formats.json)
        print(f"linkgate: baseline written to {args.write_baseline}: {held} finding(s)", file=sys.stderr)
        return ExitCode.OK
    return code


def _with_summary(report: Report, candidates: list[Candidate], summary_file: str | None) -> Report:
    """The report with its artifact x target matrix; written to --summary-file (a GitLab MR's view)."""
    # Imported here: only runs that write a summary read the artifacts again for its matrix.
    from linkgate.check.target_matrix import with_target_matrix  # noqa: PLC0415 - lazy: start-up
    from linkgate.formats import github_summary  # noqa: PLC0415 - lazy: start-up

    report = with_target_matrix(report, candidates)
    ci.write_reports(report, [(summary_file, github_summary.render)])
    return report


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--jobs takes a whole number of 1 or more, not {text!r}")
    return value


def read_baseline(path: str) -> frozenset[str]:
    """The fingerprints a baseline report knows; BaselineError (exit 2) when it cannot be read."""
    from linkgate.formats import json as json_format  # noqa: PLC0415 - lazy: start-up

    try:
        # Like a policy: a regular file only (not /dev/zero, not a FIFO that blocks), bounded in size.
        text = read_source(path, BASELINE_LIMIT)
        return json_format.baseline_fingerprints(text)
    except SourceFileError as error:
        # "missing.json: No such file or directory", as before sizes and types were checked.
        raise BaselineError(f"{path}: {error.message.removeprefix('cannot read: ')}") from None
    except json_format.BaselineFormatError as error:
        raise BaselineError(f"{path}: {error}") from None


def collect(
    policy_name: str,
    candidates: list[Candidate],
    options: ScanOptions,
    failing: frozenset[Severity],
    json_rows: list[str] | None = None,
) -> Report:
    """The report of checking `candidates`; `json_rows`, when given, gets the JSON report's finding
    lines as results arrive (formats.json.artifact_rows)."""
    add_json_rows = None if json_rows is None else _json_rows_adder(json_rows, failing)
    results: list[ArtifactResult] = []
    skipped = 0
    # One item per candidate (an archive yields all its members at once): progress counts files.
    checked = check_each(candidates, options)
    if not progress.wanted(sys.stderr, os.environ):
        checked = progress.ticked(checked, len(candidates), sys.stderr)  # a CI log or a pipe: plain lines
    elif len(candidates) >= progress.MIN_FILES:
        checked = progress.counted(checked, len(candidates), sys.stderr)
    for found in checked:
        results.extend(found)
        skipped += not found
        if add_json_rows is not None:
            add_json_rows(found)
    return Report(policy=policy_name, artifacts=tuple(results), skipped=skipped, failing=failing)


def _json_rows_adder(rows: list[str], failing: frozenset[Severity]) -> Callable[[tuple[ArtifactResult, ...]], None]:
    """What appends one candidate's JSON finding lines to `rows`; the renderer imported once, not per result."""
    from linkgate.formats import json as json_format  # noqa: PLC0415 - lazy: start-up

    def add(found: tuple[ArtifactResult, ...]) -> None:
        for artifact in found:
            rows.extend(json_format.artifact_rows(artifact, failing))

    return add
