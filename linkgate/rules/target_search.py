"""Where the target's loader would find each NEEDED library of an artifact, in its order.

glibc (ld.so(8), elf/dl-load.c): a name already mapped is reused; else, when
the requesting object has no DT_RUNPATH, the DT_RPATH of the requester and of
every object up the chain that loaded it (an object with DT_RUNPATH contributes
none); LD_LIBRARY_PATH (the environment's, not assumed); the requester's own
DT_RUNPATH (never inherited); then ld.so.cache and the default directories,
which a profile records. musl (ldso/dynlink.c) walks the same chain but takes
each object's DT_RUNPATH, else its DT_RPATH, so RUNPATH is inherited too; and
before any search it answers the names it reserves (libc.*, libpthread.*,
librt.*, libm.*, libdl.*, libutil.*, libxnet.*: glibc's libc.so.6 too) with
itself, whatever a profile lists or an artifact ships.
A directory reached through `$ORIGIN` is among the checked artifacts; other
absolute directories are the target's. docs/targets.md describes the model.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from linkgate.core.records import record, replace
from linkgate.core.site import LoadContext, Loader, ShippedLibrary, Site, expand_entry
from linkgate.elf.facts import ElfFacts
from linkgate.profiles.index import Library, TargetIndex
from linkgate.rules.target_loadable import PASSED_OVER, refusal


@record
class Found:
    """The library that satisfies a NEEDED name, and where it comes from (for messages)."""

    defs: Library
    # Named as the artifact names it ($ORIGIN/../lib/libfoo.so.1) when it is a checked file.
    shipped_at: str | None = None
    shipped: ShippedLibrary | None = None
    # The loader's fatal error on the file it found (`cannot dynamically load executable`).
    refused: str | None = None


@record
class Step:
    """One directory of the search, and why the loader looks there."""

    directory: str
    via: str


def requester(facts: ElfFacts, site: Site) -> Loader:
    """The artifact as the object whose NEEDED are being looked up."""
    path = site.path or posixpath.join(site.origin or "/", "?")
    return Loader(path, facts.machine, facts.elf_class, facts.rpath, facts.runpath, byte_order=facts.byte_order)


def search_steps(obj: Loader, chain: tuple[Loader, ...], family: str | None) -> Iterator[Step]:
    """The shipped-or-target directories searched for a NEEDED name of `obj`, in the loader's order."""
    if family == "musl":
        for owner in (obj, *chain):
            tag, entries = ("RUNPATH", owner.runpath) if owner.runpath else ("RPATH", owner.rpath)
            yield from _steps(owner, obj, tag, entries)
        return
    if not obj.runpath:
        for owner in (obj, *chain):
            yield from _steps(owner, obj, "RPATH", owner.effective_rpath)
    yield from _steps(obj, obj, "RUNPATH", obj.runpath)


def _steps(owner: Loader, obj: Loader, tag: str, entries: tuple[str, ...]) -> Iterator[Step]:
    whose = "" if owner is obj else f" of {posixpath.basename(owner.path)}"
    origin = posixpath.dirname(owner.path)
    for entry in entries:
        for directory in expand_entry(entry, origin, owner.machine, owner.elf_class):
            yield Step(directory, f"{tag} {entry}{whose}")


def find_library(
    facts: ElfFacts, name: str, profile: TargetIndex, site: Site, context: LoadContext | None = None
) -> Found | None:
    """The library the loader would map for `name`, or None ("cannot open shared object file")."""
    if "/" in name:
        # A NEEDED path is opened as is: only absolute ones can be known before run time.
        on_target = profile.library_at(name) if name.startswith("/") else None
        return Found(on_target) if on_target else None
    if profile.libc_family == "musl" and musl_reserved(name):
        loader = musl_loader_libc(profile, facts.machine, name)
        if loader is not None:
            return Found(loader)
    context = context or site.contexts_for(profile.libc_family)[0]
    already = context.loaded.get(name)
    shipped = site.library_at(already) if already else None
    if shipped is not None:
        return _shipped(shipped, site)
    me = requester(facts, site)
    for step in search_steps(me, context.chain, profile.libc_family):
        found = _in_directory(me, f"{step.directory}/{name}", profile, site)
        if found is not None:
            return found
    on_target = profile.library(facts.machine, name)
    return Found(on_target) if on_target is not None else None


# ldso/dynlink.c, load_library(): "lib" + one of these + "." is the loader itself ("reserved").
MUSL_RESERVED = ("c.", "pthread.", "rt.", "m.", "dl.", "util.", "xnet.")
# musl's libc soname per machine (Alpine's libc.musl-ARCH.so.1; ARCH as musl's build names it).
MUSL_SONAME_ARCH = {"x86_64": "x86_64", "i386": "x86", "aarch64": "aarch64", "arm": "armv7", "ppc64le": "ppc64le",
                    "s390x": "s390x", "riscv64": "riscv64", "loongarch64": "loongarch64"}  # fmt: skip


def musl_reserved(name: str) -> bool:
    """A name musl's loader maps onto itself: libc.so.6, libpthread.so.0, libm.so.6, librt.so.1..."""
    return name.startswith("lib") and name[3:].startswith(MUSL_RESERVED)


def musl_loader_libc(profile: TargetIndex, machine: str, name: str) -> Library | None:
    """What musl's loader exports, as the profile records it: under the reserved name itself (Alpine
    lists them), musl's soname for the machine (musllinux tags), or the loader's path (captured hosts)."""
    arch = MUSL_SONAME_ARCH.get(machine)
    names = (name, f"libc.musl-{arch}.so.1") if arch else (name,)
    for candidate in names:
        found = profile.library(machine, candidate)
        if found is not None:
            return found
    return next((lib for path in sorted(profile.interpreters) if (lib := profile.library_at(path))), None)


def find_shipped(facts: ElfFacts, name: str, site: Site, family: str | None) -> ShippedLibrary | None:
    """The checked file the loader maps for `name` in every way it comes to load the artifact, or None."""
    found = [_shipped_in(facts, name, site, context, family) for context in site.contexts_for(family)]
    return found[0] if found and all(found) else None


def _shipped_in(
    facts: ElfFacts, name: str, site: Site, context: LoadContext, family: str | None
) -> ShippedLibrary | None:
    already = context.loaded.get(name)
    if already:
        return site.library_at(already)
    me = requester(facts, site)
    for step in search_steps(me, context.chain, family):
        shipped = site.library_at(f"{step.directory}/{name}")
        verdict = None if shipped is None else refusal(shipped, me, family)
        if shipped is not None and verdict != PASSED_OVER:
            return shipped if verdict is None else None
    return None


def _in_directory(me: Loader, path: str, profile: TargetIndex, site: Site) -> Found | None:
    shipped = site.library_at(path)
    # The loader passes over a file of another machine or class and keeps searching; it fails on
    # one it cannot load (another byte order or OS ABI, a program).
    verdict = None if shipped is None else refusal(shipped, me, profile.libc_family)
    if shipped is not None and verdict != PASSED_OVER:
        return replace(_shipped(shipped, site), refused=verdict)
    on_target = profile.library_at(path)
    return Found(on_target) if on_target is not None else None


def _shipped(shipped: ShippedLibrary, site: Site) -> Found:
    # Named as the artifact names it: $ORIGIN/../lib/libfoo.so.1, not a path of this machine.
    where = "$ORIGIN/" + posixpath.relpath(shipped.path, site.origin) if site.origin else shipped.path
    return Found(Library(path=shipped.path, versions=frozenset(shipped.versions)), shipped_at=where, shipped=shipped)
