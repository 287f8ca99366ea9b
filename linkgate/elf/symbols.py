"""Symbol names for the hardening facts.

First the dynamic symbols, found as the loader finds them (DT_SYMTAB, counted
through the hash tables); then, only for programs that have none (static
ones), the names in the .symtab section, when the file still has one.
"""

from __future__ import annotations

import struct

from linkgate.core.records import record
from linkgate.elf import dynamic as dt
from linkgate.elf.image import AddressMap, ElfFormatError, Header, Image
from linkgate.elf.layouts import (
    DT_GNU_HASH,
    DT_HASH,
    DT_MIPS_SYMTABNO,
    DT_SYMENT,
    DT_SYMTAB,
    SHDR,
    SHN_UNDEF,
    SHT_SYMTAB,
    SYM32,
    SYM64,
)
from linkgate.elf.versions import MAX_SYMBOLS, VersionReader

# st_name .. st_shndx, the only fields read here.
# sh_type, sh_offset, sh_size, sh_link out of each section header.


@record
class DynamicSymbols:
    """Names in the dynamic symbol table: what the file imports and what it defines."""

    imports: frozenset[str]
    exports: frozenset[str]


def dynamic_symbols(image: Image, table: dt.DynamicTable, addresses: AddressMap) -> DynamicSymbols | None:
    """The dynamic symbols, or None when the file has no table the loader could search."""
    address = table.get(DT_SYMTAB)
    if address is None or not _has_symbol_count(table):
        return None
    count = VersionReader(image, table, addresses).symbol_count()
    record = SYM64 if image.is64 else SYM32
    syment = table.get(DT_SYMENT) or record.size(image)
    if syment < record.size(image):
        raise ElfFormatError(f"DT_SYMENT {syment} is smaller than a symbol entry")
    raw = image.read(addresses.offset(address, max(syment * count, 1)), syment * count)
    imports: set[str] = set()
    exports: set[str] = set()
    # Entry 0 is the reserved null symbol.
    for index in range(1, count):
        sym = record.read_from(image, raw, index * syment)
        if sym.st_name == 0:
            continue
        name = dt.dynamic_string(table, sym.st_name)
        (imports if sym.st_shndx == SHN_UNDEF else exports).add(name)
    return DynamicSymbols(frozenset(imports), frozenset(exports))


def _has_symbol_count(table: dt.DynamicTable) -> bool:
    """The loader learns how many dynamic symbols there are only from a hash table."""
    return any(table.get(tag) is not None for tag in (DT_GNU_HASH, DT_HASH, DT_MIPS_SYMTABNO))


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
    shentsize = header.e_shentsize
    if shentsize < SHDR.size(image) or header.e_shnum > MAX_SYMBOLS:
        return None
    sections = [SHDR.read(image, header.e_shoff + i * shentsize) for i in range(header.e_shnum)]
    symtab = next((s for s in sections if s.sh_type == SHT_SYMTAB), None)
    if symtab is None or symtab.sh_link >= len(sections):
        return None
    strtab = sections[symtab.sh_link]
    strings = image.read(strtab.sh_offset, strtab.sh_size)
    record = SYM64 if image.is64 else SYM32
    entry = record.size(image)
    raw = image.read(symtab.sh_offset, symtab.sh_size - symtab.sh_size % entry)
    values: dict[str, int] = {}
    for at in range(entry, len(raw), entry):
        sym = record.read_from(image, raw, at)
        end = strings.find(b"\x00", sym.st_name)
        if sym.st_name > 0 and end > sym.st_name:
            values[strings[sym.st_name : end].decode("utf-8", "replace")] = sym.st_value
    return values
