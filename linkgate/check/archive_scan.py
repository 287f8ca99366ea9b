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

from linkgate.archives.foreign import unjudged
from linkgate.archives.limits import ArchiveError, Limits
from linkgate.archives.read import Reading, read_file, read_layout
from linkgate.archives.sniff import Format, archive_kind
from linkgate.archives.tree import Unit
from linkgate.archives.wheel import name_platforms
from linkgate.check import android_promise
from linkgate.check.archive_shipping import member_site, shipped_in
from linkgate.check.discover import Candidate
from linkgate.check.evaluate import RejectedVersions, always_on, evaluate, unreadable
from linkgate.check.image_system import ImageSelection, RulesFor, image_member, is_image, kept_text, rules_for
from linkgate.check.wheel_promise import WheelJudgement, any_platform_findings, judgement_for
from linkgate.core.findings import ArtifactResult, Finding
from linkgate.core.records import field, record, replace
from linkgate.core.site import Site
from linkgate.core.sourcefile import open_regular
from linkgate.elf.android import with_android
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
    # Nested zips may be read by a helper process (linkgate.archives.helper).
    helper: bool = False


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
    wheels = _Wheels(candidate.display, name, options.wheel_tags)
    by_tag = wheels.top is not None and wheels.top.replaces_policy
    policy = options.policy
    # A wheel's own tag reads no more facts, but for a bionic member's Android ones (an Android tag judges them).
    complete = _completer(lambda display: () if by_tag else fact_readers(policy.rules_for(display)))
    # Wheels nested in the archive are judged by their own tags too: their shared libraries' exports are read.
    exports = options.situated or by_tag or options.wheel_tags
    reading = Reading(options.limits, wheels.selection(options.policy), complete, exports, kept_text, options.helper)
    try:
        unit = _read_unit(candidate, kind, name, reading)
    except (ArchiveError, OSError) as error:
        return (_problem_result(candidate.display, _reason(error), options),)
    results = _Results()
    rules = _wheel_rules(unit, name, candidate.display, options, results)
    rules = rules or _android(unit, name, candidate.display, options, results)
    _judge(unit, candidate.display, options, rules, results)
    return _counting_unjudged(results.done(), unjudged(unit))


def _counting_unjudged(found: tuple[ArtifactResult, ...], counts: dict[str, int]) -> tuple[ArtifactResult, ...]:
    """The archive's first result carries the count of its Mach-O and PE members (an archive without any
    ELF member has no result: it is one skipped file, as before)."""
    if not found or not counts:
        return found
    return (replace(found[0], unjudged=tuple(counts.items())), *found[1:])


class _Wheels:
    """The judgement of each wheel met in one archive given on the command line (itself, or nested)."""

    def __init__(self, display: str, name: str, wheel_tags: bool) -> None:
        self._wheel_tags = wheel_tags
        self._by_archive: dict[str, WheelJudgement | None] = {}
        self.top = self.of(display, name)

    def of(self, archive: str, name: str) -> WheelJudgement | None:
        """The judgement of the wheel `name` shown at `archive` (None: not a wheel, or judged by the policy)."""
        if archive not in self._by_archive:
            self._by_archive[archive] = judgement_for(name, self._wheel_tags)
        return self._by_archive[archive]

    def selection(self, policy: CompiledPolicy) -> Callable[[str], Container[tuple[str, str]]]:
        """Which (library, version) needs get their symbols joined, per member display path: those
        the wheel directly holding the member rejects, else those the policy rejects."""

        def select(display: str) -> Container[tuple[str, str]]:
            archive = display.rsplit("!", 1)[0]
            wheel = self.of(archive, archive.rsplit("!", 1)[-1].rsplit("/", 1)[-1])
            if wheel is not None and wheel.replaces_policy:
                return wheel
            rejected = RejectedVersions(policy, display)
            return ImageSelection(rejected) if image_member(display) else rejected

        return select


def _wheel_rules(unit: Unit, name: str, display: str, options: ArchiveOptions, results: _Results) -> RulesFor | None:
    """The rules a wheel's members are judged by when its tags replace the policy (else None); a
    wheel whose tags promise any platform but which ships ELF files is refused in every mode."""
    if name_platforms(name) is None or unit.format != "zip":
        return None
    for finding in any_platform_findings(unit, name, display, options.policy, options.today):
        results.add_wheel_finding(finding)
    wheel = judgement_for(name, options.wheel_tags)
    if wheel is None:
        return None
    return _every_member(wheel.settle(unit, display, results.add_wheel_finding, options.policy, options.today))


