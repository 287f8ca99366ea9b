"""allowed-needed: every DT_NEEDED library must match one of these glob patterns.

Example: `[libc.so.6, libm.so.6, "libz.so.*", "ld-linux-*.so.2"]`. A library the
target does not have fails at start-up with "cannot open shared object file";
ship it next to the artifact (RUNPATH `$ORIGIN`), link it statically, or
allow it here once you know the target provides it. A library the loader
finds among the checked files (through RPATH/RUNPATH and `$ORIGIN`, its own or
inherited from the objects that load it, as in a repaired wheel's `PKG.libs/`)
satisfies the need without being listed; that library is then checked in turn.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.core.findings import Violation
from linkgate.core.site import Site
from linkgate.elf.facts import ElfFacts
from linkgate.rules import remedies
from linkgate.rules.base import PolicyRule, same
from linkgate.rules.globs import matches_any
from linkgate.rules.schema import Globs
from linkgate.rules.target_search import find_shipped


def check(facts: ElfFacts, allowed: tuple[str, ...], site: Site) -> Iterator[Violation]:
    for soname in facts.needed:
        if matches_any(soname, allowed) or find_shipped(facts, soname, site, facts.libc) is not None:
            continue
        yield Violation(
            subject=soname,
            message=f"needs {soname}, which is not in allowed-needed and not shipped where the loader looks",
            hint=_hint(soname, site),
        )


def _hint(soname: str, site: Site) -> str:
    if remedies.is_c_library(soname):
        return remedies.c_library_fix(soname)
    if site.in_wheel:
        return f"repair the wheel: `auditwheel repair` copies {soname} into PKG.libs/ and points RPATH at it"
    return "link it statically, bundle it with RUNPATH $ORIGIN, or add it to allowed-needed if every target provides it"


RULE = PolicyRule(id="allowed-needed", doc=__doc__ or "", schema=Globs, compile=same, check=check)
