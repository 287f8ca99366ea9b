"""UPX detection from structure, not from the "UPX!" magic, and the packed
program's real linkage (docs/upx.md).

The UPX runtime never reads its marks, so an attacker or a careless script can
erase them; what the runtime does read (l_info, p_info, the b_info blocks) and
the loader-visible shape survive. Evidence, strongest first:
1. proof: l_info/p_info/b_info #0 validate and b_info #0 decodes to an ELF
   header of this file's class and machine;
2. the trailer's PackHeader checksum validates (the magic is not summed);
3. the shape a UPX stub shows the loader.
Strings alone ("UPX!", "$Info", "$Id") are never enough: the upx program
itself and static glibc binaries carry some of them. They only name the
release of a file already known to be packed.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
from collections.abc import Callable, Iterator

from linkgate.core.records import record
from linkgate.elf.facts import ElfFacts, UpxFacts
from linkgate.elf.image import Buffer, ElfFormatError, Header, Image, NothingMappedError, Segment
from linkgate.elf.layouts import PF_X, PT_DYNAMIC, PT_INTERP, PT_LOAD, PT_NULL
from linkgate.elf.upx_blocks import FORMATS, INFO_SIZE, METHOD_NAMES, PayloadImage, Proof, packed_u32, prove
from linkgate.elf.upx_budget import DecodeBudget
from linkgate.elf.upx_errors import UpxLimitError

PACK_HEADER_SIZE = 32
# l_version / PackHeader version byte -> the UPX release line that writes it.
VERSIONS = {11: "1.x", 12: "2.x", 13: "3.x", 14: "4.x"}
_TRAILER_WINDOW = 4096
_SHORT_TRAILER_WINDOW = 256
# Where a shared library's l_info may sit: after its verbatim dynamic part.
_SCAN_LIMIT = 4 << 20
_MAX_CANDIDATES = 64
_ID = re.compile(rb"\$Id: UPX (\d+)\.(\d+)")

ParsePayload = Callable[[Buffer], ElfFacts]


@record
class SeenThrough:
    """What UPX detection found, and the payload's facts when they could be read."""

    upx: UpxFacts
    payload: ElfFacts | None


@record
class _Trailer:
    """The PackHeader at the end of the file and the overlay offset after it."""

    raw: bytes
    overlay_offset: int

    @property
    def method(self) -> str | None:
        return METHOD_NAMES.get(self.raw[6])


def see_through(image: Image, own: ElfFacts, parse: ParsePayload) -> SeenThrough | None:
    """Detect UPX and, when proven, read the payload's facts with `parse`.

    `own` are the facts of the file as the loader maps it. A packed shared
    library keeps its dynamic part verbatim and the loader links it before the
    UPX code runs, so those facts are the payload's. A packed program is read
    through its decoded blocks. A damaged payload leaves payload None:
    packing is still reported, so a rule against UPX still fails. A payload
    that declares or needs more than linkgate decodes (upx_budget) raises
    UpxLimitError, an ElfFormatError: the file then gets an `elf-format` finding.
    """
    header = image.header()
    segments = image.segments(header)
    trailer = _trailer(image)
    budget = DecodeBudget()
    proof = _find_proof(image, header, segments, trailer, budget)
    if proof is None:
        weak = _weak_facts(image, header, segments, trailer)
        return None if weak is None else SeenThrough(weak, None)
    payload = own if _first(segments, PT_DYNAMIC) else _payload_facts(image, proof, parse, budget)
    return SeenThrough(_proof_facts(image, proof, payload_read=payload is not None), payload)


def _payload_facts(image: Image, proof: Proof, parse: ParsePayload, budget: DecodeBudget) -> ElfFacts | None:
    try:
        return parse(PayloadImage(image, proof, budget))
    except UpxLimitError:
        raise
    except NothingMappedError as error:
        raise NothingMappedError(f"the UPX-packed program has {error}") from None
    except ElfFormatError:
        return None


