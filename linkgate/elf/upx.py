"""UPX detection from structure, not from the "UPX!" magic (specs/upx-elf.md).

The UPX runtime never reads its marks, so an attacker or a careless script can
erase them; the trailer checksum and the loader-visible shape survive.
"""

from __future__ import annotations

from linkgate.elf.facts import UpxFacts
from linkgate.elf.image import PT_DYNAMIC, PT_INTERP, PT_LOAD, PT_NULL, Header, Image, Segment

PACK_HEADER_SIZE = 32
METHODS = {2: "NRV2B", 3: "NRV2B", 5: "NRV2D", 6: "NRV2D", 8: "NRV2E", 9: "NRV2E", 14: "LZMA"}
# l_version / PackHeader version byte -> the UPX release line that writes it.
VERSIONS = {11: "1.x", 12: "2.x", 13: "3.x", 14: "4.x"}
_TRAILER_WINDOW = 4096


def detect(image: Image, header: Header, segments: tuple[Segment, ...]) -> UpxFacts | None:
    """Strongest structural evidence of UPX packing, or None."""
    trailer = _trailer(image)
    if trailer is not None:
        return trailer
    if _packed_shape(header, segments):
        return UpxFacts(True, "loader-visible shape of a UPX stub (two bare PT_LOADs)", tier=3)
    return None


def _trailer(image: Image) -> UpxFacts | None:
    """A PackHeader whose checksum validates, just before the final overlay offset."""
    window_start = max(0, image.size - _TRAILER_WINDOW)
    tail = image.read(window_start, image.size - window_start).rstrip(b"\x00")
    # The u32 overlay offset after the header may itself end in zero bytes that
    # rstrip removed: the header ends 1 to 4 bytes before the last non-zero byte.
    for header_end in range(len(tail) - 4, len(tail)):
        packed = tail[header_end - PACK_HEADER_SIZE : header_end]
        if len(packed) == PACK_HEADER_SIZE and _valid_pack_header(packed):
            return _trailer_facts(packed)
    return None


def _valid_pack_header(packed: bytes) -> bool:
    checksum_ok = sum(packed[4:31]) % 251 == packed[31]
    return checksum_ok and packed[4] in VERSIONS and packed[6] in METHODS


def _trailer_facts(packed: bytes) -> UpxFacts:
    evidence = "UPX trailer (PackHeader checksum valid"
    evidence += ", magic present)" if packed[:4] == b"UPX!" else ", magic erased)"
    return UpxFacts(True, evidence, tier=2, version=VERSIONS[packed[4]], method=METHODS[packed[6]])


def _packed_shape(header: Header, segments: tuple[Segment, ...]) -> bool:
    """The spec's tier 3: what a packed main program or library shows the loader."""
    if header.e_shnum != 0 or header.e_shoff != 0:
        return False
    types = [s.p_type for s in segments]
    if PT_INTERP in types:
        return False
    if PT_DYNAMIC in types:
        return any(s.p_type == PT_NULL and s.p_offset and s.p_filesz for s in segments)
    loads = [s for s in segments if s.p_type == PT_LOAD]
    if len(loads) != 2:
        return False
    first, second = loads
    entry_in_second = second.p_vaddr <= header.e_entry < second.p_vaddr + second.p_memsz
    return first.p_filesz in (0, 0x1000) and first.p_memsz > first.p_filesz and entry_in_second
