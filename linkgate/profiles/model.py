"""A target profile as written in YAML: strict, frozen pydantic models.

Two kinds share one shape. A *captured* profile (`linkgate profile capture`,
the shipped Debian ones) lists each library with the exact versions its
DT_VERDEF defines. A *version-level* profile (RHEL, Ubuntu, manylinux…) gives
the newest version per namespace instead (`max-versions`), plus any
non-numeric tokens by name.

`complete: false` says the profile lists only some of the system's libraries
(the RHEL, Ubuntu and Amazon Linux tables know glibc, libstdc++, libgcc_s and
zlib): a library it does not list is unknown there, not missing. Captured
profiles, Alpine's base image and the manylinux whitelists are complete.
"""

from __future__ import annotations

import datetime
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from linkgate.profiles.index import ANY_MACHINE, Library, TargetIndex


def _pattern(regex: str, what: str) -> AfterValidator:
    # Own validators, not the policy model's: the rule catalogue (which the policy
    # model validates rule ids against) imports this module.
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


# At most 32 characters, like the policy's versions: parts become integers, and a
# hostile 5000-digit one would fail there instead of here.
Version = Annotated[str, StringConstraints(max_length=32), _pattern(r"^\d+(\.\d+)*$", 'a version like "2.31"')]
Namespace = Annotated[str, _pattern(r"^[A-Za-z][A-Za-z0-9]*$", "a version namespace like GLIBCXX")]

__all__ = ["ANY_MACHINE", "Libc", "LibraryDefs", "Machine", "Profile", "Provenance"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _symbol_names(value: str) -> str:
    names = value.split()
    bad = next((n for n in names if not _SYMBOL.match(n)), None)
    if bad is not None:
        raise ValueError(f"{bad[:64]!r} is not a symbol name")
    return value


_SYMBOL = re.compile(r"^[A-Za-z_.$@][A-Za-z0-9_.$@]*$")
# Exported symbol names, separated by white space: one folded block instead of ~1,700 list items.
SymbolNames = Annotated[str, AfterValidator(_symbol_names)]


class LibraryDefs(_Strict):
    """What one library offers the loader: the symbol versions it defines, and (musl) the names it exports."""

    path: str | None = None
    versions: tuple[str, ...] = ()
    max_versions: dict[Namespace, Version] = Field(default_factory=dict, alias="max-versions")
    # musl binds by name: the exported dynamic symbols, white-space separated (None: not known).
    symbols: SymbolNames | None = None
    # Another name of the library listed under this key in the same table (musl's libc answers
    # libpthread.*, libm.*...): its definitions, written once.
    same_as: str | None = Field(default=None, alias="same-as")

    def compiled(self) -> Library:
        maxima = {ns: tuple(int(p) for p in text.split(".")) for ns, text in self.max_versions.items()}
        names = None if self.symbols is None else frozenset(self.symbols.split())
        return Library(self.path, frozenset(self.versions), maxima, names)


class Libc(_Strict):
    """The C library family and release (glibc 2.31, musl 1.2)."""

    family: Literal["glibc", "musl"]
    version: Version | None = None


class Provenance(_Strict):
    """Where the data came from, so a reader can judge and regenerate it."""

    generator: str
    date: datetime.date | None = None
    packages: dict[str, str] = Field(default_factory=dict)
    note: str | None = None


IsaLevel = Literal["x86-64-baseline", "x86-64-v2", "x86-64-v3", "x86-64-v4"]
# A kernel page size in bytes: a power of two from 1 KiB to 1 MiB.
PageSize = Literal[1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576]


class Machine(_Strict):
    """What the system's kernels and CPUs allow besides libraries (docs/machine-floors.md).

    `isa`: per machine, the lowest x86 level the system runs on (its CPU baseline,
    or a captured host's CPU). `page-sizes`: per machine, the page size of every
    kernel the system ships (an aarch64 64 KiB variant too): a file must load on each.
    """

    kernel: Version | None = None
    isa: dict[str, IsaLevel] = Field(default_factory=dict)
    page_sizes: dict[str, tuple[PageSize, ...]] = Field(default_factory=dict, alias="page-sizes")


class Profile(_Strict):
    """One target system as its dynamic loader sees it."""

    name: str = Field(min_length=1)
    description: str = ""
    aliases: tuple[str, ...] = ()
    source: Provenance | None = None
    libc: Libc | None = None
    architectures: tuple[str, ...] = ()
    interpreters: tuple[str, ...] = ()
    # False: `libraries` is a sample of the system's, so an unlisted library is unknown, not missing.
    complete: bool = True
    # The kernel version, CPU baseline and page sizes (None: not known, not judged).
    machine: Machine | None = None
    # machine (or "any") -> library name as the loader looks it up (or a glob) -> definitions
    libraries: dict[str, dict[str, LibraryDefs]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_same_as(self) -> Profile:
        for table in self.libraries.values():
            for name, defs in table.items():
                if defs.same_as is None:
                    continue
                target = table.get(defs.same_as)
                if target is None or target.same_as is not None or defs.versions or defs.symbols:
                    raise ValueError(
                        f"{name}: same-as must name another library of the same table that has no same-as, "
                        "and then list nothing else"
                    )
        return self

    def index(self) -> TargetIndex:
        """The compiled form evaluation uses: dicts by (machine, name) and by path."""
        by_name: dict[tuple[str, str], Library] = {}
        globs: list[tuple[str, str, Library]] = []
        by_path: dict[str, Library] = {}
        named: dict[str, list[Library]] = {}
        for machine, table in self.libraries.items():
            for name, defs in table.items():
                library = _resolved(table, defs).compiled()
                if "*" in name:
                    globs.append((machine, name, library))
                else:
                    by_name[(machine, name)] = library
                    named.setdefault(name, []).append(library)
                if defs.path is not None:
                    by_path.setdefault(defs.path, library)
        libc = self.libc
        return TargetIndex(
            name=self.name,
            libc_family=libc.family if libc else None,
            libc_version=libc.version if libc else None,
            architectures=self.architectures,
            interpreters=frozenset(self.interpreters),
            by_name=by_name,
            globs=tuple(globs),
            by_path=by_path,
            named={name: tuple(found) for name, found in named.items()},
            complete=self.complete,
            kernel=None if self.machine is None or self.machine.kernel is None else _numbers(self.machine.kernel),
            isa={} if self.machine is None else dict(self.machine.isa),
            page_sizes={} if self.machine is None else {m: tuple(s) for m, s in self.machine.page_sizes.items()},
        )


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _resolved(table: dict[str, LibraryDefs], defs: LibraryDefs) -> LibraryDefs:
    """The definitions an entry stands for: its own, or those of the entry its `same-as` names."""
    if defs.same_as is None:
        return defs
    target = table.get(defs.same_as)
    if target is None or target.same_as is not None:
        # Validated when the profile is read (Profile._check_same_as); kept total here.
        return defs
    return target