def open_payload(data: Buffer) -> PayloadImage | None:
    """The original file bytes of a packed main program, decoded on demand (None if not proven)."""
    image = Image(data)
    header = image.header()
    segments = image.segments(header)
    budget = DecodeBudget()
    proof = _find_proof(image, header, segments, _trailer(image), budget)
    return None if proof is None else PayloadImage(image, proof, budget)


# --- tier 1: proof ---------------------------------------------------------------------------


def _find_proof(
    image: Image, header: Header, segments: tuple[Segment, ...], trailer: _Trailer | None, budget: DecodeBudget
) -> Proof | None:
    """The first candidate l_info that proves packing; every attempt spends the file's one budget."""
    library = _first(segments, PT_DYNAMIC) is not None
    for at in _candidates(image, header, segments, trailer):
        proof = prove(image, header.e_machine, at, budget, library)
        if proof is not None:
            return proof
    return None


def _candidates(image: Image, header: Header, segments: tuple[Segment, ...], trailer: _Trailer | None) -> Iterator[int]:
    """Where l_info may be, cheapest first: after the program headers (programs),
    at the start of the executable PT_LOAD (UPX 3 libraries), before p_info
    (the trailer's overlay offset), else wherever its format bytes occur."""
    yield header.e_phoff + header.e_phnum * header.e_phentsize
    yield from (s.p_offset for s in segments if s.p_type == PT_LOAD and s.p_flags & PF_X and s.p_offset)
    if trailer is not None:
        yield trailer.overlay_offset - INFO_SIZE
    if trailer is not None or _packed_shape(header, segments):
        yield from _scan(image, header, segments)


def _scan(image: Image, header: Header, segments: tuple[Segment, ...]) -> list[int]:
    """l_info positions in the first PT_LOAD: version byte, format byte, then p_progid 0."""
    formats = FORMATS.get((header.e_machine, image.endian == ">"), frozenset())
    if not formats:
        return []
    first = _first(segments, PT_LOAD)
    end = min(image.size, _SCAN_LIMIT, first.p_offset + first.p_filesz if first else image.size)
    window = image.read(0, end)
    fmt = b"".join(re.escape(bytes([f])) for f in sorted(formats))
    pattern = re.compile(rb"[\x0b-\x0e][" + fmt + rb"]\x00\x00\x00\x00")
    positions: list[int] = []
    for match in pattern.finditer(window):
        positions.append(match.start() - 10)
        if len(positions) >= _MAX_CANDIDATES:
            break
    return positions


def _proof_facts(image: Image, proof: Proof, payload_read: bool) -> UpxFacts:
    marks = "magic present" if image.read(proof.l_info_at + 4, 4) == b"UPX!" else "magic erased"
    decodes_to = "the original ELF header" if proof.header else "a valid first block"
    evidence = f"UPX l_info at {proof.l_info_at:#x} decodes to {decodes_to} ({marks})"
    return UpxFacts(
        packed=True,
        evidence=evidence,
        tier=1,
        version=_version(image, proof.version),
        method=METHOD_NAMES.get(proof.header_block.method),
        payload_read=payload_read,
    )


# --- tiers 2 and 3 -----------------------------------------------------------------------------


def _weak_facts(
    image: Image, header: Header, segments: tuple[Segment, ...], trailer: _Trailer | None
) -> UpxFacts | None:
    if trailer is not None:
        magic = "magic present" if trailer.raw[:4] == b"UPX!" else "magic erased"
        evidence = f"UPX trailer: PackHeader checksum valid ({magic})"
        return UpxFacts(True, evidence, tier=2, version=_version(image, trailer.raw[4]), method=trailer.method)
    if _packed_shape(header, segments):
        evidence = "loader-visible shape of a UPX stub"
        return UpxFacts(True, evidence, tier=3, version=_version(image, None))
    return None


