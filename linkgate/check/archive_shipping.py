"""An archive as a shipping unit: its ELF members as the loader would see them once unpacked.

Each member becomes a ShippedLibrary at its virtual path (linkgate.archives.tree);
symlinks inside the archive, to a library or to a directory holding libraries,
are further paths to the same object. The load chains, $ORIGIN, RPATH/RUNPATH
and exports are then worked out by linkgate.check.shipping exactly as for a tree on
disk, so a member is judged as it would be unpacked.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping

from linkgate.archives.tree import Entry, LinkLoopError, Unit, resolve, virtual_path
from linkgate.check.shipping import Shipped, shipped_among, shipped_library, site_at
from linkgate.core.site import ShippedLibrary, Site


def shipped_in(unit: Unit, hops: int, chains: bool = True) -> tuple[Shipped, list[tuple[str, str]]]:
    """The unit's objects by every virtual path the loader could open them at, with their load chains
    (`chains` False: none, nothing asks); also the (member, reason) of symlinks that loop."""
    objects: dict[str, ShippedLibrary] = {}
    members: dict[str, str] = {}  # member name -> virtual path of the object it is
    exports: dict[str, frozenset[str] | None] = {}
    for name, node in unit.nodes.items():
        judged = (node.facts.payload or node.facts) if node.facts is not None else None
        if judged is not None:  # any ELF file: one the loader refuses (an object file) counts too
            path = virtual_path(unit, name)
            objects[path], members[name], exports[path] = shipped_library(path, judged), path, node.exports
    aliases, problems = _aliases(unit, members, hops)
    if not chains:
        return Shipped(), problems
    wheel = _is_wheel(unit)
    shipped = shipped_among(objects, aliases, exports.__getitem__, lambda path: wheel or _under_libs(path))
    return shipped, problems


def member_site(unit: Unit, name: str, shipped: Mapping[str, ShippedLibrary]) -> Site:
    """The member's site as unpacked: $ORIGIN is its directory in the archive."""
    return site_at(virtual_path(unit, name), shipped)


def _aliases(unit: Unit, members: dict[str, str], hops: int) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Virtual path of each symlink (or path through a symlinked directory) -> the object it reaches."""
    problems: list[tuple[str, str]] = []
    resolved: list[tuple[str, str]] = []  # (symlink, the member it names)
    for name, node in unit.nodes.items():
        if node.kind is not Entry.SYMLINK:
            continue
        try:
            real = resolve(unit, name, hops)
        except LinkLoopError as loop:
            problems.append((name, str(loop)))
            continue
        if real is not None:
            resolved.append((name, real))
    by_name = dict(members)
    for link, real in resolved:  # a link to an object: one more name for it
        if real in members:
            by_name.setdefault(link, members[real])
    for link, real in resolved:  # a link to a directory: every object below it, under the link too
        for inner, path in _below(by_name, real):
            by_name.setdefault(f"{link}/{inner}", path)
    aliases = {virtual_path(unit, name): path for name, path in by_name.items() if name not in members}
    return aliases, problems


def _below(by_name: dict[str, str], directory: str) -> Iterator[tuple[str, str]]:
    prefix = directory + "/" if directory else ""
    return ((name[len(prefix) :], path) for name, path in list(by_name.items()) if prefix and name.startswith(prefix))


def _is_wheel(unit: Unit) -> bool:
    """A wheel unpacks its `*.dist-info` directory at the top, beside the packages."""
    return any(name.split("/", 1)[0].endswith(".dist-info") for name in unit.nodes)


def _under_libs(path: str) -> bool:
    """auditwheel's `PKG.libs/` directories hold the libraries it grafted into the wheel."""
    return any(part.endswith(".libs") for part in posixpath.dirname(path).split("/"))
