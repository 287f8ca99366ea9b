"""Structure-aware mutations: each picks a field the readers trust and gives it a
value that sits on an edge (0, 1, all ones, the file size, a size UPX never
writes), or falls back to the classic flips, cuts and splices.

Locating structures uses linkgate's own header parsing where it can, guarded:
a seed that is already a mutant may not parse, and then a generic mutation
is used instead.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable

from linkgate.elf.gobuild import MAGIC as GO_MAGIC
from linkgate.elf.image import ElfFormatError, Image
from linkgate.elf.layouts import PT_DYNAMIC, PT_LOAD

Mutator = Callable[[bytearray, random.Random], None]
_INTERESTING = (0, 1, 2, 3, 4, 7, 8, 0x10, 0x38, 0x40, 0x7F, 0x80, 0xFF, 0x100, 0x1000, 0xFFFF, 0x7FFFFFFF,
                0x80000000, 0xFFFFFFFE, 0xFFFFFFFF, (768 << 20) + 1, 1 << 30)  # fmt: skip
# DT_NEEDED, DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SYMENT, DT_SONAME, DT_RPATH, DT_RUNPATH, DT_GNU_HASH,
# DT_HASH, DT_VERSYM, DT_VERDEF, DT_VERDEFNUM, DT_VERNEED, DT_VERNEEDNUM, DT_FLAGS_1
_DYNAMIC_TAGS = (1, 5, 6, 10, 11, 14, 15, 29, 0x6FFFFEF5, 4, 0x6FFFFFF0, 0x6FFFFFFC, 0x6FFFFFFD, 0x6FFFFFFE,
                 0x6FFFFFFF, 0x6FFFFFFB, 0)  # fmt: skip
_VERSION_TAGS = (0x6FFFFFF0, 0x6FFFFFFC, 0x6FFFFFFE)


def interesting(rng: random.Random, size_hint: int) -> int:
    return rng.choice((*_INTERESTING, size_hint, size_hint - 1, size_hint + 1, rng.randrange(1 << 32)))


def put(buf: bytearray, at: int, width: int, value: int, endian: str = "<") -> None:
    """Write `value` (truncated) as an unsigned field, if it fits in the buffer."""
    if at >= 0 and at + width <= len(buf):
        code = {1: "B", 2: "H", 4: "I", 8: "Q"}[width]
        struct.pack_into(endian + code, buf, at, value & ((1 << (8 * width)) - 1))


# --- generic ---------------------------------------------------------------------------------


def flip_bits(buf: bytearray, rng: random.Random) -> None:
    for _ in range(rng.randrange(1, 9)):
        if buf:
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)


def set_field(buf: bytearray, rng: random.Random) -> None:
    if len(buf) >= 8:
        put(buf, rng.randrange(len(buf) - 7), rng.choice((1, 2, 4, 8)), interesting(rng, len(buf)))


def truncate(buf: bytearray, rng: random.Random) -> None:
    if buf:
        del buf[rng.randrange(len(buf)) :]


def splice(buf: bytearray, rng: random.Random) -> None:
    """Copy a chunk over another place (duplicated tables, overlapping records)."""
    if len(buf) > 16:
        start, length = rng.randrange(len(buf)), rng.randrange(1, 256)
        chunk = bytes(buf[start : start + length])
        at = rng.randrange(len(buf))
        buf[at : at + len(chunk)] = chunk


GENERIC: tuple[Mutator, ...] = (flip_bits, set_field, truncate, splice)


# --- ELF -------------------------------------------------------------------------------------


def _image(buf: bytearray) -> Image | None:
    try:
        image = Image(bytes(buf))
        image.segments(image.header())
    except ElfFormatError:
        return None
    return image


def elf_header_field(buf: bytearray, rng: random.Random) -> None:
    """e_ident class/data/osabi, or one of e_type .. e_shstrndx."""
    image = _image(buf)
    if image is None or rng.random() < 0.2:
        put(buf, rng.choice((4, 5, 7)), 1, rng.choice((0, 1, 2, 3, 0xFF)))
        return
    fields = [(16, 2), (18, 2), (20, 4), (24, image.word_size)]  # e_type, e_machine, e_version, e_entry
    at = 24 + image.word_size
    fields += [(at, image.word_size), (at + image.word_size, image.word_size)]  # e_phoff, e_shoff
    at += 2 * image.word_size + 4
    fields += [(at + 2 * k, 2) for k in range(6)]  # e_ehsize .. e_shstrndx
    offset, width = rng.choice(fields)
    put(buf, offset, width, interesting(rng, len(buf)), image.endian)


def program_header_field(buf: bytearray, rng: random.Random) -> None:
    image = _image(buf)
    if image is None:
        return set_field(buf, rng)
    header = image.header()
    if not header.e_phnum:
        return None
    row = header.e_phoff + rng.randrange(header.e_phnum) * header.e_phentsize
    word = image.word_size
    # p_type, p_flags/p_offset ..., every field as (offset, width) per class
    fields = (
        [(0, 4), (4, 4), (8, 8), (16, 8), (32, 8), (40, 8)]
        if image.is64
        else [(0, 4), (4, 4), (8, 4), (16, 4), (20, 4), (24, 4)]
    )
    offset, width = rng.choice(fields)
    value = rng.choice((PT_LOAD, PT_DYNAMIC, 3, 0, 4, 0x6474E551)) if offset == 0 else interesting(rng, len(buf))
    put(buf, row + offset, width if width <= word else word, value, image.endian)
    return None


def _dynamic_entries(image: Image) -> list[int]:
    for segment in image.segments(image.header()):
        if segment.p_type == PT_DYNAMIC:
            step = 2 * image.word_size
            count = min(segment.p_filesz // step, 512)
            return [
                segment.p_offset + k * step for k in range(count) if segment.p_offset + (k + 1) * step <= image.size
            ]
    return []


def dynamic_entry(buf: bytearray, rng: random.Random) -> None:
    """One d_tag or d_val: tags the reader follows, values at the edges."""
    image = _image(buf)
    entries = [] if image is None else _dynamic_entries(image)
    if image is None or not entries:
        return set_field(buf, rng)
    at = rng.choice(entries)
    if rng.random() < 0.4:
        put(buf, at, image.word_size, rng.choice(_DYNAMIC_TAGS), image.endian)
    else:
        put(buf, at + image.word_size, image.word_size, interesting(rng, len(buf)), image.endian)
    return None


def version_record(buf: bytearray, rng: random.Random) -> None:
    """A field of the Verneed/Vernaux/Verdef records that DT_VERNEED/DT_VERDEF point at."""
    image = _image(buf)
    if image is None:
        return set_field(buf, rng)
    targets = []
    for at in _dynamic_entries(image):
        tag, value = struct.unpack_from(image.endian + ("QQ" if image.is64 else "II"), bytes(buf), at)
        if tag in _VERSION_TAGS:
            targets.append(value)
    offsets = [o for o in (_file_offset(image, address) for address in targets) if o is not None]
    if not offsets:
        return set_field(buf, rng)
    base = rng.choice(offsets) + rng.randrange(0, 64, 2)
    put(buf, base, rng.choice((2, 4)), interesting(rng, len(buf)), image.endian)
    return None


def _file_offset(image: Image, address: int) -> int | None:
    for segment in image.segments(image.header()):
        if segment.p_type == PT_LOAD and segment.p_vaddr <= address < segment.p_vaddr + segment.p_filesz:
            return segment.p_offset + address - segment.p_vaddr
    return None


ELF: tuple[Mutator, ...] = (elf_header_field, program_header_field, dynamic_entry, version_record)


# --- UPX -------------------------------------------------------------------------------------


def _l_info_at(buf: bytearray) -> int | None:
    image = _image(buf)
    if image is None:
        return None
    header = image.header()
    at = header.e_phoff + header.e_phnum * header.e_phentsize
    if 0 <= at + 12 <= len(buf) and buf[at + 10] in range(11, 15):
        return at
    found = bytes(buf).find(b"UPX!")
    return found - 4 if found >= 4 else None


def upx_field(buf: bytearray, rng: random.Random) -> None:
    """l_info, p_info, or one of the first b_info headers: sizes, method, filter."""
    at = _l_info_at(buf)
    if at is None:
        return set_field(buf, rng)
    blocks = [at + 24]
    for _ in range(4):  # walk a few b_info headers while their sizes make sense
        sz_cpr = int.from_bytes(buf[blocks[-1] + 4 : blocks[-1] + 8], "little")
        following = blocks[-1] + 12 + sz_cpr
        if sz_cpr == 0 or following + 12 > len(buf):
            break
        blocks.append(following)
    choice = rng.randrange(4)
    if choice == 0:  # l_info: l_lsize, l_version, l_format
        put(buf, at + rng.choice((8, 10, 11)), 1, rng.choice((0, 11, 12, 13, 14, 15, 22, 0xFF)))
    elif choice == 1:  # p_info: progid, filesize, blocksize
        put(buf, at + 12 + rng.choice((0, 4, 8)), 4, interesting(rng, len(buf)))
    else:
        block = rng.choice(blocks)
        field = rng.choice((0, 4, 8, 9, 10))
        if field < 8:
            put(buf, block + field, 4, interesting(rng, len(buf)))
        else:
            put(
                buf, block + field, 1, rng.choice((0, 2, 3, 5, 6, 8, 9, 14, 0x46, 0x49, 0x52, 0xFF, rng.randrange(256)))
            )
    return None


def upx_stream(buf: bytearray, rng: random.Random) -> None:
    """Flip bits in a compressed block's first bytes, where decoding starts."""
    at = _l_info_at(buf)
    if at is None:
        return flip_bits(buf, rng)
    start = at + 36 + 12 * rng.randrange(2)
    for _ in range(rng.randrange(1, 5)):
        position = start + rng.randrange(256)
        if position < len(buf):
            buf[position] ^= 1 << rng.randrange(8)
    return None


