"""ELF constants and record layouts, each named once (with elf.h's names).

Every module that reads bytes takes its numbers and record shapes from here, so a
layout is written once and a field is read by name, not by its place in an
anonymous format string. Records are read in the file's byte order and word size
(see `Record.read`).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from typing import Generic, NamedTuple, Protocol, TypeVar

ELF_MAGIC = b"\x7fELF"
ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB, ELFDATA2MSB = 1, 2

# e_type
ET_REL, ET_EXEC, ET_DYN, ET_CORE = 1, 2, 3, 4
# e_machine (the ones named in code; the rest are in classify's table)
EM_386, EM_X86_64 = 3, 62

# p_type and p_flags
PT_NULL, PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE = 0, 1, 2, 3, 4
PT_GNU_STACK, PT_GNU_RELRO, PT_GNU_PROPERTY = 0x6474E551, 0x6474E552, 0x6474E553
PF_X, PF_W, PF_R = 1, 2, 4

# d_tag
DT_NULL, DT_NEEDED, DT_PLTRELSZ, DT_HASH, DT_STRTAB, DT_SYMTAB = 0, 1, 2, 4, 5, 6
DT_RELA, DT_RELASZ, DT_STRSZ, DT_SYMENT, DT_SONAME, DT_RPATH = 7, 8, 10, 11, 14, 15
DT_REL, DT_RELSZ, DT_PLTREL, DT_TEXTREL, DT_JMPREL, DT_BIND_NOW = 17, 18, 20, 22, 23, 24
DT_RUNPATH, DT_FLAGS = 29, 30
DT_GNU_HASH = 0x6FFFFEF5
DT_VERSYM = 0x6FFFFFF0
DT_FLAGS_1 = 0x6FFFFFFB
DT_VERDEF, DT_VERDEFNUM = 0x6FFFFFFC, 0x6FFFFFFD
DT_VERNEED, DT_VERNEEDNUM = 0x6FFFFFFE, 0x6FFFFFFF
DT_MIPS_SYMTABNO = 0x70000011

# DT_FLAGS and DT_FLAGS_1 bits
DF_TEXTREL, DF_BIND_NOW = 0x4, 0x8
DF_1_NOW, DF_1_PIE = 0x1, 0x08000000

# Symbols and sections
SHN_UNDEF = 0
STB_WEAK = 2
SHT_SYMTAB = 2

# Symbol versioning
VER_FLG_BASE, VER_FLG_WEAK = 0x1, 0x2

# Notes
NT_GNU_PROPERTY_TYPE_0 = 5
NT_GO_BUILDID = 4  # the Go linker's build-ID note, owner "Go"


class Ehdr(NamedTuple):
    """The ELF header after the 16-byte e_ident."""

    e_type: int
    e_machine: int
    e_version: int
    e_entry: int
    e_phoff: int
    e_shoff: int
    e_flags: int
    e_ehsize: int
    e_phentsize: int
    e_phnum: int
    e_shentsize: int
    e_shnum: int
    e_shstrndx: int


class Phdr64(NamedTuple):
    p_type: int
    p_flags: int
    p_offset: int
    p_vaddr: int
    p_paddr: int
    p_filesz: int
    p_memsz: int
    p_align: int


class Phdr32(NamedTuple):
    p_type: int
    p_offset: int
    p_vaddr: int
    p_paddr: int
    p_filesz: int
    p_memsz: int
    p_flags: int
    p_align: int


class Shdr(NamedTuple):
    sh_name: int
    sh_type: int
    sh_flags: int
    sh_addr: int
    sh_offset: int
    sh_size: int
    sh_link: int
    sh_info: int
    sh_addralign: int
    sh_entsize: int


class Verneed(NamedTuple):
    vn_version: int
    vn_cnt: int
    vn_file: int
    vn_aux: int
    vn_next: int


class Vernaux(NamedTuple):
    vna_hash: int
    vna_flags: int
    vna_other: int
    vna_name: int
    vna_next: int


class Verdef(NamedTuple):
    vd_version: int
    vd_flags: int
    vd_ndx: int
    vd_cnt: int
    vd_hash: int
    vd_aux: int
    vd_next: int


class Verdaux(NamedTuple):
    vda_name: int
    vda_next: int


class Nhdr(NamedTuple):
    n_namesz: int
    n_descsz: int
    n_type: int


class HashHeader(NamedTuple):
    """DT_HASH: nchain is the number of dynamic symbols."""

    nbucket: int
    nchain: int


class GnuHashHeader(NamedTuple):
    nbuckets: int
    symoffset: int
    bloom_size: int
    bloom_shift: int


class Sym64(NamedTuple):
    st_name: int
    st_info: int
    st_other: int
    st_shndx: int
    st_value: int
    st_size: int


class Sym32(NamedTuple):
    st_name: int
    st_value: int
    st_size: int
    st_info: int
    st_other: int
    st_shndx: int


class LInfo(NamedTuple):
    """UPX's l_info: what follows the program headers of a packed program."""

    l_checksum: int
    l_magic: int
    l_lsize: int
    l_version: int
    l_format: int


