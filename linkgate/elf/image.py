"""Bounded, endian-aware access to the bytes of one ELF file.

Every read is checked against the buffer length, so a truncated or hostile
file raises ElfFormatError instead of reading past the end.
"""

from __future__ import annotations

import mmap
import re
import struct
from collections.abc import Iterator
from typing import Any, Protocol

from linkgate.core.records import record
from linkgate.elf.layouts import (
    EHDR,
    ELF_MAGIC,
    ELFCLASS32,
    ELFCLASS64,
    ELFDATA2LSB,
    ELFDATA2MSB,
    PHDR32,
    PHDR64,
    PT_LOAD,
    Phdr32,
    Phdr64,
)


class Buffer(Protocol):
    """bytes, bytearray or a read-only mmap."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: slice, /) -> bytes: ...

    def find(self, sub: bytes, start: int = ..., end: int = ..., /) -> int: ...


class ElfFormatError(Exception):
    """The file is not a well-formed ELF object where the loader would read it."""


class NothingMappedError(ElfFormatError):
    """A program or library with no PT_LOAD: the file is well formed, yet nothing of it can run.

    Not a damaged UPX payload (which leaves the payload unread): a payload that decodes to such a
    file is itself this error."""


# One program header, as read (the table is read once per file: its rows are used as they are).
Segment = Phdr32 | Phdr64


@record
class Header:
    """The ELF header fields the loader uses."""

    elf_class: int
    byte_order: str
    e_type: int
    e_machine: int
    e_entry: int
    e_phoff: int
    e_shoff: int
    e_phentsize: int
    e_phnum: int
    e_shentsize: int
    e_shnum: int
    e_shstrndx: int
    # e_ident[EI_OSABI] and e_ident[EI_ABIVERSION]: glibc's loader accepts only some (linkgate.elf.loadable).
    os_abi: int = 0
    abi_version: int = 0


class Image:
    """A buffer plus the byte order and word size declared in its e_ident."""

    def __init__(self, data: Buffer) -> None:
        self.data = data
        self.size = len(data)
        ident = self.read(0, 16)
        if ident[:4] != ELF_MAGIC:
            raise ElfFormatError("not an ELF file (bad magic)")
        self.elf_class = ident[4]
        if self.elf_class not in (ELFCLASS32, ELFCLASS64):
            raise ElfFormatError(f"unknown ELF class {self.elf_class}")
        if ident[5] not in (ELFDATA2LSB, ELFDATA2MSB):
            raise ElfFormatError(f"unknown ELF byte order {ident[5]}")
        self.endian = "<" if ident[5] == ELFDATA2LSB else ">"
        self.byte_order = "little" if ident[5] == ELFDATA2LSB else "big"
        self.os_abi, self.abi_version = ident[7], ident[8]
        self.is64 = self.elf_class == ELFCLASS64
        self.layout_key = (self.endian, self.elf_class)
        # Records are unpacked where they lie when the buffer allows it (bytes, a mapped
        # file): no copy per record. A decoded UPX payload is only sliceable.
        self._in_place = isinstance(data, (bytes, bytearray, memoryview, mmap.mmap))
        self.word_size = 8 if self.is64 else 4
        # The reader, UPX detection and Go build info all start from the headers: parse them once.
        self._header: Header | None = None
        self._segments: tuple[Header, tuple[Segment, ...]] | None = None

    def read(self, offset: int, length: int) -> bytes:
        """Exactly `length` bytes at `offset`, or ElfFormatError."""
        if offset < 0 or length < 0 or offset + length > self.size:
            raise ElfFormatError(f"truncated: needs bytes {offset:#x}..{offset + length:#x}, file has {self.size:#x}")
        return self.data[offset : offset + length]

    def matches(self, pattern: re.Pattern[bytes], offset: int, length: int) -> Iterator[int]:
        """File offsets where `pattern` matches within the `length` bytes at `offset` (ElfFormatError
        when they run past the end, as read()). A mapped file is searched where it lies, not copied."""
        if not self._in_place:
            yield from (offset + match.start() for match in pattern.finditer(self.read(offset, length)))
            return
        if offset < 0 or length < 0 or offset + length > self.size:
            self.read(offset, length)  # raises, with read()'s message
        yield from (match.start() for match in pattern.finditer(self.data, offset, offset + length))  # type: ignore[call-overload]

    def unpack_at(self, layout: struct.Struct, offset: int) -> tuple[Any, ...]:
        """`layout` unpacked at `offset`; ElfFormatError when it runs past the end, as read()."""
        if offset < 0 or offset + layout.size > self.size:
            self.read(offset, layout.size)  # raises, with read()'s message
        if self._in_place:
            return layout.unpack_from(self.data, offset)  # type: ignore[arg-type]
        return layout.unpack(self.data[offset : offset + layout.size])

    def unpack(self, fmt: str, offset: int) -> tuple[int, ...]:
        """Unpack `fmt` (no byte-order prefix) in the file's byte order: for plain words and
        arrays; records have named layouts in linkgate.elf.layouts."""
        full = self.endian + fmt
        # struct caches compiled formats for its module-level functions.
        return struct.unpack(full, self.read(offset, struct.calcsize(full)))

    def header(self) -> Header:
        """The ELF header (parsed on first use)."""
        if self._header is None:
            self._header = self._parse_header()
        return self._header

    def _parse_header(self) -> Header:
        ehdr = EHDR.read(self, 16)  # after e_ident
        return Header(
            self.elf_class, self.byte_order, ehdr.e_type, ehdr.e_machine,
            ehdr.e_entry, ehdr.e_phoff, ehdr.e_shoff, ehdr.e_phentsize, ehdr.e_phnum, ehdr.e_shentsize,
            ehdr.e_shnum, ehdr.e_shstrndx, self.os_abi, self.abi_version,
        )  # fmt: skip

    def segments(self, header: Header) -> tuple[Segment, ...]:
        """All program headers, validated against the file size (parsed once per header)."""
        if self._segments is None or self._segments[0] != header:
            self._segments = (header, self._parse_segments(header))
        return self._segments[1]

    def _parse_segments(self, header: Header) -> tuple[Segment, ...]:
        if header.e_phnum == 0:
            return ()
        phdr = PHDR64 if self.is64 else PHDR32
        if header.e_phentsize < phdr.size(self):
            raise ElfFormatError(f"program header entry size {header.e_phentsize} too small")
        table = self.read(header.e_phoff, header.e_phnum * header.e_phentsize)
        layout = phdr.layout(self)
        segments: tuple[Segment, ...]
        if header.e_phentsize == layout.size:  # as every linker writes it: one pass over the table
            segments = tuple(map(phdr.make, layout.iter_unpack(table)))
        else:
            segments = tuple(phdr.read_from(self, table, i * header.e_phentsize) for i in range(header.e_phnum))
        for index, segment in enumerate(segments):
            # A cut-off upload: the loader would map file bytes that are not there.
            end = segment.p_offset + segment.p_filesz
            if segment.p_type == PT_LOAD and end > self.size:
                raise ElfFormatError(f"truncated: PT_LOAD #{index} ends at {end:#x}, file has {self.size:#x}")
        return segments


class AddressMap:
    """Virtual address -> file offset through the PT_LOAD segments, as ld.so maps them.

    Only file-backed bytes count (p_filesz, not p_memsz): a table the loader would
    find in zero-filled memory is not something a real linker writes.
    """

    def __init__(self, segments: tuple[Segment, ...]) -> None:
        self._loads = [s for s in segments if s.p_type == PT_LOAD]
        # Real files never overlap their PT_LOADs: then the first match is the only one,
        # and the lookup below (thousands per file) need not look further.
        self._overlapping = any(_overlap(a, b) for i, a in enumerate(self._loads) for b in self._loads[i + 1 :])
        # Lookups come in runs within one segment (a table, then the next entry of a chain).
        self._last: Segment | None = None

    def _containing(self, vaddr: int) -> Segment | None:
        """The PT_LOAD whose file-backed bytes hold `vaddr`; overlapping ones are refused,
        since which bytes the loader sees there depends on its mapping order."""
        if not self._overlapping:
            last = self._last
            if last is not None and 0 <= vaddr - last.p_vaddr < last.p_filesz:
                return last
            self._last = next((s for s in self._loads if 0 <= vaddr - s.p_vaddr < s.p_filesz), None)
            return self._last
        found = [s for s in self._loads if 0 <= vaddr - s.p_vaddr < s.p_filesz]
        if len(found) > 1:
            raise ElfFormatError(f"address {vaddr:#x} lies in {len(found)} overlapping PT_LOAD segments")
        return found[0] if found else None

    def offset(self, vaddr: int, length: int = 1) -> int:
        """File offset of `vaddr`; the `length` bytes after it must be file-backed."""
        segment = self._containing(vaddr)
        if segment is None:
            raise ElfFormatError(f"address {vaddr:#x} is not in any loaded segment")
        delta = vaddr - segment.p_vaddr
        if delta + length > segment.p_filesz:
            raise ElfFormatError(
                f"{length} bytes at address {vaddr:#x} run past the end of their PT_LOAD segment "
                f"({segment.p_filesz - delta} bytes left)"
            )
        return segment.p_offset + delta

    def available(self, vaddr: int) -> int:
        """How many file-backed bytes follow `vaddr` in its segment (0 if unmapped)."""
        segment = self._containing(vaddr)
        return 0 if segment is None else segment.p_filesz - (vaddr - segment.p_vaddr)

    def read(self, image: Image, vaddr: int, length: int) -> bytes:
        """The `length` bytes the loader sees at `vaddr`, or ElfFormatError."""
        return image.read(self.offset(vaddr, length), length)


def _overlap(a: Segment, b: Segment) -> bool:
    """Whether the file-backed address ranges of two segments share a byte."""
    return a.p_vaddr < b.p_vaddr + b.p_filesz and b.p_vaddr < a.p_vaddr + a.p_filesz
