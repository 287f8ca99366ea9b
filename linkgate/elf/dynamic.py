"""The dynamic segment: tags the loader acts on, and the strings they name."""

from __future__ import annotations

import struct

from linkgate.elf.image import AddressMap, Buffer, ElfFormatError, Image, Segment
from linkgate.elf.layouts import (
    DT_ANDROID_REL,
    DT_ANDROID_RELA,
    DT_ANDROID_RELR,
    DT_BIND_NOW,
    DT_FLAGS,
    DT_FLAGS_1,
    DT_GNU_HASH,
    DT_HASH,
    DT_JMPREL,
    DT_MIPS_SYMTABNO,
    DT_NEEDED,
    DT_NULL,
    DT_PLTREL,
    DT_PLTRELSZ,
    DT_REL,
    DT_RELA,
    DT_RELASZ,
    DT_RELR,
    DT_RELSZ,
    DT_RPATH,
    DT_RUNPATH,
    DT_SONAME,
    DT_STRSZ,
    DT_STRTAB,
    DT_SYMENT,
    DT_SYMTAB,
    DT_TEXTREL,
    DT_VERDEF,
    DT_VERDEFNUM,
    DT_VERNEED,
    DT_VERNEEDNUM,
    DT_VERSYM,
    DYN,
    PT_DYNAMIC,
)

# Valueless markers: only their presence counts (hardening facts).

# Tags whose single value we keep; DT_NEEDED may repeat and is kept in order.
_SCALAR_TAGS = frozenset(
    {
        DT_HASH, DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SYMENT, DT_SONAME, DT_RPATH,
        DT_RUNPATH, DT_FLAGS, DT_GNU_HASH, DT_VERSYM, DT_FLAGS_1, DT_VERDEF,
        DT_VERDEFNUM, DT_VERNEED, DT_VERNEEDNUM, DT_MIPS_SYMTABNO,
        DT_PLTRELSZ, DT_RELA, DT_RELASZ, DT_REL, DT_RELSZ, DT_PLTREL, DT_JMPREL,
        DT_TEXTREL, DT_BIND_NOW, DT_RELR, DT_ANDROID_REL, DT_ANDROID_RELA, DT_ANDROID_RELR,
    }
)  # fmt: skip


def tag_name(tag: int) -> str:
    """`DT_VERNEED` for 0x6ffffffe: the names messages use."""
    return next((name for name, value in globals().items() if name.startswith("DT_") and value == tag), f"{tag:#x}")


class DynamicTable:
    """Raw tag values of PT_DYNAMIC plus where its string table is (filled while parsing)."""

    __slots__ = ("data", "needed_offsets", "strings_at", "strings_size", "tags")

    def __init__(self) -> None:
        self.tags: dict[int, int] = {}
        self.needed_offsets: list[int] = []
        # DT_STRTAB in the file, read in place: a library's string table can be megabytes,
        # and only a few names (NEEDED, SONAME, RPATH, versions) are ever read from it.
        self.data: Buffer = b""
        self.strings_at = 0
        self.strings_size = 0

    def get(self, tag: int) -> int | None:
        """The value of `tag`, or None when the segment does not carry it."""
        return self.tags.get(tag)


# Real dynamic arrays hold tens of entries, a few hundred at most; the cap bounds
# the Python loop on a hostile file whose mapped segment is megabytes of non-zero tags.
MAX_DYNAMIC_ENTRIES = 1 << 14
_FIRST_WINDOW = 64  # entries


def read_dynamic(image: Image, segments: tuple[Segment, ...], addresses: AddressMap) -> DynamicTable:
    """The dynamic array ld.so reads: at p_vaddr of the LAST PT_DYNAMIC, through the PT_LOAD map.

    glibc sets l_ld from each PT_DYNAMIC it meets, so the last one wins, and it reads
    the array from memory until DT_NULL: p_offset/p_filesz play no part. Tools that
    read the file (readelf, pyelftools, this reader before) use them, so a file
    whose views differ is refused rather than read one way or the other.
    """
    dynamics = [s for s in segments if s.p_type == PT_DYNAMIC]
    if not dynamics:
        return DynamicTable()
    entry = DYN.layout(image)  # (d_tag, d_val) words, read as arrays
    loader_view = _array_at(image, dynamics[-1].p_vaddr, addresses, entry)
    for number, segment in enumerate(dynamics, 1):
        if number < len(dynamics) and _array_at(image, segment.p_vaddr, addresses, entry) != loader_view:
            raise ElfFormatError(
                f"{len(dynamics)} PT_DYNAMIC headers with different contents: ld.so reads only the last"
            )
        _check_file_view(image, segment, addresses, loader_view)
    return _parse(image, loader_view, entry, addresses)


