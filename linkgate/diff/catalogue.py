"""The diff rules, in the order their findings are reported: what a user feels most first."""

from __future__ import annotations

from linkgate.diff import artifacts, floor, go, hardening, linkage, machine, needed, packing, search_path, targets
from linkgate.diff.change import Comparison
from linkgate.rules.base import Rule

# (rule id, comparison) for every pair of artifacts, in report order.
COMPARISONS: tuple[tuple[str, Comparison], ...] = (
    (linkage.RULE.id, linkage.compare),
    (floor.RULE.id, floor.compare),
    (needed.RULE.id, needed.compare),
    (search_path.RULE.id, search_path.compare),
    (packing.RULE.id, packing.compare),
    (targets.RULE.id, targets.compare),
    (go.RULE.id, go.compare),
    (machine.RULE.id, machine.compare),
    (hardening.RULE.id, hardening.compare),
)

DIFF_RULES: tuple[Rule, ...] = (
    linkage.RULE, floor.RULE, needed.RULE, search_path.RULE, packing.RULE, targets.RULE, go.RULE, hardening.RULE,
    artifacts.RULE, machine.RULE,
)  # fmt: skip
DIFF_RULES_BY_ID = {rule.id: rule for rule in DIFF_RULES}


def rule_list() -> str:
    """`linkgate explain` without a rule: the diff rules, on one line after the check rules' table."""
    return f"Rules of `linkgate diff OLD NEW`: {', '.join(rule.id for rule in DIFF_RULES)}.\n"
