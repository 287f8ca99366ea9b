"""Fixes that work, chosen from what the facts say about how the artifact was built.

One table, FIXES, answers every rule that judges a requirement: for a problem
(needs a newer glibc than the target's, must be static, a static glibc program
that loads glibc's modules, a newer C++ runtime, must run on another C library,
an x86-64 level) and the toolchain that built the file (Go, from its build
info; Rust, from the rustc string in `.comment`; C/C++ otherwise), a pure
function of the facts and the Goal (the target's machine and glibc version,
which every command names: `--policy debian-11` gives 2.31 in each line).
Rules ask through fix(problem, facts, goal), or the older helpers
(glibc_fix, static_fix, runtime_fix), which are fix() with one problem.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from linkgate.core.findings import Violation
from linkgate.core.records import record, replace
from linkgate.elf.facts import ElfFacts, GoBuildInfo, GoModule, Linkage
from linkgate.rules.base import short_list

GO_MUSL = "CC=musl-gcc go build -tags musl -ldflags '-linkmode external -extldflags \"-static\"'"
GO_NO_CGO = "CGO_ENABLED=0 go build"
GO_NETGO = "go build -tags netgo,osusergo"
UPX_NOTE = "UPX-packed, but the unpacked binary needs the same libraries (UPX does not make it static)"

# Build images by the glibc they ship, oldest first (the same releases as scripts/version_tables.py;
# tests/formats/test_text_polish.py checks each against its shipped target profile). A hint
# names the newest entry whose glibc is <= the limit: an image newer than the limit is the problem.
IMAGES: tuple[tuple[tuple[int, ...], str], ...] = (
    ((2, 17), "manylinux2014, CentOS 7"),
    ((2, 26), "Amazon Linux 2"),
    ((2, 27), "Ubuntu 18.04"),
    ((2, 28), "manylinux_2_28, Debian 10, Rocky 8"),
    ((2, 31), "Debian 11, Ubuntu 20.04"),
    ((2, 34), "manylinux_2_34, Rocky 9, Amazon Linux 2023"),
    ((2, 35), "Ubuntu 22.04"),
    ((2, 36), "Debian 12"),
    ((2, 39), "Ubuntu 24.04"),
    ((2, 41), "Debian 13"),
)

# linkgate's machine names -> zig's target architecture and glibc ABI suffix.
_ZIG_ARCH = {"i386": "x86", "ppc64le": "powerpc64le", "ppc64": "powerpc64"}
_ZIG_ABI = {"arm": "gnueabihf", "mips": "gnueabihf", "mipsel": "gnueabihf"}
# linkgate's machine names -> Rust's target architecture and glibc ABI (`{arch}-unknown-linux-{abi}`).
_RUST_ARCH = {"i386": "i686", "arm": "armv7", "riscv64": "riscv64gc", "ppc64le": "powerpc64le", "ppc64": "powerpc64"}
_RUST_ABI = {"arm": "gnueabihf"}
# Standard-library packages whose C calls have a pure-Go twin chosen by a build tag.
_NETGO_PACKAGES = frozenset({"net", "os/user"})


class Toolchain(str, Enum):
    """What built the file, as far as the fix is concerned."""

    GO = "go"
    RUST = "rust"
    C = "c"  # C, C++, or not known: the C toolchain's fixes


class Problem(str, Enum):
    """What the fix must change."""

    GLIBC = "glibc"  # needs glibc symbol versions newer than the goal's glibc
    STATIC = "static"  # must be a static executable
    STATIC_NSS = "static-nss"  # a static glibc program that loads libnss_* at run time
    STATIC_LOADS = "static-loads"  # a static glibc program that loads gconv modules or dlopens
    RUNTIME = "runtime"  # needs a newer C++/GCC runtime (GLIBCXX, CXXABI, GCC) or another library
    MUSL = "musl"  # must run on a musl system (binds symbols by name)
    X86_LEVEL = "x86-64-level"  # compiled for a higher x86-64 level than the goal's CPUs


@record
class Goal:
    """What the rebuilt artifact must run on: its machine, the newest glibc there (None: no glibc
    limit in question), and for RUNTIME the symbol-version namespace (GLIBCXX, GCC...)."""

    machine: str
    glibc: tuple[int, ...] | None = None
    namespace: str = ""

    @property
    def glibc_text(self) -> str:
        return ".".join(map(str, self.glibc or ()))


Fix = Callable[[ElfFacts, Goal], str]


def fix(problem: Problem, facts: ElfFacts, goal: Goal) -> str:
    """The build-aware fix of `problem` for the file `facts` describe."""
    return FIXES[problem][toolchain(facts)](facts, goal)


def toolchain(facts: ElfFacts) -> Toolchain:
    """Go when the file has Go build info, Rust when rustc signed its `.comment`, else C/C++."""
    if facts.go is not None:
        return Toolchain.GO
    if any(line.startswith("rustc version") for line in facts.comment or ()):
        return Toolchain.RUST
    return Toolchain.C


# --- the helpers the rules have always called --------------------------------------------------


# The C library's own files: the target's loader provides them (musl's answers glibc's names with
# itself); copying one into a wheel or next to a program never makes the artifact run.
_GLIBC_LIBRARIES = ("libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1")


def is_c_library(name: str) -> bool:
    return name in _GLIBC_LIBRARIES or name.startswith(("ld-linux", "ld-musl-", "libc.musl-"))


def c_library_fix(name: str) -> str:
    """Never "bundle it": the C library comes with the target, so the artifact is built for the target's."""
    return (
        f"{name} belongs to the C library, which cannot be bundled: build the artifact in an image of the "
        "target's C library (a musllinux image for musl targets, a manylinux one for glibc)"
    )


