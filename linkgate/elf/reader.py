"""The loader's-view reader: program headers, PT_INTERP, PT_DYNAMIC and what its
tags point at. Section headers are never consulted, so stripping them changes
nothing here (docs/elf-reader.md)."""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable
from functools import partial

from linkgate.core.records import replace
from linkgate.elf import android, floors, gobuild, upx
from linkgate.elf import dynamic as dt
from linkgate.elf.classify import Shape, classify, libc_family, machine_name
from linkgate.elf.comment import read_comment
from linkgate.elf.facts import ElfFacts
from linkgate.elf.image import AddressMap, Buffer, ElfFormatError, Header, Image, NothingMappedError, Segment
from linkgate.elf.layouts import (
    DT_FLAGS,
    DT_FLAGS_1,
    DT_RPATH,
    DT_RUNPATH,
    DT_SONAME,
    ELF_MAGIC,
    ET_DYN,
    ET_EXEC,
    PF_X,
    PT_DYNAMIC,
    PT_GNU_STACK,
    PT_INTERP,
    PT_LOAD,
)
from linkgate.elf.versions import SymbolSelection, VersionReader

_MIN_INTERP, _PATH_MAX = 2, 4096

__all__ = [
    "ElfFormatError",
    "GoReader",
    "SymbolSelection",
    "is_elf_file",
    "parse_elf",
    "parse_elf_deferring_go",
    "read_elf",
]

# Adds the Go build info and `.comment` left unread by parse_elf_deferring_go to facts of that file (those, or
# ones derived from them), while its bytes are still readable.
GoReader = Callable[[ElfFacts], ElfFacts]


def is_elf_file(path: str | os.PathLike[str]) -> bool:
    """True when the file starts with the ELF magic (cheap pre-filter for discovery)."""
    with open(path, "rb") as handle:
        return handle.read(4) == ELF_MAGIC


