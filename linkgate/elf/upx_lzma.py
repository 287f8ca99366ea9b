"""UPX's LZMA blocks, decoded with the standard library (docs/upx.md).

UPX replaces LZMA's 13-byte header with two bytes that carry lc/lp/pb; the
rest is a raw LZMA1 stream without sizes or end marker, which is exactly what
liblzma's raw decoder accepts. Output is produced only as far as asked
(`max_length`), so a stream that claims gigabytes costs what is read of it.
"""

from __future__ import annotations

from linkgate.elf.upx_errors import UpxDecodeError

LZMA_METHOD = 14
# liblzma rejects smaller dictionaries.
_MIN_DICT = 4096
# liblzma allocates the dictionary up front. Match distances never exceed what
# was decoded, and linkgate never decodes more than upx_budget.MAX_DECODED per
# file, so a dictionary of that size always suffices; this stays above it.
_MAX_DICT = 8 << 20


def decompress_lzma(src: bytes, size: int, limit: int | None = None) -> bytes:
    """Decode a UPX LZMA block into exactly `size` bytes, or its first `limit` bytes."""
    return LzmaDecoder(src, size).prefix(size if limit is None else min(size, limit))


class LzmaDecoder:
    """A block decoded on demand; a longer `extend` continues the same stream."""

    def __init__(self, src: bytes, size: int) -> None:
        import lzma  # noqa: PLC0415 - lazy: start-up

        lc, lp, pb = _properties(src)
        dict_size = min(max(_MIN_DICT, size), _MAX_DICT)
        filters = [{"id": lzma.FILTER_LZMA1, "lc": lc, "lp": lp, "pb": pb, "dict_size": dict_size}]
        try:
            self._decoder = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=filters)
        except (lzma.LZMAError, ValueError) as error:
            raise UpxDecodeError(f"bad LZMA parameters: {error}") from error
        self._input = src[2:]
        self._size = size
        self.output = bytearray()

    def prefix(self, length: int) -> bytes:
        """A copy of the first `length` bytes (see `extend`)."""
        self.extend(length)
        return bytes(self.output[:length])

    def extend(self, length: int) -> None:
        """Make `output` hold at least `length` bytes (length <= the declared size), and no more."""
        missing = min(length, self._size) - len(self.output)
        if missing > 0:
            self.output += self._more(missing)
        if len(self.output) < length:
            raise UpxDecodeError(f"LZMA block ends after {len(self.output)} bytes, header says {self._size}")

    def _more(self, count: int) -> bytes:
        import lzma  # noqa: PLC0415 - lazy: start-up

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