def glibc_fix(facts: ElfFacts, limit: tuple[int, ...]) -> str:
    """How to stop needing glibc versions newer than `limit`."""
    return fix(Problem.GLIBC, facts, Goal(facts.machine, limit))


def static_fix(facts: ElfFacts) -> str:
    """How to make a dynamically linked executable static."""
    return fix(Problem.STATIC, facts, Goal(facts.machine))


def runtime_fix(facts: ElfFacts, namespace: str, limit: tuple[int, ...] | None = None) -> str:
    """How to stop needing a newer C++/GCC runtime (GLIBCXX, CXXABI, GCC) or another library."""
    return fix(Problem.RUNTIME, facts, Goal(facts.machine, limit, namespace))


def zig_target(machine: str) -> str:
    """`x86_64-linux-gnu`, `aarch64-linux-gnu`, `arm-linux-gnueabihf`…: zig's name for a glibc target."""
    return f"{_ZIG_ARCH.get(machine, machine)}-linux-{_ZIG_ABI.get(machine, 'gnu')}"


def zig_musl_target(machine: str) -> str:
    return zig_target(machine).replace("-gnu", "-musl")


def rust_target(machine: str, musl: bool = False) -> str:
    """`x86_64-unknown-linux-gnu`, `aarch64-unknown-linux-musl`, `armv7-unknown-linux-gnueabihf`…"""
    abi = _RUST_ABI.get(machine, "gnu")
    return f"{_RUST_ARCH.get(machine, machine)}-unknown-linux-{abi.replace('gnu', 'musl') if musl else abi}"


def _images(limit: tuple[int, ...]) -> str:
    fitting = [names for glibc, names in IMAGES if glibc <= limit]
    return f" ({fitting[-1]})" if fitting else ""


# --- C and C++ ----------------------------------------------------------------------------------


def _c_glibc(_facts: ElfFacts, goal: Goal) -> str:
    version = goal.glibc_text
    return (
        f"build in an image whose glibc is <= {version}{_images(goal.glibc or ())}, "
        f"or `zig cc -target {zig_target(goal.machine)}.{version}`, "
        "or link statically against musl (`musl-gcc -static`)"
    )


def _c_static(_facts: ElfFacts, goal: Goal) -> str:
    return f"link statically against musl (`musl-gcc -static`, or `zig cc -target {zig_musl_target(goal.machine)}`)"


C_STATIC_GLIBC_FIX = (
    "link statically against musl (`musl-gcc -static`), or dynamically against glibc, "
    "or avoid NSS (getaddrinfo, getpwnam...), iconv and dlopen in a static glibc program"
)


def _c_static_glibc(_facts: ElfFacts, _goal: Goal) -> str:
    return C_STATIC_GLIBC_FIX


