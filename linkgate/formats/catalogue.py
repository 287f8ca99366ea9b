"""The rules a report's findings come from, for the formats that describe rules (SARIF, JUnit).

`check` reports come from the policy rules; `diff` reports from the diff rules (and
elf-format, for files that cannot be read). A report shows which by its rule ids. The diff
rules are imported on first use: `check` does not pay for them at start-up.
"""

from __future__ import annotations

import functools

from linkgate.core.findings import Report
from linkgate.rules import ALL_RULES, elf_format
from linkgate.rules.base import Rule


@functools.cache
def _diff_rules() -> tuple[Rule, ...]:
    from linkgate.diff.catalogue import DIFF_RULES  # noqa: PLC0415 - lazy: start-up

    return DIFF_RULES


@functools.cache
def order() -> dict[str, int]:
    """Every rule id in one order: the check rules, then the diff rules."""
    return {rule.id: index for index, rule in enumerate((*ALL_RULES, *_diff_rules()))}


def rules_of(report: Report) -> tuple[Rule, ...]:
    """The catalogue to describe `report` with: the diff rules for a diff, else the check rules."""
    ids = set(report.rules) | {f.rule for a in report.artifacts for f in a.findings}
    if ids <= {rule.id for rule in ALL_RULES}:
        return ALL_RULES
    return (elf_format.RULE, *_diff_rules())
