"""linkage: how executables must link: `static`, `dynamic` or `any` (the default).

static-pie counts as static. Shared libraries are dynamic by nature and are
not judged. For a UPX-packed file the payload's linkage counts: packing does
not make a dynamic program static.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.elf.facts import ElfFacts, Kind, Linkage
from linkgate.findings import Violation
from linkgate.rules.base import Rule

_STATIC = (Linkage.STATIC, Linkage.STATIC_PIE)


def check(facts: ElfFacts, wanted: str) -> Iterator[Violation]:
    if wanted == "any" or facts.kind in (Kind.SHARED_LIBRARY, Kind.RELOCATABLE):
        return
    is_static = facts.linkage in _STATIC
    if (wanted == "static") != is_static:
        detail = f" via {facts.interpreter}" if facts.interpreter else ""
        yield Violation(
            subject=facts.linkage.value,
            message=f"is {facts.linkage.value}{detail}, policy requires {wanted}",
            hint=_HINTS[wanted],
        )


_HINTS = {
    "static": "link statically (musl-gcc -static; Go: CGO_ENABLED=0, or CC=musl-gcc with "
    "-ldflags '-linkmode external -extldflags \"-static\"')",
    "dynamic": "link dynamically against the target's C library",
}

RULE = Rule("linkage", __doc__ or "", check)
