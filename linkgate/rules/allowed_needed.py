"""allowed-needed: every DT_NEEDED library must match one of these glob patterns.

Example: `[libc.so.6, libm.so.6, "libz.so.*", "ld-linux-*.so.2"]`. A library the
target does not have fails at start-up with "cannot open shared object file";
ship it next to the artifact (RUNPATH `$ORIGIN`), link it statically, or
allow it here once you know the target provides it.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.elf.facts import ElfFacts
from linkgate.findings import Violation
from linkgate.rules.base import PolicyRule, same
from linkgate.rules.globs import matches_any
from linkgate.rules.schema import Globs
from linkgate.site import Site


def check(facts: ElfFacts, allowed: tuple[str, ...], _site: Site) -> Iterator[Violation]:
    for soname in facts.needed:
        if not matches_any(soname, allowed):
            yield Violation(
                subject=soname,
                message=f"needs {soname}, which is not in allowed-needed",
                hint="link it statically, bundle it with RUNPATH $ORIGIN, or add it to allowed-needed "
                "if every target provides it",
            )


RULE = PolicyRule(id="allowed-needed", doc=__doc__ or "", schema=Globs, compile=same, check=check)
