"""A target profile compiled for lookups: plain frozen data, no validation models.

The YAML models (linkgate.profiles.model) are for reading and writing profile
files; evaluation asks "which library would the loader map for this name or
path, and does it define this version?" thousands of times per run, so the
compiled form answers both from dicts, with versions parsed once.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase

from linkgate.core.records import field, record
from linkgate.elf.facts import split_version_token

# Library tables under this key apply to every architecture of the profile.
ANY_MACHINE = "any"
# An x86_64 kernel runs i386 programs; nothing else is assumed.
_ALSO_RUNS = {"x86_64": ("i386",)}


@record
class Library:
    """What one library offers the loader: the symbol versions it defines."""

    path: str | None = None
    versions: frozenset[str] = frozenset()
    # Version-level profiles give the newest version per namespace instead of a list.
    maxima: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    # The dynamic symbols it exports, for musl's binding by name; None when the profile does not say.
    symbols: frozenset[str] | None = None

    @property
    def unversioned(self) -> bool:
        """No version definitions at all: the loader then only warns (no version information)."""
        return not self.versions and not self.maxima

    def defines(self, token: str) -> bool:
        """True when a need for `token` is satisfied by this library."""
        if token in self.versions:
            return True
        parsed = split_version_token(token)
        if parsed is None:
            return False
        maximum = self.maxima.get(parsed[0])
        return maximum is not None and parsed[1] <= maximum

    def newest(self, namespace: str) -> str | None:
        """The newest numeric version of `namespace` this library defines, as a token."""
        if namespace in self.maxima:
            return f"{namespace}_{'.'.join(map(str, self.maxima[namespace]))}"
        parsed = [(split_version_token(v), v) for v in self.versions]
        ours = [(p[1], v) for p, v in parsed if p is not None and p[0] == namespace]
        return max(ours)[1] if ours else None


@record
class TargetIndex:
    """One target system as its dynamic loader sees it, indexed by (machine, name) and by path."""

    name: str
    libc_family: str | None = None
    libc_version: str | None = None
    architectures: tuple[str, ...] = ()
    interpreters: frozenset[str] = frozenset()
    # (machine or "any", exact library name) -> library
    by_name: Mapping[tuple[str, str], Library] = field(default_factory=dict)
    # (machine or "any", glob pattern, library), in file order: tried after exact names.
    globs: tuple[tuple[str, str, Library], ...] = ()
    by_path: Mapping[str, Library] = field(default_factory=dict)
    # exact library name -> its entries in every machine's table
    named: Mapping[str, tuple[Library, ...]] = field(default_factory=dict)
    # False when the profile lists only some of the system's libraries (version-level tables):
    # a library it does not list may or may not be there, and is reported as unknown.
    complete: bool = True
    # The machine floors the target allows (docs/machine-floors.md); empty or None: not known.
    kernel: tuple[int, ...] | None = None
    # machine -> the lowest x86 level the target runs on
    isa: Mapping[str, str] = field(default_factory=dict)
    # machine -> the page sizes of the kernels the target ships
    page_sizes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def runs_machine(self, machine: str) -> bool:
        """Whether the target's kernel executes code for `machine` (unknown: assume yes)."""
        if not self.architectures:
            return True
        return any(machine == a or machine in _ALSO_RUNS.get(a, ()) for a in self.architectures)

    def library(self, machine: str, name: str) -> Library | None:
        """The library the loader would find for `name`: exact names first, then globs."""
        found = self.by_name.get((machine, name)) or self.by_name.get((ANY_MACHINE, name))
        if found is not None:
            return found
        for table in (machine, ANY_MACHINE):
            for where, pattern, library in self.globs:
                if where == table and fnmatchcase(name, pattern):
                    return library
        return None

    def library_at(self, path: str) -> Library | None:
        """The library recorded at an absolute `path` (captured profiles record paths)."""
        return self.by_path.get(path)

    @property
    def checks_versions(self) -> bool:
        """musl's loader ignores symbol versions; glibc's checks every need."""
        return self.libc_family != "musl"
