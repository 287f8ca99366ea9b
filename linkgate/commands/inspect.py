"""`linkgate inspect PATH...`: the loader's view of artifacts (the CLI layer)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from linkgate.check.discover import discover
from linkgate.core.exitcodes import ExitCode


def add_parser(commands: Any) -> None:
    """The `inspect` command on the main parser's subparsers."""
    inspect = commands.add_parser("inspect", help="show the loader's view of artifacts")
    inspect.add_argument("paths", nargs="+", metavar="PATH")
    inspect.add_argument("--format", "--output-format", choices=["text", "json"], default="text")


def run(args: argparse.Namespace) -> int:
    from linkgate.check.inspection import inspect_candidates  # noqa: PLC0415 - lazy: start-up

    output, readable = inspect_candidates(discover(args.paths), args.format)
    sys.stdout.write(output)
    return ExitCode.OK if readable else ExitCode.FINDINGS
