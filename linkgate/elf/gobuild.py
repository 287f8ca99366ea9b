"""Go build info, read as Go's own debug/buildinfo reads it, through the loader's view.

The Go linker writes a 32-byte header, `\\xff Go buildinf:` + pointer size +
flags, 16-byte aligned near the start of the writable data. Go >= 1.18 sets
flag bit 2 and follows the header with two uvarint-prefixed strings (the Go
version and the module info); older linkers store two pointers to Go string
headers {data, len} instead, in the byte order flag bit 1 names.

Go's reader finds the header through the `.go.buildinfo` section when there is
one. Sections can be stripped, so this reader searches the writable PT_LOAD
segments, as Go does for files without that section: the first 64 KiB, or all
of them when something marks the file as linked by Go (a Go build-ID note, or
a section named by Go's linker: external linkers put the header after the C
data, past 64 KiB in large cgo programs).

A file linked by Go without a header that decodes (a release pipeline removed
it, as esbuild's does) is read from the runtime's own strings (goruntime);
when those are not found either, the build info says its layout is unknown
and why, so `inspect` never reports such a file as "not Go".

Which packages call C is not in the build info; the function names the Go
runtime keeps in every binary (stripped or not) say it: cgo generates a
`pkg._Cfunc_name` (or `pkg._C2func_name`) function per C function used.
That scan reads the whole read-only data, so callers do it only when needed.
"""

from __future__ import annotations

import mmap
import os
import re
import struct
import sys

from linkgate.core.records import replace
from linkgate.elf import upx
from linkgate.elf.facts import ElfFacts, GoBuildInfo, GoModule
from linkgate.elf.image import AddressMap, ElfFormatError, Image, Segment
from linkgate.elf.layouts import EM_X86_64, NHDR, NT_GO_BUILDID, PF_W, PF_X, PT_LOAD, PT_NOTE, SHDR

MAGIC = b"\xff Go buildinf:"
HEADER_SIZE = 32
ALIGN = 16
FLAG_BIG_ENDIAN, FLAG_INLINE = 1, 2
# Go's reader looks this far into the data when there is no .go.buildinfo section.
WINDOW = 64 * 1024
# Hostile files can declare absurd string lengths; real module info is far smaller.
MAX_STRING = 1 << 22
# cmd/go frames the module info with 16-byte sentinels (modload.infoStart/infoEnd).
_FRAME = 16
_CGO_MARK = re.compile(rb"\._C2?func_")
_MAX_SYMBOL = 512
_IMPORT_PATH = re.compile(r"^[A-Za-z0-9_.~+%-]+(/[A-Za-z0-9_.~+%-]+)*$")


class GoBuildInfoError(ElfFormatError):
    """A build info record is damaged where Go's own reader would reject it."""


def read_build_info(image: Image, segments: tuple[Segment, ...], addresses: AddressMap) -> GoBuildInfo | None:
    """The build info of a Go binary; None for a file nothing marks as linked by Go.

    The linker's header first (both formats); when a file linked by Go has no
    header that decodes, the runtime's own strings (goruntime); when neither is
    found, a GoBuildInfo whose layout is "unknown", saying why: never a silent
    "not Go". Informational (it names modules in hints), so nothing here makes
    the file unreadable.
    """
    try:
        return _read(image, segments, addresses)
    except (ElfFormatError, struct.error):
        return None


def _read(image: Image, segments: tuple[Segment, ...], addresses: AddressMap) -> GoBuildInfo | None:
    spans = [(s, min(s.p_offset + s.p_filesz, image.size)) for s in _writable(segments)]
    offset = _search(image, spans, WINDOW)
    evidence = None if offset is not None else _go_evidence(image, segments)
    if offset is None and evidence is not None:
        offset = _search(image, spans, None)
    if offset is None and evidence is None:
        return None
    problem = "no `\\xff Go buildinf:` header"
    if offset is not None:
        decoded = _decoded_header(image, addresses, offset)
        if isinstance(decoded, GoBuildInfo):
            return _with_goamd64(decoded, image)
        problem = decoded
    return _from_runtime(image, segments, problem, evidence or "its header")


def _decoded_header(image: Image, addresses: AddressMap, offset: int) -> GoBuildInfo | str:
    """The build info the header at `offset` holds, or why it does not decode (Go: "not a Go executable")."""
    try:
        raw = _raw_strings(image, addresses, offset)
    except (ElfFormatError, struct.error) as error:
        return f"a damaged build info header at {offset:#x}: {error}"
    if raw is None or not raw[0]:
        return f"a build info header at {offset:#x} without a Go version"
    version, modinfo, layout = raw
    return replace(parse_build_info(version, _unframe(modinfo)), layout=layout)


