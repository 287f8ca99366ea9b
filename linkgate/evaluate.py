"""Rules x one artifact's facts -> findings, with severities, overrides and waivers applied.

Pure: no I/O. The caller supplies `today` so waiver expiry is testable.
"""

from __future__ import annotations

import datetime
from dataclasses import replace
from fnmatch import fnmatchcase

from linkgate.elf.facts import ElfFacts
from linkgate.findings import Finding, Severity, Violation
from linkgate.policy.model import Waiver
from linkgate.policy.resolved import Policy
from linkgate.rules import elf_format
from linkgate.rules.base import Rule
from linkgate.rules.globs import matches_path
from linkgate.rules.remedies import seen_through_upx
from linkgate.site import NOWHERE, Site


def evaluate(
    path: str, facts: ElfFacts, policy: Policy, today: datetime.date, site: Site = NOWHERE
) -> tuple[Finding, ...]:
    """Findings of every configured rule; rules that judge the payload see through UPX.

    `site` tells situated rules (target) where the artifact sits among the checked files.
    """
    findings: list[Finding] = []
    for rule, setting in policy.settings_for(path):
        judged = facts.payload if rule.judges_payload and facts.payload is not None else facts
        for violation in rule.check(judged, (setting, site) if rule.situated else setting):
            seen = violation if judged is facts else seen_through_upx(violation)
            findings.append(_finding(rule, path, seen, policy, today))
    return tuple(findings)


def unreadable(path: str, reason: str, policy: Policy, today: datetime.date) -> tuple[Finding, ...]:
    """A file that looks like ELF but cannot be read fails closed."""
    return (_finding(elf_format.RULE, path, elf_format.unreadable(reason), policy, today),)


class RejectedVersions:
    """The (library, version) pairs some configured rule rejects for one artifact path.

    Passed to the reader as its symbol selection, so dynsym x versym is joined
    only where a finding will name the symbols.
    """

    def __init__(self, policy: Policy, path: str) -> None:
        self._checks = [
            (rule.rejects_version, setting)
            for rule, setting in policy.settings_for(path)
            if rule.rejects_version is not None
        ]

    def __contains__(self, pair: object) -> bool:
        if not isinstance(pair, tuple) or len(pair) != 2:
            return False
        library, version = pair
        return any(rejects(setting, library, version) for rejects, setting in self._checks)


def _finding(rule: Rule, path: str, violation: Violation, policy: Policy, today: datetime.date) -> Finding:
    finding = Finding(
        rule=rule.id,
        path=path,
        severity=_severity(rule, violation, policy),
        subject=violation.subject,
        message=violation.message,
        hint=violation.hint,
        symbols=violation.symbols,
    )
    waiver = _waiver_for(finding, policy.waivers)
    if waiver is None:
        return finding
    if waiver.expires is not None and waiver.expires < today:
        message = f"{finding.message} (waiver expired {waiver.expires.isoformat()}: {waiver.reason})"
        return replace(finding, message=message)
    return replace(finding, waived_by=waiver.reason)


def _severity(rule: Rule, violation: Violation, policy: Policy) -> Severity:
    severity = Severity(policy.severity.get(rule.id, rule.severity.value))
    if violation.advisory and severity is not Severity.NOTE:
        return list(Severity)[severity.rank + 1]
    return severity


def _waiver_for(finding: Finding, waivers: tuple[Waiver, ...]) -> Waiver | None:
    for waiver in waivers:
        if (
            waiver.rule == finding.rule
            and matches_path(finding.path, waiver.paths)
            and fnmatchcase(finding.subject, waiver.subject)
        ):
            return waiver
    return None
