"""Go build info without the linker's header: the runtime's own two strings.

Every Go program keeps two string variables of package runtime: `buildVersion`
(the Go version, set by the linker) and `modinfo` (the module text cmd/go
hands the linker, framed by cmd/go's 16-byte sentinels). Each is a Go string
header {data pointer, length} in the writable data, pointing at its bytes in
the read-only data. The linker's `\\xff Go buildinf:` header is only a copy of
the two, made for `go version`; a release pipeline can remove it (esbuild's
published binaries have no `.go.buildinfo` section), while the runtime's
variables stay, since the runtime reads them.

This reader finds each string's bytes (the sentinels; a `go1.N` version text)
and accepts them only where a string header in the writable data points at
exactly those bytes: a copy of some other program's module text (an embedded
file) has no such header. A PIE's pointers are dynamic relocations, often zero
in the file, so there the headers may not be found: the caller then reports
the layout as unknown.
"""

from __future__ import annotations

import re
import struct

from linkgate.elf.image import ElfFormatError, Image, Segment
from linkgate.elf.layouts import PF_W, PT_LOAD

# cmd/go's modload.infoStart and infoEnd, around the module text.
INFO_START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
INFO_END = bytes.fromhex("f932433186182072008242104116d8f2")
# Real module text is far smaller; a hostile file may put the end sentinel anywhere.
MAX_MODINFO = 1 << 22
# runtime.buildVersion: "go1.26.5", "go1.22rc1", "devel go1.27-abc123 Tue ...", with " X:exp" suffixes.
_VERSION_START = re.compile(rb"(?:devel )?go1\.\d")
_VERSION_TEXT = re.compile(r"(?:devel )?go1\.\d+[ -~]*")
_MAX_VERSION = 256
# Version-like texts tried before giving up (a program's own strings may mention Go versions).
_MAX_CANDIDATES = 512


class UnknownLayoutError(ElfFormatError):
    """No runtime string header was found: the reason, for `inspect` to show."""


def runtime_strings(image: Image, segments: tuple[Segment, ...]) -> tuple[str, bytes]:
    """(Go version, framed module info or b"") from the runtime's string variables."""
    readonly = [s for s in segments if s.p_type == PT_LOAD and not s.p_flags & PF_W and s.p_filesz]
    writable = [s for s in segments if s.p_type == PT_LOAD and s.p_flags & PF_W and s.p_filesz]
    if not writable:
        raise UnknownLayoutError("no writable data to hold runtime.buildVersion")
    version = _version(image, readonly, writable)
    if version is None:
        raise UnknownLayoutError("no Go string header in the writable data points at a Go version text")
    return version, _modinfo(image, readonly, writable)


def _version(image: Image, readonly: list[Segment], writable: list[Segment]) -> str | None:
    tried = 0
    for segment in readonly:
        start, end = _span(image, segment)
        for position in image.matches(_VERSION_START, start, end - start):
            length = _referenced_length(image, writable, _vaddr(segment, position))
            text = _ascii(image.read(position, length)) if 0 < length <= min(_MAX_VERSION, end - position) else ""
            if _VERSION_TEXT.fullmatch(text):
                return text
            tried += 1
            if tried >= _MAX_CANDIDATES:
                return None
    return None


def _modinfo(image: Image, readonly: list[Segment], writable: list[Segment]) -> bytes:
    """The framed module text a runtime.modinfo header points at; b"" (a build without modules)."""
    for segment in readonly:
        start, end = _span(image, segment)
        position = image.data.find(INFO_START, start, end)
        while position >= 0:
            stop = image.data.find(INFO_END, position + len(INFO_START), min(end, position + MAX_MODINFO))
            if stop < 0:
                break
            length = stop + len(INFO_END) - position
            if _referenced_length(image, writable, _vaddr(segment, position), length) == length:
                return image.read(position, length)
            position = image.data.find(INFO_START, position + 1, end)
    return b""


def _referenced_length(image: Image, writable: list[Segment], address: int, length: int | None = None) -> int:
    """The length of the first pointer-aligned Go string header {address, length} in the writable
    data (any length when `length` is None); 0 when there is none."""
    word = "Q" if image.is64 else "I"
    if not 0 <= address < 1 << (8 * image.word_size):
        return 0
    pointer = struct.pack(image.endian + word, address)
    needle = pointer if length is None else pointer + struct.pack(image.endian + word, length)
    for segment in writable:
        start, end = _span(image, segment)
        position = image.data.find(needle, start, end)
        while position >= 0:
            if _vaddr(segment, position) % image.word_size == 0 and position + 2 * image.word_size <= end:
                (found,) = struct.unpack(image.endian + word, image.read(position + image.word_size, image.word_size))
                return int(found)
            position = image.data.find(needle, position + 1, end)
    return 0


def _span(image: Image, segment: Segment) -> tuple[int, int]:
    """The segment's bytes in the file, clamped to it (offsets come from a hostile header)."""
    start = min(max(segment.p_offset, 0), image.size)
    return start, min(start + segment.p_filesz, image.size)


def _vaddr(segment: Segment, position: int) -> int:
    return int(segment.p_vaddr + position - segment.p_offset)


def _ascii(raw: bytes) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return ""
