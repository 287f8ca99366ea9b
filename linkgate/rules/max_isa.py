"""max-isa: the highest x86-64 CPU level the artifact may need.

`max-isa: x86-64-v2` (one of x86-64-baseline, x86-64-v2, x86-64-v3,
x86-64-v4). glibc >= 2.33's loader reads GNU_PROPERTY_X86_ISA_1_NEEDED from
the GNU property note (PT_GNU_PROPERTY) of the program and of every library it
loads, and refuses to start on a CPU below it: `CPU ISA level is lower than
required`. The marker comes from `-Wl,-z,x86-64-v3`, `-march=x86-64-v3`
with `-mneeded`, or a crt1.o of a distribution built for a higher level (a
cgo program built on such an image inherits x86-64-v4). A Go program's level
is its build setting GOAMD64 (v3 code checks the CPU at start-up itself).
The AArch64 feature bits (BTI, PAC, GCS) are shown by `inspect` only.

The fix: compile with `-march=x86-64 -mtune=generic`, build in a vanilla image,
Go `GOAMD64=v1`; read the note with `readelf -n FILE`. Only x86 files are
judged. docs/machine-floors.md describes the facts and the oracles.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from linkgate.core.findings import Violation
from linkgate.core.site import Site
from linkgate.elf.facts import ISA_LEVELS, ElfFacts
from linkgate.elf.floors import effective_isa, with_go_build_info
from linkgate.rules.base import PolicyRule, same
from linkgate.rules.remedies import isa_fix

IsaLevel = Literal["x86-64-baseline", "x86-64-v2", "x86-64-v3", "x86-64-v4"]


def isa_violation(facts: ElfFacts, limit: str, on: str) -> Violation | None:
    """The finding when the file needs a higher x86 level than `limit`; `on` names the CPUs."""
    found = effective_isa(facts)
    if found is None or ISA_LEVELS.index(found[0]) <= ISA_LEVELS.index(limit):
        return None
    level, source = found
    message = f"needs {level} ({source}): the loader refuses to start it on {on}: CPU ISA level is lower than required"
    return Violation(level, message, hint=isa_fix(facts, limit))


def check(facts: ElfFacts, limit: IsaLevel, _site: Site) -> Iterator[Violation]:
    found = isa_violation(facts, limit, f"a {limit} CPU")
    if found is not None:
        yield found


RULE = PolicyRule(
    id="max-isa", doc=__doc__ or "", schema=IsaLevel, compile=same, check=check, reads=(with_go_build_info,)
)