def _c_runtime(_facts: ElfFacts, goal: Goal) -> str:
    if goal.namespace in ("GLIBCXX", "CXXABI"):
        return (
            "build with the target's GCC (an image as old as the target), "
            "or link the C++ runtime statically: `-static-libstdc++ -static-libgcc`"
        )
    if goal.namespace == "GCC":
        return "build with the target's GCC, or link libgcc statically: `-static-libgcc`"
    return f"build against the target's version of the library that defines {goal.namespace}, or link it statically"


def _c_musl(_facts: ElfFacts, goal: Goal) -> str:
    return (
        f"build the artifact against musl (a musllinux image, `zig cc -target {zig_musl_target(goal.machine)}`), "
        "or avoid the glibc-only functions"
    )


def _c_x86_level(_facts: ElfFacts, _goal: Goal) -> str:
    return "compile for the baseline: `-march=x86-64 -mtune=generic`, in an image whose compiler defaults to it"


# --- Rust ---------------------------------------------------------------------------------------


def _rustc(facts: ElfFacts) -> str:
    """`Rust 1.95.0` from `rustc version 1.95.0 (59807616e 2026-04-14)`."""
    line = next((c for c in facts.comment or () if c.startswith("rustc version")), "")
    words = line.split()
    return f"Rust {words[2]}" if len(words) > 2 else "Rust"


def _rust_musl_build(goal: Goal) -> str:
    target = rust_target(goal.machine, musl=True)
    return f"`rustup target add {target}` and `cargo build --release --target {target}` (static, no glibc)"


def _rust_glibc(facts: ElfFacts, goal: Goal) -> str:
    target, version = rust_target(goal.machine), goal.glibc_text
    return (
        f"{_rustc(facts)}: link against glibc {version}: `cargo zigbuild --release --target {target}.{version}` "
        f"(cargo-zigbuild), or build for musl: {_rust_musl_build(goal)}"
    )


def _rust_static(facts: ElfFacts, goal: Goal) -> str:
    return f"{_rustc(facts)}: build for musl: {_rust_musl_build(goal)}"


def _rust_static_glibc(facts: ElfFacts, goal: Goal) -> str:
    return (
        f"{_rustc(facts)} linked statically against glibc (`-C target-feature=+crt-static`): "
        f"build for musl instead: {_rust_musl_build(goal)}, or link glibc dynamically (drop `+crt-static`)"
    )


def _rust_runtime(facts: ElfFacts, goal: Goal) -> str:
    target = rust_target(goal.machine) + (f".{goal.glibc_text}" if goal.glibc else "")
    return (
        f"{_rustc(facts)}: the C/C++ code of a -sys crate needs the newer runtime: build it with "
        f"`cargo zigbuild --release --target {target}` (zig's C++ runtime is linked in), or link the "
        "runtime statically (`-static-libstdc++ -static-libgcc` in the crate's build flags)"
    )


def _rust_x86_level(facts: ElfFacts, _goal: Goal) -> str:
    return f"{_rustc(facts)}: compile for the baseline: `RUSTFLAGS='-C target-cpu=x86-64'` (no higher target-cpu)"


# --- Go -----------------------------------------------------------------------------------------


def uses_cgo(facts: ElfFacts) -> bool:
    """A Go program whose C code (cgo) links it against the C library."""
    go = facts.go
    if go is None:
        return False
    if go.cgo_packages:
        return True
    return go.cgo_enabled is not False and facts.linkage is Linkage.DYNAMIC


def go_fix(facts: ElfFacts) -> str | None:
    """The Go remedies for a cgo program, naming the modules that call C; None for other programs."""
    if facts.go is None or not uses_cgo(facts):
        return None
    return _go_cgo(facts.go, Goal(facts.machine))


def _built(go: GoBuildInfo) -> str:
    version = go.version.split()[0].removeprefix("go") if go.known and go.version else ""
    return f"Go {version} with cgo" if version else "Go with cgo"


def _zig_cc(goal: Goal) -> str:
    """Keep cgo and glibc, linked against the goal's glibc ("" when no glibc version is in question)."""
    if goal.glibc is None:
        return ""
    version = goal.glibc_text
    return f', or link against glibc {version}: `CC="zig cc -target {zig_target(goal.machine)}.{version}" go build`'


