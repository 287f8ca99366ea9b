"""ELF constants and record layouts, each named once (with elf.h's names).

Every module that reads bytes takes its numbers and record shapes from here, so a
layout is written once and a field is read by name, not by its place in an
anonymous format string. Records are read in the file's byte order and word size
(see `StructLayout.read`).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

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
# Relocation formats: the generic ABI's RELR, and bionic's packed (APS2) and early RELR tags.
DT_RELR = 36
DT_ANDROID_REL, DT_ANDROID_RELA, DT_ANDROID_RELR = 0x6000000F, 0x60000011, 0x6FFFE000

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


class _Field(property):
    """A record field by position: records are tuples (cheap to make, unpackable) with named fields.

    (typing.NamedTuple would do, but builds each class through eval at every start-up: see
    docs/architecture.md, "Start-up figures".) A property over itemgetter reads a field in C: a tree run reads ~100,000.
    """

    def __init__(self, index: int) -> None:
        super().__init__(itemgetter(index))

    if TYPE_CHECKING:

        def __get__(self, record: Any, owner: type | None = None, /) -> int: ...  # type: ignore[override]


class Ehdr(tuple[int, ...]):
    """The ELF header after the 16-byte e_ident."""

    e_type = _Field(0)
    e_machine = _Field(1)
    e_version = _Field(2)
    e_entry = _Field(3)
    e_phoff = _Field(4)
    e_shoff = _Field(5)
    e_flags = _Field(6)
    e_ehsize = _Field(7)
    e_phentsize = _Field(8)
    e_phnum = _Field(9)
    e_shentsize = _Field(10)
    e_shnum = _Field(11)
    e_shstrndx = _Field(12)


class Phdr64(tuple[int, ...]):
    p_type = _Field(0)
    p_flags = _Field(1)
    p_offset = _Field(2)
    p_vaddr = _Field(3)
    p_paddr = _Field(4)
    p_filesz = _Field(5)
    p_memsz = _Field(6)
    p_align = _Field(7)


class Phdr32(tuple[int, ...]):
    p_type = _Field(0)
    p_offset = _Field(1)
    p_vaddr = _Field(2)
    p_paddr = _Field(3)
    p_filesz = _Field(4)
    p_memsz = _Field(5)
    p_flags = _Field(6)
    p_align = _Field(7)


class Shdr(tuple[int, ...]):
    sh_name = _Field(0)
    sh_type = _Field(1)
    sh_flags = _Field(2)
    sh_addr = _Field(3)
    sh_offset = _Field(4)
    sh_size = _Field(5)
    sh_link = _Field(6)
    sh_info = _Field(7)
    sh_addralign = _Field(8)
    sh_entsize = _Field(9)


class Verneed(tuple[int, ...]):
    vn_version = _Field(0)
    vn_cnt = _Field(1)
    vn_file = _Field(2)
    vn_aux = _Field(3)
    vn_next = _Field(4)


class Vernaux(tuple[int, ...]):
    vna_hash = _Field(0)
    vna_flags = _Field(1)
    vna_other = _Field(2)
    vna_name = _Field(3)
    vna_next = _Field(4)


class Verdef(tuple[int, ...]):
    vd_version = _Field(0)
    vd_flags = _Field(1)
    vd_ndx = _Field(2)
    vd_cnt = _Field(3)
    vd_hash = _Field(4)
    vd_aux = _Field(5)
    vd_next = _Field(6)


class Verdaux(tuple[int, ...]):
    vda_name = _Field(0)
    vda_next = _Field(1)


class Nhdr(tuple[int, ...]):
    n_namesz = _Field(0)
    n_descsz = _Field(1)
    n_type = _Field(2)


class HashHeader(tuple[int, ...]):
    """DT_HASH: nchain is the number of dynamic symbols."""

    nbucket = _Field(0)
    nchain = _Field(1)


class GnuHashHeader(tuple[int, ...]):
    nbuckets = _Field(0)
    symoffset = _Field(1)
    bloom_size = _Field(2)
    bloom_shift = _Field(3)


class Sym64(tuple[int, ...]):
    st_name = _Field(0)
    st_info = _Field(1)
    st_other = _Field(2)
    st_shndx = _Field(3)
    st_value = _Field(4)
    st_size = _Field(5)


class Sym32(tuple[int, ...]):
    st_name = _Field(0)
    st_value = _Field(1)
    st_size = _Field(2)
    st_info = _Field(3)
    st_other = _Field(4)
    st_shndx = _Field(5)


class LInfo(tuple[int, ...]):
    """UPX's l_info: what follows the program headers of a packed program."""

    l_checksum = _Field(0)
    l_magic = _Field(1)
    l_lsize = _Field(2)
    l_version = _Field(3)
    l_format = _Field(4)


