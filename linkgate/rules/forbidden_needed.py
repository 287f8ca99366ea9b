"""forbidden-needed: no DT_NEEDED library may match these glob patterns.

Example: `["libpython3*", "libasan.so.*"]`. Useful for libraries that must come
from the host process (a Python extension must not link libpython) or that
betray a debug build.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.core.findings import Violation
from linkgate.core.site import Site
from linkgate.elf.facts import ElfFacts
from linkgate.rules.base import PolicyRule, same
from linkgate.rules.globs import matches_any
from linkgate.rules.schema import Globs


def check(facts: ElfFacts, forbidden: tuple[str, ...], _site: Site) -> Iterator[Violation]:
    for soname in facts.needed:
        if matches_any(soname, forbidden):
            yield Violation(
                subject=soname,
                message=f"needs {soname}, which matches forbidden-needed",
                hint="remove the dependency (relink without it) or drop the pattern from forbidden-needed",
            )


RULE = PolicyRule(id="forbidden-needed", doc=__doc__ or "", schema=Globs, compile=same, check=check)