def _go_cgo(go: GoBuildInfo, goal: Goal) -> str:
    """The fixes of a cgo program: the pure-Go build tags, musl static, zig cc at the goal's glibc, no cgo."""
    modules, stdlib = cgo_callers(go)
    built, zig = _built(go), _zig_cc(goal)
    musl = f"link statically against musl: `{GO_MUSL}`"
    if stdlib and not modules and set(stdlib) <= _NETGO_PACKAGES:
        return (
            f"{built} (only the standard library calls C: {', '.join(stdlib)}): `{GO_NETGO}` "
            f"(Go's own resolver and user lookup, no C library), or drop cgo: `{GO_NO_CGO}`, or {musl}{zig}"
        )
    if stdlib and not modules:
        return (
            f"{built} (only the standard library calls C: {', '.join(stdlib)}): drop cgo: "
            f"`{GO_NO_CGO}` (the standard library then uses its pure-Go code), or {musl}{zig}"
        )
    if not modules:
        return f"{built}: {musl}{zig}, or drop cgo: `{GO_NO_CGO}`"
    callers = short_list(_module_text(m) for m in modules)
    replacements = short_list(m.path for m in modules)
    return (
        f"{built} (C calls in {callers}): {musl}{zig}, "
        f"or drop cgo: `{GO_NO_CGO}` (needs a pure-Go replacement for {replacements})"
    )


def _go(other: Fix) -> Fix:
    """The cgo fixes for a Go program that calls C; `other` (C's) for one that does not."""

    def chosen(facts: ElfFacts, goal: Goal) -> str:
        return _go_cgo(facts.go, goal) if facts.go is not None and uses_cgo(facts) else other(facts, goal)

    return chosen


GO_NSS_FIX = f"`{GO_NETGO}` (Go's own resolver and user lookup) or `{GO_NO_CGO}`, or `{GO_MUSL}`"
GO_C_FIX = f"link the C code against musl: `{GO_MUSL}`"


def _go_static_nss(_facts: ElfFacts, _goal: Goal) -> str:
    return GO_NSS_FIX


def _go_static_loads(_facts: ElfFacts, _goal: Goal) -> str:
    return GO_C_FIX


def _go_x86_level(facts: ElfFacts, _goal: Goal) -> str:
    level = facts.go.goamd64 if facts.go is not None else None
    built = f" (built with GOAMD64={level})" if level else ""
    return f"Go{built}: `GOAMD64=v1 go build` (the baseline), and for cgo code `CGO_CFLAGS='-march=x86-64'`"


FIXES: dict[Problem, dict[Toolchain, Fix]] = {
    Problem.GLIBC: {Toolchain.GO: _go(_c_glibc), Toolchain.RUST: _rust_glibc, Toolchain.C: _c_glibc},
    Problem.STATIC: {Toolchain.GO: _go(_c_static), Toolchain.RUST: _rust_static, Toolchain.C: _c_static},
    Problem.STATIC_NSS: {
        Toolchain.GO: _go_static_nss,
        Toolchain.RUST: _rust_static_glibc,
        Toolchain.C: _c_static_glibc,
    },
    Problem.STATIC_LOADS: {
        Toolchain.GO: _go_static_loads,
        Toolchain.RUST: _rust_static_glibc,
        Toolchain.C: _c_static_glibc,
    },
    Problem.RUNTIME: {Toolchain.GO: _go(_c_runtime), Toolchain.RUST: _rust_runtime, Toolchain.C: _c_runtime},
    Problem.MUSL: {Toolchain.GO: _go(_c_musl), Toolchain.RUST: _rust_static, Toolchain.C: _c_musl},
    Problem.X86_LEVEL: {Toolchain.GO: _go_x86_level, Toolchain.RUST: _rust_x86_level, Toolchain.C: _c_x86_level},
}


def seen_through_upx(violation: Violation) -> Violation:
    """A finding about a UPX payload says that packing changes nothing for the loader."""
    hint = f"{UPX_NOTE}; {violation.hint}" if violation.hint else UPX_NOTE
    return replace(violation, hint=hint)


def cgo_callers(go: GoBuildInfo) -> tuple[list[GoModule], list[str]]:
    """(modules whose packages call C, standard-library packages that call C), in build info order."""
    packages = go.cgo_packages or ()
    owners = {package: go.module_of(package) for package in packages}
    modules = [m for m in (go.main, *go.deps) if m is not None and m in owners.values()]
    stdlib = [p for p, owner in owners.items() if owner is None and not p.startswith("runtime/cgo")]
    return modules, stdlib


