"""Fixes that work, chosen from what the facts say about how the artifact was built.

Pure functions of facts (and a rule's limit) that the rules put into hints:
a Go program that calls C gets the Go commands and the modules that call C,
anything else the C toolchain remedies.
"""

from __future__ import annotations

from linkgate.core.findings import Violation
from linkgate.core.records import replace
from linkgate.elf.facts import ElfFacts, GoBuildInfo, GoModule, Linkage
from linkgate.rules.base import short_list

GO_MUSL = "CC=musl-gcc go build -tags musl -ldflags '-linkmode external -extldflags \"-static\"'"
GO_NO_CGO = "CGO_ENABLED=0 go build"
UPX_NOTE = "UPX-packed, but the unpacked binary needs the same libraries (UPX does not make it static)"

# Build images by the glibc they ship, oldest first (the same releases as scripts/version_tables.py;
# tests/test_text_polish.py checks each against its shipped target profile). A hint
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
    go = go_fix(facts)
    if go is not None:
        return go
    version = ".".join(map(str, limit))
    return (
        f"build in an image whose glibc is <= {version}{_images(limit)}, "
        f"or `zig cc -target {zig_target(facts.machine)}.{version}`, "
        "or link statically against musl (`musl-gcc -static`)"
    )


def static_fix(facts: ElfFacts) -> str:
    """How to make a dynamically linked executable static."""
    go = go_fix(facts)
    if go is not None:
        return go
    musl = zig_target(facts.machine).replace("-gnu", "-musl")
    return f"link statically against musl (`musl-gcc -static`, or `zig cc -target {musl}`)"


def runtime_fix(facts: ElfFacts, namespace: str) -> str:
    """How to stop needing a newer C++/GCC runtime (GLIBCXX, CXXABI, GCC) or another library."""
    go = go_fix(facts)
    if go is not None:
        return go
    if namespace in ("GLIBCXX", "CXXABI"):
        return (
            "build with the target's GCC (an image as old as the target), "
            "or link the C++ runtime statically: `-static-libstdc++ -static-libgcc`"
        )
    if namespace == "GCC":
        return "build with the target's GCC, or link libgcc statically: `-static-libgcc`"
    return f"build against the target's version of the library that defines {namespace}, or link it statically"


def zig_target(machine: str) -> str:
    """`x86_64-linux-gnu`, `aarch64-linux-gnu`, `arm-linux-gnueabihf`…: zig's name for a glibc target."""
    return f"{_ZIG_ARCH.get(machine, machine)}-linux-{_ZIG_ABI.get(machine, 'gnu')}"


def _images(limit: tuple[int, ...]) -> str:
    fitting = [names for glibc, names in IMAGES if glibc <= limit]
    return f" ({fitting[-1]})" if fitting else ""


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
    go = facts.go
    if go is None or not uses_cgo(facts):
        return None
    modules, stdlib = cgo_callers(go)
    built = f"Go {go.version.split()[0].removeprefix('go')} with cgo"
    musl = f"link statically against musl: `{GO_MUSL}`"
    if stdlib and not modules:
        return (
            f"{built} (only the standard library calls C: {', '.join(stdlib)}): drop cgo: "
            f"`{GO_NO_CGO}` (the standard library then uses its pure-Go code), or {musl}"
        )
    if not modules:
        return f"{built}: {musl}, or drop cgo: `{GO_NO_CGO}`"
    callers = short_list(_module_text(m) for m in modules)
    replacements = short_list(m.path for m in modules)
    return (
        f"{built} (C calls in {callers}): {musl}, "
        f"or drop cgo: `{GO_NO_CGO}` (needs a pure-Go replacement for {replacements})"
    )


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
