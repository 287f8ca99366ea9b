"""Native code linkgate does not judge: Mach-O and PE members, recognised by their first bytes, and counted
so that a report says what the gate did not look at (an npm package often ships macOS and Windows
builds beside its Linux and Android ones)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from linkgate.archives.tree import Unit

MACH_O = "Mach-O"
PE = "PE"
_MACH_O_MAGICS = (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe")
_FAT_MAGIC = b"\xca\xfe\xba\xbe"
# A Java class file starts with the same bytes; its major version (>= 45) sits where a universal
# binary's architecture count (a handful) does.
_MAX_FAT_ARCHES = 44
_PE_OFFSET_AT = 0x3C


def native_kind(head: bytes) -> str | None:
    """Mach-O or PE from a file's first bytes; None for anything else."""
    if head[:4] in _MACH_O_MAGICS:
        return MACH_O
    if head[:4] == _FAT_MAGIC and len(head) >= 8 and 0 < struct.unpack_from(">I", head, 4)[0] <= _MAX_FAT_ARCHES:
        return MACH_O
    if head[:2] == b"MZ" and len(head) >= _PE_OFFSET_AT + 4:
        offset = struct.unpack_from("<I", head, _PE_OFFSET_AT)[0]
        # The PE header beyond the head read: an MZ stub with a plausible offset is taken as PE.
        if offset + 4 > len(head) or head[offset : offset + 4] == b"PE\x00\x00":
            return PE
    return None


def unjudged(unit: Unit) -> dict[str, int]:
    """Kind -> how many members of `unit` and of the archives in it are native code of another format."""
    counts: dict[str, int] = {}
    for kind in _kinds(unit):
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))


def _kinds(unit: Unit) -> Iterator[str]:
    for node in unit.nodes.values():
        if node.foreign is not None:
            yield node.foreign
        if node.nested is not None:
            yield from _kinds(node.nested)
