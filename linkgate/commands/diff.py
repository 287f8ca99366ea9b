"""`linkgate diff OLD NEW`: arguments and wiring of the build-to-build comparison (the CLI layer)."""

from __future__ import annotations

import argparse
import datetime
import os
from typing import TYPE_CHECKING, Any

from linkgate.check import ci
from linkgate.check.discover import Candidate, MissingPathError, discover
from linkgate.commands.shared import add_output_arguments, archive_limits, compiled_policy, publish
from linkgate.core.findings import Report
from linkgate.formats import FORMATS
from linkgate.formats import text as text_format
from linkgate.rules import elf_format

if TYPE_CHECKING:
    from linkgate.policy.compiled import CompiledPolicy


def add_parser(commands: Any) -> None:
    """The `diff` command on the main parser's subparsers; stdout formats and side reports as for check."""
    diff = commands.add_parser(
        "diff", help="what got worse from OLD to NEW (exit 1): linkage, floors, libraries, UPX, targets, Go"
    )
    diff.add_argument("old", metavar="OLD", help="the previous build: a file or a directory")
    diff.add_argument("new", metavar="NEW", help="the new build: a file or a directory")
    diff.add_argument(
        "--pair",
        action="append",
        default=[],
        metavar="OLD_PATH=NEW_PATH",
        help="compare these two (paths below OLD and NEW), e.g. a renamed binary; repeatable",
    )
    diff.add_argument("--policy", help="policy whose `diff:` key says what is tolerated (default as for check)")
    add_output_arguments(diff, sorted(FORMATS), "stdout format, as for check")


def run(args: argparse.Namespace) -> int:
    archive_limits(os.environ)  # a malformed value is named before any archive is read
    context = ci.detect(os.environ, os.getcwd())
    policy = compiled_policy(args.policy, os.getcwd())
    return publish(report(args, policy, context), args, context, text_format.diff_summary)


def report(args: argparse.Namespace, policy: CompiledPolicy, context: ci.CiContext) -> Report:
    """The diff as a Report: its changes are findings, and the report decides whether it got worse."""
    from linkgate.check.compare import Side, diff  # noqa: PLC0415 - lazy: start-up
    from linkgate.check.pairing import parse_pair  # noqa: PLC0415 - lazy: start-up
    from linkgate.diff.catalogue import DIFF_RULES  # noqa: PLC0415 - lazy: start-up
    from linkgate.policy.locate import presets_dir  # noqa: PLC0415 - lazy: start-up
    from linkgate.policy.targets import load_shipped  # noqa: PLC0415 - lazy: start-up

    explicit = [parse_pair(text) for text in args.pair]
    old, new = _side(args.old, context), _side(args.new, context)
    profiles = policy.diff.targets
    if profiles is None:
        profiles = {name: profile.index() for name, profile in load_shipped(presets_dir()).items()}
    today = datetime.date.today()
    result = diff(Side(args.old, old), Side(args.new, new), explicit, policy, profiles, today=today)
    rules = (elf_format.RULE.id, *(rule.id for rule in DIFF_RULES))
    ref = ci.policy_ref(policy, context.workspace)  # a policy file is named as the workspace spells it
    name = ref.path if ref else policy.name
    return Report(policy=name, artifacts=result.results, skipped=result.skipped, rules=rules)


def _side(path: str, context: ci.CiContext) -> list[Candidate]:
    """The files of one side, shown relative to the workspace (pairing keys come from fs_path)."""
    if not os.path.lexists(path):
        raise MissingPathError(path)
    return ci.relative_candidates(discover([path]), context.workspace)