UPX: tuple[Mutator, ...] = (upx_field, upx_field, upx_stream)


# --- Go build info ---------------------------------------------------------------------------

_GO_TEXT = (b'"\\UFFFFFFFF"', b'"\\U00110000"', b'"\\uDFFF"', b'"\\400"',
            b"\\U7fffffff", b"\\UFFFFFFFF", b"\\uD800", b"\\777", b"\\x", b"\\", b'"', b"`", b"\t", b"\n",
            b"=>\t", b"dep\t", b"mod\t", b"build\t", b"path\t", b"=", b'"\\U0010FFFF"', b"%", b"\xff\xfe")  # fmt: skip


def go_header(buf: bytearray, rng: random.Random) -> None:
    """The 32-byte buildinfo header: pointer size, flags, the two pointers, the first varint."""
    at = bytes(buf).find(GO_MAGIC)
    if at < 0:
        return set_field(buf, rng)
    field = rng.choice((14, 15, 16, 20, 24, 28, 32, 33))
    put(buf, at + field, 1, rng.choice((0, 1, 2, 3, 4, 8, 0x7F, 0x80, 0xFF)))
    return None


def go_modinfo(buf: bytearray, rng: random.Random) -> None:
    """Overwrite a value of the module info text in place (the binary would still run).

    Go keeps the text twice (build info and runtime.modinfo): any copy may be hit.
    """
    data = bytes(buf)
    lines = [at for mark in (b"\nbuild\t", b"\npath\t", b"\ndep\t") for at in _all(data, mark)]
    if not lines:
        return go_header(buf, rng)
    start = rng.choice(lines) + 1
    end = data.find(b"\n", start)
    equals = data.find(b"=", start, end)
    position = equals + 1 if equals >= 0 and rng.random() < 0.7 else start + rng.randrange(max(1, end - start))
    piece = rng.choice(_GO_TEXT)
    buf[position : position + len(piece)] = piece
    return None


