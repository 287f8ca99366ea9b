"""Command line: parse arguments, wire the layers, choose the exit code. Nothing else."""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from linkgate import __version__, ci, progress
from linkgate.commands import diff as diff_command
from linkgate.commands import profile as profile_command
from linkgate.commands import schema as schema_command
from linkgate.discover import Candidate, MissingPathError, discover
from linkgate.exitcodes import CannotEvaluateError, ExitCode
from linkgate.findings import DEFAULT_FAILING, STRICT_FAILING, ArtifactResult, Report, Severity, against_baseline
from linkgate.formats import FORMATS, renderer
from linkgate.formats import text as text_format
from linkgate.policy.cache import cache_dir, cached_policy
from linkgate.policy.compiled import CompiledPolicy
from linkgate.policy.errors import PolicyError
from linkgate.policy.locate import find_policy_file
from linkgate.profiles.errors import ProfileError
from linkgate.records import replace
from linkgate.rules import RULES_BY_ID
from linkgate.scan import ScanOptions, check_each

if TYPE_CHECKING:
    from linkgate.archives.limits import Limits

# Bounds on reading archives (linkgate.archives.limits.ENVIRONMENT).
ARCHIVE_LIMITS = "LINKGATE_ARCHIVE_LIMITS"


class BaselineError(Exception):
    """The --baseline report cannot be read: the run cannot be evaluated (exit 2)."""


# Side outputs, so one run feeds every consumer (code scanning, MR widgets, the log).
SIDE_REPORTS = (("--sarif", "SARIF 2.1.0"), ("--gitlab-report", "GitLab Code Quality"), ("--junit", "JUnit XML"))


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, told the terminal width.

    Left to find it, it imports shutil, and with it bz2, lzma and zlib, when the
    parser is built: on every start, for a width only --help and errors print with.
    """

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_columns() - 2)


def _columns() -> int:
    """The terminal's width as shutil.get_terminal_size tells it: $COLUMNS, the terminal's, else 80."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


class _Parser(argparse.ArgumentParser):
    """Every parser and subparser formats with _Formatter (subparsers are made of the parser's class)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(**kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="linkgate", description="CI gate for compiled ELF artifacts.")
    parser.add_argument("--version", action="version", version=f"linkgate {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser("check", help="evaluate artifacts against a policy (exit 1 on errors)")
    check.add_argument("paths", nargs="+", metavar="PATH", help="files or directories (recursive)")
    check.add_argument("--policy", help="policy file or preset name (default: nearest linkgate.yml, else 'default')")
    check.add_argument(
        "--format",
        choices=["auto", *sorted(FORMATS)],
        default="auto",
        help="stdout format (default auto: github under GitHub Actions, else text)",
    )
    for flag, what in SIDE_REPORTS:
        check.add_argument(flag, metavar="FILE", help=f"also write a {what} report to FILE")
    check.add_argument("--strict", action="store_true", help="warnings also fail the run")
    check.add_argument("--allow-empty", action="store_true", help="pass when PATHS hold no ELF file (default: exit 2)")
    check.add_argument(
        "--jobs", type=_jobs, default=None, metavar="N", help="worker processes (default: the CPU count; 1: none)"
    )
    check.add_argument("--baseline", metavar="REPORT", help="fail only on findings not in this JSON report")
    check.add_argument("--write-baseline", metavar="FILE", help="also write the JSON report to FILE, as a baseline")
    inspect = commands.add_parser("inspect", help="show the loader's view of artifacts")
    inspect.add_argument("paths", nargs="+", metavar="PATH")
    inspect.add_argument("--format", choices=["text", "json"], default="text")
    explain = commands.add_parser("explain", help="show a rule's documentation (without RULE: list the rules)")
    explain.add_argument("rule", nargs="?", metavar="RULE")
    profile_command.add_parser(commands)
    schema_command.add_parser(commands)
    diff_command.add_parser(commands, sorted(FORMATS), SIDE_REPORTS)
    return parser


def run() -> NoReturn:
    """The console script and `python -m linkgate`: main(), then an exit that skips tearing down.

    A tree's report is a hundred thousand objects, and freeing them one by one at exit took
    ~10 ms of a 300 ms run. By then the report files are written and closed and the workers
    reaped; only the standard streams are flushed here. Output that cannot be delivered fails
    the run (exit 2), as it would have failed it when written.
    """
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        code = max(code, ExitCode.CANNOT_EVALUATE)
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # argparse: --help/--version exit 0, usage errors exit 2
        return int(stop.code or 0)
    try:
        return COMMANDS[args.command](args)
    except (MissingPathError, PolicyError, ProfileError, BaselineError) as error:
        prefix = next(text for kind, text in _ERROR_PREFIX.items() if isinstance(error, kind))
        print(f"linkgate: {prefix}{error}", file=sys.stderr)
    except CannotEvaluateError as error:
        print(f"linkgate: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        print("linkgate: interrupted", file=sys.stderr)
    except Exception as error:  # fail closed: an internal error must never look like a pass
        print(f"linkgate: internal error: {type(error).__name__}: {error}", file=sys.stderr)
    return ExitCode.CANNOT_EVALUATE


_ERROR_PREFIX: dict[type[Exception], str] = {
    MissingPathError: "no such file or directory: ",
    PolicyError: "policy error: ",
    ProfileError: "policy error: ",
    BaselineError: "baseline error: ",
}


def run_check(args: argparse.Namespace) -> int:
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
    if not report.artifacts and not args.allow_empty:
        # `dist/*.whl`, an empty build directory: nothing was checked, so nothing may pass.
        raise CannotEvaluateError(f"no ELF artifacts found in {' '.join(args.paths)} (--allow-empty to pass)")
    if known is not None:
        report = against_baseline(report, known)
    return publish(report, args, context, text_format.summary, baseline_file=args.write_baseline, json_rows=json_rows)


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

    `json_rows`: the JSON report's finding lines, written as the results came (collect).
    """
    output = ci.output_format(args.format, context)
    if json_rows is not None:
        from linkgate.formats import json as json_format  # noqa: PLC0415 - see formats.renderer

        sys.stdout.write(json_format.assemble(report, json_rows))
    else:
        sys.stdout.write(renderer(output)(report))
    if output in ("text", "github"):
        print(summary(report), file=sys.stderr)
    reports = ((args.sarif, "sarif"), (args.gitlab_report, "gitlab"), (args.junit, "junit"), (baseline_file, "json"))
    ci.write_reports(report, [(path, renderer(name)) for path, name in reports if path])
    ci.append_step_summary(report, context)
    return ExitCode.of(report)


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
    from linkgate.formats import json as json_format  # noqa: PLC0415 - only runs with --baseline pay for it

    try:
        with open(path, encoding="utf-8") as handle:
            return json_format.baseline_fingerprints(handle.read())
    except OSError as error:
        raise BaselineError(f"{path}: {error.strerror}") from None
    except (UnicodeDecodeError, json_format.BaselineFormatError) as error:
        raise BaselineError(f"{path}: {error}") from None


