"""`linkgate profile capture`: what the dynamic loader of a system (or a root
directory holding one) can find, as a Profile.

Recorded: the interpreters present, every shared library in the loader's
search path (an ld.so.conf directory only as far as ld.so.cache lists it, when
the system has one) under the name the loader looks up (its soname; the file name
when it has none) with the versions its DT_VERDEF defines, and the C library's
family and release. The first library of a name and machine wins, as in the
loader's own search.
"""

from __future__ import annotations

import datetime
import posixpath
import re
from collections.abc import Callable, Iterator

from linkgate.elf.facts import ElfFacts, Kind
from linkgate.profiles.ldcache import cached_paths
from linkgate.profiles.machine import live_machine
from linkgate.profiles.model import Libc, LibraryDefs, Machine, Profile, Provenance
from linkgate.profiles.rootfs import RootFs
from linkgate.profiles.searchpath import multiarch_dirs, search_dirs, system_dirs
from linkgate.profiles.systemfs import SystemFs

GENERATOR = "linkgate profile capture"
_INTERPRETER_DIRS = ("/lib", "/lib64", "/lib32", "/libx32", "/usr/lib", "/usr/lib64", "/usr/lib32")
_OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")
LD_SO_CACHE = "/etc/ld.so.cache"
Libraries = dict[str, dict[str, LibraryDefs]]


def capture(
    root: str = "/", name: str | None = None, today: datetime.date | None = None, machine: Machine | None = None
) -> Profile:
    """The profile of the system whose `/` is `root`; `machine` its kernel, page size and CPU level
    (for the live system, read from it when not given)."""
    return capture_fs(RootFs(root), name, today, machine, live=root == "/")


def capture_fs(
    fs: SystemFs,
    name: str | None = None,
    today: datetime.date | None = None,
    machine: Machine | None = None,
    *,
    live: bool = False,
) -> Profile:
    """The profile of the system whose files `fs` reads (a root directory, an image's layers); `live`:
    the running system, whose machine is read from it when not given."""
    libraries = find_libraries(fs, search_dirs(fs), _admitted(fs))
    interpreters = find_interpreters(fs)
    release = os_release(fs)
    return Profile(
        name=name or _default_name(release),
        description=release.get("PRETTY_NAME", ""),
        source=Provenance(generator=GENERATOR, date=today),
        libc=_libc(fs, interpreters, libraries),
        architectures=tuple(sorted(set(interpreters.values()))),
        interpreters=tuple(sorted(interpreters)),
        machine=machine if machine is not None or not live else live_machine(interpreters),
        libraries=libraries,
    )


def _admitted(fs: SystemFs) -> Callable[[str], bool]:
    """Whether the loader can find the library at a path: in a system directory it searches itself,
    else only through ld.so.cache. A system without a readable cache keeps every ld.so.conf directory."""
    data = fs.read_bytes(LD_SO_CACHE)
    cached = cached_paths(data) if data is not None else None
    if cached is None:
        return lambda _path: True
    system = set(system_dirs(fs))
    return lambda path: posixpath.dirname(path) in system or path in cached


def find_libraries(fs: SystemFs, directories: list[str], admitted: Callable[[str], bool]) -> Libraries:
    """machine -> name -> definitions (of the libraries `admitted` lets the loader find), sorted for stable files."""
    found: Libraries = {}
    for directory in directories:
        for path, facts in _elf_files(fs, directory, lambda n: ".so" in n):
            if not admitted(path):
                continue
            name = posixpath.basename(path)
            # A library reached through a link named after its soname is recorded
            # under that name (ldconfig creates such links); other names are aliases.
            if facts.kind in (Kind.SHARED_LIBRARY, Kind.PIE) and facts.soname in (None, name):
                table = found.setdefault(facts.machine, {})
                table.setdefault(name, LibraryDefs(path=path, versions=facts.version_defs))
    return {m: dict(sorted(t.items())) for m, t in sorted(found.items())}


def find_interpreters(fs: SystemFs) -> dict[str, str]:
    """Program interpreters present (path -> machine): ld-linux*, ld64.so.*, ld-musl-*, ld.so.1."""
    directories = dict.fromkeys([*_INTERPRETER_DIRS, *multiarch_dirs(fs)])
    found: dict[str, str] = {}
    for directory in directories:
        for path, facts in _elf_files(fs, directory, lambda n: re.match(r"ld[-.0-9a-z_]*\.so", n) is not None):
            # The loader itself is a shared object with no interpreter of its own.
            if facts.interpreter is None and facts.kind in (Kind.SHARED_LIBRARY, Kind.PIE):
                found[path] = facts.machine
    return found


def _elf_files(fs: SystemFs, directory: str, wanted: Callable[[str], bool]) -> Iterator[tuple[str, ElfFacts]]:
    for name in fs.listdir(directory):
        if not wanted(name):
            continue
        path = f"{directory}/{name}"
        facts = fs.elf_facts(path)
        if facts is not None:
            yield path, facts


def _libc(fs: SystemFs, interpreters: dict[str, str], libraries: Libraries) -> Libc | None:
    """glibc when libc.so.6 is there (a musl loader beside it is an add-on, as on Debian), else musl."""
    for table in libraries.values():
        libc = table.get("libc.so.6")
        if libc is not None and libc.path is not None:
            return Libc(family="glibc", version=fs.glibc_release(libc.path))
    if any(posixpath.basename(p).startswith("ld-musl-") for p in interpreters):
        return Libc(family="musl")
    return None


def os_release(fs: SystemFs) -> dict[str, str]:
    """KEY=value pairs of the target's os-release (quotes removed)."""
    for path in _OS_RELEASE:
        text = fs.read_text(path)
        if text is not None:
            pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
            return {key.strip(): value.strip().strip("\"'") for key, value in pairs}
    return {}


def _default_name(release: dict[str, str]) -> str:
    """debian-11, ubuntu-22.04, rocky-9.4 … or `captured` when the system does not say."""
    parts = [release[k] for k in ("ID", "VERSION_ID") if release.get(k)]
    return "-".join(parts) if parts else "captured"