def _from_runtime(image: Image, segments: tuple[Segment, ...], problem: str, evidence: str) -> GoBuildInfo:
    """The runtime's own strings (`problem` says why the header was not used); an "unknown" layout
    naming what was missing, and what marks the file as Go's, when they are not found either."""
    from linkgate.elf import goruntime  # noqa: PLC0415 - lazy: start-up

    try:
        version, modinfo = goruntime.runtime_strings(image, segments)
    except goruntime.UnknownLayoutError as error:
        return GoBuildInfo("", layout="unknown", problem=f"{problem}, and {error}; linked by Go: {evidence}")
    found = replace(parse_build_info(version, _unframe(modinfo)), layout="runtime", problem=problem)
    return _with_goamd64(found, image)


def _with_goamd64(go: GoBuildInfo, image: Image) -> GoBuildInfo:
    """GOAMD64 as recorded; "v1" for x86-64 Go before 1.18, which compiled for nothing else."""
    level = go.setting("GOAMD64")
    if level is None and image.header().e_machine == EM_X86_64 and _before_go118(go.version):
        level = "v1"
    return replace(go, goamd64=level) if level is not None else go


_GO_RELEASE = re.compile(r"go1\.(\d+)")


def _before_go118(version: str) -> bool:
    match = _GO_RELEASE.match(version)
    return match is not None and int(match.group(1)) < 18


def _writable(segments: tuple[Segment, ...]) -> list[Segment]:
    return [s for s in segments if s.p_type == PT_LOAD and s.p_flags & (PF_W | PF_X) == PF_W]


def _go_evidence(image: Image, segments: tuple[Segment, ...]) -> str | None:
    """What marks the file as linked by Go, or None: a Go build-ID note, or a section Go's linker names.

    External linkers place `.go.buildinfo` after the C data, and builds with an
    empty -buildid have no note; a release can remove the header's section
    (`.gopclntab` and, since Go 1.26, `.go.module` stay).
    """
    if _has_go_note(image, segments):
        return "Go build-ID note"
    section = _go_section(image)
    return None if section is None else f"section {section}"


def _search(image: Image, spans: list[tuple[Segment, int]], window: int | None) -> int | None:
    for segment, end in spans:
        limit = end if window is None else min(end, segment.p_offset + window)
        found = _aligned_magic(image, segment, limit)
        if found is not None and found + HEADER_SIZE <= end:
            return found
    return None


def _aligned_magic(image: Image, segment: Segment, limit: int) -> int | None:
    position = _find(image, MAGIC, segment.p_offset, limit)
    while position >= 0:
        if (segment.p_vaddr + position - segment.p_offset) % ALIGN == 0:
            return position
        position = _find(image, MAGIC, position + 1, limit)
    return None


def _find(image: Image, needle: bytes, start: int, end: int) -> int:
    """image.data.find with both bounds clamped to the file.

    Offsets come from hostile headers: bytes.find clamps any int, but
    mmap.find raises OverflowError past 2**63, so clamp before asking.
    """
    return image.data.find(needle, min(max(start, 0), image.size), min(max(end, 0), image.size))


def _has_go_note(image: Image, segments: tuple[Segment, ...]) -> bool:
    """A note with owner "Go" and the build-ID type: the file was linked by cmd/link."""
    for segment in segments:
        if segment.p_type != PT_NOTE:
            continue
        start, end = segment.p_offset, min(segment.p_offset + segment.p_filesz, image.size)
        # Elf_Nhdr is namesz, descsz, type; the name "Go\0\0" follows it.
        position = _find(image, b"Go\x00\x00", start + 12, end)
        while position >= 0:
            namesz, _descsz, note_type = NHDR.read(image, position - NHDR.size(image))
            if namesz in (3, 4) and note_type == NT_GO_BUILDID:
                return True
            position = _find(image, b"Go\x00\x00", position + 1, end)
    return False


_GO_SECTIONS = (".go.buildinfo", ".gopclntab", ".go.module")


def _go_section(image: Image) -> str | None:
    """The first section the section-name table (if the file keeps one) names from Go's linker."""
    header = image.header()
    if header.e_shoff == 0 or not 0 < header.e_shstrndx < header.e_shnum:
        return None
    try:
        names = SHDR.read(image, header.e_shoff + header.e_shstrndx * header.e_shentsize)
    except ElfFormatError:
        return None
    start, end = names.sh_offset, names.sh_offset + names.sh_size
    return next((n for n in _GO_SECTIONS if _find(image, n.encode() + b"\x00", start, end) >= 0), None)


