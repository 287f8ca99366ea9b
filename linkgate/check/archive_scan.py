"""Judging an archive given on the command line: read it in place, then each ELF member as if unpacked.

Every member is judged under `ARCHIVE!MEMBER` (`dist/app.deb!usr/bin/app`,
`image.tar!/usr/bin/app`, `a.zip!b.tar.gz!bin/tool`) with the archive as its
shipping unit: $ORIGIN, RPATH/RUNPATH, load chains and shipped libraries resolve
among the members of the same archive (linkgate.check.archive_shipping). What cannot
be read is an `archive-format` finding. Imported by the scan only when a
candidate is an archive: the readers cost start-up time plain ELF runs never need.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Container, Iterator, Sequence

from linkgate.archives.limits import ArchiveError, Limits
from linkgate.archives.magic import Format, archive_kind
from linkgate.archives.read import Reading, read_file, read_layout
from linkgate.archives.tree import Unit
from linkgate.check.archive_shipping import member_site, shipped_in
from linkgate.check.discover import Candidate
from linkgate.check.evaluate import RejectedVersions, always_on, evaluate, unreadable
from linkgate.check.wheel_promise import WheelJudgement, judgement_for
from linkgate.core.findings import ArtifactResult, Finding
from linkgate.core.records import field, record
from linkgate.core.site import Site
from linkgate.core.sourcefile import open_regular
from linkgate.elf.facts import ElfFacts
from linkgate.elf.image import Buffer, ElfFormatError
from linkgate.policy.compiled import CompiledPolicy
from linkgate.rules import archive_format, fact_readers
from linkgate.rules.base import ConfiguredRule, FactReader


@record
class ArchiveOptions:
    policy: CompiledPolicy
    today: datetime.date
    limits: Limits = field(default_factory=Limits)
    # No policy was given: a wheel is judged by its own platform tag.
    wheel_tags: bool = False
    # Some rule judges an artifact with the files shipped beside it (linkgate.check.shipping.situated).
    situated: bool = False


@record
class MemberFacts:
    """One ELF member (or one problem) of an archive, read with every symbol joined (for `diff`)."""

    member: str  # its path in the archive (`usr/bin/app`; nested: `inner.tar.gz!bin/tool`)
    display: str  # `dist/app.deb!usr/bin/app`
    facts: ElfFacts | None
    error: str | None  # why it (or the archive) cannot be read
    site: Site


def archive_members(
    candidate: Candidate, head: bytes, limits: Limits, situated: bool, reads: tuple[FactReader, ...] = ()
) -> list[MemberFacts] | None:
    """Every ELF member of the archive `candidate` as unpacked, with the facts `reads` add; None when it
    is no archive.

    `head` empty: an OCI image layout. An archive that cannot be read is one MemberFacts with its error.
    """
    kind = archive_kind(head) if head else None
    if head and kind is None:
        return None
    name = os.path.basename(candidate.fs_path.rstrip("/"))
    complete = _completer(lambda _display: reads) if reads else None
    reading = Reading(limits, lambda _display: None, complete, exports=situated)
    try:
        unit = _read_unit(candidate, kind, name, reading)
    except (ArchiveError, OSError) as error:
        return [MemberFacts("", candidate.display, None, _reason(error), Site())]
    return list(_unit_members(unit, "", candidate.display, limits, situated))


def _read_unit(candidate: Candidate, kind: Format | None, name: str, reading: Reading) -> Unit:
    """The archive's members (`kind` None: an OCI image layout directory); ArchiveError or OSError."""
    if kind is None:
        return read_layout(candidate.fs_path, candidate.display, reading)
    with open_regular(candidate.fs_path) as handle:
        return read_file(handle, kind, name, candidate.display, reading)


def _reason(error: ArchiveError | OSError) -> str:
    return str(error) if isinstance(error, ArchiveError) else f"cannot read file: {error.strerror or error}"


def _unit_members(unit: Unit, prefix: str, display: str, limits: Limits, situated: bool) -> Iterator[MemberFacts]:
    shipped, link_problems = shipped_in(unit, limits.links, situated)
    for where, reason in [*unit.problems, *link_problems]:
        yield MemberFacts(prefix + unit.shown(where), f"{display}!{unit.shown(where)}", None, reason, Site())
    for name, node in unit.elf_members():
        member, site = prefix + unit.shown(name), member_site(unit, name, shipped)
        yield MemberFacts(member, f"{display}!{unit.shown(name)}", node.facts, node.error, site)
    for name, node in sorted(unit.nodes.items()):
        if node.nested is not None:
            inner = f"{prefix}{unit.shown(name)}!"
            yield from _unit_members(node.nested, inner, f"{display}!{unit.shown(name)}", limits, situated)


