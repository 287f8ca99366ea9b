"""Rules x one artifact's facts -> findings, with severities, overrides and waivers applied.

Pure: no I/O. The caller supplies `today` so waiver expiry is testable.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from linkgate.core.findings import Finding, Severity, Violation
from linkgate.core.records import replace
from linkgate.core.site import NOWHERE, Site
from linkgate.elf.facts import ElfFacts
from linkgate.policy.compiled import CompiledPolicy
from linkgate.rules import elf_format
from linkgate.rules.base import ConfiguredRule, Rule
from linkgate.rules.remedies import seen_through_upx


def evaluate(
    path: str,
    facts: ElfFacts,
    policy: CompiledPolicy,
    today: datetime.date,
    site: Site = NOWHERE,
    *,
    rules: Sequence[ConfiguredRule] | None = None,
) -> tuple[Finding, ...]:
    """Findings of every configured rule; rules that judge the payload see through UPX.

    `site` tells situated rules (target) where the artifact sits among the checked files.
    `rules` replaces the policy's rules (a wheel judged by its own tag); waivers still apply.
    """
    findings: list[Finding] = []
    blind = _unread_payload(facts)
    configured_rules = policy.rules_for(path) if rules is None else rules
    for configured in configured_rules:
        if blind and configured.judges_payload:
            continue  # judging the UPX stub instead would pass what was never read
        judged = facts.payload if configured.judges_payload and facts.payload is not None else facts
        for violation in configured.violations(judged, site):
            seen = violation if judged is facts else seen_through_upx(violation)
            finding = _finding(configured.rule, configured.severity, path, seen)
            findings.append(_waived(finding, policy, today))
    skipped = [c.rule.id for c in configured_rules if c.judges_payload] if blind else []
    if skipped:
        rule = elf_format.RULE
        finding = _finding(rule, policy.severity.get(rule.id, rule.severity), path, elf_format.unread_payload(skipped))
        findings.append(_waived(finding, policy, today))
    return tuple(findings)


def _unread_payload(facts: ElfFacts) -> bool:
    """UPX-packed, the packed program unread: what the loader will load is unknown."""
    return facts.upx is not None and facts.upx.packed and facts.payload is None


def unreadable(path: str, reason: str, policy: CompiledPolicy, today: datetime.date) -> tuple[Finding, ...]:
    """A file that looks like ELF but cannot be read fails closed."""
    return (always_on(path, elf_format.RULE, elf_format.unreadable(reason), policy, today),)


def always_on(path: str, rule: Rule, violation: Violation, policy: CompiledPolicy, today: datetime.date) -> Finding:
    """A finding of a rule no policy configures (elf-format, archive-format, wheel-tag, image-target),
    waivers applied."""
    severity = policy.severity.get(rule.id, rule.severity)
    return _waived(_finding(rule, severity, path, violation), policy, today)


class RejectedVersions:
    """The (library, version) pairs some configured rule rejects for one artifact path.

    Passed to the reader as its symbol selection, so dynsym x versym is joined
    only where a finding will name the symbols.
    """

    def __init__(self, policy: CompiledPolicy, path: str) -> None:
        self._rules = policy.rules_for(path)
        self._verdicts = policy.need_verdicts(path)

    def __contains__(self, pair: object) -> bool:
        if not isinstance(pair, tuple) or len(pair) != 2:
            return False
        verdict = self._verdicts.get(pair)
        if verdict is None:
            library, version = pair
            verdict = self._verdicts[pair] = any(rule.rejects(library, version) for rule in self._rules)
        return verdict


def _finding(rule: Rule, severity: Severity, path: str, violation: Violation) -> Finding:
    if violation.undetermined:
        severity = Severity.NOTE
    return Finding(
        rule=rule.id,
        path=path,
        severity=_lowered(severity) if violation.advisory else severity,
        subject=violation.subject,
        message=violation.message,
        hint=violation.hint,
        symbols=violation.symbols,
    )


def _waived(finding: Finding, policy: CompiledPolicy, today: datetime.date) -> Finding:
    """The finding as a matching waiver leaves it: waived, or still failing with the expiry said."""
    waiver = policy.waiver_for(finding.rule, finding.path, finding.subject)
    if waiver is None:
        return finding
    if waiver.expired(today):
        assert waiver.expires is not None
        message = f"{finding.message} (waiver expired {waiver.expires.isoformat()}: {waiver.reason})"
        return replace(finding, message=message)
    return replace(finding, waived_by=waiver.reason)


def _lowered(severity: Severity) -> Severity:
    """An advisory violation (the loader accepts the artifact anyway) is one severity lower."""
    return severity if severity is Severity.NOTE else list(Severity)[severity.rank + 1]
