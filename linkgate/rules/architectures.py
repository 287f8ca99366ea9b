"""architectures: the machine types allowed (x86_64, aarch64, i386, arm, riscv64, ppc64le, s390x, mips…).

Names follow the ELF header (e_machine, class and byte order): `ppc64le` vs
`ppc64`, `mips` vs `mipsel`. Catches a cross-compiled artifact in the wrong
upload directory before a server reports "Exec format error".
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.core.findings import Violation
from linkgate.core.site import Site
from linkgate.elf.facts import ElfFacts
from linkgate.rules.base import PolicyRule, same
from linkgate.rules.schema import Globs


def check(facts: ElfFacts, allowed: tuple[str, ...], _site: Site) -> Iterator[Violation]:
    if facts.machine not in allowed:
        yield Violation(
            subject=facts.machine,
            message=f"is built for {facts.machine}, allowed: {', '.join(allowed)}",
            hint="build for the target architecture (cross-compile with the right --target)",
        )


RULE = PolicyRule(id="architectures", doc=__doc__ or "", schema=Globs, compile=same, check=check)
