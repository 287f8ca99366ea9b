"""Read both builds once, pair their ELF files, compare each pair: ArtifactResults of Findings.

A change the policy counts as worse is an error; every other change is a note, so the
report shows what changed and the verdict (Report.passed) says whether it got worse.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from linkgate.check.discover import Candidate
from linkgate.check.evaluate import evaluate
from linkgate.check.pairing import members, pair
from linkgate.check.scan import NotElfError, read_candidate
from linkgate.check.shipping import Shipped, collect_shipped, site_of
from linkgate.core.findings import DEFAULT_FAILING, ArtifactResult, Finding, Severity
from linkgate.core.records import record, replace
from linkgate.diff import artifacts, packing
from linkgate.diff.catalogue import COMPARISONS
from linkgate.diff.change import Build, Change
from linkgate.diff.release import Release, added_regressions, release_of
from linkgate.elf.hardening import with_hardening
from linkgate.elf.image import ElfFormatError
from linkgate.policy.compiled import CompiledDiff, CompiledPolicy
from linkgate.profiles.index import TargetIndex
from linkgate.rules import elf_format
from linkgate.rules.target import judge

if TYPE_CHECKING:
    from linkgate.check.archive_scan import MemberFacts


@record
class Side:
    """What the user named (OLD or NEW) and the files found there."""

    root: str
    candidates: Sequence[Candidate]


@record
class Unreadable:
    path: str
    reason: str


Entry = Build | Unreadable


@record
class Diff:
    results: tuple[ArtifactResult, ...]
    skipped: int  # files of either side that are not ELF


def _key(candidate: Candidate) -> tuple[str, str | None]:
    """Entries are kept by file, and by member for an archive's members."""
    return candidate.fs_path, candidate.member


def diff(
    old: Side,
    new: Side,
    explicit: Sequence[tuple[str, str]],
    policy: CompiledPolicy,
    profiles: Mapping[str, TargetIndex],
    *,
    today: datetime.date,
) -> Diff:
    """Every pair compared, then what only one side has. PairingError for a --pair that names nothing.

    A new file is judged against the release as a whole (linkgate.diff.release) and by the policy."""
    settings = policy.diff
    old_entries, old_found, old_skipped = _read(old, profiles)
    new_entries, new_found, new_skipped = _read(new, profiles)
    old_members, new_members = members(old.root, old_found), members(new.root, new_found)
    pairing = pair(old_members, new_members, explicit)
    results = [_compare(old_entries[_key(o.candidate)], new_entries[_key(n.candidate)], settings)
               for o, n in pairing.pairs]  # fmt: skip
    results += [_alone(old_entries[_key(m.candidate)], m.key, settings, removed=True) for m in pairing.removed]
    released = release_of(e for e in old_entries.values() if isinstance(e, Build))
    added = _Added(policy, today, released)
    results += [added.judged(new_entries[_key(m.candidate)], m.key) for m in pairing.added]
    return Diff(tuple(results), old_skipped + new_skipped)


@record
class _Added:
    """How a file of NEW without a counterpart is judged: by the policy, and against the old release."""

    policy: CompiledPolicy
    today: datetime.date
    release: Release | None

    def judged(self, entry: Entry, key: str) -> ArtifactResult:
        result = _alone(entry, key, self.policy.diff, removed=False)
        if isinstance(entry, Unreadable):
            return result
        failures = self._failures(entry)
        found = [self._policy_failure(entry, failures)] if failures else []
        if self.release is not None:
            changes = added_regressions(entry, self.release, self.policy.diff)
            found += [_finding(rule, entry.path, change, self.policy.diff) for rule, change in changes]
        return replace(result, findings=(*result.findings, *found))

    def _failures(self, entry: Build) -> list[Finding]:
        findings = evaluate(entry.path, entry.facts, self.policy, self.today, entry.site)
        return [f for f in findings if f.severity in DEFAULT_FAILING and f.waived_by is None]

    def _policy_failure(self, entry: Build, failures: list[Finding]) -> Finding:
        first, *more = failures
        also = f" (and {len(more)} more)" if more else ""
        change = artifacts.failing(self.policy.name, f"[{first.rule}] {first.message}{also}")
        return _finding(artifacts.RULE.id, entry.path, change, self.policy.diff)


Entries = dict[tuple[str, str | None], Entry]


