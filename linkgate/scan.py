"""The I/O edge of checking: read each candidate once, evaluate it, in parallel when many."""

from __future__ import annotations

import datetime
import mmap
import os
import signal
from collections.abc import Callable, Iterator, Mapping
from functools import partial

from linkgate.discover import Candidate
from linkgate.elf.facts import ElfFacts
from linkgate.elf.gobuild import with_cgo_packages
from linkgate.elf.image import ElfFormatError
from linkgate.elf.layouts import ELF_MAGIC
from linkgate.elf.reader import SymbolSelection, parse_elf
from linkgate.evaluate import RejectedVersions, evaluate, unreadable
from linkgate.exitcodes import CannotEvaluateError
from linkgate.findings import ArtifactResult
from linkgate.policy.compiled import CompiledPolicy
from linkgate.records import record, replace
from linkgate.rules import fact_readers
from linkgate.shipping import collect_shipped, site_of, situated
from linkgate.site import ShippedLibrary
from linkgate.sourcefile import open_regular

# Below this many files a process pool costs more than it saves.
PARALLEL_THRESHOLD = 200
_CHUNK = 16
# Test-only hook, inert unless set: a pool worker that reaches a file with this
# basename SIGKILLs itself, as the OOM killer would (tests/test_fail_closed_scan.py).
TEST_KILL_ON = "LINKGATE_TEST_KILL_ON"


@record
class ScanOptions:
    policy: CompiledPolicy
    today: datetime.date
    # Shared libraries among the checked files, for target profiles (filled by check_all).
    shipped: Mapping[str, ShippedLibrary] | None = None
    # Worker processes; None: the CPU count (at most 8). Reports are the same whatever the number.
    jobs: int | None = None


class NotElfError(Exception):
    """The candidate is not an ELF file; it is counted as skipped."""


def read_candidate(candidate: Candidate, want_symbols: SymbolSelection = None) -> ElfFacts:
    """Facts of one candidate; NotElfError for other files, ElfFormatError for broken ELF ones.

    One handle from open to parse: what was checked to be a regular file is what is read.
    """
    if candidate.special is not None:
        raise NotElfError(candidate.display)
    if candidate.unreadable is not None:
        raise ElfFormatError(candidate.unreadable)
    try:
        with open_regular(candidate.fs_path) as handle:
            if handle.read(4) != ELF_MAGIC:
                raise NotElfError(candidate.display)
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return parse_elf(data, want_symbols)
    except OSError as error:
        raise ElfFormatError(f"cannot read file: {error.strerror or error}") from None


def check_candidate(candidate: Candidate, options: ScanOptions) -> ArtifactResult | None:
    """Evaluate one file; None when it is not ELF. Symbols are joined only for rejected needs."""
    try:
        facts = read_candidate(candidate, RejectedVersions(options.policy, candidate.display))
        for read_more in fact_readers(options.policy.rules_for(candidate.display)):  # e.g. hardening
            facts = read_more(candidate.fs_path, facts)
        site = site_of(candidate, options.shipped or {})
        findings = evaluate(candidate.display, facts, options.policy, options.today, site)
        # Which Go packages call C costs a scan of the whole binary: only failing
        # Go programs pay it, so that their hints can name the modules.
        detailed = with_cgo_packages(candidate.fs_path, facts) if findings else facts
        if detailed is not facts:
            facts = detailed
            findings = evaluate(candidate.display, facts, options.policy, options.today, site)
    except NotElfError:
        return None
    except ElfFormatError as error:
        findings = unreadable(candidate.display, str(error), options.policy, options.today)
        return ArtifactResult(candidate.display, findings)
    return ArtifactResult(candidate.display, findings)


def check_all(candidates: list[Candidate], options: ScanOptions) -> Iterator[ArtifactResult | None]:
    """Results in candidate order; forked workers on multi-core machines for large trees."""
    if options.shipped is None and situated(options.policy):
        # A target judges each artifact with the libraries shipped beside it: one pre-pass.
        options = replace(options, shipped=collect_shipped(candidates))
    workers = options.jobs or min(os.cpu_count() or 1, 8)
    if len(candidates) < PARALLEL_THRESHOLD or workers < 2 or not _can_fork():
        yield from (check_candidate(c, options) for c in candidates)
        return
    # Imported here: multiprocessing costs start-up time that runs on a few files never use.
    from linkgate.workers import WorkerLostError, ordered_map  # noqa: PLC0415

    try:
        yield from ordered_map(_worker_task(options), candidates, workers, _CHUNK)
    except WorkerLostError as lost:
        where = "" if lost.index is None else f" while checking {candidates[lost.index].display}"
        raise CannotEvaluateError(f"a worker process was lost ({lost.how}){where}; out of memory?") from None


def _can_fork() -> bool:
    import multiprocessing  # noqa: PLC0415 - see check_all

    return "fork" in multiprocessing.get_all_start_methods()


def _worker_task(options: ScanOptions) -> Callable[[Candidate], ArtifactResult | None]:
    kill_on = os.environ.get(TEST_KILL_ON)
    if not kill_on:
        return partial(check_candidate, options=options)
    return partial(_killed_on, kill_on, options)


def _killed_on(basename: str, options: ScanOptions, candidate: Candidate) -> ArtifactResult | None:
    if os.path.basename(candidate.fs_path) == basename:
        os.kill(os.getpid(), signal.SIGKILL)
    return check_candidate(candidate, options)