def _all(data: bytes, mark: bytes) -> list[int]:
    found: list[int] = []
    at = data.find(mark)
    while at >= 0 and len(found) < 64:
        found.append(at)
        at = data.find(mark, at + 1)
    return found


GO: tuple[Mutator, ...] = (go_header, go_modinfo, go_modinfo)


# --- policy YAML -----------------------------------------------------------------------------

_YAML_TOKENS = ("-1", "0", "1e309", ".nan", "~", "null", "[]", "{}", "''", "!!binary AA==", "!!python/object:os.system",
                "&a [*a]", "*undefined", "2.99999999999999999999", "GLIBC_9999.9", "'*'", "'['", "x" * 5000,
                "true", "no", "2024-02-30", "9999-12-31", "[" * 20 + "]" * 20, "\t", ":", "- ")  # fmt: skip


def yaml_line(buf: bytearray, rng: random.Random) -> None:
    """Delete, duplicate, re-indent or swap lines; or put an odd scalar after a colon."""
    lines = bytes(buf).split(b"\n")
    if not lines:
        return
    index = rng.randrange(len(lines))
    choice = rng.randrange(5)
    if choice == 0:
        del lines[index]
    elif choice == 1:
        lines.insert(index, lines[rng.randrange(len(lines))])
    elif choice == 2:
        lines[index] = b" " * rng.choice((1, 2, 3, 8)) + lines[index]
    elif choice == 3:
        other = rng.randrange(len(lines))
        lines[index], lines[other] = lines[other], lines[index]
    else:
        head, colon, _tail = lines[index].partition(b":")
        lines[index] = head + (colon or b":") + b" " + rng.choice(_YAML_TOKENS).encode()
    buf[:] = b"\n".join(lines)


YAML: tuple[Mutator, ...] = (yaml_line, yaml_line, yaml_line, flip_bits, splice)
