"""Rule documentation from the rules' docstrings: `linkgate explain` and the README's rule table.

One text, three places: the rule module's docstring is what `linkgate explain
RULE` prints, and its first line is the rule's row in the README table, which
`python -m linkgate.rules.docs` rewrites between the markers (`--check` only
compares, for CI and tests).
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Sequence
from pathlib import Path

from linkgate.rules import ALL_RULES, RULES_BY_ID
from linkgate.rules.base import Rule

START, END = "<!-- rules:start -->", "<!-- rules:end -->"


def explanation(rule: Rule) -> str:
    """The rule's full documentation, as written in its module."""
    return inspect.cleandoc(rule.doc) + "\n"


def summary(rule: Rule) -> str:
    """The first line of the documentation without the leading `rule-id:`."""
    return rule.summary.removeprefix(f"{rule.id}:").strip()


def rule_list() -> str:
    """Every rule with its summary, in catalogue order."""
    width = max(len(rule.id) for rule in ALL_RULES)
    lines = [f"  {rule.id:<{width}}  {summary(rule)}" for rule in ALL_RULES]
    return "rules:\n" + "\n".join(lines) + "\n\n`linkgate explain RULE` shows a rule's documentation.\n"


def unknown_rule(name: str) -> str:
    return f"unknown rule {name!r} (known: {', '.join(RULES_BY_ID)})"


def rules_table() -> str:
    """The Markdown table that stands between the markers."""
    rows = [f"| `{rule.id}` | {_cell(summary(rule))} |" for rule in ALL_RULES]
    return "\n".join(["| rule | what it checks |", "|---|---|", *rows])


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def with_table(text: str) -> str:
    """`text` with the rule table between its markers replaced; ValueError when a marker is missing."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"no {START} ... {END} markers")
    return text[: start + len(START)] + "\n" + rules_table() + "\n" + text[end:]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m linkgate.rules.docs", description="Rewrite the rule table in README.md."
    )
    parser.add_argument("files", nargs="*", default=["README.md"], help="files with the markers")
    parser.add_argument("--check", action="store_true", help="exit 1 when a file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for name in args.files:
        path = Path(name)
        text = path.read_text(encoding="utf-8")
        updated = with_table(text)
        if updated != text:
            stale.append(name)
            if not args.check:
                path.write_text(updated, encoding="utf-8")
    verb = "out of date" if args.check else "updated"
    for name in stale:
        print(f"{name}: rule table {verb}", file=sys.stderr)
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
