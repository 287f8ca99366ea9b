"""Command line: the parser, and main() routing to a command and turning failures into exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from linkgate import __version__
from linkgate.commands import check, completion, diff, explain, inspect, profile, schema
from linkgate.core.exitcodes import MEANINGS, CannotEvaluateError, ExitCode

# Each command module adds its parser and runs it; the order is the order of --help.
COMMAND_MODULES = (check, inspect, explain, profile, schema, diff, completion)
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": check.run,
    "completion": completion.run,
    "diff": diff.run,
    "explain": explain.run,
    "inspect": inspect.run,
    "profile": profile.run,
    "schema": schema.run,
}


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, told the terminal width.

    Left to find it, it imports shutil, and with it bz2, lzma and zlib, when the
    parser is built: on every start, for a width only --help and errors print with.
    """

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_columns() - 2)

    def _fill_text(self, text: str, width: int, indent: str) -> str:  # noqa: ARG002 - lines kept as written
        """Descriptions and epilogs keep their own lines (the exit code and preset lists)."""
        return "\n".join(indent + line for line in text.splitlines())


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
    """Every parser and subparser formats with _Formatter (subparsers are made of the parser's class).

    `epilog_factory` makes the epilog when help is shown: the presets are read from their files,
    which no other run needs."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(**kwargs)
        self.epilog_factory: Callable[[], str] | None = None

    def format_help(self) -> str:
        if self.epilog_factory is not None:
            self.epilog = self.epilog_factory()
        return super().format_help()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="linkgate", description="CI gate for compiled ELF artifacts.")
    parser.add_argument("--version", action="version", version=f"linkgate {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parser(commands)
    parser.epilog_factory = reference
    commands.choices["check"].epilog_factory = reference
    # `completion` writes its scripts from this parser: the commands, their options and choices.
    parser.set_defaults(parser=parser)
    return parser


def reference() -> str:
    """The exit codes and the presets, for --help."""
    lines = ["exit codes:", *(f"  {int(code)}  {meaning}" for code, meaning in MEANINGS.items()), ""]
    lines += ["presets (--policy NAME; without --policy: the nearest linkgate.yml, else default):"]
    lines += [f"  {name:<16}{description}" for name, description in preset_descriptions()]
    lines += ["", "target profiles (`target:` in a policy, or --policy NAME): linkgate profile list"]
    return "\n".join(lines)


def preset_descriptions() -> list[tuple[str, str]]:
    """(name, description) of each shipped preset, read from its file."""
    import yaml  # noqa: PLC0415 - lazy: start-up

    from linkgate.policy.locate import presets_dir  # noqa: PLC0415 - lazy: start-up

    described = []
    for path in sorted(presets_dir().glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        described.append((path.stem, str(document.get("description", "")) if isinstance(document, dict) else ""))
    return described


def run() -> NoReturn:
    """The console script and `python -m linkgate`: main(), then an exit that skips tearing down.

    A tree's report is a hundred thousand objects, and freeing them one by one at exit is a
    measurable part of a run (docs/architecture.md, "Start-up figures"). By then the report
    files are written and closed and the workers reaped; only the standard streams are flushed
    here. Output that cannot be delivered fails the run (exit 2), as it would have failed it
    when written.
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
    except CannotEvaluateError as error:
        print(f"linkgate: {error.prefix}{error}", file=sys.stderr)
    except KeyboardInterrupt:
        print("linkgate: interrupted", file=sys.stderr)
    except Exception as error:  # fail closed: an internal error must never look like a pass
        print(f"linkgate: internal error: {type(error).__name__}: {error}", file=sys.stderr)
    return ExitCode.CANNOT_EVALUATE
