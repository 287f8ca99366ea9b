"""Whether the loader maps a file it found under a NEEDED name, passes over it, or fails.

glibc (elf/dl-load.c, `open_verify` and `_dl_map_object_from_fd`) checks each
file a search step finds, in this order:
0. not ELF at all: fatal, "file too short" below an ELF header's size, else
   "invalid ELF header";
1. ELF class (e_ident[EI_CLASS]) not the requester's: passed over, the search
   goes on ("wrong ELF class: ELFCLASS32" if nothing else is found);
2. byte order (EI_DATA): fatal, "ELF file data encoding not little-endian";
3. OS ABI (EI_OSABI) other than SYSV (0) or GNU (3): fatal, "ELF file OS ABI
   invalid" (sysdeps/gnu/ldsodefs.h, VALID_ELF_OSABI); ABI version (EI_ABIVERSION)
   other than 0, or for GNU at least LIBC_ABI_MAX: fatal, "ELF file ABI version
   invalid";
4. machine (`elf_machine_matches_host`, e_machine per architecture): passed over;
   then neither ET_DYN nor ET_EXEC: fatal, "only ET_DYN and ET_EXEC can be loaded";
5. ET_EXEC: fatal, "cannot dynamically load executable"; an ET_DYN marked
   DF_1_PIE: fatal, "cannot dynamically load position-independent executable"
   (glibc 2.30 and later).
(Debian and Ubuntu patch step 4 before step 2, so there a file of another
machine and byte order is passed over; upstream's fatal error is kept: it fails
closed.) A fatal error stops the whole load: the program does not start. x32 (ELFCLASS32
with EM_X86_64) is passed over by an x86_64 loader at step 1, as is x86_64 by
an x32 one. musl's loader is modelled by class and machine, and fails with
"Exec format error" on a file that is not ELF or neither ET_DYN nor ET_EXEC.
"""

from __future__ import annotations

from linkgate.core.site import Loader, ShippedLibrary

# The loader passes over the file and searches on.
PASSED_OVER = "passed over"
_ELFOSABI_SYSV, _ELFOSABI_GNU = 0, 3
# GNU ABI versions every glibc release linkgate knows accepts: 1 (STB_GNU_UNIQUE) and 2
# (STT_GNU_IFUNC). LIBC_ABI_MAX grew later (ABSOLUTE); a higher one fails closed.
_GNU_ABI_VERSIONS = (0, 1, 2)
# sizeof(ElfW(Ehdr)) per ELF class of the loader: a shorter file is "file too short".
_EHDR_SIZE = {32: 52, 64: 64}


def refusal(library: ShippedLibrary, requester: Loader, family: str | None) -> str | None:
    """None when the loader maps `library` for `requester`; PASSED_OVER; else the loader's fatal error."""
    if library.not_elf_size is not None:
        return _not_elf(library.not_elf_size, requester, family)
    if library.elf_class != requester.elf_class:
        return PASSED_OVER
    if family == "musl":
        if library.foreign_type:
            return "Exec format error"  # map_library: neither ET_DYN nor ET_EXEC
        return None if library.machine == requester.machine else PASSED_OVER
    return _ident_error(library, requester) or _machine_or_type(library, requester)


def _not_elf(size: int, requester: Loader, family: str | None) -> str:
    """A file that is not ELF stops the search (open_verify reads an ELF header first)."""
    if family == "musl":
        return "Exec format error"
    return "file too short" if size < _EHDR_SIZE[requester.elf_class] else "invalid ELF header"


def _ident_error(library: ShippedLibrary, requester: Loader) -> str | None:
    if library.byte_order != requester.byte_order:
        return f"ELF file data encoding not {requester.byte_order}-endian"
    if library.os_abi not in (_ELFOSABI_SYSV, _ELFOSABI_GNU):
        return "ELF file OS ABI invalid"
    valid = (0,) if library.os_abi == _ELFOSABI_SYSV else _GNU_ABI_VERSIONS
    return None if library.abi_version in valid else "ELF file ABI version invalid"


def _machine_or_type(library: ShippedLibrary, requester: Loader) -> str | None:
    if library.machine != requester.machine:
        return PASSED_OVER
    if library.foreign_type:
        return "only ET_DYN and ET_EXEC can be loaded"
    if library.executable:
        return "cannot dynamically load executable"
    if library.pie:
        return "cannot dynamically load position-independent executable"
    return None
