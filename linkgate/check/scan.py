"""The I/O edge of checking: read each candidate once, evaluate it, in parallel when many."""

from __future__ import annotations

import datetime
import mmap
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from linkgate.archives.sniff import (
    CENTRAL_DIRECTORY,
    COMPRESSED,
    ZIP_TAIL,
    FileBytes,
    Format,
    archive_kind,
    inner_head,
    sniff,
    zip_directory,
    zip_in,
)
from linkgate.check.discover import Candidate
from linkgate.check.evaluate import RejectedVersions, evaluate, unreadable
from linkgate.check.shipping import collect_shipped, site_of, situated
from linkgate.core.exitcodes import CannotEvaluateError
from linkgate.core.findings import ArtifactResult, Finding
from linkgate.core.records import record, replace
from linkgate.core.site import NOWHERE, ShippedLibrary
from linkgate.core.sourcefile import open_regular, regular_file
from linkgate.elf.facts import ElfFacts
from linkgate.elf.gobuild import with_cgo_packages
from linkgate.elf.image import Buffer, ElfFormatError
from linkgate.elf.layouts import ELF_MAGIC
from linkgate.elf.reader import SymbolSelection, parse_elf, parse_elf_deferring_go
from linkgate.policy.compiled import CompiledPolicy
from linkgate.rules import fact_readers
from linkgate.rules.base import ConfiguredRule
from linkgate.rules.remedies import Toolchain, toolchain

if TYPE_CHECKING:
    from linkgate.archives.limits import Limits

# Below this many files a process pool costs more than it saves.
PARALLEL_THRESHOLD = 200
_CHUNK = 16


@record
class ScanOptions:
    policy: CompiledPolicy
    today: datetime.date
    # Shared libraries among the checked files, for target profiles (filled by check_each).
    shipped: Mapping[str, ShippedLibrary] | None = None
    # Worker processes; None: the CPU count (at most 8). Reports are the same whatever the number.
    jobs: int | None = None
    # Bounds on reading archives (LINKGATE_ARCHIVE_LIMITS); None: the defaults.
    archive_limits: Limits | None = None
    # No policy was given: a wheel is judged by its own platform tags.
    wheel_tags: bool = False
    # A large archive may hand its nested zips to a helper process: set when this process checks
    # the candidates itself with a core to spare (check_each), never in a worker of the pool.
    archive_helper: bool = False


T = TypeVar("T")

# Bytes of a non-ELF file kept to tell whether it is an archive (tar's magic sits at offset 257).
ARCHIVE_HEAD = 512
# ELF files up to this size are read whole rather than mapped: two thirds of a system tree's are,
# and for them the map, its page faults and the unmap cost more than copying (~6% of a tree's
# reading time). Larger ones are mapped: their few tables would not repay copying everything.
READ_WHOLE = 64 * 1024
# Names that are usually archives: only used to decide how to share the work out.
ARCHIVE_SUFFIXES = (".whl", ".zip", ".jar", ".aar", ".egg", ".tar", ".tgz", ".gz", ".xz", ".bz2", ".zst", ".deb",
                    ".rpm", ".apk")  # fmt: skip


class NotElfError(Exception):
    """The candidate is not an ELF file; it is counted as skipped unless its first bytes (`head`) are an archive's."""

    def __init__(self, display: str, head: bytes = b"", zip_at_end: bool = False) -> None:
        super().__init__(display)
        self.head = head
        self.zip_at_end = zip_at_end  # a zip behind other bytes (a self-extracting stub), found from the end


def read_candidate(candidate: Candidate, want_symbols: SymbolSelection = None) -> ElfFacts:
    """Facts of one candidate; NotElfError for other files, ElfFormatError for broken ELF ones."""
    return _with_elf_bytes(candidate, partial(parse_elf, want_symbols=want_symbols))


def _with_elf_bytes(candidate: Candidate, use: Callable[[FileBytes], T]) -> T:
    """`use` of the bytes of one ELF candidate (read whole, or mapped while it runs); NotElfError
    for other files, ElfFormatError for files that cannot be read.

    One handle from open to parse: what was checked to be a regular file is what is read.
    """
    if candidate.special is not None:
        raise NotElfError(candidate.display)
    if candidate.unreadable is not None:
        raise ElfFormatError(candidate.unreadable)
    try:
        descriptor, size = regular_file(candidate.fs_path)
    except OSError as error:
        raise ElfFormatError(f"cannot read file: {error.strerror or error}") from None
    try:
        head = os.read(descriptor, ARCHIVE_HEAD)
        if not head.startswith(ELF_MAGIC):
            raise NotElfError(candidate.display, head, archive_kind(head) is None and _zip_behind(descriptor, size))
        if size <= READ_WHOLE:
            return use(_rest_read(descriptor, head, size))
        with _mapped(descriptor) as data:
            return use(data)
    except OSError as error:
        raise ElfFormatError(f"cannot read file: {error.strerror or error}") from None
    finally:
        os.close(descriptor)