def _trailer(image: Image) -> _Trailer | None:
    """A PackHeader whose checksum validates, just before the final overlay offset."""
    window_start, tail = _nonzero_tail(image)
    # The u32 overlay offset after the header may itself end in zero bytes that
    # rstrip removed: the header ends 1 to 4 bytes before the last non-zero byte.
    for header_end in range(len(tail) - 4, len(tail)):
        packed = tail[header_end - PACK_HEADER_SIZE : header_end]
        if header_end >= PACK_HEADER_SIZE and _valid_pack_header(packed):
            at = window_start + header_end
            overlay = packed_u32(image, at) if at + 4 <= image.size else -1
            return _Trailer(packed, overlay)
    return None


def _nonzero_tail(image: Image) -> tuple[int, bytes]:
    """(where it starts, the last _TRAILER_WINDOW bytes of the file without trailing zeros).

    A short window first: an unpacked file ends in non-zero bytes (its section headers),
    and every file of a tree is asked.
    """
    for window in (_SHORT_TRAILER_WINDOW, _TRAILER_WINDOW):
        start = max(0, image.size - window)
        tail = image.read(start, image.size - start).rstrip(b"\x00")
        if len(tail) > PACK_HEADER_SIZE + 4 or start == 0:
            break
    return start, tail


def _valid_pack_header(packed: bytes) -> bool:
    # The version and method bytes first: cheaper than the checksum, and they rule out most bytes.
    return packed[4] in VERSIONS and packed[6] in METHOD_NAMES and sum(packed[4:31]) % 251 == packed[31]


def _packed_shape(header: Header, segments: tuple[Segment, ...]) -> bool:
    """Tier 3: what a packed main program or library shows the loader."""
    if header.e_shnum != 0 or header.e_shoff != 0 or _first(segments, PT_INTERP):
        return False
    if _first(segments, PT_DYNAMIC):
        # Libraries: compressed PT_LOADs retyped PT_NULL, keeping offset and size.
        return any(s.p_type == PT_NULL and s.p_offset and s.p_filesz for s in segments)
    loads = [s for s in segments if s.p_type == PT_LOAD]
    if len(loads) != 2 or any(s.p_offset != 0 for s in loads):
        return False
    code = [s for s in loads if s.p_flags & PF_X and s.p_vaddr <= header.e_entry < s.p_vaddr + s.p_memsz]
    bare = [s for s in loads if s.p_filesz in (0, 0x1000) and s.p_memsz > s.p_filesz]
    # 3.9x: code first, empty RW second; 4.x: a one-page RW first, code second.
    return len(code) == 1 and len(bare) == 1 and code[0] is not bare[0]


# --- shared ----------------------------------------------------------------------------------


def _version(image: Image, version_byte: int | None) -> str | None:
    """`$Id: UPX 4.24` means 4.2.4 (UPX 4 drops the dots of its patch level); else the byte."""
    at = image.data.find(b"$Id: UPX ")
    if at >= 0:
        match = _ID.match(image.data[at : at + 24])
        if match is not None:
            major, minor = match.group(1).decode(), match.group(2).decode()
            if int(major) >= 4 and len(minor) == 2:
                return f"{major}.{minor[0]}.{minor[1]}"
            return f"{major}.{minor}"
    return None if version_byte is None else VERSIONS.get(version_byte)


def _first(segments: tuple[Segment, ...], p_type: int) -> Segment | None:
    return next((s for s in segments if s.p_type == p_type), None)


@contextlib.contextmanager
def program_image(path: str | os.PathLike[str], packed: bool) -> Iterator[Image | None]:
    """The file mapped read-only, as the program the loader runs: for a packed program (`packed`:
    its payload was read) the unpacked one, decoded on demand; a packed library keeps its dynamic
    part verbatim and is read as it is. None when the payload cannot be opened.

    For readers of facts beyond the loader's view (hardening, static glibc use): a file that
    cannot be read or mapped again is an ElfFormatError.
    """
    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            image = Image(data)
            if packed and _first(image.segments(image.header()), PT_DYNAMIC) is None:
                payload = open_payload(data)
                yield None if payload is None else Image(payload)
            else:
                yield image
    except OSError as error:
        raise ElfFormatError(f"cannot read file: {error.strerror}") from None
    except ValueError as error:  # mmap of a file emptied since it was read
        raise ElfFormatError(f"cannot map file: {error}") from None