def _raw_strings(image: Image, addresses: AddressMap, offset: int) -> tuple[str, bytes, str] | None:
    """(Go version, framed module info, layout) from the header at `offset`."""
    header = image.read(offset, HEADER_SIZE)
    pointer_size, flags = header[14], header[15]
    if flags & FLAG_INLINE:
        position = offset + HEADER_SIZE
        version, position = _varint_string(image, position)
        modinfo, _ = _varint_string(image, position)
        return version.decode("utf-8", "replace"), modinfo, "inline"
    if pointer_size not in (4, 8):
        return None
    endian = ">" if flags & FLAG_BIG_ENDIAN else "<"
    word = "Q" if pointer_size == 8 else "I"
    version_at, modinfo_at = struct.unpack_from(f"{endian}{word}{word}", header, 16)
    version = _go_string(image, addresses, version_at, endian + word * 2)
    modinfo = _go_string(image, addresses, modinfo_at, endian + word * 2)
    return version.decode("utf-8", "replace"), modinfo, "pointers"


def _varint_string(image: Image, position: int) -> tuple[bytes, int]:
    """A uvarint length and that many bytes (encoding/binary.Uvarint)."""
    length, shift = 0, 0
    for index in range(10):
        byte = image.read(position + index, 1)[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            position += index + 1
            break
    else:
        raise ElfFormatError("Go build info: overlong varint")
    if length > MAX_STRING:
        raise ElfFormatError("Go build info: string too long")
    return image.read(position, length), position + length


def _go_string(image: Image, addresses: AddressMap, address: int, header_format: str) -> bytes:
    """The bytes of the Go string header {data, len} at virtual address `address`.

    A pointer outside the loaded segments raises ElfFormatError: the caller
    then reports no build info, where Go's reader reports "not a Go executable".
    """
    size = struct.calcsize(header_format)
    data_at, length = struct.unpack(header_format, image.read(addresses.offset(address, size), size))
    if length == 0 or length > MAX_STRING:
        return b""
    return image.read(addresses.offset(data_at, length), length)


def _unframe(modinfo: bytes) -> str:
    """The module info between cmd/go's sentinels; "" when it is not framed (no modules)."""
    if len(modinfo) >= 2 * _FRAME + 1 and modinfo[-_FRAME - 1 : -_FRAME] == b"\n":
        return modinfo[_FRAME:-_FRAME].decode("utf-8", "replace")
    return ""


# --- the module info text (runtime/debug.ParseBuildInfo) ---------------------------------------


def parse_build_info(version: str, modinfo: str) -> GoBuildInfo:
    """GoBuildInfo from the Go version and the unframed module info text.

    Go's parser rejects the whole text on one bad line; this one skips such a
    line, because a partly damaged record still says how the binary was built.
    Never raises: every line is split and unquoted defensively.
    """
    path = ""
    main: GoModule | None = None
    deps: list[GoModule] = []
    settings: list[tuple[str, str]] = []
    for line in modinfo.split("\n"):
        word, _, rest = line.partition("\t")
        if word == "path":
            path = rest
        elif word in ("mod", "dep"):
            module = _module(rest)
            if module is not None and word == "mod":
                main = module
            elif module is not None:
                deps.append(module)
        elif word == "=>":
            main, deps = _with_replacement(main, deps, rest)
        elif word == "build":
            setting = _setting(rest)
            if setting is not None:
                settings.append(setting)
    return GoBuildInfo(version, path, main, tuple(deps), tuple(settings))


def _module(columns: str) -> GoModule | None:
    parts = columns.split("\t")
    if len(parts) not in (2, 3):
        return None
    return GoModule(parts[0], parts[1], parts[2] if len(parts) == 3 else "")


def _with_replacement(
    main: GoModule | None, deps: list[GoModule], columns: str
) -> tuple[GoModule | None, list[GoModule]]:
    """A `=>` line replaces the module on the line before it (the last dep, else main)."""
    replacement = _module(columns)
    if replacement is None:
        return main, deps
    if deps:
        return main, [*deps[:-1], replace(deps[-1], replace=replacement)]
    if main is not None:
        return replace(main, replace=replacement), deps
    return main, deps


_QUOTED = re.compile(r'^(?:"(?:[^"\\]|\\.)*"|`[^`]*`)')


def _setting(text: str) -> tuple[str, str] | None:
    """`key=value`, where key and value may be Go-quoted (strconv.Quote); None for a bad line."""
    try:
        return _quoted_setting(text)
    except GoBuildInfoError:
        return None


def _quoted_setting(text: str) -> tuple[str, str] | None:
    quoted = _QUOTED.match(text)
    if quoted is not None:
        key, rest = go_unquote(quoted.group()), text[quoted.end() :]
        if not rest.startswith("="):
            return None
        raw = rest[1:]
    else:
        key, equals, raw = text.partition("=")
        if not equals or not key:
            return None
    return key, go_unquote(raw) if raw[:1] in ('"', "`") else raw


_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{2})|([0-7]{3})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.))", re.S)
_SIMPLE = {"a": b"\a", "b": b"\b", "f": b"\f", "n": b"\n", "r": b"\r", "t": b"\t", "v": b"\v"}