def _rest_read(descriptor: int, head: bytes, size: int) -> bytes:
    """The file's `size` bytes as its size was when opened (a map would hold as many), `head` first;
    fewer if it shrank since."""
    parts = [head]
    missing = size - len(head)
    while missing > 0 and (part := os.read(descriptor, missing)):
        parts.append(part)
        missing -= len(part)
    return b"".join(parts)


def _zip_behind(descriptor: int, size: int) -> bool:
    """The file ends in a zip whose central directory is where its end record says (zipfile's test)."""
    tail_at = max(0, size - ZIP_TAIL)
    start = zip_directory(os.pread(descriptor, ZIP_TAIL, tail_at), tail_at)
    return start is not None and os.pread(descriptor, 4, start) == CENTRAL_DIRECTORY


def _mapped(descriptor: int) -> mmap.mmap:
    try:
        return mmap.mmap(descriptor, 0, access=mmap.ACCESS_READ)
    except ValueError as error:  # a file emptied since its head was read
        raise ElfFormatError(f"cannot map file: {error}") from None


def check_candidate(candidate: Candidate, options: ScanOptions) -> tuple[ArtifactResult, ...]:
    """Results of one file, or of every ELF member of an archive; () when it holds no ELF file."""
    if candidate.image_layout:
        return _check_archive(candidate, None, options)
    try:
        result, zipped = _check_file(candidate, options)
    except NotElfError as not_elf:
        kind = Format.ZIP if not_elf.zip_at_end else archive_kind(not_elf.head)
        if kind is None or (kind in COMPRESSED and _holds_nothing(candidate, kind)):
            return ()
        return _check_archive(candidate, kind, options)
    # An ELF stub with a zip behind it is also the zip zipfile, pip and unzip unpack.
    return (result, *_check_archive(candidate, Format.ZIP, options)) if zipped else (result,)


def _holds_nothing(candidate: Candidate, kind: Format) -> bool:
    """A compressed file whose content starts neither an ELF file nor an archive (`config.sh.gz`).

    The full reader would say the same, after importing every archive reader: decided here on the
    decompressed head alone, and only when that is certain (linkgate.archives.sniff.inner_head).
    """
    try:
        with open_regular(candidate.fs_path) as handle:
            head = inner_head(kind, handle)
    except OSError:
        return False  # the full reader reports why it cannot be read
    return head is not None and sniff(head) is None


def _check_archive(candidate: Candidate, kind: Format | None, options: ScanOptions) -> tuple[ArtifactResult, ...]:
    """`kind` None: an OCI image layout directory."""
    from linkgate.archives.limits import Limits  # noqa: PLC0415 - lazy: start-up
    from linkgate.check.archive_scan import ArchiveOptions, check_archive  # noqa: PLC0415 - lazy: start-up

    limits = options.archive_limits or Limits()
    archive = ArchiveOptions(
        options.policy, options.today, limits, options.wheel_tags, situated(options.policy), options.archive_helper
    )
    return check_archive(candidate, kind, archive)


def _check_file(candidate: Candidate, options: ScanOptions) -> tuple[ArtifactResult, bool]:
    """Evaluate one ELF file (NotElfError otherwise), and say whether a zip follows its bytes."""
    try:
        findings, zipped = _with_elf_bytes(candidate, partial(_judge_with_zip, candidate, options))
    except ElfFormatError as error:
        findings, zipped = unreadable(candidate.display, str(error), options.policy, options.today), False
    return ArtifactResult(candidate.display, findings), zipped


def _judge_with_zip(candidate: Candidate, options: ScanOptions, data: FileBytes) -> tuple[tuple[Finding, ...], bool]:
    return _judge(candidate, options, data), zip_in(data)


