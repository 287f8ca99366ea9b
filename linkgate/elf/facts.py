"""Plain, frozen facts about one ELF file, as the dynamic loader sees it.

Nothing here knows byte layouts: the reader fills these in, rules and
renderers only read them.
"""

from __future__ import annotations

import functools
import re
from enum import Enum
from typing import Literal

from linkgate.core.records import field, record

_VERSION_TOKEN = re.compile(r"^(?P<ns>[A-Za-z][A-Za-z0-9]*?)_(?P<ver>\d+(?:[._]\d+)*)$")


class Linkage(str, Enum):
    """How the program gets its libraries at run time."""

    STATIC = "static"
    STATIC_PIE = "static-pie"
    DYNAMIC = "dynamic"


class Kind(str, Enum):
    """What the file is, as opposed to how it links."""

    EXECUTABLE = "executable"
    PIE = "pie"
    SHARED_LIBRARY = "shared-library"
    RELOCATABLE = "relocatable"
    CORE = "core"
    OTHER = "other"


@record
class SymbolRef:
    """An undefined dynamic symbol that carries a needed version."""

    name: str
    weak: bool = False


@record
class VersionNeed:
    """One (library, version) pair from DT_VERNEED, with the symbols behind it."""

    library: str
    version: str
    weak: bool = False
    symbols: tuple[SymbolRef, ...] = ()


@record
class UpxFacts:
    """What is known about UPX packing of the file."""

    packed: bool
    evidence: str
    tier: int
    version: str | None = None
    method: str | None = None
    payload_read: bool = False


@record
class GoModule:
    """One module line of Go build info (`mod`, `dep`, or the `=>` replacing it)."""

    path: str
    version: str
    sum: str = ""
    replace: GoModule | None = None


@record
class GoBuildInfo:
    """What the Go linker recorded about the build (runtime/debug.BuildInfo)."""

    version: str
    path: str = ""
    main: GoModule | None = None
    deps: tuple[GoModule, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()
    # Packages whose functions call C (cgo), from the function names the runtime
    # keeps; None until looked for, which costs a scan of the read-only data.
    cgo_packages: tuple[str, ...] | None = None

    def setting(self, key: str) -> str | None:
        """The value of `build key=value`, e.g. setting("-tags") -> "musl"."""
        return next((value for name, value in self.settings if name == key), None)

    @property
    def cgo_enabled(self) -> bool | None:
        """CGO_ENABLED as recorded (Go >= 1.18); None when the build info predates settings."""
        value = self.setting("CGO_ENABLED")
        return None if value is None else value == "1"

    def module_of(self, package: str) -> GoModule | None:
        """The module that provides `package` (longest path prefix); None for the standard library.

        The linker names the main package `main`, whatever its import path.
        """
        if package == "main":
            return self.main
        modules = [m for m in (self.main, *self.deps) if m is not None]
        owners = [m for m in modules if package == m.path or package.startswith(m.path + "/")]
        return max(owners, key=lambda m: len(m.path), default=None)


@record
class RwxSegment:
    """A PT_LOAD mapped readable, writable and executable at once."""

    index: int
    vaddr: int
    memsz: int


@record
class Cet:
    """x86 control-flow enforcement the GNU property note promises (all objects linked had it)."""

    ibt: bool
    shstk: bool


Relro = Literal["full", "partial", "none"]


@record
class Hardening:
    """Exploit mitigations, as the loader and the kernel will apply them (docs/hardening.md).

    None means "cannot be known from this file": e.g. a canary in a stripped
    static program, CET on a machine that has no CET.
    """

    pie: bool
    relro: Relro
    bind_now: bool
    nx: bool
    textrel: bool
    rwx_segments: tuple[RwxSegment, ...] = ()
    canary: bool | None = None
    fortified: bool | None = None
    fortified_count: int | None = None
    fortifiable_count: int | None = None
    # Fortifiable functions imported without their checking variant.
    unfortified: tuple[str, ...] = ()
    cet: Cet | None = None
    stack_clash: bool | None = None


@record
class StaticGlibc:
    """What a statically linked program loads from the server's glibc at run time (docs/hardening.md).

    glibc's static NSS, iconv and dlopen load glibc's own shared modules, which
    must come from the glibc version the program was built with. None means
    "cannot be told from this file" (a stripped program has no .symtab).
    """

    # Linked with glibc at all (its charset-conversion or NSS code is in the file).
    glibc: bool
    # glibc's NSS module loader is linked in: lookups dlopen() libnss_*.so.2.
    nss: bool = False
    # The NSS entry points (getaddrinfo, getpwnam...) .symtab defines; empty when stripped.
    nss_functions: tuple[str, ...] = ()
    # iconv_open is linked in: it loads gconv modules for most charsets.
    iconv: bool | None = None
    # The program's code calls dlopen itself (glibc >= 2.34 links dlopen into every static program).
    dlopen: bool | None = None


@record
class ElfFacts:
    """The loader's view of one ELF file (see docs/elf-reader.md)."""

    elf_class: int
    byte_order: str
    machine: str
    kind: Kind
    linkage: Linkage
    interpreter: str | None = None
    needed: tuple[str, ...] = ()
    soname: str | None = None
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    flags: int = 0
    flags_1: int = 0
    version_needs: tuple[VersionNeed, ...] = ()
    version_defs: tuple[str, ...] = ()
    libc: str | None = None
    executable_stack: bool = False
    has_section_headers: bool = True
    # e_ident[EI_OSABI] and e_ident[EI_ABIVERSION] (ELFOSABI_SYSV is 0, ELFOSABI_GNU 3).
    os_abi: int = 0
    abi_version: int = 0
    upx: UpxFacts | None = None
    go: GoBuildInfo | None = None
    # Filled only when asked for (hardening.with_hardening): it reads the dynamic symbols.
    hardening: Hardening | None = None
    # Filled only when asked for (static_glibc.with_static_glibc), for static programs: it scans their bytes.
    static_glibc: StaticGlibc | None = None
    payload: ElfFacts | None = field(default=None, repr=False)

    def needs_by_library(self) -> dict[str, list[str]]:
        """soname -> version tokens, in file order."""
        result: dict[str, list[str]] = {}
        for need in self.version_needs:
            result.setdefault(need.library, []).append(need.version)
        return result


@functools.lru_cache(maxsize=4096)
def split_version_token(token: str) -> tuple[str, tuple[int, ...]] | None:
    """`GLIBC_2.34` -> ("GLIBC", (2, 34)); None for non-numeric tokens like GLIBC_PRIVATE.

    OpenSSL spells its versions with underscores (`OPENSSL_1_1_0`), so both
    separators count. Cached: a tree of binaries repeats the same few hundred tokens.
    """
    match = _VERSION_TOKEN.match(token)
    if match is None:
        return None
    parts = re.split(r"[._]", match.group("ver"))
    return match.group("ns"), tuple(int(part) for part in parts)