def go_unquote(text: str) -> str:
    """A Go string literal's value: `raw` or "interpreted" (\\x and octal escapes are bytes).

    GoBuildInfoError for an escape strconv.Unquote rejects: \\u or \\U naming
    no Unicode scalar value (a surrogate, or beyond U+10FFFF), octal above 0o377.
    """
    if len(text) >= 2 and text[0] == text[-1] == "`":
        return text[1:-1]
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return text
    out = bytearray()
    body, position = text[1:-1], 0
    for match in _ESCAPE.finditer(body):
        out += body[position : match.start()].encode()
        out += _escaped(match)
        position = match.end()
    out += body[position:].encode()
    return out.decode("utf-8", "replace")


_SURROGATES = range(0xD800, 0xE000)


def _escaped(match: re.Match[str]) -> bytes:
    hex_byte, octal, short, long, single = match.groups()
    if hex_byte:
        return bytes([int(hex_byte, 16)])
    if octal:
        value = int(octal, 8)
        if value > 0xFF:
            raise GoBuildInfoError(f"Go build info: octal escape \\{octal} is not a byte")
        return bytes([value])
    if short or long:
        code = int(short or long, 16)
        if code > sys.maxunicode or code in _SURROGATES:
            raise GoBuildInfoError(f"Go build info: escape names no character ({code:#x})")
        return chr(code).encode()
    return _SIMPLE.get(single, single.encode("utf-8", "replace"))


# --- which packages call C ------------------------------------------------------------------------


def cgo_packages(image: Image, segments: tuple[Segment, ...]) -> tuple[str, ...]:
    """Import paths of the packages with cgo calls, sorted, from the read-only segments."""
    found: set[str] = set()
    for segment in segments:
        if segment.p_type != PT_LOAD or segment.p_flags & PF_W:
            continue
        # One regex pass over the segment where it lies (a Go program's text is megabytes):
        # ~2x faster than a find() loop per mark.
        start = segment.p_offset
        for mark in image.matches(_CGO_MARK, start, min(segment.p_filesz, image.size - start)):
            before = max(start, mark - _MAX_SYMBOL)
            package = _package_before(image.read(before, mark - before))
            if package is not None:
                found.add(package)
    return tuple(sorted(found))


# Symbol-name bytes (printable, no space) map to themselves, every other byte to NUL.
_SYMBOL_BYTES = bytes(byte if 0x21 <= byte <= 0x7E else 0 for byte in range(256))
_PERCENT = re.compile(r"%([0-9a-fA-F]{2})")


def _package_before(text: bytes) -> str | None:
    """The package path that prefixes the symbol name at the end of `text`."""
    # The run of symbol bytes `text` ends with, found in C: a regex anchored at the end
    # tries every start position, which a 512-byte window per mark makes slow.
    tail = text[text.translate(_SYMBOL_BYTES).rfind(b"\x00") + 1 :]
    if not tail:
        return None
    # The linker escapes "." in the last path element (and odd bytes) as %xx.
    package = _PERCENT.sub(lambda m: chr(int(m.group(1), 16)), tail.decode("ascii"))
    return package if _IMPORT_PATH.match(package) else None


def with_cgo_packages(path: str | os.PathLike[str], facts: ElfFacts) -> ElfFacts:
    """`facts` with the Go packages that call C filled in, for a Go program or a UPX-packed one.

    Returns `facts` itself when there is nothing to look up. Informational, so
    a file that cannot be read again just leaves the facts as they were.
    """
    judged = facts.payload if facts.payload is not None else facts
    go = judged.go
    if go is None or go.cgo_packages is not None:
        return facts
    packages: tuple[str, ...] | None = ()
    if go.cgo_enabled is not False:
        packages = _scan_file(path, packed=judged is not facts)
    if packages is None:
        return facts
    seen = replace(judged, go=replace(go, cgo_packages=packages))
    return seen if judged is facts else replace(facts, payload=seen)


def _scan_file(path: str | os.PathLike[str], packed: bool) -> tuple[str, ...] | None:
    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            image = Image(data)
            if packed:
                payload = upx.open_payload(data)
                if payload is None:
                    return None
                image = Image(payload)
            return cgo_packages(image, image.segments(image.header()))
    except (OSError, ValueError, ElfFormatError):
        return None
