"""The machine floors of one file, read where the loader and the kernel read them
(docs/machine-floors.md): the CPU ISA level of the GNU property note, the kernel
floor of the NT_GNU_ABI_TAG note, and the page sizes the PT_LOAD alignments allow.

The Go release's own floors (GOAMD64, the runtime's minimum kernel) come from the
build info: `effective_isa` and `effective_kernel_floor` combine both.
"""

from __future__ import annotations

import functools
import os
import struct
from collections.abc import Iterator

from linkgate.core.records import replace
from linkgate.elf import gobuild, upx
from linkgate.elf.facts import ISA_LEVELS, ElfFacts, Isa, KernelFloor, LoadAlignment
from linkgate.elf.image import AddressMap, ElfFormatError, Image, Segment
from linkgate.elf.layouts import EM_386, EM_X86_64, NT_GO_BUILDID, PT_INTERP, PT_LOAD
from linkgate.elf.notes import PT_GNU_PROPERTY, PT_NOTE, Note, note_entries, properties_in, property_carriers

EM_AARCH64 = 183
# binutils include/elf/common.h: GNU_PROPERTY_X86_UINT32_OR_LO + 2, GNU_PROPERTY_X86_UINT32_OR_AND_LO + 2.
X86_ISA_1_NEEDED, X86_ISA_1_USED = 0xC0008002, 0xC0010002
X86_FEATURE_1_AND, AARCH64_FEATURE_1_AND = 0xC0000002, 0xC0000000
_X86_FEATURES = ("ibt", "shstk")
_AARCH64_FEATURES = ("bti", "pac", "gcs")
NT_GNU_ABI_TAG, ABI_TAG_LINUX = 1, 0
# glibc <= 2.35's start-up check (sysdeps/unix/sysv/linux/dl-osinfo.h); 2.36 removed it.
KERNEL_TOO_OLD = b"FATAL: kernel too old"
# Go's minimum Linux kernel by release (the Go wiki's "Go on Linux" table): the last release of each floor.
GO_KERNEL_FLOORS: tuple[tuple[tuple[int, int], tuple[int, ...]], ...] = (
    ((1, 18), (2, 6, 23)),
    ((1, 23), (2, 6, 32)),
)
GO_KERNEL_FLOOR = (3, 2)
# Architectures the Go table sets higher (loong64 since its first release).
GO_ARCH_KERNEL_FLOORS = {"loongarch64": (5, 19)}
# GOAMD64 value -> the x86 level Go's compiler targets (GOAMD64=v3 code checks the CPU at start-up).
GOAMD64_LEVELS = {"v1": "x86-64-baseline", "v2": "x86-64-v2", "v3": "x86-64-v3", "v4": "x86-64-v4"}


# (isa, kernel_floor, load_alignment, go_note): the ElfFacts fields of the same names.
Floors = tuple[Isa | None, KernelFloor | None, LoadAlignment | None, bool]


def read_floors(image: Image, segments: tuple[Segment, ...], e_machine: int) -> Floors:
    """The floor facts of an image.

    Note segments that lie outside the file are passed over (the reader's view of the
    loader does not depend on them; hostile offsets past 2**63 must not stop the read).
    Every file of a tree pays this: the program headers are sorted in one pass, each note
    segment is walked once, and equal facts are one shared record.
    """
    notes: list[Segment] = []
    properties: list[Segment] = []
    loads: list[Segment] = []
    interpreted = False
    for segment in segments:
        kind = segment.p_type
        if kind == PT_LOAD:
            loads.append(segment)
        elif kind == PT_NOTE and _within(image, segment):
            notes.append(segment)
        elif kind == PT_GNU_PROPERTY and _within(image, segment):
            properties.append(segment)
        elif kind == PT_INTERP:
            interpreted = True
    walked = _Notes(image, notes)
    go_note = walked.any_of(NT_GO_BUILDID, b"Go\x00\x00")
    isa = _isa(image, property_carriers(properties, notes), e_machine)
    return isa, _abi_tag(image, interpreted, loads, walked), _alignment(loads), go_note


class _Notes:
    """The PT_NOTE segments of a file, each walked once however many note types are looked for,
    and only as far as they are looked through (a damaged segment after the one that answers is
    not read, as when each type was walked alone)."""

    def __init__(self, image: Image, segments: list[Segment]) -> None:
        self.image = image
        self.segments = segments
        self._walked: dict[int, list[Note]] = {}

    def each(self) -> Iterator[Note]:
        for index, segment in enumerate(self.segments):
            if index not in self._walked:
                self._walked[index] = note_entries(self.image, segment)
            yield from self._walked[index]

    def any_of(self, wanted: int, owner: bytes) -> bool:
        return any(kind == wanted and name == owner for kind, name, _ in self.each())


def _within(image: Image, segment: Segment) -> bool:
    return segment.p_offset + segment.p_filesz <= image.size


def _isa(image: Image, property_segments: list[Segment], e_machine: int) -> Isa | None:
    """`property_segments`: where the property note is read (notes.property_carriers)."""
    if e_machine not in (EM_386, EM_X86_64, EM_AARCH64):
        return None
    properties = properties_in(image, property_segments)
    if e_machine == EM_AARCH64:
        return _isa_record(0, 0, properties.get(AARCH64_FEATURE_1_AND, 0), _AARCH64_FEATURES)
    needed, used = properties.get(X86_ISA_1_NEEDED, 0), properties.get(X86_ISA_1_USED, 0)
    return _isa_record(needed, used, properties.get(X86_FEATURE_1_AND, 0), _X86_FEATURES)


