"""UPX's LZMA blocks, decoded with the standard library (specs/upx-elf.md).

UPX replaces LZMA's 13-byte header with two bytes that carry lc/lp/pb; the
rest is a raw LZMA1 stream without sizes or end marker, which is exactly what
liblzma's raw decoder accepts.
"""

from __future__ import annotations

import lzma

from linkgate.elf.upx_nrv import UpxDecodeError

LZMA_METHOD = 14
# liblzma rejects smaller dictionaries; larger ones than the output are never needed.
_MIN_DICT = 4096
_MAX_DICT = 64 << 20


def decompress_lzma(src: bytes, size: int, limit: int | None = None) -> bytes:
    """Decode a UPX LZMA block into exactly `size` bytes, or its first `limit` bytes."""
    return LzmaDecoder(src, size).prefix(size if limit is None else min(size, limit))


class LzmaDecoder:
    """A block decoded on demand; a longer `prefix` continues the same stream."""

    def __init__(self, src: bytes, size: int) -> None:
        lc, lp, pb = _properties(src)
        # Match distances never exceed the output, so a dictionary of the
        # declared size suffices; the cap keeps hostile sizes from allocating
        # gigabytes (liblzma allocates the dictionary up front).
        dict_size = min(max(_MIN_DICT, size), _MAX_DICT)
        filters = [{"id": lzma.FILTER_LZMA1, "lc": lc, "lp": lp, "pb": pb, "dict_size": dict_size}]
        try:
            self._decoder = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=filters)
        except (lzma.LZMAError, ValueError) as error:
            raise UpxDecodeError(f"bad LZMA parameters: {error}") from error
        self._input = src[2:]
        self._size = size
        self._out = bytearray()

    def prefix(self, length: int) -> bytes:
        """The first `length` bytes (length <= the declared size)."""
        missing = min(length, self._size) - len(self._out)
        if missing > 0:
            self._out += self._more(missing)
        if len(self._out) < length:
            raise UpxDecodeError(f"LZMA block ends after {len(self._out)} bytes, header says {self._size}")
        return bytes(self._out[:length])

    def _more(self, count: int) -> bytes:
        data, self._input = self._input, b""
        try:
            return self._decoder.decompress(data, max_length=count)
        except (lzma.LZMAError, EOFError, MemoryError) as error:
            raise UpxDecodeError(f"corrupt LZMA block: {error}") from error


def _properties(src: bytes) -> tuple[int, int, int]:
    """lc, lp, pb from UPX's two-byte header, checked against each other."""
    if len(src) < 3:
        raise UpxDecodeError("LZMA block shorter than its header")
    pb = src[0] & 7
    lp, lc = src[1] >> 4, src[1] & 15
    if (src[0] >> 3) != lc + lp or lc > 8 or lp > 4 or pb > 4:
        raise UpxDecodeError(f"bad UPX LZMA header {src[:2].hex()}")
    return lc, lp, pb
