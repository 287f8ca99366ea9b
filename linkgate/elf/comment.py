"""The `.comment` section: the compilers and linkers that built the file, as they sign it.

GCC writes `GCC: (Debian 12.2.0-14) 12.2.0`, clang `clang version 18.1.8`, rustc
`rustc version 1.95.0 (59807616e 2026-04-14)`, LLD `Linker: LLD 22.1.2`. The
loader never reads it (it is not loaded, and section headers are optional), so
it only chooses which fix a finding names: readers ask for it only for a file
that has findings (reader.parse_elf_deferring_go).
"""

from __future__ import annotations

import struct

from linkgate.elf.image import ElfFormatError, Image
from linkgate.elf.layouts import SHDR

# More sections than any real file has; a hostile e_shnum must not make this a long loop.
_MAX_SECTIONS = 4096
# Real .comment sections are a few hundred bytes.
_MAX_COMMENT = 64 * 1024
_NAME = b".comment\x00"


def read_comment(image: Image) -> tuple[str, ...]:
    """The distinct strings of `.comment`, in file order; () without section headers or such a section."""
    try:
        data = _comment_bytes(image)
    except ElfFormatError:
        return ()
    parts = (part.decode("utf-8", "replace").strip() for part in data.split(b"\x00"))
    return tuple(dict.fromkeys(part for part in parts if part))


def _comment_bytes(image: Image) -> bytes:
    header = image.header()
    count, size = header.e_shnum, header.e_shentsize
    if header.e_shoff == 0 or not 0 < header.e_shstrndx < count <= _MAX_SECTIONS or size < SHDR.size(image):
        return b""
    names = SHDR.read(image, header.e_shoff + header.e_shstrndx * size)
    start, end = max(names.sh_offset, 0), min(names.sh_offset + names.sh_size, image.size)
    if image.data.find(_NAME, min(start, image.size), end) < 0:
        return b""  # most files: one search of the name table, no section walked
    table = image.read(header.e_shoff, count * size)
    for index in range(1, count):
        # sh_name is each header's first word: read alone, the walk costs one unpack per section.
        (name,) = struct.unpack_from(image.endian + "I", table, index * size)
        if name < names.sh_size and image.data[start + name : start + name + len(_NAME)] == _NAME:
            section = SHDR.read(image, header.e_shoff + index * size)
            return image.read(section.sh_offset, min(section.sh_size, _MAX_COMMENT))
    return b""