@functools.lru_cache(maxsize=256)
def _isa_record(needed: int, used: int, features: int, feature_names: tuple[str, ...]) -> Isa:
    """One record per distinct set of bits: a tree has a handful (records are immutable)."""
    return Isa(needed=_bits(needed, ISA_LEVELS), used=_bits(used, ISA_LEVELS), features=_bits(features, feature_names))


def _bits(value: int, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for bit, name in enumerate(names) if value & (1 << bit))


def _abi_tag(image: Image, interpreted: bool, loads: list[Segment], notes: _Notes) -> KernelFloor | None:
    """NT_GNU_ABI_TAG: four words, the OS (0 = Linux) and the kernel version."""
    for kind, name, desc in notes.each():
        if kind != NT_GNU_ABI_TAG or name != b"GNU\x00":
            continue
        if len(desc) < 16:
            raise ElfFormatError(f"NT_GNU_ABI_TAG note of {len(desc)} bytes (16 expected)")
        os_id, *version = struct.unpack_from(image.endian + "IIII", desc)
        if os_id == ABI_TAG_LINUX:
            return _kernel_floor(tuple(version), not interpreted and _checks_at_startup(image, loads))
    return None


@functools.lru_cache(maxsize=64)
def _kernel_floor(version: tuple[int, ...], startup_check: bool) -> KernelFloor:
    return KernelFloor(version, "abi-tag", startup_check)


def _checks_at_startup(image: Image, loads: list[Segment]) -> bool:
    """For a program with no interpreter (static, static-pie): whether its loaded bytes hold glibc's check."""
    return any(_holds(image, s, KERNEL_TOO_OLD) for s in loads)


def _holds(image: Image, segment: Segment, needle: bytes) -> bool:
    start = min(segment.p_offset, image.size)
    return image.data.find(needle, start, min(start + segment.p_filesz, image.size)) >= 0


def load_alignment(segments: tuple[Segment, ...]) -> LoadAlignment | None:
    """glibc's rule (elf/dl-load.c): each PT_LOAD's p_align, and its p_vaddr - p_offset, must be
    multiples of the page size."""
    return _alignment([s for s in segments if s.p_type == PT_LOAD])


def _alignment(loads: list[Segment]) -> LoadAlignment | None:
    if not loads:
        return None
    smallest, asked = loads[0].p_align, 0
    for segment in loads:
        smallest = min(smallest, segment.p_align)
        # The address and offset of a segment must agree modulo the page size too ("address/offset
        # not page-aligned"), whatever p_align says: the OR of the values has, as its lowest set
        # bit, the largest power of two dividing each of them.
        asked |= segment.p_align | ((segment.p_vaddr - segment.p_offset) % (1 << 64))
    return _load_alignment(smallest, asked & -asked or None)


@functools.lru_cache(maxsize=64)
def _load_alignment(smallest: int, max_page_size: int | None) -> LoadAlignment:
    return LoadAlignment(smallest=smallest, max_page_size=max_page_size)


def go_kernel_floor(version: str, machine: str) -> tuple[int, ...] | None:
    """The Go runtime's minimum kernel for `go1.22.5` on `machine`; None for an unknown version."""
    release = _go_release(version)
    if release is None:
        return None
    floor = next((kernel for last, kernel in GO_KERNEL_FLOORS if release <= last), GO_KERNEL_FLOOR)
    return max(floor, GO_ARCH_KERNEL_FLOORS.get(machine, ()))


def _go_release(version: str) -> tuple[int, int] | None:
    """(1, 22) of `go1.22.5 X:...`; None for anything else (an unknown layout's version is "")."""
    words = version.split(maxsplit=1)
    parts = words[0].removeprefix("go").split(".") if words else []
    if len(parts) < 2 or not parts[0].isdigit():
        return None
    minor = "".join(c for c in parts[1] if c.isdigit()) if parts[1][:1].isdigit() else ""
    return (int(parts[0]), int(minor)) if minor else None


def effective_kernel_floor(facts: ElfFacts) -> KernelFloor | None:
    """The highest of the ABI tag and the Go runtime's floor (when the build info is known)."""
    tagged = facts.kernel_floor
    go = facts.go
    kernel = None if go is None else go_kernel_floor(go.version, facts.machine)
    if kernel is None or (tagged is not None and tagged.version >= kernel):
        return tagged
    return KernelFloor(kernel, "go-runtime", startup_check=False)


def effective_isa(facts: ElfFacts) -> tuple[str, str] | None:
    """(the highest x86 level the program needs, where it comes from): the note, or Go's GOAMD64."""
    levels: list[tuple[str, str]] = []
    if facts.isa is not None and facts.isa.level is not None:
        levels.append((facts.isa.level, "GNU property note (x86 ISA needed)"))
    goamd64 = None if facts.go is None else facts.go.setting("GOAMD64")
    if goamd64 in GOAMD64_LEVELS and facts.machine == "x86_64":
        levels.append((GOAMD64_LEVELS[goamd64], f"Go build setting GOAMD64={goamd64}"))
    return max(levels, key=lambda found: ISA_LEVELS.index(found[0]), default=None)


def with_go_build_info(path: str | os.PathLike[str], facts: ElfFacts) -> ElfFacts:
    """`facts` with the Go build info of a Go-linked file read now (`check` defers it otherwise).

    The floor rules need it to find, not only to explain: a Go program's kernel
    floor and x86 level are in its build info, not in a note.
    """
    judged = facts.payload if facts.payload is not None else facts
    if judged.go is not None or not judged.go_note:
        return facts
    with upx.program_image(path, packed=facts.payload is not None) as image:
        if image is None:
            return facts
        segments = image.segments(image.header())
        go = gobuild.read_build_info(image, segments, AddressMap(segments))
    if go is None:
        return facts
    seen = replace(judged, go=go)
    return seen if judged is facts else replace(facts, payload=seen)