def _judge(candidate: Candidate, options: ScanOptions, data: Buffer) -> tuple[Finding, ...]:
    """The findings of one ELF file's bytes. Symbols are joined only for rejected needs, and what
    only explains or relaxes findings is read only for a file that has some: its Go build info,
    and which Go packages call C (a scan of the whole binary)."""
    facts, read_go = parse_elf_deferring_go(data, RejectedVersions(options.policy, candidate.display))
    rules = _android_rules(candidate.display) if options.wheel_tags and facts.libc == "bionic" else None
    for read_more in fact_readers(options.policy.rules_for(candidate.display) if rules is None else rules):
        facts = read_more(candidate.fs_path, facts)  # e.g. hardening
    # Only situated rules (target, allowed-needed) read the site, and they make the pre-pass fill `shipped`.
    site = NOWHERE if options.shipped is None else site_of(candidate, options.shipped)
    findings = evaluate(candidate.display, facts, options.policy, options.today, site, rules=rules)
    if not findings:
        return findings
    detailed = with_cgo_packages(candidate.fs_path, facts if read_go is None else read_go(facts))
    if detailed is facts or toolchain(detailed.payload or detailed) is Toolchain.C:
        return findings  # a C/C++ file's fixes were already the C ones: no second evaluation
    return evaluate(candidate.display, detailed, options.policy, options.today, site, rules=rules)


def _android_rules(display: str) -> Sequence[ConfiguredRule]:
    """No policy was given and the file is an Android library: the android preset judges it, as it
    judges an Android package (the default preset's glibc limits say nothing about bionic)."""
    from linkgate.check.android_promise import preset  # noqa: PLC0415 - lazy: start-up

    return preset().rules_for(display)


def check_each(candidates: list[Candidate], options: ScanOptions) -> Iterator[tuple[ArtifactResult, ...]]:
    """The results of each candidate in order, one tuple per candidate; forked workers for large trees."""
    if options.shipped is None and situated(options.policy):
        # A target judges each artifact with the libraries shipped beside it: one pre-pass.
        options = replace(options, shipped=collect_shipped(candidates))
    workers = options.jobs or min(os.cpu_count() or 1, 8)
    archives = [i for i, c in enumerate(candidates) if c.image_layout or c.fs_path.endswith(ARCHIVE_SUFFIXES)]
    if (len(candidates) < PARALLEL_THRESHOLD and len(archives) < 2) or workers < 2 or not _can_fork():
        # One archive checked here, a core to spare: its nested zips may go to a helper process.
        alone = replace(options, archive_helper=workers >= 2 and _can_fork())
        yield from (check_candidate(c, alone) for c in candidates)
        return
    if archives and options.wheel_tags:
        from linkgate.check.wheel_promise import preload_wheel_profiles  # noqa: PLC0415 - lazy: start-up

        preload_wheel_profiles(candidates[i].fs_path for i in archives)  # once, before workers fork
    if len(archives) < 2:
        yield from _pooled(candidates, options, workers, _CHUNK)
        return
    # Archives are much work each, and uneven: handed out first, largest first (one at a time in a
    # small run), so no core is left with the biggest at the end; results go out in candidate order.
    # Only archives are measured: a stat of every file of a large tree costs more than it could save.
    named = set(archives)
    order = sorted(archives, key=lambda i: -_file_size(candidates[i])) + [
        i for i in range(len(candidates)) if i not in named
    ]
    chunk = 1 if len(candidates) < PARALLEL_THRESHOLD else _CHUNK
    waiting: dict[int, tuple[ArtifactResult, ...]] = {}
    following = 0
    ordered = [candidates[i] for i in order]
    for index, results in zip(order, _pooled(ordered, options, workers, chunk, len(archives)), strict=True):
        waiting[index] = results
        while following in waiting:
            yield waiting.pop(following)
            following += 1


def _pooled(
    candidates: list[Candidate], options: ScanOptions, workers: int, chunk: int, uneven: int = 0
) -> Iterator[tuple[ArtifactResult, ...]]:
    from linkgate.check.workers import WorkerLostError, ordered_map  # noqa: PLC0415 - lazy: start-up

    try:
        yield from ordered_map(_worker_task(options), candidates, workers, chunk, uneven)
    except WorkerLostError as lost:
        where = "" if lost.index is None else f" while checking {candidates[lost.index].display}"
        raise CannotEvaluateError(f"a worker process was lost ({lost.how}){where}; out of memory?") from None


def _file_size(candidate: Candidate) -> int:
    try:
        return os.stat(candidate.fs_path).st_size if candidate.special is None else 0
    except OSError:
        return 0  # reading it reports why


def _can_fork() -> bool:
    return hasattr(os, "fork")


def _worker_task(options: ScanOptions) -> Callable[[Candidate], tuple[ArtifactResult, ...]]:
    return partial(check_candidate, options=options)
