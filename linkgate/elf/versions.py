"""Symbol versioning as glibc's dl-version.c checks it: needs, definitions, and
which undefined dynamic symbols carry each needed version."""

from __future__ import annotations

import struct
from collections.abc import Container
from dataclasses import dataclass

from linkgate.elf import dynamic as dt
from linkgate.elf.facts import SymbolRef, VersionNeed
from linkgate.elf.image import AddressMap, ElfFormatError, Image

VER_FLG_BASE, VER_FLG_WEAK = 0x1, 0x2
STB_WEAK = 2
SHN_UNDEF = 0
# Hostile files can declare absurd counts; nothing real comes near these.
MAX_VERSION_ENTRIES = 1 << 16
MAX_SYMBOLS = 1 << 22


# None: every need gets its symbols; otherwise only the listed (library, version) pairs.
SymbolSelection = Container[tuple[str, str]] | None


@dataclass(frozen=True)
class _Need:
    library: str
    version: str
    index: int
    weak: bool


class VersionReader:
    """Reads the version tables of one file through its dynamic tags."""

    def __init__(self, image: Image, table: dt.DynamicTable, addresses: AddressMap) -> None:
        self.image = image
        self.table = table
        self.addresses = addresses

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
        selected = {n.index for n in raw if want_symbols is None or (n.library, n.version) in want_symbols}
        symbols = self._symbols_by_index(selected) if selected else {}
        return tuple(VersionNeed(n.library, n.version, n.weak, tuple(symbols.get(n.index, ()))) for n in raw)

    def _raw_needs(self) -> list[_Need]:
        address = self.table.get(dt.DT_VERNEED)
        if address is None:
            return []
        count = min(self.table.get(dt.DT_VERNEEDNUM) or 0, MAX_VERSION_ENTRIES)
        offset = self.addresses.offset(address, 16)
        result: list[_Need] = []
        for _ in range(count):
            _ver, aux_count, file_name, aux, next_entry = self.image.unpack("HHIII", offset)
            library = self._string(file_name)
            # One budget for all entries: a hostile file cannot make the nested walk quadratic.
            budget = MAX_VERSION_ENTRIES - len(result)
            result.extend(self._aux_needs(library, offset + aux, min(aux_count, budget)))
            if next_entry == 0 or len(result) >= MAX_VERSION_ENTRIES:
                break
            offset += next_entry
        return result

    def _aux_needs(self, library: str, offset: int, count: int) -> list[_Need]:
        result = []
        for _ in range(count):
            _hash, flags, other, name, next_aux = self.image.unpack("IHHII", offset)
            result.append(_Need(library, self._string(name), other & 0x7FFF, bool(flags & VER_FLG_WEAK)))
            if next_aux == 0:
                break
            offset += next_aux
        return result

    def definitions(self) -> tuple[str, ...]:
        """Version names this object defines (DT_VERDEF), without the base entry."""
        address = self.table.get(dt.DT_VERDEF)
        if address is None:
            return ()
        count = min(self.table.get(dt.DT_VERDEFNUM) or 0, MAX_VERSION_ENTRIES)
        offset = self.addresses.offset(address, 20)
        names: list[str] = []
        for _ in range(count):
            _ver, flags, _ndx, aux_count, _hash, aux, next_entry = self.image.unpack("HHHHIII", offset)
            if aux_count and not flags & VER_FLG_BASE:
                names.append(self._string(self.image.unpack("II", offset + aux)[0]))
            if next_entry == 0:
                break
            offset += next_entry
        return tuple(names)

    def _symbols_by_index(self, indexes: set[int]) -> dict[int, list[SymbolRef]]:
        """Undefined dynamic symbols grouped by the version index versym gives them."""
        versym_addr = self.table.get(dt.DT_VERSYM)
        symtab_addr = self.table.get(dt.DT_SYMTAB)
        if versym_addr is None or symtab_addr is None:
            return {}
        count = self.symbol_count()
        syment = self.table.get(dt.DT_SYMENT) or (24 if self.image.is64 else 16)
        layout = struct.Struct(self.image.endian + ("IBBH" if self.image.is64 else "IIIBBH"))
        if syment < layout.size:
            raise ElfFormatError(f"DT_SYMENT {syment} is smaller than a symbol entry")
        symtab_at = self.addresses.offset(symtab_addr, max(syment * count, 1))
        symtab = self.image.read(symtab_at, syment * count)
        versyms = self.image.read(self.addresses.offset(versym_addr, max(2 * count, 1)), 2 * count)
        result: dict[int, list[SymbolRef]] = {}
        for index in sorted(indexes):
            for position in _positions_of(versyms, index, self.image.endian):
                fields = layout.unpack_from(symtab, position * syment)
                if fields[-1] == SHN_UNDEF:
                    symbol = SymbolRef(self._string(fields[0]), weak=(fields[-3] >> 4) == STB_WEAK)
                    result.setdefault(index, []).append(symbol)
        return result

    def symbol_count(self) -> int:
        """Number of dynamic symbols, from the hash tables as the loader knows it."""
        count = self._count_from_tags()
        if count > MAX_SYMBOLS:
            raise ElfFormatError(f"implausible dynamic symbol count {count}")
        return count

    def _count_from_tags(self) -> int:
        mips = self.table.get(dt.DT_MIPS_SYMTABNO)
        if mips is not None:
            return mips
        # glibc prefers DT_GNU_HASH too; DT_HASH entries are 8 bytes on s390x and
        # alpha, which this 4-byte reading would get wrong when both tables exist.
        gnu_hash = self.table.get(dt.DT_GNU_HASH)
        if gnu_hash is not None:
            return self._count_from_gnu_hash(gnu_hash)
        hash_addr = self.table.get(dt.DT_HASH)
        if hash_addr is not None:
            return self.image.unpack("II", self.addresses.offset(hash_addr, 8))[1]
        raise ElfFormatError("versioned dynamic symbols but neither DT_HASH nor DT_GNU_HASH")

    def _count_from_gnu_hash(self, address: int) -> int:
        """Highest bucket start, then walk its chain to the entry with the end bit."""
        offset = self.addresses.offset(address, 16)
        nbuckets, symoffset, bloom_size, _shift = self.image.unpack("IIII", offset)
        if nbuckets > MAX_SYMBOLS or bloom_size > MAX_SYMBOLS:
            raise ElfFormatError("implausible DT_GNU_HASH header")
        buckets_at = offset + 16 + bloom_size * self.image.word_size
        raw = self.image.read(buckets_at, 4 * nbuckets)
        last = max(struct.unpack(f"{self.image.endian}{nbuckets}I", raw), default=0)
        if last < symoffset:
            # An empty table: the object exports nothing (a non-PIE executable) and
            # GNU ld writes symoffset 1 whatever precedes it, so count the undefined
            # symbols through the relocations that bind them.
            return max(symoffset, self._count_from_relocations())
        chains_at = buckets_at + 4 * nbuckets
        index = last
        while index < MAX_SYMBOLS:
            (value,) = self.image.unpack("I", chains_at + 4 * (index - symoffset))
            if value & 1:
                return index + 1
            index += 1
        raise ElfFormatError("DT_GNU_HASH chain never ends")

    def _count_from_relocations(self) -> int:
        """One more than the highest symbol index a dynamic relocation refers to."""
        plt_rela = self.table.get(dt.DT_PLTREL) == dt.DT_RELA
        tables = (
            (dt.DT_RELA, dt.DT_RELASZ, True),
            (dt.DT_REL, dt.DT_RELSZ, False),
            (dt.DT_JMPREL, dt.DT_PLTRELSZ, plt_rela),
        )
        word = "Q" if self.image.is64 else "I"
        shift = 32 if self.image.is64 else 8
        highest = -1
        for address_tag, size_tag, with_addend in tables:
            address, size = self.table.get(address_tag), self.table.get(size_tag)
            if not address or not size:
                continue
            entry = struct.Struct(self.image.endian + word * (3 if with_addend else 2))
            raw = self.image.read(self.addresses.offset(address, size), size - size % entry.size)
            highest = max(highest, max((e[1] >> shift for e in entry.iter_unpack(raw)), default=-1))
        return highest + 1


def _positions_of(versyms: bytes, index: int, endian: str) -> list[int]:
    """Symbol positions whose versym entry is `index` (hidden bit ignored).

    bytes.find runs in C, so this touches only the matching entries instead
    of looping in Python over every dynamic symbol of a large library.
    """
    positions: list[int] = []
    for value in (index, index | 0x8000):
        pattern = struct.pack(endian + "H", value)
        at = versyms.find(pattern)
        while at >= 0:
            if at % 2 == 0:
                positions.append(at // 2)
                at = versyms.find(pattern, at + 2)
            else:
                at = versyms.find(pattern, at + 1)
    positions.sort()
    return positions