def _module_text(module: GoModule) -> str:
    version = module.version if module.version != "(devel)" else ""
    return f"{module.path} {version}".strip()


def isa_fix(facts: ElfFacts, limit: str) -> str:
    """How to need no more than x86 level `limit` (a Go program: GOAMD64; C: -march; a stamped crt1.o: the image)."""
    goamd64 = "v1" if limit == "x86-64-baseline" else limit.removeprefix("x86-64-")
    if facts.go is not None:
        return f'build with `GOAMD64={goamd64} go build` (and `CGO_CFLAGS="-march=x86-64 -mtune=generic"` for cgo)'
    return (
        "compile with `-march=x86-64 -mtune=generic` (no -march=native), build in a vanilla image "
        "(a distribution built for a higher level stamps its crt1.o), "
        "and check the note with `readelf -n FILE | grep 'x86 ISA needed'`"
    )


def kernel_fix(facts: ElfFacts, source: str) -> str:
    """How to run on an older kernel: the Go release, or the static glibc's start-up check."""
    if source == "go-runtime":
        return "build with an older Go release (Go 1.23 runs on 2.6.32, Go 1.18 on 2.6.23)"
    go = facts.go is not None
    musl = f"`{GO_MUSL}`" if go else "`musl-gcc -static` (musl has no kernel check)"
    no_cgo = f", or `{GO_NO_CGO}`" if go else ""
    return f"link statically against musl: {musl}{no_cgo}, or link dynamically against the target's glibc"


def page_size_fix(facts: ElfFacts, page_size: int) -> str:
    """How to align every PT_LOAD for `page_size`-byte pages."""
    flag = f"-Wl,-z,max-page-size={max(page_size, 65536 if facts.machine == 'aarch64' else page_size)}"
    if facts.go is not None:
        return f"`go build -ldflags=-extldflags={flag}` for cgo, or Go's linker `-ldflags=-R{page_size}`"
    return f"link with `{flag}` (gcc, clang, zig cc, lld)"


# Android (docs/android.md): fixes for the build an NDK library comes from.
ANDROID_PAGE_FIX = (
    "link with `-Wl,-z,max-page-size=16384` (NDK r28+ does by default; NDK r27: "
    "APP_SUPPORT_FLEXIBLE_PAGE_SIZES := true, or CMake -DANDROID_SUPPORT_FLEXIBLE_PAGE_SIZES=ON), then rebuild"
)
ANDROID_SYMBOL_FIX = (
    "raise minSdk to {level}, or build for your minSdk (`--target=<arch>-linux-android<minSdk>`, "
    "ANDROID_PLATFORM) and guard the call with `if (__builtin_available(android {level}, *))`, "
    "which makes the reference weak"
)
ANDROID_ZIPALIGN_FIX = "align the APK with `zipalign -P 16 -f 4 in.apk out.apk` (build-tools 35+; AGP 8.5.1+ does it)"


def image_fix(facts: ElfFacts, namespace: str, release: str | None, system: str) -> str:
    """How to make a program copied into an image need no newer versions than the image defines."""
    go = go_fix(facts)
    if go is not None:
        return go
    named = f"{system}: " if system else ""
    builder = f"build it on the image's own release ({named}a builder stage FROM the same base, not a newer one)"
    if namespace == "GLIBC" and release:
        return f"{builder}, or `zig cc -target {zig_target(facts.machine)}.{release}`, or link statically against musl"
    if namespace in ("GLIBCXX", "CXXABI", "GCC"):
        return f"{builder}, or link the C++ runtime statically: `-static-libstdc++ -static-libgcc`"
    return f"{builder}, or install the newer library in the image"


def no_libc_fix(facts: ElfFacts) -> str:
    """How to run a dynamically linked program in an image that has no C library (scratch, static distroless)."""
    return f"copy it into a base image with the C library it was built against, or {static_fix(facts)}"


def image_library_fix(library: str) -> str:
    """How to give a program in an image the library the image lacks."""
    return (
        f"install the package that provides {library} in the image's final stage, or copy the library in "
        "beside the program and point its RUNPATH at it ($ORIGIN/...)"
    )
