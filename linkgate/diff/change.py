"""What a diff rule compares and what it reports: plain frozen data."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from linkgate.core.records import field, record
from linkgate.core.site import NOWHERE, Site
from linkgate.elf.facts import ElfFacts
from linkgate.policy.compiled import CompiledDiff


@record
class Build:
    """One artifact of one side: its facts as read, and its verdict on every target profile."""

    path: str
    facts: ElfFacts
    # Profile name -> what stops the artifact there, as the loader names it (empty: it runs).
    verdicts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Where it sits among its build's files: a new file is judged by the policy there.
    site: Site = NOWHERE

    @property
    def packed(self) -> bool:
        return self.facts.upx is not None and self.facts.upx.packed

    @property
    def judged(self) -> ElfFacts:
        """What runs: the payload of a UPX-packed file, else the file (as every rule judges it)."""
        return self.facts.payload or self.facts

    @property
    def seen_through(self) -> bool:
        """False for a packed file whose payload could not be read: its stub is not the program."""
        return not self.packed or self.facts.payload is not None


@record
class Change:
    """One difference between OLD and NEW. `kind` names why it is worse (a DIFF_CHANGES entry);
    None for a change that is only worth knowing (an improvement, a build detail)."""

    subject: str
    message: str
    kind: str | None = None
    hint: str = ""
    symbols: tuple[str, ...] = ()


Comparison = Callable[[Build, Build, CompiledDiff], Iterable[Change]]


def versions_text(version: tuple[int, ...] | None) -> str:
    return "none" if version is None else ".".join(map(str, version))
