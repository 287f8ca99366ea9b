"""UPX's on-disk structures (l_info, p_info, b_info) and a lazily decoded view
of the packed program's original file bytes (docs/upx.md).

A packed main program stores b_info #0 (the original ELF header and program
headers), then one or more blocks per original PT_LOAD in program-header order.
`PayloadImage` presents those blocks as the original file, decoding a block
only when a read touches it, and only as far as the read needs: the loader's
view of a 2.6 MB program then costs a few kilobytes of decompression.
"""

from __future__ import annotations

import struct
from typing import Protocol

from linkgate.core.records import record
from linkgate.elf.image import ElfFormatError, Image
from linkgate.elf.layouts import (
    B_INFO,
    ELF_MAGIC,
    P_INFO,
    PT_LOAD,
)
from linkgate.elf.upx_budget import DecodeBudget, check_declared
from linkgate.elf.upx_errors import UpxDecodeError, UpxLimitError
from linkgate.elf.upx_filters import Unfilter, known_filters
from linkgate.elf.upx_lzma import LZMA_METHOD, LzmaDecoder
from linkgate.elf.upx_nrv import NrvDecoder, nrv_methods

INFO_SIZE = 12
METHOD_NAMES = {2: "NRV2B", 3: "NRV2B", 5: "NRV2D", 6: "NRV2D", 8: "NRV2E", 9: "NRV2E", 14: "LZMA"}
DECODABLE = nrv_methods() | {LZMA_METHOD}
# UPX_F_* format bytes that UPX writes for Linux ELF, by (e_machine, big-endian).
FORMATS = {
    (3, False): frozenset({12, 20, 25}), (62, False): frozenset({22}),
    (40, False): frozenset({23}), (40, True): frozenset({133}),
    (183, False): frozenset({42}), (8, False): frozenset({30}), (8, True): frozenset({137}),
    (20, True): frozenset({132}), (21, False): frozenset({39}), (21, True): frozenset({140}),
}  # fmt: skip
L_VERSIONS = range(11, 15)
# Where l_version lies in l_info (L_INFO: l_checksum and l_magic u32, l_lsize u16, then l_version, l_format).
_L_VERSION_AT = 10
# Hostile inputs may declare anything; these bound work per file (decoded bytes: upx_budget).
MAX_BLOCKS = 1 << 16
MAX_HEADER = 64 + 0x38 * 512
# How much of a UPX 3 library's first block must decode for proof (upx_budget charges it).
_LIBRARY_PROOF_BYTES = 16 << 10
_FIND_CHUNK = 8 << 10
# Bytes past a read that a filtered block must also decode: the x86 unfilter
# decides at position i from bytes up to i+4, so a prefix is exact up to len-5.
_FILTER_MARGIN = 8


@record
class Block:
    """One b_info and where its compressed bytes are in the packed file."""

    at: int
    sz_unc: int
    sz_cpr: int
    method: int
    ftid: int
    cto8: int

    @property
    def end(self) -> int:
        """File offset just past the compressed bytes (where the next b_info starts)."""
        return self.at + INFO_SIZE + self.sz_cpr

    @property
    def stored(self) -> bool:
        """UPX stores a block verbatim when compression does not pay."""
        return self.sz_cpr == self.sz_unc


@record
class Proof:
    """Validated l_info/p_info/b_info #0 and, for the usual layout, the original
    ELF header and program headers that b_info #0 decodes to (None for UPX 3's
    library layout, whose first block is code: see `prove`)."""

    l_info_at: int
    version: int
    file_size: int
    header_block: Block
    header: bytes | None