class _Results:
    """Findings grouped per display path, in the order paths are first met."""

    def __init__(self) -> None:
        self._by_path: dict[str, list[Finding]] = {}
        self._elf: set[str] = set()  # the paths of ELF members (the others are problems, wheel tags)
        self._images: dict[str, str] = {}  # an image member's path -> the image's own system

    def add(self, path: str, findings: Sequence[Finding], elf: bool = False, image: str | None = None) -> None:
        self._by_path.setdefault(path, []).extend(findings)
        if elf:
            self._elf.add(path)
        if image is not None:
            self._images[path] = image

    def add_wheel_finding(self, finding: Finding) -> None:
        self.add(finding.path, [finding])

    def done(self) -> tuple[ArtifactResult, ...]:
        return tuple(
            ArtifactResult(path, tuple(found), elf=path in self._elf, image=self._images.get(path))
            for path, found in self._by_path.items()
        )


def _judge(unit: Unit, prefix: str, options: ArchiveOptions, rules: RulesFor | None, results: _Results) -> None:
    image = None
    if is_image(unit):  # judged on its own files too (or only, when no policy was given)
        rules, system = rules_for(unit, options.limits.links, options.policy, options.wheel_tags)
        image = system.description
    # Without a situated rule nothing reads the load chains: members are judged alone, as on disk.
    shipped, link_problems = shipped_in(unit, options.limits.links, options.situated or rules is not None)
    for where, reason in [*unit.problems, *link_problems]:
        path = f"{prefix}!{unit.shown(where)}" if where else prefix
        results.add(path, [_problem(path, reason, options)])
    for name, node in unit.elf_members():
        display = f"{prefix}!{unit.shown(name)}"
        if node.facts is None:
            results.add(display, unreadable(display, node.error or "", options.policy, options.today), True, image)
            continue
        site = member_site(unit, name, shipped)
        judged_by = rules(display) if rules is not None else None
        found = evaluate(display, node.facts, options.policy, options.today, site, rules=judged_by)
        results.add(display, found, True, image)
    for name, node in sorted(unit.nodes.items()):
        if node.nested is not None:
            # A nested archive is its own shipping unit, judged by the policy (a wheel: by its own tags;
            # an Android package: see _android; an image: by itself too).
            inner = f"{prefix}!{unit.shown(name)}"
            nested_rules = _wheel_rules(node.nested, name.rsplit("/", 1)[-1], inner, options, results)
            nested_rules = nested_rules or _android(node.nested, name, inner, options, results)
            _judge(node.nested, inner, options, nested_rules, results)


def _android(unit: Unit, name: str, display: str, options: ArchiveOptions, results: _Results) -> RulesFor | None:
    """An Android package's rules (the `android` preset when no policy was given) and its own findings."""
    settled = android_promise.settle(
        unit, name, display, emit=results.add_wheel_finding, policy=options.policy, today=options.today,
        no_policy=options.wheel_tags,
    )  # fmt: skip
    return _every_member(settled)


def _every_member(rules: Sequence[ConfiguredRule] | None) -> RulesFor | None:
    """The same rules for every member of a unit (None: the policy's)."""
    return None if rules is None else lambda _display: rules


def _problem(path: str, reason: str, options: ArchiveOptions) -> Finding:
    return always_on(path, archive_format.RULE, archive_format.unreadable(reason), options.policy, options.today)


def _problem_result(display: str, reason: str, options: ArchiveOptions) -> ArtifactResult:
    return ArtifactResult(display, (_problem(display, reason, options),), elf=False)


def _completer(reads_for: Callable[[str], tuple[FactReader, ...]]) -> Callable[[str, Buffer, ElfFacts], ElfFacts]:
    """Facts beyond the loader's view (hardening) that `reads_for(display)` reads, from the member's bytes."""

    def complete(display: str, data: Buffer, facts: ElfFacts) -> ElfFacts:
        readers = reads_for(display)
        if facts.libc == "bionic" and with_android not in readers:
            readers += (with_android,)  # an Android package may be judged by the android preset
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
