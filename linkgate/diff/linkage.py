"""diff-linkage: how the program gets its libraries changed: linkage, interpreter, C library.

Worse (fails `linkgate diff`):
- `linkage`: static or static-pie became dynamic. The program now needs a
  loader and libraries on the target: "runs anywhere" is gone.
- `interpreter`: the interpreter (PT_INTERP) changed, or appeared on a program
  that stayed dynamic: a target without that path cannot start it.
- `libc`: the C library family changed (musl <-> glibc): a different runtime.
Noted only: dynamic became static, static <-> static-pie.
UPX-packed files are judged by their payload.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.diff.change import Build, Change
from linkgate.elf.facts import ElfFacts, Linkage
from linkgate.policy.compiled import CompiledDiff
from linkgate.rules.base import Rule, short_list
from linkgate.rules.remedies import static_fix

RULE = Rule("diff-linkage", __doc__ or "")
_STATIC = (Linkage.STATIC, Linkage.STATIC_PIE)


def compare(old: Build, new: Build, _settings: CompiledDiff) -> Iterator[Change]:
    before, after = old.judged, new.judged
    became_dynamic = before.linkage in _STATIC and after.linkage is Linkage.DYNAMIC
    if became_dynamic:
        yield Change(
            "linkage",
            f"{before.linkage.value} -> dynamic: now {_loads(after)}",
            kind="linkage",
            hint=f"build it static again: {static_fix(after)}",
        )
    elif before.linkage is not after.linkage:
        yield Change("linkage", f"{before.linkage.value} -> {after.linkage.value}")
    if before.interpreter != after.interpreter and after.interpreter is not None and not became_dynamic:
        yield Change(
            "interpreter",
            f"interpreter {before.interpreter or 'none'} -> {after.interpreter}",
            kind="interpreter",
            hint="targets must have the new interpreter: build with the old toolchain, or link statically",
        )
    if before.libc is not None and after.libc is not None and before.libc != after.libc:
        yield Change(
            "libc",
            f"C library {before.libc} -> {after.libc}: needs the {after.libc} loader and libraries on the target",
            kind="libc",
            hint=f"build against {before.libc} again, or link statically",
        )


def _loads(facts: ElfFacts) -> str:
    """`loads /lib64/ld-linux-x86-64.so.2 (glibc) and libc.so.6, libm.so.6`."""
    loader = facts.interpreter or "no interpreter"
    family = f" ({facts.libc})" if facts.libc else ""
    libraries = f" and {short_list(facts.needed, limit=4)}" if facts.needed else ""
    return f"loads {loader}{family}{libraries}"
