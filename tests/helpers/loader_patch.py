"""Byte patches of real x86_64 binaries where ld.so reads, and ld.so's own verdict on the result.

Independent of linkgate.elf: the headers are found with tests/helpers/binaries.py and a few
struct calls, so a reader bug cannot hide in shared code. Only 64-bit little-endian
files are patched (the host's own binaries and gcc builds), since the point is to run
the result with the host's loader.
"""

from __future__ import annotations

import re
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import binaries

HOST_LOADER = Path("/lib64/ld-linux-x86-64.so.2")
PT_NULL, PT_LOAD, PT_DYNAMIC, PT_NOTE = 0, 1, 2, 4
DT_NULL, DT_NEEDED, DT_STRTAB, DT_DEBUG = 0, 1, 5, 21
DT_GNU_HASH, DT_SYMTAB = 0x6FFFFEF5, 6
DT_VERNEED, DT_VERNEEDNUM = 0x6FFFFFFE, 0x6FFFFFFF
PHDR_SIZE = 56
# Elf64_Phdr field -> (offset in the entry, struct format)
PHDR_FIELDS = {
    "p_type": (0, "<I"), "p_flags": (4, "<I"), "p_offset": (8, "<Q"), "p_vaddr": (16, "<Q"),
    "p_paddr": (24, "<Q"), "p_filesz": (32, "<Q"), "p_memsz": (40, "<Q"), "p_align": (48, "<Q"),
}  # fmt: skip
# Elf64_Verneed / Elf64_Vernaux field -> (offset, format)
VERNEED_FIELDS = {"vn_version": (0, "<H"), "vn_cnt": (2, "<H"), "vn_file": (4, "<I"), "vn_aux": (8, "<I"),
                  "vn_next": (12, "<I")}  # fmt: skip
VERNAUX_FIELDS = {"vna_hash": (0, "<I"), "vna_flags": (4, "<H"), "vna_other": (6, "<H"), "vna_name": (8, "<I"),
                  "vna_next": (12, "<I")}  # fmt: skip


def phdr_get(data: bytes, index: int, name: str) -> int:
    at, fmt = PHDR_FIELDS[name]
    value: int = struct.unpack_from(fmt, data, binaries.program_headers(data)[index].at + at)[0]
    return value


def phdr_put(data: bytes, index: int, name: str, value: int) -> bytes:
    at, fmt = PHDR_FIELDS[name]
    out = bytearray(data)
    struct.pack_into(fmt, out, binaries.program_headers(data)[index].at + at, value & 0xFFFFFFFFFFFFFFFF)
    return bytes(out)


def index_of(data: bytes, p_type: int, nth: int = 0) -> int:
    return [h.index for h in binaries.program_headers(data) if h.p_type == p_type][nth]


def swap_phdrs(data: bytes, first: int, second: int) -> bytes:
    headers = binaries.program_headers(data)
    a, b = headers[first].at, headers[second].at
    out = bytearray(data)
    out[a : a + PHDR_SIZE], out[b : b + PHDR_SIZE] = data[b : b + PHDR_SIZE], data[a : a + PHDR_SIZE]
    return bytes(out)


def offset_of(data: bytes, vaddr: int) -> int:
    """File offset of `vaddr` through the PT_LOADs (ValueError when unmapped)."""
    for header in binaries.program_headers(data):
        if header.p_type == PT_LOAD and 0 <= vaddr - header.p_vaddr < header.p_filesz:
            return header.p_offset + vaddr - header.p_vaddr
    raise ValueError(f"{vaddr:#x} is not mapped")


def mapped_zeros(data: bytes, length: int) -> tuple[int, int]:
    """(file offset, vaddr) of `length` 8-aligned zero bytes inside a PT_LOAD's file bytes."""
    for header in binaries.program_headers(data):
        if header.p_type != PT_LOAD:
            continue
        start = header.p_offset
        while (at := data.find(bytes(length), start, header.p_offset + header.p_filesz)) >= 0:
            if at % 8 == 0:
                return at, header.p_vaddr + at - header.p_offset
            start = at + 1
    raise ValueError(f"no {length} mapped zero bytes")


