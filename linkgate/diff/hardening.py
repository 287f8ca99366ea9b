"""diff-hardening: an exploit mitigation the old build had and the new one lost.

The mitigations are those the `hardening` rule judges (docs/hardening.md), read
from both builds: PIE (programs only: a shared library is always
position-independent), RELRO (full > partial > none), the non-executable stack
(NX), the stack canary, fortified libc calls (`_FORTIFY_SOURCE`) and x86 CET
(IBT and SHSTK).

Worse (`hardening-lost`): each mitigation the new build lost is its own finding
(subject = the mitigation: `pie`, `relro`, `nx`, `canary`, `fortify`, `cet`),
with the flag that restores it. Noted only: a mitigation gained. RELRO is not
compared when the new build is static (not static-pie): nothing relocates it at
run time, so there is nothing for RELRO to protect (a pure Go program has none,
and `CGO_ENABLED=0` is no regression). A fact one of the builds cannot tell (the
canary of a stripped static program, fortify of a static program, CET on a
machine without it) is not compared. UPX-packed files are judged by their payload.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.diff.change import Build, Change
from linkgate.elf.facts import ElfFacts, Hardening, Kind, Linkage
from linkgate.policy.compiled import CompiledDiff
from linkgate.rules.base import Rule, short_list
from linkgate.rules.hardening import FIXES, GO_FIXES

RULE = Rule("diff-hardening", __doc__ or "")
_JUDGED = (Kind.EXECUTABLE, Kind.PIE, Kind.SHARED_LIBRARY)
_RELRO_RANK = {"none": 0, "partial": 1, "full": 2}
# subject -> (what gaining it reads as, what losing it reads as) for the yes/no mitigations.
_WORDS = {
    "pie": ("now a position-independent executable", "no longer position-independent (no ASLR for its code)"),
    "nx": ("now has a non-executable stack", "now has an executable stack (PT_GNU_STACK missing or with PF_X)"),
    "canary": ("now has a stack protector", "lost its stack protector (no __stack_chk_fail)"),
    "fortify": ("now fortified", "is no longer fortified (no checking variant __*_chk of the libc calls)"),
}  # fmt: skip


def compare(old: Build, new: Build, _settings: CompiledDiff) -> Iterator[Change]:
    before, after = old.judged.hardening, new.judged.hardening
    if before is None or after is None or new.judged.kind not in _JUDGED:
        return
    for subject, was, now in _flags(old.judged, before, new.judged, after):
        if was and not now:
            yield _lost(new.judged, subject, _WORDS[subject][1], after)
        elif now and not was:
            yield Change(subject, _WORDS[subject][0])
    if new.judged.linkage is not Linkage.STATIC:
        yield from _relro(new.judged, before, after)
    yield from _cet(new.judged, before, after)


def _flags(
    old: ElfFacts, before: Hardening, new: ElfFacts, after: Hardening
) -> Iterator[tuple[str, bool | None, bool | None]]:
    """(mitigation, old, new) for the yes/no mitigations both builds can tell."""
    if new.kind is not Kind.SHARED_LIBRARY and old.kind is not Kind.SHARED_LIBRARY:
        yield "pie", before.pie, after.pie
    yield "nx", before.nx, after.nx
    for subject, was, now in (("canary", before.canary, after.canary), ("fortify", before.fortified, after.fortified)):
        if was is not None and now is not None:
            yield subject, was, now


def _relro(new: ElfFacts, before: Hardening, after: Hardening) -> Iterator[Change]:
    was, now = _RELRO_RANK[before.relro], _RELRO_RANK[after.relro]
    message = f"RELRO {before.relro} -> {after.relro}"
    if now < was:
        why = "no PT_GNU_RELRO" if after.relro == "none" else "lazy binding leaves the GOT's PLT part writable"
        yield _lost(new, "relro", f"{message} ({why})", after)
    elif now > was:
        yield Change("relro", message)


def _cet(new: ElfFacts, before: Hardening, after: Hardening) -> Iterator[Change]:
    if before.cet is None or after.cet is None:
        return
    pairs = (("IBT", before.cet.ibt, after.cet.ibt), ("SHSTK", before.cet.shstk, after.cet.shstk))
    lost = [name for name, was, now in pairs if was and not now]
    gained = [name for name, was, now in pairs if now and not was]
    if lost:
        yield _lost(new, "cet", f"lost CET {' and '.join(lost)} (no GNU property note marking it)", after)
    if gained:
        yield Change("cet", f"now has CET {' and '.join(gained)}")


def _lost(new: ElfFacts, subject: str, message: str, after: Hardening) -> Change:
    symbols = after.unfortified if subject == "fortify" else ()
    if symbols:
        message += f": {short_list(symbols)}"
    return Change(subject, message, kind="hardening-lost", hint=_fix(new, subject), symbols=symbols)


def _fix(facts: ElfFacts, subject: str) -> str:
    """The `hardening` rule's fix for the mitigation, in Go's spelling for a Go program."""
    hint = GO_FIXES.get(subject) if facts.go is not None else None
    return hint or FIXES[subject]
