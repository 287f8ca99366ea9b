"""What every rule module provides: an id, its documentation, its setting, and a pure check.

A configurable rule declares, in its own module, the type of its setting as the
policy writes it (`schema`, validated by the policy loader), how that value is
compiled once into what the check takes (`compile`), and the check itself. Adding
a rule touches its module and the catalogue, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Generic, Protocol, TypeVar, cast

from linkgate.core.findings import Severity, Violation
from linkgate.core.records import field, keyword_record, record
from linkgate.core.site import Site
from linkgate.elf.facts import ElfFacts
from linkgate.profiles.index import TargetIndex

# Fills in a costly fact the reader leaves out, e.g. elf.hardening.with_hardening: (path, facts) -> facts.
FactReader = Callable[[str, ElfFacts], ElfFacts]
R = TypeVar("R")  # the setting as written in the policy (after validation)
S = TypeVar("S")  # the compiled setting the check takes


@record
class CompileContext:
    """What compiling a setting may need besides its own value."""

    # Non-numeric version tokens the policy allows by name (`allowed-tokens`).
    allowed_tokens: frozenset[str] = frozenset()
    # `target:` values -> the loaded, indexed profile.
    profiles: Mapping[str, TargetIndex] = field(default_factory=dict)


@record
class Rule:
    """A documented rule. `doc` is its user documentation (README table, `linkgate explain`)."""

    id: str
    doc: str
    severity: Severity = Severity.ERROR

    @property
    def summary(self) -> str:
        """The first line of the documentation."""
        return self.doc.strip().splitlines()[0]


class ConfiguredRule(Protocol):
    """A rule with its compiled setting and severity: what evaluation runs, whatever the setting's type."""

    @property
    def rule(self) -> Rule: ...

    @property
    def severity(self) -> Severity: ...

    @property
    def judges_payload(self) -> bool: ...

    @property
    def reads(self) -> tuple[FactReader, ...]: ...

    def violations(self, facts: ElfFacts, site: Site) -> Iterable[Violation]: ...

    def rejects(self, library: str, version: str) -> bool | None:
        """Whether a (library, version) need will be rejected; None when the rule does not judge needs."""


class ConfigurableRule(Protocol):
    """A policy rule, whatever its setting's type: what the catalogue and the policy loader see."""

    @property
    def id(self) -> str: ...

    @property
    def schema(self) -> object: ...

    def configure(self, value: object, context: CompileContext, severity: Severity | None) -> ConfiguredRule: ...


@keyword_record
class PolicyRule(Rule, Generic[R, S]):
    """A rule the policy configures under its id (`max-glibc: "2.31"`)."""

    # The type of the YAML value (a typing expression the policy loader validates with).
    schema: object
    compile: Callable[[R, CompileContext], S]
    # `facts.go` (Go build info) is read only for a file some rule already finds something in:
    # a check may use it to explain or relax a violation, never to find one
    # (tests/check/test_go_deferred.py runs every rule both ways; a new rule joins its table).
    check: Callable[[ElfFacts, S, Site], Iterable[Violation]]
    # Rules that judge the program see through UPX to the packed payload; forbid-upx judges the file.
    judges_payload: bool = True
    # Whether (setting, library, version) will be rejected. The reader joins symbols only
    # for those pairs, which saves most of the reading cost on trees of binaries that pass.
    rejects_version: Callable[[S, str, str], bool] | None = None
    # The costly facts the check needs, read only for artifacts this rule is configured for.
    reads: tuple[FactReader, ...] = ()

    def configure(self, value: object, context: CompileContext, severity: Severity | None) -> Configured[S]:
        # The policy loader validated `value` against `schema`, so it is an R.
        setting = self.compile(cast(R, value), context)
        return Configured(self, setting, severity or self.severity, self.check, self.judges_payload,
                          self.rejects_version, self.reads)  # fmt: skip


@record
class Configured(Generic[S]):
    """One rule with its compiled setting and the severity the policy gives it."""

    rule: Rule
    setting: S
    severity: Severity
    check: Callable[[ElfFacts, S, Site], Iterable[Violation]]
    judges_payload: bool
    rejects_version: Callable[[S, str, str], bool] | None
    reads: tuple[FactReader, ...] = ()

    def violations(self, facts: ElfFacts, site: Site) -> Iterable[Violation]:
        return self.check(facts, self.setting, site)

    def rejects(self, library: str, version: str) -> bool | None:
        judge = self.rejects_version
        return None if judge is None else judge(self.setting, library, version)


def same(value: R, context: CompileContext) -> R:
    """The compile step of a setting the check takes as written."""
    del context
    return value


def short_list(items: Iterable[str], limit: int = 3) -> str:
    """`a, b, c, +4 more`: enough to act on, short enough for one annotation line."""
    values = list(items)
    shown = ", ".join(values[:limit])
    rest = len(values) - limit
    return f"{shown}, +{rest} more" if rest > 0 else shown