def _array_at(image: Image, vaddr: int, addresses: AddressMap, entry: struct.Struct) -> bytes:
    """The bytes of the (d_tag, d_val) array at `vaddr`, up to and including DT_NULL."""
    available = addresses.available(vaddr)
    if available == 0:
        raise ElfFormatError(f"PT_DYNAMIC address {vaddr:#x} is not in any loaded segment: ld.so cannot read it")
    limit = min(available, MAX_DYNAMIC_ENTRIES * entry.size)
    # Real arrays end within tens of entries: search a window that grows, not the whole cap.
    window, searched = min(limit, _FIRST_WINDOW * entry.size), 0
    while True:
        raw = addresses.read(image, vaddr, window)
        usable = len(raw) - len(raw) % entry.size
        for index, (tag, _value) in enumerate(entry.iter_unpack(raw[searched:usable]), searched // entry.size):
            if tag == DT_NULL:
                return raw[: (index + 1) * entry.size]
        if window == limit:
            break
        window, searched = min(limit, window * 4), usable
    raise ElfFormatError(
        f"no DT_NULL in the {len(raw)} mapped bytes at PT_DYNAMIC address {vaddr:#x}: the dynamic array has no end"
    )


def _check_file_view(image: Image, segment: Segment, addresses: AddressMap, loader_view: bytes) -> None:
    """PT_DYNAMIC's file bytes (what readelf and section-based tools read) must hold the
    array the loader reads, or a gate reading either could be shown a decoy."""
    end = segment.p_offset + segment.p_filesz
    if end > image.size:
        raise ElfFormatError(f"PT_DYNAMIC ends at {end:#x}, past the end of the file ({image.size:#x})")
    if segment.p_filesz < len(loader_view):
        raise ElfFormatError(
            f"PT_DYNAMIC p_filesz {segment.p_filesz:#x} is shorter than the {len(loader_view)}-byte "
            "dynamic array ld.so reads at its p_vaddr"
        )
    same_place = addresses.offset(segment.p_vaddr) == segment.p_offset
    if not same_place and image.read(segment.p_offset, len(loader_view)) != loader_view:
        raise ElfFormatError(
            f"PT_DYNAMIC p_offset {segment.p_offset:#x} holds other bytes than ld.so reads at "
            f"p_vaddr {segment.p_vaddr:#x}"
        )


def _parse(image: Image, raw: bytes, entry: struct.Struct, addresses: AddressMap) -> DynamicTable:
    table = DynamicTable()
    for tag, value in entry.iter_unpack(raw[: -entry.size]):
        if tag == DT_NEEDED:
            table.needed_offsets.append(value)
        # ld.so keeps the last entry of a tag, file readers the first: refuse a choice.
        elif tag in _SCALAR_TAGS and table.tags.setdefault(tag, value) != value:
            raise ElfFormatError(f"dynamic tag {tag_name(tag)} appears twice with different values")
    _locate_strtab(image, table, addresses)
    return table


def _locate_strtab(image: Image, table: DynamicTable, addresses: AddressMap) -> None:
    strtab = table.get(DT_STRTAB)
    if strtab is None:
        return
    size = table.get(DT_STRSZ) or addresses.available(strtab)
    size = min(size, addresses.available(strtab))
    table.data = image.data
    table.strings_at = addresses.offset(strtab, max(size, 1))
    table.strings_size = size


def dynamic_string(table: DynamicTable, offset: int) -> str:
    """A NUL-terminated string from DT_STRTAB, bounded by DT_STRSZ."""
    start, limit = table.strings_at + offset, table.strings_at + table.strings_size
    end = table.data.find(b"\x00", start, limit) if 0 <= offset < table.strings_size else -1
    if end < 0:
        raise ElfFormatError(f"string offset {offset:#x} outside DT_STRTAB ({table.strings_size} bytes)")
    return table.data[start:end].decode("utf-8", "replace")


def search_path(table: DynamicTable, tag: int) -> tuple[str, ...]:
    """DT_RPATH / DT_RUNPATH split into its colon-separated entries."""
    value = table.get(tag)
    if value is None:
        return ()
    return tuple(dynamic_string(table, value).split(":"))
