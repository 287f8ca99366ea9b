"""Symbol names for the hardening facts.

First the dynamic symbols, found as the loader finds them (DT_SYMTAB, counted
through the hash tables); then, only for programs that have none (static
ones), the names in the .symtab section, when the file still has one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from linkgate.elf import dynamic as dt
from linkgate.elf.image import AddressMap, ElfFormatError, Header, Image
from linkgate.elf.versions import MAX_SYMBOLS, SHN_UNDEF, VersionReader

SHT_SYMTAB = 2
# st_name .. st_shndx, the only fields read here.
_SYM = {True: "IBBH", False: "IIIBBH"}
# st_name and st_value of a .symtab entry (Elf64_Sym puts the value after st_shndx).
_SYM_VALUE = {True: ("IBBHQ", 4), False: ("II", 1)}
# sh_type, sh_offset, sh_size, sh_link out of each section header.
_SHDR = {True: ("IIQQQQIIQQ", 1, 4, 5, 6), False: ("IIIIIIIIII", 1, 4, 5, 6)}


@dataclass(frozen=True)
class DynamicSymbols:
    """Names in the dynamic symbol table: what the file imports and what it defines."""

    imports: frozenset[str]
    exports: frozenset[str]


def dynamic_symbols(image: Image, table: dt.DynamicTable, addresses: AddressMap) -> DynamicSymbols | None:
    """The dynamic symbols, or None when the file has no table the loader could search."""
    address = table.get(dt.DT_SYMTAB)
    if address is None or not _has_symbol_count(table):
        return None
    count = VersionReader(image, table, addresses).symbol_count()
    layout = struct.Struct(image.endian + _SYM[image.is64])
    syment = table.get(dt.DT_SYMENT) or (24 if image.is64 else 16)
    if syment < layout.size:
        raise ElfFormatError(f"DT_SYMENT {syment} is smaller than a symbol entry")
    raw = image.read(addresses.offset(address, max(syment * count, 1)), syment * count)
    imports: set[str] = set()
    exports: set[str] = set()
    # Entry 0 is the reserved null symbol.
    for index in range(1, count):
        fields = layout.unpack_from(raw, index * syment)
        if fields[0] == 0:
            continue
        name = dt.dynamic_string(table, fields[0])
        (imports if fields[-1] == SHN_UNDEF else exports).add(name)
    return DynamicSymbols(frozenset(imports), frozenset(exports))


def _has_symbol_count(table: dt.DynamicTable) -> bool:
    """The loader learns how many dynamic symbols there are only from a hash table."""
    return any(table.get(tag) is not None for tag in (dt.DT_GNU_HASH, dt.DT_HASH, dt.DT_MIPS_SYMTABNO))


def section_symbol_names(image: Image, header: Header) -> frozenset[str] | None:
    """Every name in .symtab (a fallback: None without section headers or a symbol table)."""
    values = section_symbol_values(image, header)
    return None if values is None else frozenset(values)


def section_symbol_values(image: Image, header: Header) -> dict[str, int] | None:
    """Every name in .symtab with its value (the last one when a name repeats).

    Section headers are optional and the loader ignores them, so a damaged
    table means "unknown", never an error.
    """
    try:
        return _symtab_values(image, header)
    except (ElfFormatError, struct.error):
        return None


def _symtab_values(image: Image, header: Header) -> dict[str, int] | None:
    if header.e_shoff == 0 or header.e_shnum == 0:
        return None
    fmt, type_at, offset_at, size_at, link_at = _SHDR[image.is64]
    shdr = struct.Struct(image.endian + fmt)
    (shentsize,) = image.unpack("H", 0x3A if image.is64 else 0x2E)
    if shentsize < shdr.size or header.e_shnum > MAX_SYMBOLS:
        return None
    sections = [shdr.unpack(image.read(header.e_shoff + i * shentsize, shdr.size)) for i in range(header.e_shnum)]
    symtab = next((s for s in sections if s[type_at] == SHT_SYMTAB), None)
    if symtab is None or symtab[link_at] >= len(sections):
        return None
    strtab = sections[symtab[link_at]]
    strings = image.read(strtab[offset_at], strtab[size_at])
    symbol_fmt, value_at = _SYM_VALUE[image.is64]
    layout = struct.Struct(image.endian + symbol_fmt)
    entry = 24 if image.is64 else 16
    raw = image.read(symtab[offset_at], symtab[size_at] - symtab[size_at] % entry)
    values: dict[str, int] = {}
    for at in range(entry, len(raw), entry):
        fields = layout.unpack_from(raw, at)
        start = fields[0]
        end = strings.find(b"\x00", start)
        if start > 0 and end > start:
            values[strings[start:end].decode("utf-8", "replace")] = fields[value_at]
    return values
