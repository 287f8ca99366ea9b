"""diff-machine: a machine floor rose (docs/machine-floors.md).

Worse (`machine-floor`): NEW needs a higher x86-64 CPU level (GNU property note
or GOAMD64: `x86-64-baseline -> x86-64-v3`), a newer kernel where something
checks it (a static glibc <= 2.35 program's start-up check, the Go runtime's
minimum), or a smaller PT_LOAD alignment, so fewer kernels' page sizes load it
(`pages <= 65536 -> 4096`). Each is a release that stops starting on machines
the last one ran on. A higher ABI tag nothing checks, and a floor that fell,
are notes. UPX-packed files are judged by their payload.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.diff.change import Build, Change
from linkgate.elf.facts import ISA_LEVELS, ElfFacts
from linkgate.elf.floors import effective_isa, effective_kernel_floor
from linkgate.policy.compiled import CompiledDiff
from linkgate.rules.base import Rule
from linkgate.rules.remedies import isa_fix, kernel_fix, page_size_fix

RULE = Rule("diff-machine", __doc__ or "")
KIND = "machine-floor"


def compare(old: Build, new: Build, _settings: CompiledDiff) -> Iterator[Change]:
    before, after = old.judged, new.judged
    yield from _isa(before, after)
    yield from _kernel(before, after)
    yield from _pages(before, after)


def _isa(before: ElfFacts, after: ElfFacts) -> Iterator[Change]:
    was, now = _level(before), _level(after)
    if was == now:
        return
    message = f"x86 ISA level {ISA_LEVELS[was]} -> {ISA_LEVELS[now]}"
    if now > was:
        yield Change("isa", message, kind=KIND, hint=isa_fix(after, ISA_LEVELS[was]))
    else:
        yield Change("isa", message)


def _level(facts: ElfFacts) -> int:
    """No marker asks for nothing more than the baseline."""
    found = effective_isa(facts)
    return 0 if found is None else ISA_LEVELS.index(found[0])


def _kernel(before: ElfFacts, after: ElfFacts) -> Iterator[Change]:
    was, now = effective_kernel_floor(before), effective_kernel_floor(after)
    if now is None:
        return
    checked_before = was is not None and (was.source == "go-runtime" or was.startup_check)
    checked_now = now.source == "go-runtime" or now.startup_check
    rose = was is None or _padded(now.version) > _padded(was.version)
    same = was is not None and _padded(now.version) == _padded(was.version)
    worse = checked_now and (rose or (same and not checked_before))
    if not (rose or worse):
        return
    checked = ", checked at start-up" if now.startup_check else ""
    message = f"kernel floor {'none' if was is None else was.text} -> {now.text} ({now.source}{checked})"
    yield Change("kernel", message, kind=KIND if worse else None, hint=kernel_fix(after, now.source))


def _pages(before: ElfFacts, after: ElfFacts) -> Iterator[Change]:
    was, now = before.load_alignment, after.load_alignment
    if was is None or now is None or was.max_page_size is None or now.max_page_size is None:
        return
    if now.max_page_size < was.max_page_size:
        message = f"loads on pages <= {was.max_page_size} -> {now.max_page_size} bytes"
        yield Change("page-size", message, kind=KIND, hint=page_size_fix(after, was.max_page_size))


def _padded(version: tuple[int, ...]) -> tuple[int, ...]:
    return version + (0,) * (3 - len(version))
