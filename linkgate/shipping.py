"""The pre-pass that tells each artifact what is shipped beside it (I/O edge).

Only files whose name contains `.so` can be found by a NEEDED name, so only
those are read here; each once, header and dynamic part only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from linkgate.discover import Candidate, open_regular
from linkgate.elf.facts import ElfFacts, Kind
from linkgate.elf.image import ElfFormatError
from linkgate.elf.layouts import ELF_MAGIC
from linkgate.elf.reader import read_elf
from linkgate.site import ShippedLibrary, Site

Shipped = Mapping[str, ShippedLibrary]


def collect_shipped(candidates: Iterable[Candidate]) -> Shipped:
    """Shared libraries among `candidates`, under their own path and every symlink to them beside it."""
    shipped: dict[str, ShippedLibrary] = {}
    by_real_path: dict[str, ShippedLibrary] = {}
    for candidate in candidates:
        if candidate.special or candidate.unreadable or ".so" not in os.path.basename(candidate.fs_path):
            continue
        facts = _library_facts(candidate.fs_path)
        if facts is not None:
            path = os.path.normpath(os.path.abspath(candidate.fs_path))
            library = ShippedLibrary(path, facts.machine, facts.version_defs)
            shipped[path] = by_real_path[os.path.realpath(path)] = library
    for directory in {os.path.dirname(path) for path in shipped}:
        for link, real in _links_in(directory):
            if real in by_real_path:
                shipped.setdefault(link, by_real_path[real])
    return shipped


def site_of(candidate: Candidate, shipped: Shipped) -> Site:
    directory = os.path.dirname(os.path.normpath(os.path.abspath(candidate.fs_path)))
    return Site(origin=directory, shipped=shipped)


def _library_facts(path: str) -> ElfFacts | None:
    try:
        with open_regular(path) as handle:
            if handle.read(4) != ELF_MAGIC:
                return None
        facts = read_elf(path, want_symbols=frozenset())
    except (OSError, ElfFormatError):
        return None  # the artifact's own evaluation reports it
    judged = facts.payload or facts
    return judged if judged.kind in (Kind.SHARED_LIBRARY, Kind.PIE) else None


def _links_in(directory: str) -> list[tuple[str, str]]:
    """(link, resolved path) of the symlinks in `directory` (discovery skips links, the loader follows them)."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    return [(e.path, os.path.realpath(e.path)) for e in entries if e.is_symlink()]
