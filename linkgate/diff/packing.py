"""diff-upx: the artifact became UPX-packed, or what it packs changed.

Worse (`upx-packed`): newly packed. UPX makes a dynamic program look static to
`file` and `ldd` while its stub still maps the loader and the same libraries,
so a compatibility regression hides behind it; the finding says whether the
packed program (the payload) is the old build's loader view or not. Also worse:
a packed file whose payload cannot be read, since nothing else can then be
compared (fail closed). Noted only: no longer packed; still packed with a
payload that changed (the other diff rules say how).
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.diff.change import Build, Change
from linkgate.elf.facts import ElfFacts
from linkgate.policy.compiled import CompiledDiff
from linkgate.rules.base import Rule

RULE = Rule("diff-upx", __doc__ or "")
_UNPACK = "ship the unpacked binary: UPX hides what it loads, it does not make it static"


def compare(old: Build, new: Build, _settings: CompiledDiff) -> Iterator[Change]:
    unreadable = [build for build in (old, new) if not build.seen_through]
    for build in unreadable:
        side = "old" if build is old else "new"
        yield Change("payload", f"the {side} build is UPX-packed and its payload cannot be read: "
                     "nothing else can be compared", kind="upx-packed", hint=_UNPACK)  # fmt: skip
    if unreadable:
        return
    if new.packed and not old.packed:
        same = loader_view(new.judged) == loader_view(old.judged)
        payload = "its payload loads like the old build" if same else "its payload changed too (see the other findings)"
        yield Change("upx", f"newly UPX-packed ({_packing(new)}); {payload}", kind="upx-packed", hint=_UNPACK)
    elif old.packed and not new.packed:
        yield Change("upx", "no longer UPX-packed")
    elif old.packed and loader_view(new.judged) != loader_view(old.judged):
        yield Change("upx", "still UPX-packed; the packed program changed (see the other findings)")


def loader_view(facts: ElfFacts) -> tuple[object, ...]:
    """What the loader acts on: equal views load the same way on every target."""
    versions = sorted((n.library, n.version, n.weak) for n in facts.version_needs)
    return (facts.machine, facts.linkage, facts.interpreter, facts.needed, facts.rpath, facts.runpath, versions)


def _packing(build: Build) -> str:
    upx = build.facts.upx
    assert upx is not None
    known = [part for part in (upx.version and f"UPX {upx.version}", upx.method) if part]
    return ", ".join(known) if known else upx.evidence
