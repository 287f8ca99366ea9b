"""The policy compiled for evaluation: plain frozen data, no validation models.

The loader validates policy files (pydantic) and compiles the result once: every
rule's setting in its checked form with its severity, overrides as per-key
replacements, waivers with their dates, target profiles indexed. Evaluation reads
only this, so checking never imports the validation library, and the compiled
form can be cached between runs.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from fnmatch import fnmatchcase

from linkgate.core.findings import Severity
from linkgate.core.records import field, record
from linkgate.profiles.index import TargetIndex
from linkgate.rules import POLICY_RULES
from linkgate.rules.base import CompileContext, ConfiguredRule
from linkgate.rules.globs import matches_path

# A `rules:` key that is not a rule but a parameter of several (the version limits).
ALLOWED_TOKENS = "allowed-tokens"

# The changes `linkgate diff` counts as worse by default, by the names `diff: {ignore: [...]}`
# uses. They live here, below the diff command, because the policy validates them.
DIFF_CHANGES = (
    "linkage",  # static or static-pie became dynamic
    "interpreter",  # PT_INTERP appeared or changed
    "libc",  # musl <-> glibc
    "floor",  # a symbol-version namespace's floor rose (beyond allow-floor)
    "needed-added",  # a NEEDED library appeared
    "search-path",  # RPATH or RUNPATH changed
    "upx-packed",  # newly UPX-packed, or its payload cannot be read
    "targets-lost",  # a target profile it ran on no longer runs it
    "go-cgo",  # a Go program newly calls C
    "artifact-removed",  # an ELF file of OLD has no counterpart in NEW
    "machine-floor",  # the x86 level, enforced kernel floor or page-size floor rose
    "artifact-added-failing",  # a new ELF file of NEW fails the policy
    "hardening-lost",  # an exploit mitigation (PIE, RELRO, NX, canary, fortify, CET) was lost
)


@record
class CompiledDiff:
    """The `diff:` key: what `linkgate diff` tolerates. Empty: every change in DIFF_CHANGES is worse."""

    # Namespace -> the highest floor a release may rise to without failing: {"GLIBC": (2, 28)}.
    allow_floor: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    # Changes reported as notes, never failing (names from DIFF_CHANGES).
    ignore: frozenset[str] = frozenset()
    # `targets:` as written -> indexed profile; None: every shipped profile (loaded by the command).
    targets: Mapping[str, TargetIndex] | None = None

    def tolerates_floor(self, namespace: str, floor: tuple[int, ...]) -> bool:
        allowed = self.allow_floor.get(namespace)
        return allowed is not None and floor <= allowed


@record
class CompiledOverride:
    """Other settings for paths matching `paths`: `values` replace the base keys they name."""

    paths: tuple[str, ...]
    values: Mapping[str, object]


@record
class CompiledWaiver:
    rule: str
    paths: tuple[str, ...]
    subject: str
    reason: str
    expires: datetime.date | None = None

    def covers(self, rule: str, path: str, subject: str) -> bool:
        return self.rule == rule and matches_path(path, self.paths) and fnmatchcase(subject, self.subject)

    def expired(self, today: datetime.date) -> bool:
        return self.expires is not None and self.expires < today


@record
class CompiledPolicy:
    """What evaluation consumes. `values` are the validated `rules:` keys after `extends`."""

    name: str
    source: str | None
    values: Mapping[str, object]
    overrides: tuple[CompiledOverride, ...] = ()
    waivers: tuple[CompiledWaiver, ...] = ()
    severity: Mapping[str, Severity] = field(default_factory=dict)
    # Rule id -> line in `source` that configures it (its key, or `extends:` when inherited),
    # so CI annotations can point at the policy line a finding breaks.
    rule_lines: Mapping[str, int] = field(default_factory=dict)
    # `target:` values (shipped names, or absolute paths of profile files) -> the indexed profile.
    profiles: Mapping[str, TargetIndex] = field(default_factory=dict)
    # Every file (and directory listing) the policy was compiled from: what a cached copy depends on.
    sources: tuple[str, ...] = ()
    # What `linkgate diff` tolerates (the `diff:` key).
    diff: CompiledDiff = CompiledDiff()
    # Configured rules per combination of matching overrides (most trees have one), filled on use.
    _configured: dict[tuple[int, ...], tuple[ConfiguredRule, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # Per override combination: (library, version) -> whether a rule rejects that need. The same
    # few dozen needs recur in every file of a tree, so each is judged once.
    _need_verdicts: dict[tuple[int, ...], dict[tuple[str, str], bool]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def rules_for(self, path: str) -> tuple[ConfiguredRule, ...]:
        """The rules that apply to `path`, configured, in catalogue order."""
        matching = self._matching(path)
        configured = self._configured.get(matching)
        if configured is None:
            configured = self._configure(self._values(matching))
            self._configured[matching] = configured
        return configured

    def need_verdicts(self, path: str) -> dict[tuple[str, str], bool]:
        """The memo of need verdicts shared by every path with the same matching overrides."""
        return self._need_verdicts.setdefault(self._matching(path), {})

    def _matching(self, path: str) -> tuple[int, ...]:
        if not self.overrides:  # most policies: asked several times for every file of a tree
            return ()
        return tuple(i for i, o in enumerate(self.overrides) if matches_path(path, o.paths))

    def _values(self, matching: tuple[int, ...]) -> dict[str, object]:
        values = dict(self.values)
        for index in matching:
            values.update(self.overrides[index].values)
        return values

    def _configure(self, values: Mapping[str, object]) -> tuple[ConfiguredRule, ...]:
        tokens = values.get(ALLOWED_TOKENS, ())
        assert isinstance(tokens, tuple)
        context = CompileContext(frozenset(str(t) for t in tokens), self.profiles)
        return tuple(
            rule.configure(values[rule.id], context, self.severity.get(rule.id))
            for rule in POLICY_RULES
            if values.get(rule.id) is not None
        )

    def rule_ids(self) -> tuple[str, ...]:
        """The rules configured for artifacts no override matches (catalogue order)."""
        return tuple(rule.id for rule in POLICY_RULES if self.values.get(rule.id) is not None)

    def waiver_for(self, rule: str, path: str, subject: str) -> CompiledWaiver | None:
        return next((w for w in self.waivers if w.covers(rule, path, subject)), None)