def check_archive(candidate: Candidate, kind: Format | None, options: ArchiveOptions) -> tuple[ArtifactResult, ...]:
    """Results of every ELF member and every problem, in member order; () when it holds no ELF file.

    `kind` None: the candidate is an OCI image layout directory.
    """
    name = os.path.basename(candidate.fs_path.rstrip("/"))
    wheel = judgement_for(name, options.wheel_tags)
    by_tag = wheel is not None and wheel.replaces_policy
    policy = options.policy
    # A wheel's own tag reads no more facts.
    complete = None if by_tag else _completer(lambda display: fact_readers(policy.rules_for(display)))
    reading = Reading(options.limits, _selection(options.policy, wheel), complete, options.situated or by_tag)
    try:
        unit = _read_unit(candidate, kind, name, reading)
    except (ArchiveError, OSError) as error:
        return (_problem_result(candidate.display, _reason(error), options),)
    results = _Results()
    rules = None
    if wheel is not None:
        rules = wheel.settle(unit, candidate.display, results.add_wheel_finding, options.policy, options.today)
    _judge(unit, candidate.display, options, rules, results)
    return results.done()


class _Results:
    """Findings grouped per display path, in the order paths are first met."""

    def __init__(self) -> None:
        self._by_path: dict[str, list[Finding]] = {}

    def add(self, path: str, findings: Sequence[Finding]) -> None:
        self._by_path.setdefault(path, []).extend(findings)

    def add_wheel_finding(self, finding: Finding) -> None:
        self.add(finding.path, [finding])

    def done(self) -> tuple[ArtifactResult, ...]:
        return tuple(ArtifactResult(path, tuple(findings)) for path, findings in self._by_path.items())


def _judge(
    unit: Unit, prefix: str, options: ArchiveOptions, rules: Sequence[ConfiguredRule] | None, results: _Results
) -> None:
    # Without a situated rule nothing reads the load chains: members are judged alone, as on disk.
    shipped, link_problems = shipped_in(unit, options.limits.links, options.situated or rules is not None)
    for where, reason in [*unit.problems, *link_problems]:
        path = f"{prefix}!{unit.shown(where)}" if where else prefix
        results.add(path, [_problem(path, reason, options)])
    for name, node in unit.elf_members():
        display = f"{prefix}!{unit.shown(name)}"
        if node.facts is None:
            results.add(display, unreadable(display, node.error or "", options.policy, options.today))
            continue
        site = member_site(unit, name, shipped)
        results.add(display, evaluate(display, node.facts, options.policy, options.today, site, rules=rules))
    for name, node in sorted(unit.nodes.items()):
        if node.nested is not None:
            # A nested archive is its own shipping unit, judged by the policy.
            _judge(node.nested, f"{prefix}!{unit.shown(name)}", options, None, results)


def _problem(path: str, reason: str, options: ArchiveOptions) -> Finding:
    return always_on(path, archive_format.RULE, archive_format.unreadable(reason), options.policy, options.today)


def _problem_result(display: str, reason: str, options: ArchiveOptions) -> ArtifactResult:
    return ArtifactResult(display, (_problem(display, reason, options),))


def _selection(policy: CompiledPolicy, wheel: WheelJudgement | None) -> Callable[[str], Container[tuple[str, str]]]:
    """Which (library, version) needs get their symbols joined, per member display path."""
    if wheel is not None and wheel.replaces_policy:
        return lambda _display: wheel
    return lambda display: RejectedVersions(policy, display)


def _completer(reads_for: Callable[[str], tuple[FactReader, ...]]) -> Callable[[str, Buffer, ElfFacts], ElfFacts]:
    """Facts beyond the loader's view (hardening) that `reads_for(display)` reads, from the member's bytes."""

    def complete(display: str, data: Buffer, facts: ElfFacts) -> ElfFacts:
        readers = reads_for(display)
        if not readers:
            return facts
        # The readers take a path: the member's bytes in an anonymous memory file, never on disk.
        descriptor = os.memfd_create("linkgate-member", os.MFD_CLOEXEC)
        try:
            _write_all(descriptor, memoryview(data))  # type: ignore[arg-type]
            for read_more in readers:
                facts = read_more(f"/proc/self/fd/{descriptor}", facts)
        except OSError as error:
            raise ElfFormatError(f"cannot hold the member in memory: {error.strerror or error}") from None
        finally:
            os.close(descriptor)
        return facts

    return complete


def _write_all(descriptor: int, data: memoryview) -> None:
    while data:
        data = data[os.write(descriptor, data) :]
