"""The pre-pass that tells each artifact what is shipped beside it and how the loader reaches it (I/O edge).

Every ELF candidate is read once, header and dynamic part only. Then the
loader is run on paper from every object: breadth-first over NEEDED, as
glibc's _dl_map_object_deps and musl's load_deps do, finding each name among
the checked files in the loader's search order (rules/target_search.py). An
object some other checked object loads is judged in those load chains (it
inherits their RPATH); any other object is judged as loaded first (a program,
an extension module a process opens). docs/targets.md describes the model.
"""

from __future__ import annotations

import functools
import os
import posixpath
from collections.abc import Callable, Iterable, Iterator, Mapping

from linkgate.check.discover import Candidate
from linkgate.core.records import field, record, replace
from linkgate.core.site import LoadContext, Loader, ShippedLibrary, Site, expand_entry
from linkgate.core.sourcefile import open_regular
from linkgate.elf.classify import marked_pie
from linkgate.elf.exports import read_exports
from linkgate.elf.facts import ElfFacts, Kind
from linkgate.elf.image import ElfFormatError
from linkgate.elf.layouts import ELF_MAGIC
from linkgate.elf.reader import read_elf
from linkgate.policy.compiled import CompiledPolicy
from linkgate.rules.target_loadable import PASSED_OVER, refusal
from linkgate.rules.target_search import search_steps

FAMILIES = ("glibc", "musl")
# What e_type ET_DYN or ET_EXEC gives (the rest the loader refuses to map).
_LOADABLE_KINDS = (Kind.SHARED_LIBRARY, Kind.PIE, Kind.EXECUTABLE)
# Ways one library is judged in, per family: distinct inherited search paths, the first ones met.
_MAX_CONTEXTS = 8
# How far up from an artifact a `*.dist-info` directory says "this is an unpacked wheel".
_WHEEL_DEPTH = 6


@record
class Shipped(Mapping[str, ShippedLibrary]):
    """The checked ELF objects by every path the loader can open them at, and how each is loaded."""

    libraries: Mapping[str, ShippedLibrary] = field(default_factory=dict)
    # object path -> family -> the ways the loader comes to map it (absent: loaded first)
    contexts: Mapping[str, Mapping[str, tuple[LoadContext, ...]]] = field(default_factory=dict)
    wheel_paths: frozenset[str] = frozenset()

    def __getitem__(self, path: str) -> ShippedLibrary:
        return self.libraries[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self.libraries)

    def __len__(self) -> int:
        return len(self.libraries)


# Rules whose check reads where an artifact sits among the checked files.
SITUATED_RULES = ("target", "allowed-needed", "android-api")


def situated(policy: CompiledPolicy) -> bool:
    """Whether some rule of `policy` judges an artifact with the files checked beside it (the pre-pass is needed)."""
    scopes = [policy.values, *(o.values for o in policy.overrides)]
    return any(scope.get(rule) is not None for scope in scopes for rule in SITUATED_RULES)


def collect_shipped(candidates: Iterable[Candidate]) -> Shipped:
    """Every dynamic ELF object among `candidates` (under its path and each symlink to it beside it),
    the load chains that reach it, and the exports of the libraries other objects load."""
    objects: dict[str, ShippedLibrary] = {}
    for candidate in candidates:
        if candidate.special or candidate.unreadable:
            continue
        path = os.path.normpath(os.path.abspath(candidate.fs_path))
        found = _shipped_file(path)
        if found is not None:
            objects[path] = found
    return shipped_among(objects, _links(objects), _exports, _in_wheel)


def shipped_among(
    objects: Mapping[str, ShippedLibrary],
    aliases: Mapping[str, str],
    exports: Callable[[str], frozenset[str] | None],
    in_wheel: Callable[[str], bool],
) -> Shipped:
    """One shipping unit (a checked tree, or an archive as if unpacked) as the loader sees it.

    `objects` by their own path; `aliases` maps each further path one can be opened
    at (a symlink) to its object's path; `exports` reads the defined symbols of an
    object, asked only for those other objects load; `in_wheel` says whether an
    object sits in an unpacked wheel.
    """
    by_path = dict(objects)
    for link, real in aliases.items():
        by_path.setdefault(link, objects[real])
    contexts = {f: load_contexts(objects, by_path, f) for f in FAMILIES}
    loaded = {path for per_family in contexts.values() for path in per_family}
    with_exports = {p: replace(o, exports=exports(p)) if p in loaded else o for p, o in objects.items()}
    by_path = {link: with_exports[lib.path] for link, lib in by_path.items()}
    per_object = {p: {f: contexts[f][p] for f in FAMILIES if p in contexts[f]} for p in loaded}
    return Shipped(by_path, per_object, frozenset(p for p in objects if in_wheel(p)))