class PInfo(NamedTuple):
    p_progid: int
    p_filesize: int
    p_blocksize: int


class BInfo(NamedTuple):
    """UPX's b_info: one compressed block's sizes, method and filter."""

    sz_unc: int
    sz_cpr: int
    b_method: int
    b_ftid: int
    b_cto8: int
    b_unused: int


class Dyn(NamedTuple):
    d_tag: int
    d_val: int


T = TypeVar("T")


class Image(Protocol):
    """What a record is read from (linkgate.elf.image.Image): byte order, class, bounded reads."""

    @property
    def endian(self) -> str: ...

    @property
    def elf_class(self) -> int: ...

    def read(self, offset: int, length: int) -> bytes: ...


class Record(Generic[T]):
    """A record layout: its fields' formats per ELF class, read in the file's byte order."""

    def __init__(self, make: Callable[[Iterable[int]], T], format32: str, format64: str | None = None) -> None:
        self.make = make
        self.formats = {ELFCLASS32: format32, ELFCLASS64: format64 or format32}
        self._structs: dict[tuple[str, int], struct.Struct] = {}

    def layout(self, image: Image) -> struct.Struct:
        key = (image.endian, image.elf_class)
        found = self._structs.get(key)
        if found is None:
            found = self._structs[key] = struct.Struct(image.endian + self.formats[image.elf_class])
        return found

    def size(self, image: Image) -> int:
        return self.layout(image).size

    def read(self, image: Image, offset: int) -> T:
        """The record at file `offset` (ElfFormatError when it runs past the end)."""
        layout = self.layout(image)
        return self.make(layout.unpack(image.read(offset, layout.size)))

    def read_from(self, image: Image, data: bytes, offset: int = 0) -> T:
        """The record inside bytes already read (a table), at `offset`."""
        return self.make(self.layout(image).unpack_from(data, offset))


EHDR = Record(Ehdr._make, "HHIIIIIHHHHHH", "HHIQQQIHHHHHH")
PHDR32, PHDR64 = Record(Phdr32._make, "IIIIIIII"), Record(Phdr64._make, "IIQQQQQQ")
SHDR = Record(Shdr._make, "IIIIIIIIII", "IIQQQQIIQQ")
DYN = Record(Dyn._make, "iI", "qQ")  # the tag is signed
VERNEED = Record(Verneed._make, "HHIII")
VERNAUX = Record(Vernaux._make, "IHHII")
VERDEF = Record(Verdef._make, "HHHHIII")
VERDAUX = Record(Verdaux._make, "II")
NHDR = Record(Nhdr._make, "III")
SYM32, SYM64 = Record(Sym32._make, "IIIBBH"), Record(Sym64._make, "IBBHQQ")
L_INFO = Record(LInfo._make, "IIHBB")
P_INFO = Record(PInfo._make, "III")
B_INFO = Record(BInfo._make, "IIBBBB")
HASH_HEADER = Record(HashHeader._make, "II")
GNU_HASH_HEADER = Record(GnuHashHeader._make, "IIII")
