"""Where an artifact sits among the artifacts checked with it, and how the loader reaches it.

The loader expands `$ORIGIN` in RPATH/RUNPATH to the directory of the object
that names it, finds libraries shipped beside a program by path, and (glibc)
searches the DT_RPATH of every object up the chain that loaded a library. So
judging whether one artifact runs on a target needs facts about the others:
their paths, what they need and define, and which of them load which. The scan
edge gathers them in one pre-pass (linkgate.check.shipping); rules get them as plain
data. docs/targets.md describes the model.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

from linkgate.core.records import field, record

# What `$LIB` can expand to, per ELF class: glibc's slibdir as the distribution built it
# (lib64 upstream and on RHEL-like systems, lib/<triplet> on Debian and Ubuntu).
_LIB_EXPANSIONS = {64: ("lib64", "lib"), 32: ("lib",)}
# AT_PLATFORM as the kernel reports it (`$PLATFORM`), by linkgate machine name.
_PLATFORMS = {"i386": ("i686", "i586", "i486", "i386"), "arm": ("v7l", "v8l")}


@record
class ShippedLibrary:
    """An ELF object among the checked artifacts, as the loader sees it when it maps it."""

    path: str
    machine: str
    versions: tuple[str, ...] = ()
    elf_class: int = 64
    soname: str | None = None
    needed: tuple[str, ...] = ()
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    # Defined dynamic symbols; None when not read (only libraries other artifacts load are read).
    exports: frozenset[str] | None = None
    # What glibc's loader checks before it maps a file it found (linkgate.rules.target_loadable).
    byte_order: str = "little"
    os_abi: int = 0
    abi_version: int = 0
    # ET_EXEC, and an ET_DYN marked DF_1_PIE: programs, which glibc refuses to load as libraries.
    executable: bool = False
    pie: bool = False
    # Neither ET_DYN nor ET_EXEC (an object file, a core dump).
    foreign_type: bool = False
    # The size of a file that is not ELF at all (a linker script named libfoo.so); None for ELF.
    not_elf_size: int | None = None


@record
class Loader:
    """One object up the chain that loaded an artifact: whose search path the artifact inherits."""

    path: str
    machine: str
    elf_class: int = 64
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    # How the loader found this object ("RPATH $ORIGIN/../x.libs of ext.so"); "" for the chain's root.
    via: str = ""
    byte_order: str = "little"

    @property
    def effective_rpath(self) -> tuple[str, ...]:
        """glibc ignores DT_RPATH in an object that also has DT_RUNPATH."""
        return () if self.runpath else self.rpath


@record
class LoadContext:
    """One way the loader comes to map an artifact.

    `chain` is empty when the artifact is loaded first (a program, or a library a
    process opens directly); otherwise it lists the object whose NEEDED named the
    artifact first and that object's own loaders, up to the root.
    """

    chain: tuple[Loader, ...] = ()
    # How the artifact itself was found ("RPATH $ORIGIN/../x.libs of ext.so").
    via: str = ""
    # Names already mapped when the artifact's NEEDED are looked up -> the shipped file mapped:
    # the loader reuses an object whose name matches instead of searching again.
    loaded: Mapping[str, str] = field(default_factory=dict)

    @property
    def root(self) -> Loader | None:
        return self.chain[-1] if self.chain else None


ROOT = LoadContext()


@record
class Site:
    """An artifact's directory ($ORIGIN), the shipped libraries by every path they can be opened at,
    and the ways the loader comes to map the artifact.

    Paths are absolute and normalised; a symlink beside a library (libfoo.so.1 ->
    libfoo.so.1.2.3) is one more path to the same library.
    """

    origin: str | None = None
    # The artifact's own absolute path (None when judged outside a tree).
    path: str | None = None
    shipped: Mapping[str, ShippedLibrary] = field(default_factory=dict)
    # Per C library family ("glibc", "musl": their loaders search differently); absent: loaded first.
    contexts: Mapping[str, tuple[LoadContext, ...]] = field(default_factory=dict)
    # The artifact sits in an unpacked wheel (a `.libs/` directory or a `*.dist-info` beside it).
    in_wheel: bool = False

    @property
    def python_extension(self) -> bool:
        """The artifact is a Python extension module (`_speedups.cpython-313-aarch64-linux-android.so`,
        `foo.abi3.so`): Python's importer loads it by path, into a process that holds libpython."""
        name = posixpath.basename(self.path or "")
        return name.endswith(".so") and (".cpython-" in name or name.endswith(".abi3.so"))

    def library_at(self, path: str) -> ShippedLibrary | None:
        return self.shipped.get(posixpath.normpath(path))

    def contexts_for(self, family: str | None) -> tuple[LoadContext, ...]:
        return self.contexts.get(family or "glibc") or (ROOT,)


def expand_entry(entry: str, origin: str | None, machine: str | None, elf_class: int) -> tuple[str, ...]:
    """The directories an RPATH/RUNPATH entry can mean, in the order tried; () when unknowable.

    `$ORIGIN` is the directory of the object that names the entry. `$LIB` and
    `$PLATFORM` depend on how the target's glibc was built and on the CPU: every
    expansion glibc uses for the machine is tried (one of them must hold a shipped
    library for the search to find it). Relative entries depend on the working
    directory at run time and are left out.
    """
    if origin is not None:
        entry = entry.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
    choices = [entry]
    for token, values in (("LIB", _LIB_EXPANSIONS.get(elf_class, ())), ("PLATFORM", _platforms(machine))):
        choices = [_substituted(c, token, v) for c in choices for v in values] if _has(entry, token) else choices
    known = [c for c in choices if "$" not in c and c.startswith("/")]
    return tuple(dict.fromkeys(posixpath.normpath(c) for c in known))


def _platforms(machine: str | None) -> tuple[str, ...]:
    if machine is None:
        return ()
    return _PLATFORMS.get(machine, (machine,))


def _has(entry: str, token: str) -> bool:
    return f"${token}" in entry or f"${{{token}}}" in entry


def _substituted(entry: str, token: str, value: str) -> str:
    return entry.replace(f"${{{token}}}", value).replace(f"${token}", value)


NOWHERE = Site()
