"""Names for machines, and how a file links (static, static-pie, dynamic)."""

from __future__ import annotations

import posixpath

from linkgate.core.records import record
from linkgate.elf.facts import Kind, Linkage
from linkgate.elf.layouts import DF_1_PIE, ET_CORE, ET_DYN, ET_EXEC, ET_REL

_MACHINES = {
    2: "sparc", 3: "i386", 4: "m68k", 20: "ppc", 22: "s390", 40: "arm", 42: "sh",
    43: "sparc64", 50: "ia64", 62: "x86_64", 183: "aarch64", 243: "riscv", 258: "loongarch",
}  # fmt: skip
_EM_MIPS, _EM_MIPS_RS3_LE, _EM_PPC64, _EM_S390, _EM_RISCV, _EM_LOONGARCH = 8, 10, 21, 22, 243, 258


def machine_name(e_machine: int, elf_class: int, byte_order: str) -> str:
    """Debian-style architecture names; word size and byte order split families."""
    is64 = elf_class == 2
    little = byte_order == "little"
    if e_machine in (_EM_MIPS, _EM_MIPS_RS3_LE):
        return ("mips64" if is64 else "mips") + ("el" if little else "")
    if e_machine == _EM_PPC64:
        return "ppc64le" if little else "ppc64"
    if e_machine == _EM_S390:
        return "s390x" if is64 else "s390"
    if e_machine in (_EM_RISCV, _EM_LOONGARCH):
        return _MACHINES[e_machine] + ("64" if is64 else "32")
    return _MACHINES.get(e_machine, f"em-{e_machine}")


@record
class Shape:
    """The loader-visible facts that decide kind and linkage."""

    e_type: int
    has_interp: bool
    has_dynamic: bool
    has_needed: bool
    has_soname: bool
    flags_1: int


def classify(shape: Shape) -> tuple[Kind, Linkage]:
    """Kind and linkage from the loader's facts (docs/elf-reader.md)."""
    linkage = _linkage(shape)
    return _kind(shape, linkage), linkage


def _linkage(shape: Shape) -> Linkage:
    if shape.has_interp:
        return Linkage.DYNAMIC
    if not shape.has_dynamic:
        return Linkage.STATIC
    if shape.has_needed:
        return Linkage.DYNAMIC
    if shape.e_type == ET_EXEC:
        return Linkage.STATIC
    # ET_DYN without interpreter or NEEDED: a self-relocating static-pie when it
    # says it is a PIE or has no soname; otherwise a dependency-free library.
    if shape.flags_1 & DF_1_PIE or not shape.has_soname:
        return Linkage.STATIC_PIE
    return Linkage.DYNAMIC


def marked_pie(flags_1: int) -> bool:
    """DT_FLAGS_1 has DF_1_PIE: a program, which glibc 2.30+ refuses to load as a library."""
    return bool(flags_1 & DF_1_PIE)


_KINDS_BY_TYPE = {ET_EXEC: Kind.EXECUTABLE, ET_REL: Kind.RELOCATABLE, ET_CORE: Kind.CORE}


def _kind(shape: Shape, linkage: Linkage) -> Kind:
    if shape.e_type != ET_DYN:
        return _KINDS_BY_TYPE.get(shape.e_type, Kind.OTHER)
    if shape.flags_1 & DF_1_PIE:
        return Kind.PIE
    # libc.so.6 carries PT_INTERP so that it can be run, yet it is a library.
    if shape.has_soname:
        return Kind.SHARED_LIBRARY
    if shape.has_interp or linkage is Linkage.STATIC_PIE:
        return Kind.PIE
    return Kind.SHARED_LIBRARY


# Android's dynamic linker (bionic): /system/bin/linker64, /system/bin/linker, and the APEX copies.
_BIONIC_LINKERS = ("linker", "linker64", "linker_asan", "linker_asan64")


def libc_family(interpreter: str | None, needed: tuple[str, ...]) -> str | None:
    """glibc, musl or bionic, from the interpreter name or the C library the file needs.

    `libc.so` is both musl's soname and bionic's: elf.android.settle_libc decides between them
    from the file's version needs and its Android note.
    """
    base = posixpath.basename(interpreter) if interpreter else ""
    if interpreter and interpreter.startswith(("/system/", "/apex/")) and base in _BIONIC_LINKERS:
        return "bionic"
    if base.startswith("ld-musl-") or any(n.startswith("libc.musl-") or n == "libc.so" for n in needed):
        return "musl"
    glibc_loaders = ("ld-linux", "ld64.so.", "ld.so.1")
    if base.startswith(glibc_loaders) or "libc.so.6" in needed:
        return "glibc"
    return None
