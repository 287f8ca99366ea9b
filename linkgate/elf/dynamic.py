"""The dynamic segment: tags the loader acts on, and the strings they name."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from linkgate.elf.image import AddressMap, ElfFormatError, Image, Segment

DT_NULL, DT_NEEDED, DT_PLTRELSZ, DT_HASH, DT_STRTAB, DT_SYMTAB = 0, 1, 2, 4, 5, 6
DT_RELA, DT_RELASZ, DT_STRSZ, DT_SYMENT, DT_SONAME, DT_RPATH = 7, 8, 10, 11, 14, 15
DT_REL, DT_RELSZ, DT_PLTREL, DT_JMPREL = 17, 18, 20, 23
DT_RUNPATH, DT_FLAGS = 29, 30
# Valueless markers: only their presence counts (hardening facts).
DT_TEXTREL, DT_BIND_NOW = 22, 24
DT_GNU_HASH = 0x6FFFFEF5
DT_VERSYM = 0x6FFFFFF0
DT_FLAGS_1 = 0x6FFFFFFB
DT_VERDEF, DT_VERDEFNUM = 0x6FFFFFFC, 0x6FFFFFFD
DT_VERNEED, DT_VERNEEDNUM = 0x6FFFFFFE, 0x6FFFFFFF
DT_MIPS_SYMTABNO = 0x70000011

# Tags whose single value we keep; DT_NEEDED may repeat and is kept in order.
_SCALAR_TAGS = frozenset(
    {
        DT_HASH, DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SYMENT, DT_SONAME, DT_RPATH,
        DT_RUNPATH, DT_FLAGS, DT_GNU_HASH, DT_VERSYM, DT_FLAGS_1, DT_VERDEF,
        DT_VERDEFNUM, DT_VERNEED, DT_VERNEEDNUM, DT_MIPS_SYMTABNO,
        DT_PLTRELSZ, DT_RELA, DT_RELASZ, DT_REL, DT_RELSZ, DT_PLTREL, DT_JMPREL,
        DT_TEXTREL, DT_BIND_NOW,
    }
)  # fmt: skip


@dataclass
class DynamicTable:
    """Raw tag values of PT_DYNAMIC plus a way to read its strings."""

    tags: dict[int, int] = field(default_factory=dict)
    needed_offsets: list[int] = field(default_factory=list)
    strings: bytes = b""

    def get(self, tag: int) -> int | None:
        """The value of `tag`, or None when the segment does not carry it."""
        return self.tags.get(tag)


def read_dynamic(image: Image, dynamic: Segment, addresses: AddressMap) -> DynamicTable:
    """Walk the (d_tag, d_val) array until DT_NULL or the end of the segment."""
    entry = struct.Struct(image.endian + ("qQ" if image.is64 else "iI"))
    raw = image.read(dynamic.p_offset, min(dynamic.p_filesz, image.size - dynamic.p_offset))
    table = DynamicTable()
    for tag, value in entry.iter_unpack(raw[: len(raw) - len(raw) % entry.size]):
        if tag == DT_NULL:
            break
        if tag == DT_NEEDED:
            table.needed_offsets.append(value)
        elif tag in _SCALAR_TAGS:
            table.tags.setdefault(tag, value)
    _locate_strtab(image, table, addresses)
    return table


def _locate_strtab(image: Image, table: DynamicTable, addresses: AddressMap) -> None:
    strtab = table.get(DT_STRTAB)
    if strtab is None:
        return
    size = table.get(DT_STRSZ) or addresses.available(strtab)
    size = min(size, addresses.available(strtab))
    # One copy of the string table: every name lookup below is then a slice.
    table.strings = image.read(addresses.offset(strtab, max(size, 1)), size)


def dynamic_string(table: DynamicTable, offset: int) -> str:
    """A NUL-terminated string from DT_STRTAB, bounded by DT_STRSZ."""
    strings = table.strings
    end = strings.find(b"\x00", offset)
    if offset < 0 or end < 0:
        raise ElfFormatError(f"string offset {offset:#x} outside DT_STRTAB ({len(strings)} bytes)")
    return strings[offset:end].decode("utf-8", "replace")


def search_path(table: DynamicTable, tag: int) -> tuple[str, ...]:
    """DT_RPATH / DT_RUNPATH split into its colon-separated entries."""
    value = table.get(tag)
    if value is None:
        return ()
    return tuple(dynamic_string(table, value).split(":"))
