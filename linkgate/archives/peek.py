"""The first bytes inside a compressed file, without the archive readers.

A tree often holds compressed files that are no archive at all (`config.sh.gz`,
man pages). The full reader decompresses such a file's head, finds neither ELF
nor an archive there, and reports nothing; getting there imports tarfile, gzip
and the member machinery, tens of milliseconds in every worker process. Here
only the C decoder is used, and only its answer "nothing to read" is trusted:
every other case (an archive, an ELF file, a corrupt or truncated start, more
streams after a short first one, zstd) goes to the full reader, which reports it.
"""

from __future__ import annotations

from typing import BinaryIO, Protocol

from linkgate.archives.magic import HEAD, Format

# Compressed bytes read at a time: a head of HEAD bytes rarely needs more than the first read.
_STEP = 1 << 14
# Compressed bytes read at most: a stream that gives no HEAD bytes from this much is left to the full reader.
_MOST = 1 << 20


class _Decoder(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


def _decoder(kind: Format) -> _Decoder | None:
    # Imported here: each costs start-up time only the runs that meet such a file pay.
    if kind is Format.GZIP:
        import zlib  # noqa: PLC0415

        return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    if kind is Format.XZ:
        import lzma  # noqa: PLC0415

        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    if kind is Format.BZIP2:
        import bz2  # noqa: PLC0415

        return bz2.BZ2Decompressor()
    return None


def inner_head(kind: Format, handle: BinaryIO) -> bytes | None:
    """The first HEAD decompressed bytes of the file open as `handle` (at its start), or fewer when
    that is all it holds; None when only the full reader can tell (see the module docstring)."""
    decoder = _decoder(kind)
    if decoder is None:
        return None
    head = b""
    read = 0
    try:
        while len(head) < HEAD and read < _MOST and not decoder.eof:
            data = handle.read(_STEP)
            if not data:
                return None  # truncated: the full reader names it
            read += len(data)
            head += decoder.decompress(data, HEAD - len(head))
    except Exception:  # each decoder has its own error type; the full reader names the problem
        return None
    if len(head) < HEAD and not (decoder.eof and not decoder.unused_data and _at_end(handle)):
        return None  # short, and more may follow (another stream, trailing bytes): the full reader decides
    return head


def _at_end(handle: BinaryIO) -> bool:
    return not handle.read(1)
