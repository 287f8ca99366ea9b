"""`linkgate explain [RULE]`: a rule's documentation, or the list of rules (the CLI layer)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from linkgate.core.exitcodes import ExitCode
from linkgate.rules import RULES_BY_ID


def add_parser(commands: Any) -> None:
    """The `explain` command on the main parser's subparsers."""
    explain = commands.add_parser("explain", help="show a rule's documentation (without RULE: list the rules)")
    explain.add_argument("rule", nargs="?", metavar="RULE")


def run(args: argparse.Namespace) -> int:
    from linkgate.diff import catalogue as diff_catalogue  # noqa: PLC0415 - lazy: start-up
    from linkgate.rules import docs  # noqa: PLC0415 - lazy: start-up

    if args.rule is None:
        sys.stdout.write(docs.rule_list() + diff_catalogue.rule_list())
        return ExitCode.OK
    rule = RULES_BY_ID.get(args.rule) or diff_catalogue.DIFF_RULES_BY_ID.get(args.rule)
    if rule is None:
        print(f"linkgate: {docs.unknown_rule(args.rule)}", file=sys.stderr)
        return ExitCode.CANNOT_EVALUATE
    sys.stdout.write(docs.explanation(rule))
    return ExitCode.OK