def read_block(image: Image, at: int) -> Block:
    """The b_info at `at`, checked against the file and the known methods and filters.

    Raises UpxLimitError (never swallowed) for a size beyond what UPX writes.
    """
    sz_unc, sz_cpr, method, ftid, cto8, _unused = B_INFO.read(image, at)
    block = Block(at, sz_unc, sz_cpr, method, ftid, cto8)
    if sz_unc == 0 or sz_cpr == 0 or sz_cpr > sz_unc:
        raise UpxDecodeError(f"b_info at {at:#x}: sizes {sz_unc}/{sz_cpr} are not a data block")
    if block.end > image.size:
        raise UpxDecodeError(f"b_info at {at:#x}: {sz_cpr} compressed bytes run past the end of file")
    if not block.stored and method not in DECODABLE:
        raise UpxDecodeError(f"b_info at {at:#x}: unknown method {method}")
    if ftid not in known_filters():
        raise UpxDecodeError(f"b_info at {at:#x}: unknown filter {ftid:#x}")
    check_declared(f"b_info at {at:#x}", sz_unc)
    return block


def decode_block(image: Image, block: Block, limit: int | None = None, budget: DecodeBudget | None = None) -> bytes:
    """The block's original bytes (all, or the first `limit`), filter undone."""
    stream = BlockStream(image, block, budget or DecodeBudget())
    return stream.prefix(block.sz_unc if limit is None else limit)


class BlockStream:
    """One block decoded on demand: longer prefixes continue the same decoder,
    and each byte is decoded, unfiltered and charged to the file's budget once."""

    def __init__(self, image: Image, block: Block, budget: DecodeBudget) -> None:
        self.block = block
        self._budget = budget
        src = image.read(block.at + INFO_SIZE, block.sz_cpr)
        self._source: _Source = _Stored(src) if block.stored else _decoder(block, src)
        self._unfilter = Unfilter(self._source.output, block.ftid, block.cto8)

    @property
    def available(self) -> int:
        """How many original bytes are decoded (and final) so far."""
        return self._unfilter.final

    def prefix(self, length: int) -> bytes:
        """The first `length` original bytes (clipped to the block)."""
        return self.read(0, length)

    def read(self, start: int, stop: int) -> bytes:
        """Original bytes [start, stop) of the block, decoding as far as `stop` if needed."""
        want = min(stop, self.block.sz_unc)
        if self._unfilter.final < want:
            # Decode a little further than wanted so the unfilter sees what follows.
            reach = want if self.block.ftid == 0 else min(self.block.sz_unc, want + _FILTER_MARGIN)
            self._budget.charge(reach - len(self._source.output))
            self._source.extend(reach)
            self._unfilter.advance(complete=len(self._source.output) >= self.block.sz_unc)
        return bytes(self._unfilter.output[start:want])


class _Source(Protocol):
    output: bytearray

    def extend(self, length: int) -> None: ...


class _Stored:
    """A block UPX kept verbatim: "decoding" copies it, charged like any other."""

    def __init__(self, src: bytes) -> None:
        self._src = src
        self.output = bytearray()

    def extend(self, length: int) -> None:
        self.output += self._src[len(self.output) : length]


def _decoder(block: Block, src: bytes) -> _Source:
    if block.method == LZMA_METHOD:
        return LzmaDecoder(src, block.sz_unc)
    return NrvDecoder(block.method, src, block.sz_unc)


def prove(image: Image, e_machine: int, at: int, budget: DecodeBudget, library: bool = False) -> Proof | None:
    """Tier-1 evidence: l_info at `at` validates and b_info #0 decodes to a matching ELF header.

    UPX 3 packs a shared library differently: l_info opens the old executable
    segment and b_info #0 holds code. There, `library` accepts a first block
    that decodes cleanly, which random bytes after a valid l_info/p_info
    essentially never do.

    A damaged container is not proof (None); one that declares or needs more
    than linkgate decodes raises UpxLimitError, which callers let through.
    """
    if at < 0 or at + 3 * INFO_SIZE > image.size:
        return None
    formats = FORMATS.get((e_machine, image.endian == ">"), frozenset())
    # Every file is asked at two places or more: l_version and l_format, two bytes, rule out
    # nearly all of an unpacked file's bytes before any record is read.
    version, fmt = image.read(at + _L_VERSION_AT, 2)
    if version not in L_VERSIONS or fmt not in formats:
        return None
    progid, file_size, _blocksize = P_INFO.read(image, at + INFO_SIZE)
    if progid != 0:
        return None
    try:
        block = read_block(image, at + 2 * INFO_SIZE)
        # Only once b_info #0 validates too: random bytes that look like l_info stay "not proof".
        check_declared(f"p_info at {at + INFO_SIZE:#x}", file_size)
        header = _original_header(image, e_machine, block, file_size, budget)
        if header is None and not (library and _decodes(image, block, budget)):
            return None
    except UpxLimitError:
        raise
    except ElfFormatError:
        return None
    return Proof(at, version, file_size, block, header)


