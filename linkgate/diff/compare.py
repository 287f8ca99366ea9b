"""Read both builds once, pair their ELF files, compare each pair: ArtifactResults of Findings.

A change the policy counts as worse is an error; every other change is a note, so the
report shows what changed and the verdict (Report.passed) says whether it got worse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from linkgate.diff import artifacts, packing
from linkgate.diff.catalogue import COMPARISONS
from linkgate.diff.change import Build, Change
from linkgate.diff.pairing import Member, members, pair
from linkgate.discover import Candidate
from linkgate.elf.image import ElfFormatError
from linkgate.findings import ArtifactResult, Finding, Severity
from linkgate.policy.compiled import CompiledDiff
from linkgate.profiles.index import TargetIndex
from linkgate.records import record
from linkgate.rules import elf_format
from linkgate.rules.target import judge
from linkgate.scan import NotElfError, read_candidate
from linkgate.shipping import Shipped, collect_shipped, site_of


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


def diff(
    old: Side,
    new: Side,
    explicit: Sequence[tuple[str, str]],
    settings: CompiledDiff,
    profiles: Mapping[str, TargetIndex],
) -> Diff:
    """Every pair compared, then what only one side has. PairingError for a --pair that names nothing."""
    old_entries, old_skipped = _read(old, profiles)
    new_entries, new_skipped = _read(new, profiles)
    old_members, new_members = _elf_members(old, old_entries), _elf_members(new, new_entries)
    pairing = pair(old_members, new_members, explicit)
    results = [_compare(old_entries[o.candidate.fs_path], new_entries[n.candidate.fs_path], settings)
               for o, n in pairing.pairs]  # fmt: skip
    results += [_alone(old_entries[m.candidate.fs_path], m.key, settings, removed=True) for m in pairing.removed]
    results += [_alone(new_entries[m.candidate.fs_path], m.key, settings, removed=False) for m in pairing.added]
    return Diff(tuple(results), old_skipped + new_skipped)


def _read(side: Side, profiles: Mapping[str, TargetIndex]) -> tuple[dict[str, Entry], int]:
    """fs_path -> Build (or Unreadable) of every ELF file of the side; the count of the others."""
    shipped = collect_shipped(side.candidates) if profiles else Shipped()
    entries: dict[str, Entry] = {}
    skipped = 0
    for candidate in side.candidates:
        try:
            entries[candidate.fs_path] = _build(candidate, profiles, shipped)
        except NotElfError:
            skipped += 1
        except ElfFormatError as error:
            entries[candidate.fs_path] = Unreadable(candidate.display, str(error))
    return entries, skipped


def _build(candidate: Candidate, profiles: Mapping[str, TargetIndex], shipped: Shipped) -> Build:
    # Every symbol joined (no selection): a rising floor names the symbols that raised it.
    facts = read_candidate(candidate, want_symbols=None)
    judged = facts.payload or facts
    site = site_of(candidate, shipped)
    verdicts = {name: tuple(v.subject for v in judge(judged, profile, site)) for name, profile in profiles.items()}
    return Build(candidate.display, facts, verdicts)


def _elf_members(side: Side, entries: Mapping[str, Entry]) -> list[Member]:
    return [m for m in members(side.root, side.candidates) if m.candidate.fs_path in entries]


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
