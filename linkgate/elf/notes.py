"""The GNU property note (NT_GNU_PROPERTY_TYPE_0), read where the kernel and
ld.so read it: PT_GNU_PROPERTY, else the PT_NOTE segments.

The linker writes a feature bit only when every linked object had it, so the
note of the output says what the whole program was built with.
"""

from __future__ import annotations

import struct

from linkgate.elf.image import ElfFormatError, Image, Segment
from linkgate.elf.layouts import NHDR

PT_NOTE = 4
PT_GNU_PROPERTY = 0x6474E553
NT_GNU_PROPERTY_TYPE_0 = 5
GNU_PROPERTY_X86_FEATURE_1_AND = 0xC0000002
X86_FEATURE_1_IBT, X86_FEATURE_1_SHSTK = 0x1, 0x2
# A note segment bigger than this is not a note segment (bounds a hostile walk).
_MAX_NOTES_SIZE = 1 << 20


def gnu_property(image: Image, segments: tuple[Segment, ...], pr_type: int) -> int | None:
    """The u32 value of property `pr_type`, or None when no property note carries it."""
    carriers = property_carriers(
        [s for s in segments if s.p_type == PT_GNU_PROPERTY], [s for s in segments if s.p_type == PT_NOTE]
    )
    for segment in carriers:
        for desc in _property_notes(image, segment):
            value = _find_property(desc, pr_type, image)
            if value is not None:
                return value
    return None


def property_carriers(gnu_property: list[Segment], notes: list[Segment]) -> list[Segment]:
    """Where the kernel and ld.so read the GNU property note: PT_GNU_PROPERTY when the file has
    one, else its PT_NOTE segments."""
    return gnu_property or notes


def _property_notes(image: Image, segment: Segment) -> list[bytes]:
    """The descriptors of the GNU property notes in one segment."""
    return gnu_notes(image, segment, NT_GNU_PROPERTY_TYPE_0)


def gnu_notes(image: Image, segment: Segment, wanted: int, owner: bytes = b"GNU\x00") -> list[bytes]:
    """The descriptors of the notes of type `wanted` and owner `owner` in one note segment."""
    return [desc for note_type, name, desc in note_entries(image, segment) if note_type == wanted and name == owner]


# One note: (n_type, the owner's name bytes, the descriptor bytes).
Note = tuple[int, bytes, bytes]


def note_entries(image: Image, segment: Segment) -> list[Note]:
    """Every note of one note segment, in order; ElfFormatError when one runs past the segment.

    Notes are walked with 4-byte alignment: a property note's header plus
    "GNU\\0" is 16 bytes and its descriptor a multiple of the word size, so an
    8-aligned property note reads the same either way. Callers that want several
    note types walk a segment once (every file of a tree has two or three).
    """
    size = min(segment.p_filesz, _MAX_NOTES_SIZE)
    raw = image.read(segment.p_offset, size)
    header = NHDR.layout(image)
    found: list[Note] = []
    at = 0
    while at + 12 <= len(raw):
        namesz, descsz, note_type = header.unpack_from(raw, at)
        name_at = at + 12
        desc_at = name_at + _align(namesz, 4)
        end = desc_at + _align(descsz, 4)
        if end > len(raw):
            raise ElfFormatError(f"note at {segment.p_offset + at:#x} runs past its segment")
        found.append((note_type, raw[name_at : name_at + namesz], raw[desc_at : desc_at + descsz]))
        at = end
    return found


def properties_in(image: Image, segments: list[Segment]) -> dict[int, int]:
    """Every u32 property of the GNU property notes in `segments`, the first of each type kept."""
    found: dict[int, int] = {}
    for segment in segments:
        for desc in _property_notes(image, segment):
            for kind, value in _properties(desc, image):
                found.setdefault(kind, value)
    return found


def _properties(desc: bytes, image: Image) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    at = 0
    while at + 8 <= len(desc):
        kind, datasz = _u32_pair(desc, at, image)
        data_at = at + 8
        if datasz >= 4 and data_at + 4 <= len(desc):
            found.append((kind, struct.unpack_from(image.endian + "I", desc, data_at)[0]))
        at = data_at + _align(datasz, image.word_size)
    return found


def _find_property(desc: bytes, pr_type: int, image: Image) -> int | None:
    """Properties are (pr_type, pr_datasz, data padded to the word size)."""
    at = 0
    while at + 8 <= len(desc):
        kind, datasz = _u32_pair(desc, at, image)
        data_at = at + 8
        if kind == pr_type and datasz >= 4 and data_at + 4 <= len(desc):
            value: int = struct.unpack_from(image.endian + "I", desc, data_at)[0]
            return value
        at = data_at + _align(datasz, image.word_size)
    return None


def _u32_pair(data: bytes, at: int, image: Image) -> tuple[int, int]:
    first, second = struct.unpack_from(image.endian + "II", data, at)
    return first, second


def _align(value: int, to: int) -> int:
    return (value + to - 1) & ~(to - 1)
