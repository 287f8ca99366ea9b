"""Where the target's loader would find each NEEDED library of an artifact.

The order is glibc's (ld.so(8)): DT_RPATH when there is no DT_RUNPATH, then
DT_RUNPATH, then the system's libraries (ld.so.cache and the default
directories, which a profile records). A directory reached through `$ORIGIN`
is among the checked artifacts; other absolute directories are the target's.
LD_LIBRARY_PATH is the environment's, not the artifact's, and is not assumed.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from linkgate.elf.facts import ElfFacts
from linkgate.profiles.index import Library, TargetIndex
from linkgate.site import Site


@dataclass(frozen=True)
class Found:
    """The library that satisfies a NEEDED name, and where it comes from (for messages)."""

    defs: Library
    shipped_at: str | None = None


def search_dirs(facts: ElfFacts, site: Site) -> list[str]:
    """The artifact's own search directories, expanded; unknowable entries are left out."""
    entries = facts.runpath or facts.rpath  # DT_RPATH is ignored when DT_RUNPATH is present
    return [d for d in (site.expand(e) for e in entries) if d is not None]


def find_library(facts: ElfFacts, name: str, profile: TargetIndex, site: Site) -> Found | None:
    """The library the loader would map for `name`, or None ("cannot open shared object file")."""
    if "/" in name:
        # A NEEDED path is opened as is: only absolute ones can be known before run time.
        on_target = profile.library_at(name) if name.startswith("/") else None
        return Found(on_target) if on_target else None
    for directory in search_dirs(facts, site):
        found = _in_directory(facts, f"{directory}/{name}", profile, site)
        if found is not None:
            return found
    on_target = profile.library(facts.machine, name)
    return Found(on_target) if on_target is not None else None


def _in_directory(facts: ElfFacts, path: str, profile: TargetIndex, site: Site) -> Found | None:
    shipped = site.library_at(path)
    # The loader skips a file of another machine or class and keeps searching.
    if shipped is not None and shipped.machine == facts.machine:
        # Named as the artifact names it: $ORIGIN/../lib/libfoo.so.1, not a path of this machine.
        where = "$ORIGIN/" + posixpath.relpath(path, site.origin) if site.origin else shipped.path
        return Found(Library(path=shipped.path, versions=frozenset(shipped.versions)), shipped_at=where)
    on_target = profile.library_at(path)
    return Found(on_target) if on_target is not None else None
