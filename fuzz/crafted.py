"""UPX-shaped ELF files built from scratch: the smallest containers the UPX
reader accepts, around an NRV stream the caller chooses (docs/fuzzing.md).

A real packer never writes a block whose one match covers a gigabyte; an
attacker does, in a few hundred bytes. Tests and the fuzzer build such files
here rather than committing them, so the layout stays readable.
"""

from __future__ import annotations

import struct

from fuzz.nrv_encode import Literal, Match, Token, encode

EM_X86_64 = 62
UPX_F_LINUX_AMD64 = 22
PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
PF_X, PF_W, PF_R = 1, 2, 4
_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")
_INFO = struct.Struct("<III")
_BASE = 0x400000


def elf_header(e_type: int, phnum: int, entry: int = _BASE) -> bytes:
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)
    return _EHDR.pack(ident, e_type, EM_X86_64, 1, entry, _EHDR.size, 0, 0, _EHDR.size, _PHDR.size, phnum, 64, 0, 0)


def program_header(p_type: int, flags: int, offset: int, vaddr: int, filesz: int, *, memsz: int | None = None) -> bytes:
    return _PHDR.pack(p_type, flags, offset, vaddr, vaddr, filesz, filesz if memsz is None else memsz, 0x1000)


def l_info() -> bytes:
    """checksum, "UPX!", stub size, l_version (14: UPX 4), l_format (linux/amd64)."""
    return struct.pack("<I4sHBB", 0, b"UPX!", 0, 14, UPX_F_LINUX_AMD64)


def b_info(sz_unc: int, sz_cpr: int, method: int, ftid: int = 0, cto8: int = 0) -> bytes:
    return struct.pack("<IIBBBB", sz_unc, sz_cpr, method, ftid, cto8, 0)


def bomb_stream(method: int, size: int) -> bytes:
    """One literal, then one match at offset 1 that repeats it to `size` bytes."""
    return encode(method, [Literal(0x41), Match(1, size - 1)])


def slow_stream(method: int, size: int) -> bytes:
    """The decoders' slowest input per byte that still fits UPX's rule
    sz_cpr <= sz_unc (docs/fuzzing.md): two-byte matches whose offset
    alternates between 1 and 2, so none reuses the last offset."""
    # The last two literals are NUL, so every match copies NULs: a PT_INTERP read from the
    # decoded bytes is then NUL-terminated, as the kernel (and the reader) require.
    tokens: list[Token] = [Literal(index if index < 14 else 0) for index in range(16)]
    produced = 16
    while produced + 2 <= size:
        tokens.append(Match(1 + len(tokens) % 2, 2))
        produced += 2
    tokens += [Literal(0)] * (size - produced)
    return encode(method, tokens)


def upx_program(
    block: bytes, sz_unc: int, method: int, interp_at: int | None = None, original_type: int = PT_LOAD
) -> bytes:
    """A packed main program: b_info #0 stores (uncompressed) an original ELF
    header with one writable PT_LOAD whose bytes after the headers are `block`,
    which decodes to `sz_unc` bytes. `interp_at` adds a PT_INTERP at that
    offset of the original file, which the reader must decode to reach.
    `original_type` replaces that PT_LOAD's type (PT_NULL: a payload that maps nothing)."""
    phnum = 1 if interp_at is None else 2
    original_phdr_end = _EHDR.size + phnum * _PHDR.size
    original_size = original_phdr_end + sz_unc
    original = elf_header(2, phnum) + program_header(original_type, PF_R | PF_W, 0, _BASE, original_size)
    if interp_at is not None:
        original += program_header(PT_INTERP, PF_R, interp_at, _BASE + interp_at, 16)
    body = l_info() + _INFO.pack(0, original_size, original_size)
    body += b_info(len(original), len(original), method) + original
    body += b_info(sz_unc, len(block), method) + block
    headers_end = _EHDR.size + 2 * _PHDR.size
    total = headers_end + len(body)
    phdrs = program_header(PT_LOAD, PF_R | PF_X, 0, _BASE, total)
    phdrs += program_header(PT_LOAD, PF_R | PF_W, 0, 0x600000, 0, memsz=0x1000)
    return elf_header(2, 2, _BASE + headers_end) + phdrs + body


def upx_library(block: bytes, sz_unc: int, method: int) -> bytes:
    """A packed shared library in UPX 3's layout: l_info at the start of the
    executable PT_LOAD, and b_info #0 holding code (`block`, `sz_unc` bytes)."""
    headers_end = _EHDR.size + 2 * _PHDR.size
    body = l_info() + _INFO.pack(0, sz_unc, sz_unc) + b_info(sz_unc, len(block), method) + block
    dynamic_at = headers_end + len(body)
    total = dynamic_at + 16
    phdrs = program_header(PT_LOAD, PF_R | PF_X, 0, 0, total)
    phdrs += program_header(PT_DYNAMIC, PF_R | PF_W, dynamic_at, dynamic_at, 16)
    return elf_header(3, 2, headers_end) + phdrs + body + bytes(16)