def site_of(candidate: Candidate, shipped: Mapping[str, ShippedLibrary]) -> Site:
    return site_at(os.path.normpath(os.path.abspath(candidate.fs_path)), shipped)


def site_at(path: str, shipped: Mapping[str, ShippedLibrary]) -> Site:
    """The site of the object at the absolute, normalised `path` (on disk, or an archive member as unpacked)."""
    if not isinstance(shipped, Shipped):
        return Site(origin=posixpath.dirname(path), path=path, shipped=shipped)
    return Site(
        origin=posixpath.dirname(path),
        path=path,
        shipped=shipped.libraries,
        contexts=shipped.contexts.get(path, {}),
        in_wheel=path in shipped.wheel_paths,
    )


def load_contexts(
    objects: Mapping[str, ShippedLibrary], by_path: Mapping[str, ShippedLibrary], family: str
) -> dict[str, tuple[LoadContext, ...]]:
    """object path -> the ways `family`'s loader maps it when started from a root object.

    A root is an object no other checked object loads; objects on a cycle with no
    root are judged as loaded first.
    """
    reached: dict[str, list[tuple[str, LoadContext]]] = {}
    for start in objects.values():
        for path, context in _walk(start, by_path, family):
            reached.setdefault(path, []).append((start.path, context))
    roots = {p for p in objects if p not in reached}
    result: dict[str, tuple[LoadContext, ...]] = {}
    for path, ways in reached.items():
        chosen = _distinct([c for root, c in ways if root in roots], objects[path], family)
        if chosen:
            result[path] = chosen
    return result


Walk = Iterator[tuple[str, LoadContext]]


def _walk(root: ShippedLibrary, by_path: Mapping[str, ShippedLibrary], family: str) -> Walk:
    """Objects `root` makes the loader map (breadth-first, each once), with how each was reached."""
    queue: list[tuple[ShippedLibrary, LoadContext]] = [(root, LoadContext())]
    names: dict[str, str] = {}
    mapped = {root.path}
    for obj, context in queue:  # grows while walked: breadth-first, as the loader maps
        if obj is not root:
            yield obj.path, replace(context, loaded={n: names[n] for n in obj.needed if n in names})
        me = _loader(obj, context.via)
        for name in obj.needed:
            if name in names or "/" in name:
                continue
            hit = _first_shipped(name, me, context.chain, family, by_path)
            if hit is None:
                continue
            library, via = hit
            names[name] = library.path
            if library.soname:
                names.setdefault(library.soname, library.path)
            if library.path not in mapped:
                mapped.add(library.path)
                queue.append((library, LoadContext(chain=(me, *context.chain), via=via)))


def _first_shipped(
    name: str, obj: Loader, chain: tuple[Loader, ...], family: str, by_path: Mapping[str, ShippedLibrary]
) -> tuple[ShippedLibrary, str] | None:
    for step in search_steps(obj, chain, family):
        library = by_path.get(posixpath.join(step.directory, name))
        verdict = None if library is None else refusal(library, obj, family)
        if library is None or verdict == PASSED_OVER:
            continue
        # A file the loader refuses stops the load: nothing further is mapped through it
        # (the requester's own judgement reports the refusal).
        return None if verdict is not None else (library, step.via)
    return None


def _distinct(ways: list[LoadContext], obj: ShippedLibrary, family: str) -> tuple[LoadContext, ...]:
    """Contexts that can judge `obj` differently: by inherited search path and names already mapped."""
    chosen: dict[object, LoadContext] = {}
    for context in ways:
        inherited = tuple(
            (posixpath.dirname(o.path), o.runpath if family == "musl" else (), o.effective_rpath) for o in context.chain
        )
        key = (inherited if not obj.runpath or family == "musl" else (), tuple(sorted(context.loaded.items())))
        chosen.setdefault(key, context)
        if len(chosen) >= _MAX_CONTEXTS:
            break
    return tuple(chosen.values())


