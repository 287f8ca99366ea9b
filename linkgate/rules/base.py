"""What every rule module provides: an id, its documentation, and a pure check."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from linkgate.elf.facts import ElfFacts
from linkgate.findings import Severity, Violation

# A rule's check: the artifact's facts and the rule's validated setting -> violations.
Check = Callable[[ElfFacts, Any], Iterable[Violation]]


@dataclass(frozen=True)
class Rule:
    """A policy rule. `doc` is its user documentation (README table, `linkgate explain`)."""

    id: str
    doc: str
    check: Check
    severity: Severity = Severity.ERROR
    judges_payload: bool = True
    # For rules over version needs: whether (setting, library, version) will be
    # rejected. The reader joins symbols only for those pairs, which saves most
    # of the reading cost on trees of binaries that pass.
    rejects_version: Callable[[Any, str, str], bool] | None = None
    # Situated rules judge an artifact together with the others checked with it
    # (what is shipped beside it): their check gets (setting, Site).
    situated: bool = False

    @property
    def summary(self) -> str:
        """The first line of the documentation."""
        return self.doc.strip().splitlines()[0]


def short_list(items: Iterable[str], limit: int = 3) -> str:
    """`a, b, c, +4 more`: enough to act on, short enough for one annotation line."""
    values = list(items)
    shown = ", ".join(values[:limit])
    rest = len(values) - limit
    return f"{shown}, +{rest} more" if rest > 0 else shown
