"""What the bionic linker and Google Play read in an Android native library (docs/android.md).

- which C library: `libc.so` is musl's soname and bionic's too, so a file that needs it is
  bionic when it needs bionic's version nodes (`LIBC`, `LIBC_N`...) or carries the NDK's
  `.note.android.ident` note (name "Android", type 1, the API level it was built for);
- the facts the linker refuses by target API (text relocations, section headers, relocation
  formats, TLS) and the PT_LOAD alignments a 16 KiB page system needs.
"""

from __future__ import annotations

import mmap
import os
import struct

from linkgate.core.records import replace
from linkgate.elf import dynamic as dt
from linkgate.elf.facts import AndroidFacts, ElfFacts, SegmentAlignment, VersionNeed
from linkgate.elf.image import AddressMap, ElfFormatError, Header, Image, Segment
from linkgate.elf.layouts import (
    DF_TEXTREL,
    DT_ANDROID_REL,
    DT_ANDROID_RELA,
    DT_ANDROID_RELR,
    DT_FLAGS,
    DT_GNU_HASH,
    DT_HASH,
    DT_RELR,
    DT_SYMENT,
    DT_SYMTAB,
    DT_TEXTREL,
    NHDR,
    PF_W,
    PF_X,
    PT_DYNAMIC,
    PT_LOAD,
    PT_NOTE,
    SHDR,
    SHN_UNDEF,
    STB_WEAK,
    SYM32,
    SYM64,
)
from linkgate.elf.versions import VersionReader

PT_TLS = 7
SHT_DYNAMIC = 6
NT_ANDROID_IDENT = 1
_NOTE_OWNER = b"Android\x00"
_MAX_NOTES = 1 << 16
# Relocation formats by the tag that announces them (bionic's elf.h; DT_RELR is the generic ABI's).
RELOCATION_TAGS = {
    DT_ANDROID_REL: "DT_ANDROID_REL",
    DT_ANDROID_RELA: "DT_ANDROID_RELA",
    DT_ANDROID_RELR: "DT_ANDROID_RELR",
    DT_RELR: "DT_RELR",
}
# Libraries only Android has: a file needing one of them is bionic whatever else it needs.
_ANDROID_ONLY = frozenset({"liblog.so", "libandroid.so", "libc++_shared.so", "libEGL.so", "libGLESv2.so"})
_BIONIC_LIBC = frozenset({"libc.so", "libm.so", "libdl.so"})
MISSING_SECTION_HEADERS = "missing"


def settle_libc(
    libc: str | None,
    needed: tuple[str, ...],
    needs: tuple[VersionNeed, ...],
    image: Image,
    segments: tuple[Segment, ...],
) -> str | None:
    """bionic for a file that `libc_family` called musl (or nothing) on the name `libc.so` alone."""
    if libc not in ("musl", None) or not needed:
        return libc
    if libc == "musl" and "libc.so" not in needed:
        return libc
    if any(n.library in _BIONIC_LIBC and n.version.startswith("LIBC") for n in needs):
        return "bionic"
    if not _ANDROID_ONLY.isdisjoint(needed) or api_level(image, segments) is not None:
        return "bionic"
    return libc


def api_level(image: Image, segments: tuple[Segment, ...]) -> int | None:
    """The API level of the `.note.android.ident` note (None: the file has none)."""
    for segment in segments:
        if segment.p_type == PT_NOTE:
            found = _android_note(image, segment)
            if found is not None:
                return found
    return None


def _android_note(image: Image, segment: Segment) -> int | None:
    raw = image.read(segment.p_offset, min(segment.p_filesz, _MAX_NOTES))
    at = 0
    while at + 12 <= len(raw):
        namesz, descsz, note_type = NHDR.read(image, segment.p_offset + at)
        name_at = at + 12
        desc_at = name_at + _align4(namesz)
        end = desc_at + _align4(descsz)
        if end > len(raw):
            return None
        if note_type == NT_ANDROID_IDENT and raw[name_at : name_at + namesz] == _NOTE_OWNER and descsz >= 4:
            level: int = struct.unpack_from(image.endian + "I", raw, desc_at)[0]
            return level
        at = end
    return None