def _read(side: Side, profiles: Mapping[str, TargetIndex]) -> tuple[Entries, list[Candidate], int]:
    """Build (or Unreadable) of every ELF file and archive member of the side, the candidates they
    are (an archive's members as candidates of their own), and the count of the other files."""
    shipped = collect_shipped(side.candidates) if profiles else Shipped()
    entries: Entries = {}
    found: list[Candidate] = []
    skipped = 0
    for candidate in side.candidates:
        try:
            if candidate.image_layout:
                raise NotElfError(candidate.display)
            entries[_key(candidate)] = _build(candidate, profiles, shipped)
            found.append(candidate)
        except NotElfError as not_elf:
            inside = _members(candidate, not_elf.head, profiles)
            skipped += not inside
            for member, entry in inside:
                entries[_key(member)] = entry
                found.append(member)
        except ElfFormatError as error:
            entries[_key(candidate)] = Unreadable(candidate.display, str(error))
            found.append(candidate)
    return entries, found, skipped


def _members(candidate: Candidate, head: bytes, profiles: Mapping[str, TargetIndex]) -> list[tuple[Candidate, Entry]]:
    """The archive's ELF members as candidates with their entries; [] when it is no archive."""
    if head == b"" and not candidate.image_layout:
        return []
    from linkgate.archives.limits import limits_from  # noqa: PLC0415 - lazy: start-up
    from linkgate.check.archive_scan import archive_members  # noqa: PLC0415 - lazy: start-up

    read = archive_members(candidate, head, limits_from(os.environ), bool(profiles), (with_hardening,)) or []
    return [(replace(candidate, display=m.display, member=m.member), _member_entry(m, profiles)) for m in read]


def _member_entry(member: MemberFacts, profiles: Mapping[str, TargetIndex]) -> Entry:
    if member.facts is None:
        return Unreadable(member.display, member.error or "")
    judged = member.facts.payload or member.facts
    verdicts = {name: tuple(v.subject for v in judge(judged, p, member.site)) for name, p in profiles.items()}
    return Build(member.display, member.facts, verdicts, member.site)


def _build(candidate: Candidate, profiles: Mapping[str, TargetIndex], shipped: Shipped) -> Build:
    # Every symbol joined (no selection): a rising floor names the symbols that raised it.
    facts = with_hardening(candidate.fs_path, read_candidate(candidate, want_symbols=None))
    judged = facts.payload or facts
    site = site_of(candidate, shipped)
    verdicts = {name: tuple(v.subject for v in judge(judged, profile, site)) for name, profile in profiles.items()}
    return Build(candidate.display, facts, verdicts, site)


def _compare(old: Entry, new: Entry, settings: CompiledDiff) -> ArtifactResult:
    if isinstance(old, Unreadable) or isinstance(new, Unreadable):
        broken = [_unreadable(e, e is old) for e in (old, new) if isinstance(e, Unreadable)]
        return ArtifactResult(new.path, tuple(broken))
    findings: list[Finding] = []
    # A packed file whose payload cannot be read: only diff-upx can say anything true about it.
    seen = old.seen_through and new.seen_through
    comparisons = COMPARISONS if seen else [(rule, c) for rule, c in COMPARISONS if rule == packing.RULE.id]
    for rule, compare in comparisons:
        findings += (_finding(rule, new.path, change, settings) for change in compare(old, new, settings))
    # Most severe first; within a severity, the rules' order (what a user feels most first).
    findings.sort(key=lambda finding: finding.severity is not Severity.ERROR)
    return ArtifactResult(new.path, tuple(findings))


def _alone(entry: Entry, key: str, settings: CompiledDiff, removed: bool) -> ArtifactResult:
    if isinstance(entry, Unreadable):
        return ArtifactResult(entry.path, (_unreadable(entry, old_side=removed),))
    change = artifacts.removed(key) if removed else artifacts.added(key)
    return ArtifactResult(entry.path, (_finding(artifacts.RULE.id, entry.path, change, settings),))


def _finding(rule: str, path: str, change: Change, settings: CompiledDiff) -> Finding:
    """Worse changes are errors, unless `diff.ignore` lists their kind; everything else is a note."""
    message = change.message
    worse = change.kind is not None and change.kind not in settings.ignore
    if change.kind is not None and not worse:
        message += f" [not failing: diff.ignore lists {change.kind}]"
    severity = Severity.ERROR if worse else Severity.NOTE
    return Finding(rule, path, severity, change.subject, message, change.hint, change.symbols)


def _unreadable(entry: Unreadable, old_side: bool) -> Finding:
    """Fail closed: a file that cannot be read cannot be compared."""
    violation = elf_format.unreadable(entry.reason)
    side = "the old build: " if old_side else ""
    return Finding(elf_format.RULE.id, entry.path, Severity.ERROR, violation.subject, side + violation.message,
                   violation.hint)  # fmt: skip