def _loader(obj: ShippedLibrary, via: str) -> Loader:
    return Loader(obj.path, obj.machine, obj.elf_class, obj.rpath, obj.runpath, via, obj.byte_order)


def shipped_library(path: str, facts: ElfFacts) -> ShippedLibrary:
    return ShippedLibrary(
        path=path,
        machine=facts.machine,
        versions=facts.version_defs,
        elf_class=facts.elf_class,
        soname=facts.soname,
        needed=facts.needed,
        rpath=facts.rpath,
        runpath=facts.runpath,
        byte_order=facts.byte_order,
        os_abi=facts.os_abi,
        abi_version=facts.abi_version,
        executable=facts.kind is Kind.EXECUTABLE,
        pie=marked_pie(facts.flags_1),
        foreign_type=facts.kind not in _LOADABLE_KINDS,
    )


def _links(objects: Mapping[str, ShippedLibrary]) -> dict[str, str]:
    """Further paths the loader can open an object at -> the object's path: a symlink beside it, and
    the same name under a symlinked directory beside its directory (`deps -> vendor`)."""
    by_real_path = {os.path.realpath(p): p for p in objects}
    aliases: dict[str, str] = {}
    directories = {os.path.dirname(path) for path in objects}
    for directory in directories:
        for link, real in _links_in(directory):
            if real in by_real_path and link not in objects:
                aliases.setdefault(link, by_real_path[real])
    paths = [*objects, *aliases]
    beside = {parent: _links_in(parent) for parent in {os.path.dirname(d) for d in directories}}
    for directory in directories:
        real_directory = os.path.realpath(directory)
        for link, real in beside[os.path.dirname(directory)]:
            if real == real_directory and link != directory:
                inside = (p for p in paths if os.path.dirname(p) == directory)
                for path in inside:
                    aliases.setdefault(os.path.join(link, os.path.basename(path)), aliases.get(path, path))
    return aliases


def _shipped_file(path: str) -> ShippedLibrary | None:
    """The file as the loader would find it under its name: an ELF object, or a file named like a
    library that is not ELF at all (a linker script `libfoo.so`, a text file a tool wrote for a link),
    which the loader refuses; None for any other file."""
    try:
        with open_regular(path) as handle:
            if handle.read(4) != ELF_MAGIC:
                size = os.fstat(handle.fileno()).st_size
                return ShippedLibrary(path, machine="", elf_class=0, not_elf_size=size) if _library_name(path) else None
        facts = read_elf(path, want_symbols=frozenset())
    except (OSError, ElfFormatError):
        return None  # the artifact's own evaluation reports it
    return shipped_library(path, facts.payload or facts)


def _library_name(path: str) -> bool:
    """Names a NEEDED entry can have (libfoo.so, libfoo.so.1.2, ld-linux-x86-64.so.2)."""
    name = os.path.basename(path)
    return name.endswith(".so") or ".so." in name


def _exports(path: str) -> frozenset[str] | None:
    try:
        return read_exports(path)
    except (OSError, ElfFormatError):
        return None


def _in_wheel(path: str) -> bool:
    """A `.libs` directory on the way up, or a `*.dist-info` directory beside an ancestor."""
    directory = os.path.dirname(path)
    for _ in range(_WHEEL_DEPTH):
        if os.path.basename(directory).endswith(".libs") or _has_dist_info(directory):
            return True
        parent = os.path.dirname(directory)
        if parent == directory:
            return False
        directory = parent
    return False


@functools.lru_cache(maxsize=1024)
def _has_dist_info(directory: str) -> bool:
    try:
        return any(name.endswith(".dist-info") for name in os.listdir(directory))
    except OSError:
        return False


def _links_in(directory: str) -> list[tuple[str, str]]:
    """(link, resolved path) of the symlinks in `directory` (discovery skips links, the loader follows them)."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    return [(e.path, os.path.realpath(e.path)) for e in entries if e.is_symlink()]


__all__ = [
    "Shipped",
    "collect_shipped",
    "expand_entry",
    "load_contexts",
    "shipped_among",
    "shipped_library",
    "site_at",
    "site_of",
    "situated",
]
