"""The target's machine floors: its CPU baseline, kernel and page sizes (docs/machine-floors.md).

Each is judged as the max-isa, min-kernel and page-size rules judge it, with the
target's own values; a profile that does not record one does not judge it.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.core.findings import Violation
from linkgate.elf.facts import ElfFacts
from linkgate.profiles.index import TargetIndex
from linkgate.rules.max_isa import isa_violation
from linkgate.rules.min_kernel import kernel_violation
from linkgate.rules.page_size import page_violation
from linkgate.rules.schema import parse_version

# glibc 2.36 removed the loader's skipping of libraries tagged newer than the kernel.
_LAST_SKIPPING_GLIBC = (2, 35)


def machine_violations(facts: ElfFacts, profile: TargetIndex) -> Iterator[Violation]:
    """Every floor of `facts` that `profile`'s machines do not reach."""
    level = profile.isa.get(facts.machine) or (profile.isa.get("x86_64") if facts.machine == "i386" else None)
    if level is not None:
        yield from _some(isa_violation(facts, level, f"{profile.name}'s {level} CPUs"))
    if profile.kernel is not None:
        yield from _some(kernel_violation(facts, profile.kernel, profile.name, _skips_tagged(profile)))
    for size in profile.page_sizes.get(facts.machine, ()):
        yield from _some(page_violation(facts, size, f"{profile.name}'s kernel with {size}-byte pages"))


def _skips_tagged(profile: TargetIndex) -> bool:
    version = profile.libc_version
    return profile.libc_family == "glibc" and (version is None or parse_version(version) <= _LAST_SKIPPING_GLIBC)


def _some(found: Violation | None) -> Iterator[Violation]:
    if found is not None:
        yield found