def run_diff(args: argparse.Namespace) -> int:
    from linkgate.diff.pairing import PairingError  # noqa: PLC0415 - diff's modules stay off check's start-up

    archive_limits(os.environ)  # a malformed value is named before any archive is read
    context = ci.detect(os.environ, os.getcwd())
    policy = compiled_policy(args.policy, os.getcwd())
    try:
        report = diff_command.report(args, policy, context)
    except PairingError as error:
        print(f"linkgate: {error}", file=sys.stderr)
        return ExitCode.CANNOT_EVALUATE
    return publish(report, args, context, text_format.diff_summary)


def archive_limits(environ: Mapping[str, str]) -> Limits | None:
    """LINKGATE_ARCHIVE_LIMITS (None when unset: the defaults); CannotEvaluateError (exit 2) when malformed."""
    if not environ.get(ARCHIVE_LIMITS):
        return None
    from linkgate.archives.limits import limits_from  # noqa: PLC0415 - only archives need it: start-up time

    try:
        return limits_from(environ)
    except ValueError as error:
        raise CannotEvaluateError(str(error)) from None


def compiled_policy(spec: str | None, cwd: str) -> CompiledPolicy:
    """The policy to check with: from the cache while its files are unchanged, else loaded and validated."""
    found = find_policy_file(cwd) if spec is None else None
    key = f"{spec!r}|{found}|{cwd}"

    def load() -> CompiledPolicy:
        # Imported only on a cache miss: YAML parsing and validation (and pathlib) cost start-up time.
        from pathlib import Path  # noqa: PLC0415

        from linkgate.policy.loader import load_policy  # noqa: PLC0415

        return load_policy(spec, Path(cwd))

    return cached_policy(key, cache_dir(os.environ), load)


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
    if len(candidates) >= progress.MIN_FILES and progress.wanted(sys.stderr, os.environ):
        checked = progress.counted(checked, len(candidates), sys.stderr)
    for found in checked:
        results.extend(found)
        skipped += not found
        if add_json_rows is not None:
            add_json_rows(found)
    return Report(policy=policy_name, artifacts=tuple(results), skipped=skipped, failing=failing)


def _json_rows_adder(rows: list[str], failing: frozenset[Severity]) -> Callable[[tuple[ArtifactResult, ...]], None]:
    """What appends one candidate's JSON finding lines to `rows`; the renderer imported once, not per result."""
    from linkgate.formats import json as json_format  # noqa: PLC0415 - see formats.renderer

    def add(found: tuple[ArtifactResult, ...]) -> None:
        for artifact in found:
            rows.extend(json_format.artifact_rows(artifact, failing))

    return add


def run_explain(args: argparse.Namespace) -> int:
    from linkgate import docs  # noqa: PLC0415 - docs imports inspect, which check does not need
    from linkgate.diff import catalogue as diff_catalogue  # noqa: PLC0415 - see run_diff

    if args.rule is None:
        sys.stdout.write(docs.rule_list() + diff_catalogue.rule_list())
        return ExitCode.OK
    rule = RULES_BY_ID.get(args.rule) or diff_catalogue.DIFF_RULES_BY_ID.get(args.rule)
    if rule is None:
        print(f"linkgate: {docs.unknown_rule(args.rule)}", file=sys.stderr)
        return ExitCode.CANNOT_EVALUATE
    sys.stdout.write(docs.explanation(rule))
    return ExitCode.OK


def run_inspect(args: argparse.Namespace) -> int:
    # Imported here: pyelftools (section facts) costs start-up time `check` does not need.
    from linkgate.inspect import inspect_candidates  # noqa: PLC0415

    output, readable = inspect_candidates(discover(args.paths), args.format)
    sys.stdout.write(output)
    return ExitCode.OK if readable else ExitCode.FINDINGS


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": run_check,
    "diff": run_diff,
    "explain": run_explain,
    "inspect": run_inspect,
    "profile": profile_command.run,
    "schema": schema_command.run,
}