def _align4(value: int) -> int:
    return (value + 3) & ~3


def with_android(path: str | os.PathLike[str], facts: ElfFacts) -> ElfFacts:
    """`facts` with `android` filled in, for a bionic file (others are returned as they are)."""
    if facts.libc != "bionic" or facts.android is not None:
        return facts
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            raise ElfFormatError("empty file")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return replace(facts, android=read_android(Image(data)))


def read_android(image: Image) -> AndroidFacts:
    header = image.header()
    segments = image.segments(header)
    addresses = AddressMap(segments)
    table = dt.read_dynamic(image, segments, addresses)
    loads = [(i, s) for i, s in enumerate(segments) if s.p_type == PT_LOAD]
    tls = next((s for s in segments if s.p_type == PT_TLS), None)
    problem, since = section_header_problem(image, header, segments)
    return AndroidFacts(
        api_level=api_level(image, segments),
        loads=tuple(SegmentAlignment(i, s.p_align) for i, s in loads),
        tls_align=None if tls is None else tls.p_align,
        textrel=table.get(DT_TEXTREL) is not None or bool((table.get(DT_FLAGS) or 0) & DF_TEXTREL),
        relocation_formats=tuple(name for tag, name in RELOCATION_TAGS.items() if table.get(tag) is not None),
        gnu_hash_only=table.get(DT_GNU_HASH) is not None and table.get(DT_HASH) is None,
        section_headers=problem,
        section_headers_since=since,
        write_exec_loads=tuple(i for i, s in loads if s.p_flags & PF_W and s.p_flags & PF_X),
        imports=_imports(image, table, addresses),
    )


def section_header_problem(image: Image, header: Header, segments: tuple[Segment, ...]) -> tuple[str, int]:
    """Why bionic's ElfReader refuses the section headers (linker_phdr.cpp), and from which API level:
    (problem, 24) on every device from API 24, (problem, 26) for apps targeting 26; ("", 0) when sound."""
    if header.e_shnum == 0 or header.e_shoff == 0:
        return MISSING_SECTION_HEADERS, 24
    entry = SHDR.size(image)
    end = header.e_shoff + header.e_shnum * entry
    if end > image.size:
        return f"section headers at {header.e_shoff:#x} run past the end of the file ({end:#x} > {image.size:#x})", 24
    if header.e_shentsize != entry:
        return f"unsupported e_shentsize: {header.e_shentsize:#x} (expected {entry:#x})", 26
    if any(s.p_type == PT_DYNAMIC for s in segments) and not _has_dynamic_section(image, header, entry):
        return ".dynamic section header was not found", 24
    if header.e_shstrndx == 0:
        return "invalid e_shstrndx", 26
    return "", 0


def _has_dynamic_section(image: Image, header: Header, entry: int) -> bool:
    table = image.read(header.e_shoff, header.e_shnum * entry)
    return any(SHDR.read_from(image, table, i * entry).sh_type == SHT_DYNAMIC for i in range(header.e_shnum))


def _imports(image: Image, table: dt.DynamicTable, addresses: AddressMap) -> tuple[tuple[str, bool], ...]:
    """Undefined dynamic symbols, each with whether it is weak (an unresolved weak one is 0, not an error)."""
    address = table.get(DT_SYMTAB)
    if address is None or (table.get(DT_HASH) is None and table.get(DT_GNU_HASH) is None):
        return ()
    count = VersionReader(image, table, addresses).symbol_count()
    layout = SYM64 if image.is64 else SYM32
    syment = max(table.get(DT_SYMENT) or 0, layout.size(image))
    raw = image.read(addresses.offset(address, max(syment * count, 1)), syment * count)
    found: dict[str, bool] = {}
    for index in range(1, count):
        sym = layout.read_from(image, raw, index * syment)
        if sym.st_name != 0 and sym.st_shndx == SHN_UNDEF:
            found[dt.dynamic_string(table, sym.st_name)] = sym.st_info >> 4 == STB_WEAK
    return tuple(sorted(found.items()))