def _original_header(image: Image, e_machine: int, block: Block, file_size: int, budget: DecodeBudget) -> bytes | None:
    if block.ftid or block.cto8 or block.sz_unc > min(MAX_HEADER, file_size):
        return None
    header = decode_block(image, block, budget=budget)
    return header if _matching_header(image, e_machine, header, file_size) else None


def _decodes(image: Image, block: Block, budget: DecodeBudget) -> bool:
    """The block's first bytes (all of it when small) decode without error."""
    decode_block(image, block, _LIBRARY_PROOF_BYTES, budget)
    return True


class _Headers:
    """The original headers as a buffer as long as the original file: program
    headers are then checked against the original size, and reading past the
    headers is an ElfFormatError."""

    def __init__(self, header: bytes, file_size: int) -> None:
        self._header = header
        self._size = file_size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index: slice, /) -> bytes:
        start, stop, _step = index.indices(self._size)
        if stop > len(self._header):
            raise ElfFormatError("read past the original headers")
        return self._header[start:stop]

    def find(self, sub: bytes, start: int = 0, end: int | None = None, /) -> int:
        return self._header.find(sub, start, len(self._header) if end is None else end)


def original_image(header: bytes, file_size: int) -> Image:
    """An Image over just the original ELF header and program headers."""
    return Image(_Headers(header, file_size))


def _matching_header(image: Image, e_machine: int, header: bytes, file_size: int) -> bool:
    """The decoded bytes are exactly an ELF header plus its program headers, same class and machine."""
    same_order = header[5:6] == (b"\x01" if image.endian == "<" else b"\x02")
    if header[:4] != ELF_MAGIC or header[4] != image.elf_class or not same_order:
        return False
    original = original_image(header, file_size)
    try:
        fields = original.header()
        original.segments(fields)
    except ElfFormatError:
        return False
    table_end = fields.e_phoff + fields.e_phnum * fields.e_phentsize
    return fields.e_machine == e_machine and fields.e_phnum > 0 and table_end == len(header)


@record
class _Extent:
    """Original file bytes [start, end) rebuilt from consecutive blocks."""

    start: int
    end: int
    blocks: tuple[Block, ...]


def layout(image: Image, proof: Proof) -> tuple[_Extent, ...]:
    """Map every original PT_LOAD's file bytes to the blocks that hold them."""
    if proof.header is None:
        raise UpxDecodeError("this UPX layout keeps no original ELF header")
    original = original_image(proof.header, proof.file_size)
    header_size = len(proof.header)
    cursor = proof.header_block.end
    extents: list[_Extent] = []
    budget = MAX_BLOCKS
    for segment in original.segments(original.header()):
        if segment.p_type != PT_LOAD or segment.p_filesz == 0:
            continue
        # The first PT_LOAD's block starts after the headers that b_info #0 holds.
        start = max(segment.p_offset, header_size)
        end = segment.p_offset + segment.p_filesz
        if end > proof.file_size:
            raise UpxDecodeError(f"original PT_LOAD ends at {end:#x}, past the original size")
        if end <= start:
            continue
        blocks, cursor = _blocks_for(image, cursor, end - start, budget)
        budget -= len(blocks)
        extents.append(_Extent(start, end, blocks))
    return tuple(extents)


