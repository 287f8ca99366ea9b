"""interpreters: the PT_INTERP paths (globs) a dynamic executable may request.

Example: `[/lib64/ld-linux-x86-64.so.2]`. A missing interpreter makes the kernel
report "No such file or directory" for a file that plainly exists: a musl
binary on a glibc host, or a Nix store path on a normal distribution.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.core.findings import Violation
from linkgate.core.site import Site
from linkgate.elf.facts import ElfFacts
from linkgate.rules.base import PolicyRule, same
from linkgate.rules.globs import matches_any
from linkgate.rules.schema import Globs


def check(facts: ElfFacts, allowed: tuple[str, ...], _site: Site) -> Iterator[Violation]:
    if facts.interpreter is not None and not matches_any(facts.interpreter, allowed):
        yield Violation(
            subject=facts.interpreter,
            message=f"requests interpreter {facts.interpreter}, allowed: {', '.join(allowed)}",
            hint="link against the target's C library (its loader path), or fix it with `patchelf "
            "--set-interpreter` only if the target really has that loader",
        )


RULE = PolicyRule(id="interpreters", doc=__doc__ or "", schema=Globs, compile=same, check=check)