def dynamic_value(data: bytes, tag: int) -> int:
    return next(value for _at, d_tag, value in binaries.dynamic_entries(data) if d_tag == tag)


def with_dynamic_tag(data: bytes, old_tag: int, new_tag: int, value: int | None = None) -> bytes:
    """The first entry tagged `old_tag` retagged `new_tag` (and given `value`)."""
    at = next(at for at, d_tag, _ in binaries.dynamic_entries(data) if d_tag == old_tag)
    out = bytearray(data)
    struct.pack_into("<q", out, at, new_tag)
    if value is not None:
        struct.pack_into("<Q", out, at + 8, value)
    return bytes(out)


def verneed_offsets(data: bytes) -> tuple[int, int]:
    """File offsets of the first Elf64_Verneed and of its first Elf64_Vernaux."""
    entry = offset_of(data, dynamic_value(data, DT_VERNEED))
    aux = entry + struct.unpack_from("<I", data, entry + 8)[0]
    return entry, aux


def put_field(data: bytes, at: int, fields: dict[str, tuple[int, str]], name: str, value: int) -> bytes:
    offset, fmt = fields[name]
    out = bytearray(data)
    struct.pack_into(fmt, out, at + offset, value & (0xFFFF if fmt == "<H" else 0xFFFFFFFF))
    return bytes(out)


def with_extra_load(data: bytes, payload: bytes, vaddr: int = 0x10000000) -> bytes:
    """`payload` appended page-aligned and mapped at `vaddr` by turning the last PT_NOTE into a PT_LOAD."""
    note = index_of(data, PT_NOTE, -1)
    start = (len(data) + 0xFFF) & ~0xFFF
    out = data + bytes(start - len(data)) + payload
    for name, value in (("p_type", PT_LOAD), ("p_flags", 4), ("p_offset", start), ("p_vaddr", vaddr),
                        ("p_paddr", vaddr), ("p_filesz", len(payload)), ("p_memsz", len(payload)),
                        ("p_align", 0x1000)):  # fmt: skip
        out = phdr_put(out, note, name, value)
    return out


@dataclass
class LoaderVerdict:
    """What `ld.so --list` says about a file: whether it mapped it, the libraries
    it lists (not found ones included) and the (library, version) pairs it misses."""

    ran: bool
    output: str
    libraries: set[str] = field(default_factory=set)
    missing_libraries: set[str] = field(default_factory=set)
    missing_versions: set[tuple[str, str]] = field(default_factory=set)


_LISTED = re.compile(r"^\t([^\s/]\S*) => (not found|\S+)", re.MULTILINE)  # not the interpreter line
_MISSING_VERSION = re.compile(r": (\S+): version `([^']+)' not found")
_CANNOT_OPEN = re.compile(r"error while loading shared libraries: (\S+): cannot open")


def loader_list(path: Path, loader: Path = HOST_LOADER, library_path: Path | None = None) -> LoaderVerdict:
    """Run `loader --list path` with LD_WARN=yes (as ldd does), so that missing
    versions are reported too. The program itself is never run."""
    argv = [str(loader), *(["--library-path", str(library_path)] if library_path else []), "--list", str(path)]
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=30, check=False, env={"LD_WARN": "yes", "LC_ALL": "C"}
    )
    verdict = LoaderVerdict(ran=result.returncode == 0, output=result.stdout + result.stderr)
    for name, where in _LISTED.findall(result.stdout):
        verdict.libraries.add(name)
        if where == "not found":
            verdict.missing_libraries.add(name)
    for library, version in _MISSING_VERSION.findall(result.stderr):
        verdict.missing_versions.add((Path(library).name, version))
    verdict.missing_libraries.update(_CANNOT_OPEN.findall(result.stderr))
    return verdict
