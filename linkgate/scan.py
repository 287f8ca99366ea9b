"""The I/O edge of checking: read each candidate once, evaluate it, in parallel when many."""

from __future__ import annotations

import datetime
import multiprocessing
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

from linkgate.discover import Candidate
from linkgate.elf.facts import ElfFacts
from linkgate.elf.gobuild import with_cgo_packages
from linkgate.elf.image import ELF_MAGIC, ElfFormatError
from linkgate.elf.reader import SymbolSelection, read_elf
from linkgate.evaluate import RejectedVersions, evaluate, unreadable
from linkgate.findings import ArtifactResult
from linkgate.policy.compiled import CompiledPolicy
from linkgate.rules import fact_readers
from linkgate.shipping import collect_shipped, site_of
from linkgate.site import ShippedLibrary

# Below this many files a process pool costs more than it saves.
PARALLEL_THRESHOLD = 200
_CHUNK = 16


@dataclass(frozen=True)
class ScanOptions:
    policy: CompiledPolicy
    today: datetime.date
    # Shared libraries among the checked files, for target profiles (filled by check_all).
    shipped: Mapping[str, ShippedLibrary] | None = None


class NotElfError(Exception):
    """The candidate is not an ELF file; it is counted as skipped."""


def read_candidate(candidate: Candidate, want_symbols: SymbolSelection = None) -> ElfFacts:
    """Facts of one candidate; NotElfError for other files, ElfFormatError for broken ELF ones."""
    try:
        with open(candidate.fs_path, "rb") as handle:
            if handle.read(4) != ELF_MAGIC:
                raise NotElfError(candidate.display)
        return read_elf(candidate.fs_path, want_symbols)
    except OSError as error:
        raise ElfFormatError(f"cannot read file: {error.strerror}") from None


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
    """Results in candidate order; a fork pool on multi-core machines for large trees."""
    if options.policy.profiles and options.shipped is None:
        # A target judges each artifact with the libraries shipped beside it: one pre-pass.
        options = replace(options, shipped=collect_shipped(candidates))
    workers = min(os.cpu_count() or 1, 8)
    if len(candidates) < PARALLEL_THRESHOLD or workers < 2 or not _can_fork():
        yield from (check_candidate(c, options) for c in candidates)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_init_worker, initargs=(options,)) as pool:
        yield from pool.imap(_check_in_worker, candidates, chunksize=_CHUNK)


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


_worker_options: ScanOptions | None = None


def _init_worker(options: ScanOptions) -> None:
    global _worker_options  # noqa: PLW0603 - set once per worker process by the pool
    _worker_options = options


def _check_in_worker(candidate: Candidate) -> ArtifactResult | None:
    assert _worker_options is not None
    return check_candidate(candidate, _worker_options)