def _blocks_for(image: Image, cursor: int, length: int, budget: int) -> tuple[tuple[Block, ...], int]:
    """Consecutive blocks from `cursor` whose sizes add up to exactly `length`."""
    blocks: list[Block] = []
    covered = 0
    while covered < length:
        if len(blocks) >= budget:
            raise UpxDecodeError("too many UPX blocks")
        block = read_block(image, cursor)
        blocks.append(block)
        covered += block.sz_unc
        cursor = block.end
    if covered != length:
        raise UpxDecodeError(f"UPX blocks hold {covered} bytes where a PT_LOAD has {length}")
    return tuple(blocks), cursor


class PayloadImage:
    """The original file as a read-only buffer; blocks are decoded on first touch.

    Only bytes inside the original PT_LOADs (and the headers) exist: that is all
    the loader reads, and all UPX keeps in order. Reading elsewhere is an
    ElfFormatError, like reading past the end of a file.
    """

    def __init__(self, image: Image, proof: Proof, budget: DecodeBudget) -> None:
        if proof.header is None:
            raise UpxDecodeError("this UPX layout keeps no original ELF header")
        self._packed = image
        self._header = proof.header
        self._size = proof.file_size
        self._extents = layout(image, proof)
        self._streams: dict[Block, BlockStream] = {}
        self._budget = budget

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index: slice, /) -> bytes:
        start, stop, step = index.indices(self._size)
        if step != 1:
            raise ElfFormatError("payload reads are contiguous")
        return self._range(start, max(start, stop))

    def find(self, sub: bytes, start: int = 0, end: int | None = None, /) -> int:
        """bytes.find semantics, searching in growing chunks: a hit early in a
        large segment (Go's build info) then decodes only the bytes before it."""
        stop = self._size if end is None else min(end, self._size)
        position, chunk = max(start, 0), _FIND_CHUNK
        while position < stop:
            # Overlap the previous chunk so a match across the boundary is seen.
            window_start = max(start, position - len(sub) + 1)
            window_end = min(stop, position + chunk)
            found = self[window_start:window_end].find(sub)
            if found >= 0:
                return window_start + found
            position, chunk = window_end, chunk * 2
        return -1

    def _range(self, start: int, stop: int) -> bytes:
        parts: list[bytes] = []
        position = start
        while position < stop:
            chunk = self._chunk(position, stop)
            parts.append(chunk)
            position += len(chunk)
        return b"".join(parts)

    def _chunk(self, position: int, stop: int) -> bytes:
        """The longest run of bytes from `position` (< stop) that one source holds."""
        if position < len(self._header):
            return self._header[position:stop]
        for extent in self._extents:
            if extent.start <= position < extent.end:
                return self._from_blocks(extent, position, min(stop, extent.end))
        raise ElfFormatError(f"payload offset {position:#x} is outside every original PT_LOAD")

    def _from_blocks(self, extent: _Extent, position: int, stop: int) -> bytes:
        base = extent.start
        for block in extent.blocks:
            if position < base + block.sz_unc:
                wanted = min(stop, base + block.sz_unc) - base
                return self._stream(block).read(position - base, wanted)
            base += block.sz_unc
        raise ElfFormatError(f"payload offset {position:#x} is past its blocks")  # pragma: no cover

    def _stream(self, block: Block) -> BlockStream:
        """The block's decoder, created on first touch; it charges the file's budget as it decodes."""
        stream = self._streams.get(block)
        if stream is None:
            stream = self._streams[block] = BlockStream(self._packed, block, self._budget)
        return stream


def packed_u32(image: Image, at: int) -> int:
    """A u32 in the packed file's byte order (used for the trailer's overlay offset)."""
    value: int = struct.unpack(image.endian + "I", image.read(at, 4))[0]
    return value