def read_elf(path: str | os.PathLike[str], want_symbols: SymbolSelection = None) -> ElfFacts:
    """Facts of the ELF file at `path`, opened read-only and mapped, never modified."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            raise ElfFormatError("empty file")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return parse_elf(data, want_symbols)


def parse_elf(data: Buffer, want_symbols: SymbolSelection = None) -> ElfFacts:
    """Facts from an in-memory ELF image (a mapped file, or bytes from an archive).

    A UPX-packed file also gets `upx`, and `payload`: the facts of the program
    the stub unpacks, read through the same loader's-view logic.
    """
    return _parse(Image(data), want_symbols, defer_go=False)[0]


def parse_elf_deferring_go(data: Buffer, want_symbols: SymbolSelection = None) -> tuple[ElfFacts, GoReader | None]:
    """parse_elf without the file's Go build info (`go` None), and the GoReader that adds it.

    Go build info explains findings (hints name a program's modules) or relaxes them (a Go
    program without cgo has no C code to harden); it never makes one. So `check` reads it only
    for a file some rule finds something in: looking for it is ~8% of a passing tree's reading.
    A UPX-packed file is read whole (GoReader None): a packed library's payload is its own facts.
    """
    return _parse(Image(data), want_symbols, defer_go=True)


def _parse(image: Image, want_symbols: SymbolSelection, defer_go: bool) -> tuple[ElfFacts, GoReader | None]:
    facts, read_go = _loader_facts(image, want_symbols, defer_go)
    seen = upx.see_through(image, facts, lambda payload: _loader_facts(Image(payload), want_symbols, False)[0])
    if seen is None:
        return facts, read_go
    payload = seen.payload
    if read_go is not None:
        own = read_go(facts)
        payload = own if payload is facts else payload
        facts = own
    return replace(facts, upx=seen.upx, payload=payload), None


def _with_build_info(image: Image, segments: tuple[Segment, ...], addresses: AddressMap, facts: ElfFacts) -> ElfFacts:
    """`facts` with how the file was built: its Go build info and its `.comment` (the compilers)."""
    go, comment = gobuild.read_build_info(image, segments, addresses), read_comment(image)
    # Nothing found (most C files: no Go, .comment stripped): the same facts, so nothing is judged twice.
    return facts if go is None and not comment else replace(facts, go=go, comment=comment)


def _loader_facts(image: Image, want_symbols: SymbolSelection, defer_go: bool) -> tuple[ElfFacts, GoReader | None]:
    """The facts of `image` as the loader sees it; with defer_go, without its Go build info and
    with the GoReader that adds it, the headers already parsed."""
    header = image.header()
    segments = image.segments(header)
    _require_loadable_segment(header, segments)
    addresses = AddressMap(segments)
    interpreter = _interpreter(image, segments)
    has_dynamic = _first(segments, PT_DYNAMIC) is not None
    table = dt.read_dynamic(image, segments, addresses)
    needed = tuple(dt.dynamic_string(table, off) for off in table.needed_offsets)
    soname_offset = table.get(DT_SONAME)
    soname = None if soname_offset is None else dt.dynamic_string(table, soname_offset)
    flags_1 = table.get(DT_FLAGS_1) or 0
    shape = Shape(
        header.e_type, interpreter is not None, has_dynamic, bool(needed),
        soname is not None, flags_1,
    )  # fmt: skip
    kind, linkage = classify(shape)
    versions = VersionReader(image, table, addresses)
    isa, kernel_floor, load_alignment, go_note = floors.read_floors(image, segments, header.e_machine)
    needs = versions.needs(want_symbols)
    libc = android.settle_libc(libc_family(interpreter, needed), needed, needs, image, segments)
    facts = ElfFacts(
        elf_class=32 if header.elf_class == 1 else 64,
        byte_order=header.byte_order,
        machine=machine_name(header.e_machine, header.elf_class, header.byte_order),
        kind=kind,
        linkage=linkage,
        interpreter=interpreter,
        needed=needed,
        soname=soname,
        rpath=dt.search_path(table, DT_RPATH),
        runpath=dt.search_path(table, DT_RUNPATH),
        flags=table.get(DT_FLAGS) or 0,
        flags_1=flags_1,
        version_needs=needs,
        version_defs=versions.definitions(),
        libc=libc,
        executable_stack=_executable_stack(segments),
        has_section_headers=header.e_shoff != 0 and header.e_shnum != 0,
        os_abi=header.os_abi,
        abi_version=header.abi_version,
        go=None if defer_go else gobuild.read_build_info(image, segments, addresses),
        comment=None if defer_go else read_comment(image),
        isa=isa,
        kernel_floor=kernel_floor,
        load_alignment=load_alignment,
        go_note=go_note,
    )
    return facts, partial(_with_build_info, image, segments, addresses) if defer_go else None


def _require_loadable_segment(header: Header, segments: tuple[Segment, ...]) -> None:
    """A program or library with no PT_LOAD maps nothing: the kernel has no code at e_entry
    (execve fails or the process faults at once), and glibc's loader refuses such a library
    ("object file has no loadable segments"). Relocatable files and cores are not loaded."""
    if header.e_type in (ET_EXEC, ET_DYN) and _first(segments, PT_LOAD) is None:
        raise NothingMappedError("no PT_LOAD segment: nothing is mapped, the file cannot run or be loaded")


def _first(segments: tuple[Segment, ...], p_type: int) -> Segment | None:
    return next((s for s in segments if s.p_type == p_type), None)


def _interpreter(image: Image, segments: tuple[Segment, ...]) -> str | None:
    segment = _first(segments, PT_INTERP)
    if segment is None:
        return None
    # The kernel reads PT_INTERP from the file (p_offset/p_filesz, the first one) and
    # refuses to exec when it is shorter than 2, longer than PATH_MAX or not NUL-ended.
    if not _MIN_INTERP <= segment.p_filesz <= _PATH_MAX:
        raise ElfFormatError(f"PT_INTERP of {segment.p_filesz} bytes: the kernel refuses to run the file")
    raw = image.read(segment.p_offset, segment.p_filesz)
    if raw[-1:] != b"\x00":
        raise ElfFormatError("PT_INTERP does not end with a NUL byte: the kernel refuses to run the file")
    return raw.split(b"\x00", 1)[0].decode("utf-8", "replace")


def _executable_stack(segments: tuple[Segment, ...]) -> bool:
    """No PT_GNU_STACK, or one with PF_X, gives the process an executable stack."""
    stack = _first(segments, PT_GNU_STACK)
    return stack is None or bool(stack.p_flags & PF_X)
