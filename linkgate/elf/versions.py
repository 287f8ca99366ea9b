"""Symbol versioning as glibc's dl-version.c checks it: needs, definitions, and
which undefined dynamic symbols carry each needed version."""

from __future__ import annotations

import array
import functools
import struct
import sys
from collections.abc import Container
from typing import TypeVar

from linkgate.elf import dynamic as dt
from linkgate.elf.facts import SymbolRef, VersionNeed
from linkgate.elf.image import AddressMap, Buffer, ElfFormatError, Image
from linkgate.elf.layouts import (
    DT_GNU_HASH,
    DT_HASH,
    DT_JMPREL,
    DT_MIPS_SYMTABNO,
    DT_PLTREL,
    DT_PLTRELSZ,
    DT_REL,
    DT_RELA,
    DT_RELASZ,
    DT_RELSZ,
    DT_SYMENT,
    DT_SYMTAB,
    DT_VERDEF,
    DT_VERDEFNUM,
    DT_VERNEED,
    DT_VERNEEDNUM,
    DT_VERSYM,
    GNU_HASH_HEADER,
    HASH_HEADER,
    SHN_UNDEF,
    STB_WEAK,
    SYM32,
    SYM64,
    VERDAUX,
    VERDEF,
    VERNAUX,
    VERNEED,
    StructLayout,
)

VER_FLG_BASE, VER_FLG_WEAK = 0x1, 0x2
# Hostile files can declare absurd counts; nothing real comes near these.
MAX_VERSION_ENTRIES = 1 << 12
MAX_VERSION_NAME = 1 << 10
MAX_SYMBOLS = 1 << 22


# None: every need gets its symbols; otherwise only the listed (library, version) pairs.
SymbolSelection = Container[tuple[str, str]] | None


T = TypeVar("T")


# One vernaux entry: (library, version, version index, weak). A plain tuple: a file has
# tens of them, a tree tens of thousands.
_Need = tuple[str, str, int, bool]


