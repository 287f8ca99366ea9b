"""linkage: how executables must link: `static`, `dynamic` or `any` (the default).

static-pie counts as static. Shared libraries are dynamic by nature and are
not judged. For a UPX-packed file the payload's linkage counts: packing does
not make a dynamic program static.

To become static, C and C++ programs link against musl (`musl-gcc -static`,
`zig cc -target x86_64-linux-musl`); Go programs with cgo build with
`CC=musl-gcc go build -tags musl -ldflags '-linkmode external -extldflags "-static"'`
or `CGO_ENABLED=0`.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.core.findings import Violation
from linkgate.core.site import Site
from linkgate.elf.facts import ElfFacts, Kind, Linkage
from linkgate.rules.base import PolicyRule, same
from linkgate.rules.remedies import static_fix
from linkgate.rules.schema import LinkageKind

_STATIC = (Linkage.STATIC, Linkage.STATIC_PIE)


def check(facts: ElfFacts, wanted: LinkageKind, _site: Site) -> Iterator[Violation]:
    if wanted == "any" or facts.kind in (Kind.SHARED_LIBRARY, Kind.RELOCATABLE):
        return
    is_static = facts.linkage in _STATIC
    if (wanted == "static") != is_static:
        detail = f" via {facts.interpreter}" if facts.interpreter else ""
        yield Violation(
            subject=facts.linkage.value,
            message=f"is {facts.linkage.value}{detail}, policy requires {wanted}",
            hint=static_fix(facts) if wanted == "static" else "link dynamically against the target's C library",
        )


RULE = PolicyRule(id="linkage", doc=__doc__ or "", schema=LinkageKind, compile=same, check=check)
