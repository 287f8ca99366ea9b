"""What evaluation produces: findings per artifact, gathered in a report."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from enum import Enum

from linkgate.core.digest import sha256_hex
from linkgate.core.records import field, record, replace
from linkgate.core.verdicts import TargetMatrix


class Severity(str, Enum):
    """Ordered from most to least important; only ERROR fails a run (WARNING with --strict)."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {severity: rank for rank, severity in enumerate(Severity)}


@record
class Violation:
    """What a rule reports about one artifact, before path and severity are attached."""

    subject: str
    message: str
    hint: str = ""
    symbols: tuple[str, ...] = ()
    # True when the loader would accept the artifact anyway (e.g. a weak version
    # reference), or may (a library a partial target profile does not list):
    # reported one severity lower than the rule's own.
    advisory: bool = False
    # True when the rule cannot decide from this file (e.g. the canary of a stripped static
    # program): reported as a note whatever the rule's severity, neither a pass nor a failure.
    undetermined: bool = False


class BaselineState(str, Enum):
    """Whether a finding was in the baseline report the run was compared with (`check --baseline`)."""

    NEW = "new"
    UNCHANGED = "unchanged"


@record
class Finding:
    """One actionable message: which artifact, which rule, which value, how to fix it."""

    rule: str
    path: str
    severity: Severity
    subject: str
    message: str
    hint: str = ""
    symbols: tuple[str, ...] = ()
    waived_by: str | None = None
    # None when the run has no baseline.
    baseline: BaselineState | None = None

    @property
    def baselined(self) -> bool:
        """Known from the baseline: shown, but it does not fail the run."""
        return self.baseline is BaselineState.UNCHANGED

    @property
    def fingerprint(self) -> str:
        """Identity without line numbers or timestamps: rule + artifact path + subject."""
        key = "\x1f".join((self.rule, self.path, self.subject))
        return sha256_hex(key.encode())[:32]


@record
class ArtifactResult:
    """One ELF file's findings. Whether they fail the run is the report's decision."""

    path: str
    findings: tuple[Finding, ...] = ()
    # (kind, count) of the native code of other formats (Mach-O, PE) in the archive this artifact came
    # from: not judged, but counted (carried by the archive's first result).
    unjudged: tuple[tuple[str, int], ...] = ()
    # False: the findings are about an archive or a member that is no ELF file (it cannot be read, a
    # wheel's tags), so the summary does not count it as an ELF artifact.
    elf: bool = True
    # A container image's member: the image's own system it was judged on (`glibc 2.31 (Debian 11)`).
    image: str | None = None


@record
class PolicyRef:
    """The policy file as a path in the repository, so a finding can point at the line it breaks."""

    path: str
    lines: Mapping[str, int] = field(default_factory=dict)  # rule id -> line of its key

    def line_of(self, rule: str) -> int | None:
        return self.lines.get(rule)


# Without --strict only errors fail a run; with it, warnings too.
DEFAULT_FAILING = frozenset({Severity.ERROR})
STRICT_FAILING = frozenset({Severity.ERROR, Severity.WARNING})


@record
class Report:
    """Everything a renderer may show, and the verdict: decided here once, read by renderers and the exit code."""

    policy: str
    artifacts: tuple[ArtifactResult, ...]
    skipped: int = 0
    # The severities that fail the run (the CLI sets it from --strict).
    failing: frozenset[Severity] = DEFAULT_FAILING
    # The rules evaluated for every artifact (ids, catalogue order): JUnit shows passes too.
    rules: tuple[str, ...] = ()
    # Set only when the policy is a file inside the workspace (a tracked file annotations can target).
    policy_ref: PolicyRef | None = None
    # Each artifact on each shipped target: only for runs that write a step summary.
    targets: TargetMatrix | None = None

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Active findings, most important first; within that, in artifact and rule order."""
        return tuple(sorted(self._active(), key=lambda f: f.severity.rank))

    def _active(self) -> Iterator[Finding]:
        """Active findings in artifact and rule order: what counts and the verdict need, unsorted."""
        return (f for a in self.artifacts for f in a.findings if f.waived_by is None)

    @property
    def unjudged(self) -> dict[str, int]:
        """Kind -> how many files of native code in another format (Mach-O, PE) were not judged."""
        counts: dict[str, int] = {}
        for artifact in self.artifacts:
            for kind, number in artifact.unjudged:
                counts[kind] = counts.get(kind, 0) + number
        return dict(sorted(counts.items()))

    def count(self, severity: Severity) -> int:
        """Active findings of `severity` that are not known from the baseline."""
        return sum(1 for f in self._active() if f.severity is severity and not f.baselined)

    @property
    def images(self) -> tuple[str, ...]:
        """The systems of the container images checked, each once (`glibc 2.31 (Debian 11)`)."""
        return tuple(dict.fromkeys(a.image for a in self.artifacts if a.image is not None))

    @property
    def baselined(self) -> int:
        return sum(1 for f in self._active() if f.baselined)

    def fails(self, finding: Finding) -> bool:
        """Whether this finding fails the run: active, not in the baseline, and of a failing severity."""
        return finding_fails(finding, self.failing)

    def artifact_failed(self, artifact: ArtifactResult) -> bool:
        return any(self.fails(f) for f in artifact.findings)

    @property
    def failed_artifacts(self) -> int:
        return sum(1 for a in self.artifacts if self.artifact_failed(a))

    @property
    def passed(self) -> bool:
        """The run's verdict: no finding fails it."""
        return not any(self.fails(f) for f in self._active())


def finding_fails(finding: Finding, failing: frozenset[Severity]) -> bool:
    """Whether `finding` fails a run that fails on `failing` severities: active, not in the baseline,
    and of a failing severity. Report.fails is this with the report's severities."""
    return finding.waived_by is None and not finding.baselined and finding.severity in failing


def against_baseline(report: Report, known: Collection[str]) -> Report:
    """`report` with each finding marked unchanged (its fingerprint is in `known`) or new."""

    def state(finding: Finding) -> BaselineState:
        return BaselineState.UNCHANGED if finding.fingerprint in known else BaselineState.NEW

    artifacts = tuple(
        replace(artifact, findings=tuple(replace(f, baseline=state(f)) for f in artifact.findings))
        for artifact in report.artifacts
    )
    return replace(report, artifacts=artifacts)