class VersionReader:
    """Reads the version tables of one file through its dynamic tags."""

    def __init__(self, image: Image, table: dt.DynamicTable, addresses: AddressMap) -> None:
        self.image = image
        self.table = table
        self.addresses = addresses
        # Worked out once: joining symbols asks for them three times, and only failing files join.
        self._entry_size: int | None = None
        self._fit: int | None = None

    def _string(self, offset: int) -> str:
        return dt.dynamic_string(self.table, offset)

    def needs(self, want_symbols: SymbolSelection = None) -> tuple[VersionNeed, ...]:
        """Every (library, version) need; the selected ones with the symbols that carry it.

        Joining dynsym with versym is most of the reading cost, and only needs a
        rule rejects are ever shown with symbols, so callers may select them.
        """
        raw = self._raw_needs()
        if not raw:
            return ()
        selected = {
            index for library, version, index, _ in raw if want_symbols is None or (library, version) in want_symbols
        }
        symbols = self._symbols_by_index(selected) if selected else {}
        return tuple(
            VersionNeed(library, version, weak, tuple(symbols[index]))
            if index in symbols
            else _plain_need(library, version, weak)
            for library, version, index, weak in raw
        )

    def _record(self, record: StructLayout[T], vaddr: int) -> T:
        """The record at virtual address `vaddr`, as the loader reads it from memory."""
        return record.read(self.image, self.addresses.offset(vaddr, record.size(self.image)))

    def _raw_needs(self) -> list[_Need]:
        """Walk DT_VERNEED as dl-version.c does: by vn_next/vna_next until 0.

        The loader ignores DT_VERNEEDNUM and vn_cnt, file readers trust them: a count
        that disagrees with the chain is refused (a zeroed DT_VERNEEDNUM would
        otherwise hide every version need from a count-based reader).
        """
        address = self.table.get(DT_VERNEED)
        if address is None:
            return []
        result: list[_Need] = []
        entries = 0
        # Every file of a tree has tens of entries: the layouts are looked up once, the fields unpacked in place.
        verneed, vernaux = VERNEED.layout(self.image), VERNAUX.layout(self.image)
        while True:
            fields = self.image.unpack_at(verneed, self.addresses.offset(address, verneed.size))
            version, aux_count, file_name, aux, next_entry = fields
            if version != 1:
                raise ElfFormatError(f"unsupported Verneed record version {version} (ld.so refuses it)")
            library = self._string(file_name)
            auxes = self._aux_needs(library, address + aux, MAX_VERSION_ENTRIES - len(result), vernaux)
            if len(auxes) != aux_count:
                raise ElfFormatError(f"vn_cnt of {library} says {aux_count} versions, its chain has {len(auxes)}")
            result.extend(auxes)
            entries += 1
            if next_entry == 0:
                break
            address += next_entry
        _check_count("DT_VERNEEDNUM", self.table.get(DT_VERNEEDNUM), entries)
        return result

    def _aux_needs(self, library: str, address: int, budget: int, vernaux: struct.Struct) -> list[_Need]:
        # One budget for all entries: a hostile file cannot make the nested walk quadratic.
        result: list[_Need] = []
        unpack_at, offset, table = self.image.unpack_at, self.addresses.offset, self.table
        while True:
            if len(result) >= budget:
                raise ElfFormatError(f"more than {MAX_VERSION_ENTRIES} version needs")
            vna_hash, flags, other, name, next_aux = unpack_at(vernaux, offset(address, vernaux.size))
            version = dt.dynamic_string(table, name)
            # ld.so compares vna_hash with vd_hash before the names: a wrong hash is a missing version.
            _check_hash(vna_hash, version, f"vna_hash of {library} {version}")
            result.append((library, version, other & 0x7FFF, bool(flags & VER_FLG_WEAK)))
            if next_aux == 0:
                return result
            address += next_aux

    def definitions(self) -> tuple[str, ...]:
        """Version names this object defines (DT_VERDEF), without the base entry.

        Walked by vd_next like the loader; DT_VERDEFNUM must agree with the chain.
        """
        address = self.table.get(DT_VERDEF)
        if address is None:
            return ()
        names: list[str] = []
        entries = 0
        while True:
            if entries >= MAX_VERSION_ENTRIES:
                raise ElfFormatError(f"more than {MAX_VERSION_ENTRIES} version definitions")
            version, flags, _ndx, aux_count, vd_hash, aux, next_entry = self._record(VERDEF, address)
            if version != 1 or aux_count == 0:
                raise ElfFormatError(f"malformed Verdef record (version {version}, {aux_count} names)")
            name = self._string(self._record(VERDAUX, address + aux).vda_name)
            _check_hash(vd_hash, name, f"vd_hash of version {name}")
            if not flags & VER_FLG_BASE:
                names.append(name)
            entries += 1
            if next_entry == 0:
                break
            address += next_entry
        _check_count("DT_VERDEFNUM", self.table.get(DT_VERDEFNUM), entries)
        return tuple(names)

    def _symbols_by_index(self, indexes: set[int]) -> dict[int, list[SymbolRef]]:
        """Undefined dynamic symbols grouped by the version index versym gives them."""
        versym_addr = self.table.get(DT_VERSYM)
        symtab_addr = self.table.get(DT_SYMTAB)
        if versym_addr is None or symtab_addr is None:
            return {}
        syment = self._syment()
        count = self.symbol_count()
        record = SYM64 if self.image.is64 else SYM32
        # The whole table is checked to be mapped, but only the matching entries are read:
        # a large library's dynsym is megabytes, a rejected version's symbols a handful.
        symtab = self.addresses.offset(symtab_addr, syment * count)
        # Searched where it lies: a large library's versym is a hundred kilobytes to copy per file.
        versyms = (self.image.data, self.addresses.offset(versym_addr, 2 * count), 2 * count)
        result: dict[int, list[SymbolRef]] = {}
        for index in sorted(indexes):
            for position in _positions_of(versyms, index, self.image.endian):
                sym = record.read(self.image, symtab + position * syment)
                if sym.st_shndx == SHN_UNDEF:
                    symbol = SymbolRef(self._string(sym.st_name), (sym.st_info >> 4) == STB_WEAK)
                    result.setdefault(index, []).append(symbol)
        return result

    def _syment(self) -> int:
        if self._entry_size is None:
            size = (SYM64 if self.image.is64 else SYM32).size(self.image)
            syment = self.table.get(DT_SYMENT) or size
            if syment < size:
                raise ElfFormatError(f"DT_SYMENT {syment} is smaller than a symbol entry")
            self._entry_size = syment
        return self._entry_size

    def symbol_count(self) -> int:
        """Number of dynamic symbols, from the hash tables as the loader knows it.

        It can be no more than DT_SYMTAB's segment holds: that bound also caps the
        cost of deriving it from a hostile hash table.
        """
        count = self._count_from_tags()
        fit = self._symbols_that_fit()
        if count > fit:
            raise ElfFormatError(
                f"the hash tables count {count} dynamic symbols; DT_SYMTAB's mapped bytes hold at most {fit}"
            )
        return count

    def _symbols_that_fit(self) -> int:
        if self._fit is None:
            symtab = self.table.get(DT_SYMTAB)
            if symtab is None:
                raise ElfFormatError("versioned dynamic symbols but no DT_SYMTAB")
            self._fit = min(self.addresses.available(symtab) // self._syment(), MAX_SYMBOLS)
        return self._fit

    def _count_from_tags(self) -> int:
        mips = self.table.get(DT_MIPS_SYMTABNO)
        if mips is not None:
            return mips
        # glibc prefers DT_GNU_HASH too; DT_HASH entries are 8 bytes on s390x and
        # alpha, which this 4-byte reading would get wrong when both tables exist.
        gnu_hash = self.table.get(DT_GNU_HASH)
        if gnu_hash is not None:
            return self._count_from_gnu_hash(gnu_hash)
        hash_addr = self.table.get(DT_HASH)
        if hash_addr is not None:
            return self._record(HASH_HEADER, hash_addr).nchain
        raise ElfFormatError("versioned dynamic symbols but neither DT_HASH nor DT_GNU_HASH")

    def _count_from_gnu_hash(self, address: int) -> int:
        """Highest bucket start, then its chain to the entry with the end bit."""
        nbuckets, symoffset, bloom_size, _shift = self._record(GNU_HASH_HEADER, address)
        if nbuckets > MAX_SYMBOLS or bloom_size > MAX_SYMBOLS:
            raise ElfFormatError("implausible DT_GNU_HASH header")
        buckets_at = address + 16 + bloom_size * self.image.word_size
        raw = self.addresses.read(self.image, buckets_at, 4 * nbuckets)
        last = max(_u32_words(raw, self.image.endian), default=0)
        if last < symoffset:
            # An empty table: the object exports nothing (a non-PIE executable) and
            # GNU ld writes symoffset 1 whatever precedes it, so count the undefined
            # symbols through the relocations that bind them.
            return max(symoffset, self._count_from_relocations())
        # The chain cannot run past the last symbol DT_SYMTAB can hold: read at most
        # that much and find the end bit with bytes operations, not a Python loop.
        room = self._symbols_that_fit() - last
        if room <= 0:
            raise ElfFormatError(f"DT_GNU_HASH bucket starts at symbol {last}, past the end of DT_SYMTAB")
        chain_at = buckets_at + 4 * nbuckets + 4 * (last - symoffset)
        end = self._chain_end(chain_at, room)
        if end < 0:
            raise ElfFormatError("DT_GNU_HASH chain has no end within DT_SYMTAB's mapped symbols")
        return last + end + 1

    def _chain_end(self, chain_at: int, room: int) -> int:
        """Index of the last chain entry (end bit set) within `room` words, or -1.

        Chains are a few entries long: look in a window that grows rather than copy
        everything up to the end of the table."""
        available = min(4 * room, self.addresses.available(chain_at))
        window = min(available, 256)
        while window > 0:
            end = _first_odd_word(self.addresses.read(self.image, chain_at, window), self.image.endian)
            if end >= 0 or window == available:
                return end
            window = min(available, window * 16)
        return -1

    def _count_from_relocations(self) -> int:
        """One more than the highest symbol index a dynamic relocation refers to."""
        plt_rela = self.table.get(DT_PLTREL) == DT_RELA
        tables = (
            (DT_RELA, DT_RELASZ, True),
            (DT_REL, DT_RELSZ, False),
            (DT_JMPREL, DT_PLTRELSZ, plt_rela),
        )
        highest = -1
        for address_tag, size_tag, with_addend in tables:
            address, size = self.table.get(address_tag), self.table.get(size_tag)
            if not address or not size:
                continue
            raw = self.addresses.read(self.image, address, size)
            highest = max(highest, _highest_symbol(raw, self.image.endian, self.image.is64, with_addend))
        return highest + 1


def _u32_words(raw: bytes, endian: str) -> array.array[int]:
    """`raw` as unsigned 32-bit words in native order (whole words only)."""
    words = array.array("I")
    words.frombytes(raw[: len(raw) - len(raw) % 4])
    if (endian == "<") != (sys.byteorder == "little"):
        words.byteswap()
    return words


_ODD = bytes(value & 1 for value in range(256))


def _first_odd_word(raw: bytes, endian: str) -> int:
    """Index of the first 32-bit word with bit 0 set, or -1 (runs in C, whatever the size)."""
    low_bytes = raw[0 if endian == "<" else 3 : len(raw) - len(raw) % 4 : 4]
    return low_bytes.translate(_ODD).find(b"\x01")


def _highest_symbol(raw: bytes, endian: str, is64: bool, with_addend: bool) -> int:
    """The highest symbol index in a REL/RELA table (-1 when empty): a column of r_info."""
    entry_size = (24 if with_addend else 16) if is64 else (12 if with_addend else 8)
    words = _u32_words(raw[: len(raw) - len(raw) % entry_size], endian)
    if is64:  # r_info is the 2nd 64-bit word; its high half is the symbol index
        column = words[(3 if endian == "<" else 2) :: 6 if with_addend else 4]
        return max(column, default=-1)
    # ELF32: r_info is the 2nd word, symbol index = r_info >> 8
    return max(words[1 :: 3 if with_addend else 2], default=-1 << 8) >> 8


@functools.lru_cache(maxsize=4096)
def _plain_need(library: str, version: str, weak: bool) -> VersionNeed:
    """A need shown without symbols: one shared record, the same few hundred recur in every file of a tree."""
    return VersionNeed(library, version, weak)


def _check_count(tag: str, declared: int | None, walked: int) -> None:
    if declared != walked:
        said = "is missing" if declared is None else f"says {declared} records"
        raise ElfFormatError(f"{tag} {said}, but the chain ld.so follows has {walked}")


def _check_hash(declared: int, name: str, what: str) -> None:
    if len(name) > MAX_VERSION_NAME:
        raise ElfFormatError(f"implausible version name of {len(name)} characters")
    if declared != elf_hash(name):
        raise ElfFormatError(f"{what} is not the ELF hash of the name")


@functools.lru_cache(maxsize=4096)
def elf_hash(name: str) -> int:
    """The System V ELF hash of `name` (vna_hash, vd_hash, DT_HASH buckets)."""
    value = 0
    for byte in name.encode("utf-8", "surrogateescape"):
        value = ((value << 4) + byte) & 0xFFFFFFFF
        high = value & 0xF0000000
        value ^= high >> 24
        value &= ~high
    return value


def _positions_of(versyms: tuple[Buffer, int, int], index: int, endian: str) -> list[int]:
    """Symbol positions whose versym entry is `index` (hidden bit ignored); `versyms` is the
    buffer holding the table, the table's offset in it and its size.

    find runs in C, so this touches only the matching entries instead
    of looping in Python over every dynamic symbol of a large library.
    """
    data, start, size = versyms
    end = start + size
    positions: list[int] = []
    for value in (index, index | 0x8000):
        pattern = struct.pack(endian + "H", value)
        at = data.find(pattern, start, end)
        while at >= 0:
            if (at - start) % 2 == 0:
                positions.append((at - start) // 2)
                at = data.find(pattern, at + 2, end)
            else:
                at = data.find(pattern, at + 1, end)
    positions.sort()
    return positions
