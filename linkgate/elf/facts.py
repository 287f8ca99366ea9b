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
    # Where the record was read: "inline" (the linker's header, Go >= 1.18), "pointers"
    # (the header of older Go), "runtime" (no header: the runtime's own buildVersion and
    # modinfo strings), "unknown" (linked by Go, but no layout this reader knows; `problem` says why).
    layout: str = "inline"
    problem: str = ""
    # The x86-64 level the Go code was compiled for (GOAMD64, v1..v4): the setting, or "v1" for an
    # x86-64 Go older than 1.18 (it had no other); None on other machines or when not recorded.
    goamd64: str | None = None

    @property
    def known(self) -> bool:
        """Whether the version and module info could be read (not an "unknown" layout)."""
        return self.layout != "unknown"

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


# x86 ISA levels as GNU_PROPERTY_X86_ISA_1_* name them, lowest first (bit i is level i).
ISA_LEVELS = ("x86-64-baseline", "x86-64-v2", "x86-64-v3", "x86-64-v4")


@record
class Isa:
    """What the GNU property note says the code needs of the CPU (docs/machine-floors.md).

    `needed` (GNU_PROPERTY_X86_ISA_1_NEEDED) is what glibc >= 2.33's loader
    enforces; `used` is informational. `features`: x86 IBT/SHSTK, AArch64
    BTI/PAC/GCS bits, notes only.
    """

    needed: tuple[str, ...] = ()
    used: tuple[str, ...] = ()
    features: tuple[str, ...] = ()

    @property
    def level(self) -> str | None:
        """The highest needed x86 level, None when nothing is needed."""
        return max(self.needed, key=ISA_LEVELS.index, default=None)


@record
class KernelFloor:
    """The oldest Linux kernel the file says it runs on, and where that comes from."""

    version: tuple[int, ...]
    # "abi-tag" (NT_GNU_ABI_TAG, the C library's floor) or "go-runtime" (the Go release's minimum).
    source: str
    # A static glibc <= 2.35 program checks the kernel itself at start-up ("FATAL: kernel too old").
    startup_check: bool = False

    @property
    def text(self) -> str:
        return ".".join(map(str, self.version))


@record
class LoadAlignment:
    """The PT_LOAD alignments, and so the kernel page sizes glibc's loader maps the file on."""

    # The smallest PT_LOAD p_align.
    smallest: int
    # The largest page size every PT_LOAD's p_align and p_vaddr - p_offset are multiples of
    # (None: nothing asked).
    max_page_size: int | None

    def runs_on(self, page_size: int) -> bool:
        return self.max_page_size is None or self.max_page_size % page_size == 0


@record
class SegmentAlignment:
    """One PT_LOAD's alignment (its index among the program headers)."""

    index: int
    align: int


@record
class AndroidFacts:
    """What the bionic linker and Google Play read beyond the loader's common view (docs/android.md).

    Filled only when asked for (elf.android.with_android), for bionic files.
    """

    # The API level the file was built for: the `.note.android.ident` note of the NDK's crtbegin.
    api_level: int | None
    loads: tuple[SegmentAlignment, ...] = ()
    # p_align of PT_TLS (None: no TLS segment).
    tls_align: int | None = None
    textrel: bool = False
    # DT_ANDROID_REL/RELA, DT_ANDROID_RELR, DT_RELR: formats older linkers do not apply.
    relocation_formats: tuple[str, ...] = ()
    # Only DT_GNU_HASH, no DT_HASH: linkers before API 23 cannot look symbols up.
    gnu_hash_only: bool = False
    # Why bionic's linker refuses the section header table ("" when it is sound), and from which
    # API level: 24 on every device whatever the app targets, 26 for apps targeting 26+.
    section_headers: str = ""
    section_headers_since: int = 0
    # PT_LOAD indexes mapped writable and executable at once.
    write_exec_loads: tuple[int, ...] = ()
    # Undefined dynamic symbols: (name, weak).
    imports: tuple[tuple[str, bool], ...] = ()


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
    libc: str | None = None  # glibc, musl or bionic
    executable_stack: bool = False
    has_section_headers: bool = True
    # e_ident[EI_OSABI] and e_ident[EI_ABIVERSION] (ELFOSABI_SYSV is 0, ELFOSABI_GNU 3).
    os_abi: int = 0
    abi_version: int = 0
    upx: UpxFacts | None = None
    go: GoBuildInfo | None = None
    # The `.comment` strings (compilers that built it: "rustc version 1.95.0 ..."); None when not
    # read: like `go`, only for a file with findings, where they choose the fix a hint names.
    comment: tuple[str, ...] | None = None
    # Filled only when asked for (hardening.with_hardening): it reads the dynamic symbols.
    hardening: Hardening | None = None
    # Filled only when asked for (static_glibc.with_static_glibc), for static programs: it scans their bytes.
    static_glibc: StaticGlibc | None = None
    # The machine floors (docs/machine-floors.md): CPU level, kernel, page size.
    isa: Isa | None = None
    kernel_floor: KernelFloor | None = None
    load_alignment: LoadAlignment | None = None
    # A Go build-ID note: linked by Go's linker (its build info says GOAMD64 and the Go release).
    go_note: bool = False
    # Filled only when asked for (android.with_android), for bionic files.
    android: AndroidFacts | None = None
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