class PInfo(tuple[int, ...]):
    p_progid = _Field(0)
    p_filesize = _Field(1)
    p_blocksize = _Field(2)


class BInfo(tuple[int, ...]):
    """UPX's b_info: one compressed block's sizes, method and filter."""

    sz_unc = _Field(0)
    sz_cpr = _Field(1)
    b_method = _Field(2)
    b_ftid = _Field(3)
    b_cto8 = _Field(4)
    b_unused = _Field(5)


class Dyn(tuple[int, ...]):
    d_tag = _Field(0)
    d_val = _Field(1)


T = TypeVar("T")


class Image(Protocol):
    """What a record is read from (linkgate.elf.image.Image): byte order, class, bounded reads."""

    @property
    def endian(self) -> str: ...

    @property
    def elf_class(self) -> int: ...

    @property
    def layout_key(self) -> tuple[str, int]:
        """(endian, elf_class): which struct of a record this image reads."""
        ...

    def read(self, offset: int, length: int) -> bytes: ...

    def unpack_at(self, layout: struct.Struct, offset: int) -> tuple[Any, ...]:
        """`layout` unpacked at file `offset`, bounded like read()."""
        ...


class StructLayout(Generic[T]):
    """A record layout: its fields' formats per ELF class, read in the file's byte order."""

    def __init__(self, make: Callable[[Iterable[int]], T], format32: str, format64: str | None = None) -> None:
        self.make = make
        self.formats = {ELFCLASS32: format32, ELFCLASS64: format64 or format32}
        self._structs: dict[tuple[str, int], struct.Struct] = {}

    def layout(self, image: Image) -> struct.Struct:
        found = self._structs.get(image.layout_key)
        if found is None:
            found = self._structs[image.layout_key] = struct.Struct(image.endian + self.formats[image.elf_class])
        return found

    def size(self, image: Image) -> int:
        return self.layout(image).size

    def read(self, image: Image, offset: int) -> T:
        """The record at file `offset` (ElfFormatError when it runs past the end)."""
        return self.make(image.unpack_at(self.layout(image), offset))

    def read_from(self, image: Image, data: bytes, offset: int = 0) -> T:
        """The record inside bytes already read (a table), at `offset`."""
        return self.make(self.layout(image).unpack_from(data, offset))


EHDR = StructLayout(Ehdr, "HHIIIIIHHHHHH", "HHIQQQIHHHHHH")
PHDR32, PHDR64 = StructLayout(Phdr32, "IIIIIIII"), StructLayout(Phdr64, "IIQQQQQQ")
SHDR = StructLayout(Shdr, "IIIIIIIIII", "IIQQQQIIQQ")
DYN = StructLayout(Dyn, "iI", "qQ")  # the tag is signed
VERNEED = StructLayout(Verneed, "HHIII")
VERNAUX = StructLayout(Vernaux, "IHHII")
VERDEF = StructLayout(Verdef, "HHHHIII")
VERDAUX = StructLayout(Verdaux, "II")
NHDR = StructLayout(Nhdr, "III")
SYM32, SYM64 = StructLayout(Sym32, "IIIBBH"), StructLayout(Sym64, "IBBHQQ")
L_INFO = StructLayout(LInfo, "IIHBB")
P_INFO = StructLayout(PInfo, "III")
B_INFO = StructLayout(BInfo, "IIBBBB")
HASH_HEADER = StructLayout(HashHeader, "II")
GNU_HASH_HEADER = StructLayout(GnuHashHeader, "IIII")
