"""Names for machines, and how a file links (static, static-pie, dynamic)."""

from __future__ import annotations

import posixpath

from linkgate.elf.facts import Kind, Linkage

ET_REL, ET_EXEC, ET_DYN, ET_CORE = 1, 2, 3, 4
DF_1_PIE = 0x08000000

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


def classify(
    e_type: int, has_interp: bool, has_dynamic: bool, has_needed: bool, has_soname: bool, flags_1: int
) -> tuple[Kind, Linkage]:
    """Kind and linkage from the loader's facts (specs/elf-loader-view.md, Classification)."""
    linkage = _linkage(e_type, has_interp, has_dynamic, has_needed, has_soname, flags_1)
    return _kind(e_type, has_interp, has_soname, flags_1, linkage), linkage


def _linkage(
    e_type: int, has_interp: bool, has_dynamic: bool, has_needed: bool, has_soname: bool, flags_1: int
) -> Linkage:
    if has_interp:
        return Linkage.DYNAMIC
    if not has_dynamic:
        return Linkage.STATIC
    if e_type == ET_DYN and not has_needed and not has_soname:
        # A self-relocating executable: PT_DYNAMIC only for its own relocations.
        return Linkage.STATIC_PIE
    if e_type == ET_DYN and flags_1 & DF_1_PIE and not has_needed:
        return Linkage.STATIC_PIE
    if e_type == ET_EXEC and not has_needed:
        return Linkage.STATIC
    return Linkage.DYNAMIC


def _kind(e_type: int, has_interp: bool, has_soname: bool, flags_1: int, linkage: Linkage) -> Kind:
    if e_type == ET_EXEC:
        return Kind.EXECUTABLE
    if e_type == ET_REL:
        return Kind.RELOCATABLE
    if e_type == ET_CORE:
        return Kind.CORE
    if e_type != ET_DYN:
        return Kind.OTHER
    if flags_1 & DF_1_PIE:
        return Kind.PIE
    # libc.so.6 carries PT_INTERP so that it can be run, yet it is a library.
    if has_soname:
        return Kind.SHARED_LIBRARY
    if has_interp or linkage is Linkage.STATIC_PIE:
        return Kind.PIE
    return Kind.SHARED_LIBRARY


def libc_family(interpreter: str | None, needed: tuple[str, ...]) -> str | None:
    """glibc or musl, from the interpreter name or the C library the file needs."""
    base = posixpath.basename(interpreter) if interpreter else ""
    if base.startswith("ld-musl-") or any(n.startswith("libc.musl-") or n == "libc.so" for n in needed):
        return "musl"
    glibc_loaders = ("ld-linux", "ld64.so.", "ld.so.1")
    if base.startswith(glibc_loaders) or "libc.so.6" in needed:
        return "glibc"
    return None
