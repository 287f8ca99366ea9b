"""A target profile as written in YAML: strict, frozen pydantic models.

Two kinds share one shape. A *captured* profile (`linkgate profile capture`,
the shipped Debian ones) lists each library with the exact versions its
DT_VERDEF defines. A *version-level* profile (RHEL, Ubuntu, manylinux…) gives
the newest version per namespace instead (`max-versions`), plus any
non-numeric tokens by name.
"""

from __future__ import annotations

import datetime
import re
from fnmatch import fnmatchcase
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from linkgate.elf.facts import split_version_token


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

# Library tables under this key apply to every architecture of the profile.
ANY_MACHINE = "any"
# An x86_64 kernel runs i386 programs; nothing else is assumed.
_ALSO_RUNS = {"x86_64": ("i386",)}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class LibraryDefs(_Strict):
    """What one library offers the loader: the symbol versions it defines."""

    path: str | None = None
    versions: tuple[str, ...] = ()
    max_versions: dict[Namespace, Version] = Field(default_factory=dict, alias="max-versions")

    @property
    def unversioned(self) -> bool:
        """No version definitions at all: the loader then only warns (no version information)."""
        return not self.versions and not self.max_versions

    def defines(self, token: str) -> bool:
        """True when a need for `token` is satisfied by this library."""
        if token in self.versions:
            return True
        parsed = split_version_token(token)
        if parsed is None:
            return False
        namespace, version = parsed
        maximum = self.max_versions.get(namespace)
        return maximum is not None and version <= tuple(int(p) for p in maximum.split("."))

    def newest(self, namespace: str) -> str | None:
        """The newest numeric version of `namespace` this library defines, as a token."""
        if namespace in self.max_versions:
            return f"{namespace}_{self.max_versions[namespace]}"
        parsed = [(split_version_token(v), v) for v in self.versions]
        ours = [(p[1], v) for p, v in parsed if p is not None and p[0] == namespace]
        return max(ours)[1] if ours else None


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


class Profile(_Strict):
    """One target system as its dynamic loader sees it."""

    name: str = Field(min_length=1)
    description: str = ""
    aliases: tuple[str, ...] = ()
    source: Provenance | None = None
    libc: Libc | None = None
    architectures: tuple[str, ...] = ()
    interpreters: tuple[str, ...] = ()
    # machine (or "any") -> library name as the loader looks it up (or a glob) -> definitions
    libraries: dict[str, dict[str, LibraryDefs]] = Field(default_factory=dict)

    def runs_machine(self, machine: str) -> bool:
        """Whether the target's kernel executes code for `machine` (unknown: assume yes)."""
        if not self.architectures:
            return True
        return any(machine == a or machine in _ALSO_RUNS.get(a, ()) for a in self.architectures)

    def library(self, machine: str, name: str) -> LibraryDefs | None:
        """The library the loader would find for `name`: exact names first, then globs."""
        tables = [self.libraries.get(machine, {}), self.libraries.get(ANY_MACHINE, {})]
        for table in tables:
            if name in table:
                return table[name]
        for table in tables:
            for pattern, defs in table.items():
                if "*" in pattern and fnmatchcase(name, pattern):
                    return defs
        return None

    def library_at(self, path: str) -> LibraryDefs | None:
        """The library recorded at an absolute `path` (captured profiles record paths)."""
        for table in self.libraries.values():
            for defs in table.values():
                if defs.path == path:
                    return defs
        return None

    @property
    def checks_versions(self) -> bool:
        """musl's loader ignores symbol versions; glibc's checks every need."""
        return self.libc is None or self.libc.family != "musl"
