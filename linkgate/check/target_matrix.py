"""Each artifact given on the command line x each shipped target, for the step summary (I/O edge).

Run only when a summary is written: the artifacts are read again, as `inspect`
reads them (a plain file with what is shipped beside it, an archive's members as
unpacked), and judged against each target as the `target` rule would. An
archive's row is its members together: it runs where all of them run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence

from linkgate.check.discover import Candidate
from linkgate.check.image_system import image_member
from linkgate.check.scan import ARCHIVE_HEAD, NotElfError, read_candidate
from linkgate.check.shipping import Shipped, collect_shipped, site_of
from linkgate.check.wheel_promise import shipped_profile
from linkgate.core.findings import ArtifactResult, Report
from linkgate.core.records import replace
from linkgate.core.site import Site
from linkgate.core.verdicts import Cell, TargetMatrix
from linkgate.elf.facts import ElfFacts
from linkgate.elf.image import ElfFormatError
from linkgate.formats.github_summary import MAX_ROWS, ordered_groups
from linkgate.profiles.index import TargetIndex
from linkgate.rules.target import Verdict, verdict

# The columns: the systems people ship to, oldest first, then the wheel tags PyPI installs.
TARGETS = ("debian-11", "debian-12", "debian-13", "rhel-7", "rhel-8", "rhel-9", "rhel-10", "ubuntu-20.04",
           "ubuntu-22.04", "ubuntu-24.04", "alpine", "manylinux_2_17", "manylinux_2_28", "manylinux_2_34",
           "musllinux_1_2")  # fmt: skip
# Beyond this many files, what is shipped beside an artifact is looked for among the shown rows only.
_SHIPPED_SCAN_LIMIT = 5000
Judged = tuple[str, ElfFacts | None, Site]  # (member, or "" for a plain file; facts, None: unreadable; site)


def with_target_matrix(report: Report, candidates: Sequence[Candidate]) -> Report:
    """`report` with the matrix of its first MAX_ROWS artifacts (as the summary orders them)."""
    shown = list(ordered_groups(report).items())[:MAX_ROWS]
    by_display = {c.display: c for c in candidates}
    # An image brings its own system: it is judged on that (image-target), not on these.
    chosen = [by_display[name] for name, results in shown if name in by_display and not _image(results)]
    profiles = {name: p for name in TARGETS if (p := shipped_profile(name)) is not None}
    pool = candidates if len(candidates) <= _SHIPPED_SCAN_LIMIT else chosen
    shipped = collect_shipped([c for c in pool if not c.image_layout])
    rows = {c.display: _row(list(_judged(c, shipped)), profiles) for c in chosen}
    return replace(report, targets=TargetMatrix(tuple(profiles), rows))


def _image(results: Sequence[ArtifactResult]) -> bool:
    return any(image_member(r.path) for r in results)


def _row(judged: list[Judged], profiles: Mapping[str, TargetIndex]) -> tuple[Cell, ...]:
    return tuple(_cell([(m, _verdict(f, p, s)) for m, f, s in judged]) for p in profiles.values())


def _verdict(facts: ElfFacts | None, profile: TargetIndex, site: Site) -> Verdict | None:
    return None if facts is None else verdict(facts.payload or facts, profile, site)


def _cell(verdicts: list[tuple[str, Verdict | None]]) -> Cell:
    """Fails with the first member that fails; unknown when some member's library is unknown there."""
    for _member, found in verdicts:
        if found is None:
            return Cell(False, "cannot be read")
        if found.missing:
            return Cell(False, found.missing[0])
    unknown = [found.unknown[0] for _member, found in verdicts if found is not None and found.unknown]
    return Cell(None, unknown[0]) if unknown else Cell(True)


def _judged(candidate: Candidate, shipped: Shipped) -> Iterator[Judged]:
    """The candidate's ELF file, or each ELF member of the archive it is, with their sites."""
    if candidate.image_layout:
        yield from _members(candidate, b"")
        return
    try:
        yield "", read_candidate(candidate, frozenset()), site_of(candidate, shipped)  # no symbols: verdicts only
    except NotElfError as not_elf:
        yield from _members(candidate, not_elf.head[:ARCHIVE_HEAD])
    except ElfFormatError:
        yield "", None, Site()


def _members(candidate: Candidate, head: bytes) -> Iterator[Judged]:
    # Imported here: the archive readers cost start-up time, and only archives need them.
    from linkgate.archives.limits import limits_from  # noqa: PLC0415 - lazy: start-up
    from linkgate.check.archive_scan import archive_members  # noqa: PLC0415 - lazy: start-up

    for member in archive_members(candidate, head, limits_from(os.environ), True) or []:
        if member.member:  # a problem of the archive itself is the policy column's
            yield member.member, member.facts, member.site
