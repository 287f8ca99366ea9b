"""The rules a report's findings come from, for the formats that describe rules (SARIF, JUnit).

`check` reports come from the policy rules; `diff` reports from the diff rules (and
elf-format, for files that cannot be read). A report shows which by its rule ids.
"""

from __future__ import annotations

from linkgate.diff.catalogue import DIFF_RULES, DIFF_RULES_BY_ID
from linkgate.findings import Report
from linkgate.rules import ALL_RULES, elf_format
from linkgate.rules.base import Rule

# Every rule id in one order: the check rules, then the diff rules.
KNOWN_RULES: tuple[Rule, ...] = (*ALL_RULES, *DIFF_RULES)


def rules_of(report: Report) -> tuple[Rule, ...]:
    """The catalogue to describe `report` with: the diff rules for a diff, else the check rules."""
    ids = set(report.rules) | {f.rule for a in report.artifacts for f in a.findings}
    if ids & DIFF_RULES_BY_ID.keys():
        return (elf_format.RULE, *DIFF_RULES)
    return ALL_RULES
