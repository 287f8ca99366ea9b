"""min-kernel: the artifact starts on a Linux kernel this old.

`min-kernel: "2.6.32"` (the oldest kernel the artifact must run on; quote it).
Judged where something refuses, so the rule never fails what the kernel and
the loader accept:
- a static glibc program built against glibc <= 2.35 checks the running kernel
  against its NT_GNU_ABI_TAG note at start-up and dies with `FATAL: kernel too
  old` (glibc 2.36 removed the check; the note is still written);
- a shared library whose ABI tag is newer than the kernel is skipped by the
  loaders of glibc <= 2.35 (`cannot open shared object file`);
- a Go program needs its Go release's minimum kernel (Go 1.24 and later: 3.2;
  1.19-1.23: 2.6.32; up to 1.18: 2.6.23; loong64: 5.19), read from its build info.
A dynamic executable's own ABI tag is not checked by anyone (its C library is
the target's), and is only shown by `inspect`.

The fix: link statically against musl (`musl-gcc -static`; Go:
`CC=musl-gcc go build -tags musl ...` or `CGO_ENABLED=0`), link dynamically
against the target's glibc, or build with an older Go. docs/machine-floors.md.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.core.findings import Violation
from linkgate.core.site import Site
from linkgate.elf.facts import ElfFacts, Kind
from linkgate.elf.floors import effective_kernel_floor, with_go_build_info
from linkgate.rules.base import CompileContext, PolicyRule
from linkgate.rules.remedies import kernel_fix
from linkgate.rules.schema import Version, parse_version


def kernel_violation(facts: ElfFacts, kernel: tuple[int, ...], on: str, skips_tagged: bool = True) -> Violation | None:
    """The finding when the file refuses to start on `kernel`; `on` names the machine.

    `skips_tagged`: the target's loader skips libraries tagged newer than its kernel (glibc <= 2.35).
    """
    floor = effective_kernel_floor(facts)
    if (
        floor is None
        or _padded(floor.version) <= _padded(kernel)
        or not _enforced(facts, floor.source, floor.startup_check, skips_tagged)
    ):
        return None
    running = ".".join(map(str, kernel))
    if floor.source == "go-runtime":
        go = facts.go.version if facts.go is not None else "Go"
        message = f"needs Linux {floor.text} ({go}'s minimum), {on} runs {running}"
    elif floor.startup_check:
        message = (
            f"is a static glibc program that checks for Linux {floor.text} at start-up: "
            f"FATAL: kernel too old on {running}"
        )
    else:
        message = (
            f"has ABI tag Linux {floor.text}: glibc <= 2.35 loaders skip it on {running} "
            "(cannot open shared object file)"
        )
    return Violation(f"Linux {floor.text}", message, hint=kernel_fix(facts, floor.source))


def _padded(version: tuple[int, ...]) -> tuple[int, ...]:
    """(3, 2) and (3, 2, 0) are the same kernel."""
    return version + (0,) * (3 - len(version))


def _enforced(facts: ElfFacts, source: str, startup_check: bool, skips_tagged: bool) -> bool:
    return source == "go-runtime" or startup_check or (skips_tagged and facts.kind is Kind.SHARED_LIBRARY)


def check(facts: ElfFacts, kernel: tuple[int, ...], _site: Site) -> Iterator[Violation]:
    found = kernel_violation(facts, kernel, "the target kernel")
    if found is not None:
        yield found


def _compile(version: str, context: CompileContext) -> tuple[int, ...]:
    del context
    return parse_version(version)


RULE = PolicyRule(
    id="min-kernel", doc=__doc__ or "", schema=Version, compile=_compile, check=check, reads=(with_go_build_info,)
)
