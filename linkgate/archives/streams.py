"""Byte streams of an archive: what a head of bytes is (by magic), decompression, and metering.

Formats are told by content; a file name only breaks ties (a zip is a wheel
when it is called *.whl). Every decompressed byte is charged to the archive's
Budget, so a bomb stops at the bound, not at the end of memory.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import mmap
import zlib
from collections.abc import Callable
from typing import BinaryIO, cast

from linkgate.archives.limits import ArchiveError, Budget, size_text
from linkgate.archives.magic import HEAD, Format
from linkgate.archives.readahead import read_ahead, skip


class Prefixed:
    """`head` (bytes already read to sniff the format) followed by the rest of `stream`.

    Not an io.RawIOBase: its read(n) would allocate n bytes up front, and an ELF
    member is read with n = its whole size. Reads may be short, as raw reads are.
    """

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._stream.read(size)
        if size < 0:
            data, self._head = self._head + self._stream.read(), b""
            return data
        data, self._head = self._head[:size], self._head[size:]
        return data

    def skip(self, count: int) -> int:
        """Move `count` bytes on (readahead.Forward skips members so), copying none of the stream's."""
        head, self._head = len(self._head[:count]), self._head[count:]
        return head + skip(self._stream, count - head)

    def close(self) -> None:
        """The underlying stream belongs to whoever opened it."""

    def __enter__(self) -> Prefixed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Metered:
    """A reader that charges every byte it returns to `budget`, and turns decoder errors into ArchiveError."""

    def __init__(self, stream: BinaryIO, budget: Budget, what: str) -> None:
        self._stream = stream
        self._budget = budget
        self._what = what

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._stream.read(size)
        except _DECODER_ERRORS as error:
            raise ArchiveError(f"{self._what} data is corrupt or truncated: {_reason(error)}") from None
        self._budget.spend(len(data))
        return data

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> Metered:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def buffered(raw: io.RawIOBase) -> BinaryIO:
    return cast(BinaryIO, io.BufferedReader(raw, buffer_size=1 << 20))


def decompressed(kind: Format, stream: BinaryIO, budget: Budget) -> BinaryIO:
    """The decompressed bytes of `stream`, metered; ArchiveError when zstd support is not installed."""
    if ahead := read_ahead(kind, stream, budget):  # gzip and zstd: decoded by a thread (archives/readahead.py)
        return ahead
    opener = _OPENERS.get(kind) or _zstd_reader
    return cast(BinaryIO, Metered(opener(stream), budget, kind.value))


def _zstd_reader(stream: BinaryIO) -> BinaryIO:
    try:
        import zstandard  # noqa: PLC0415  (optional: the linkgate[zstd] extra; imported only when met)
    except ImportError:
        raise ArchiveError(
            "zstd-compressed data cannot be read without the optional zstd support: pip install 'linkgate[zstd]'"
        ) from None
    reader = zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True)
    return cast(BinaryIO, _Translated(reader, zstandard.ZstdError))


class _Translated:
    """A decoder whose own exception type becomes OSError, which Metered reports."""

    def __init__(self, stream: BinaryIO, error: type[Exception]) -> None:
        self._stream = stream
        self._error = error

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except self._error as error:
            raise OSError(str(error)) from None

    def close(self) -> None:
        self._stream.close()


# The stdlib decoders: each reads concatenated streams (gzip members, xz streams) as one.
_OPENERS: dict[Format, Callable[[BinaryIO], BinaryIO]] = {
    Format.GZIP: lambda s: cast(BinaryIO, gzip.GzipFile(fileobj=s, mode="rb")),
    Format.XZ: lambda s: cast(BinaryIO, lzma.LZMAFile(s)),  # noqa: SIM115  (closed with the stream)
    Format.BZIP2: lambda s: cast(BinaryIO, bz2.BZ2File(s)),
}


def seekable_decompressed(kind: Format, stream: BinaryIO) -> BinaryIO:
    """A decompressed view that can seek (by decoding again): for container image tars read out of order."""
    if kind not in _OPENERS:
        raise ArchiveError(
            f"a {kind.value}-compressed container image cannot be read out of order: decompress it first"
        )
    return _OPENERS[kind](stream)


_DECODER_ERRORS: tuple[type[Exception], ...] = (EOFError, OSError, lzma.LZMAError, zlib.error)


def _reason(error: Exception) -> str:
    if isinstance(error, EOFError):
        return "the compressed stream ends early"
    return str(error) or type(error).__name__


def read_head(stream: BinaryIO) -> tuple[bytes, BinaryIO]:
    """The first HEAD bytes (fewer at the end of the stream), and the stream with them put back."""
    head = b""
    while len(head) < HEAD and (chunk := stream.read(HEAD - len(head))):
        head += chunk
    return head, cast(BinaryIO, Prefixed(head, stream))


_CHUNK = 16 << 20


def read_capped(stream: BinaryIO, cap: int, what: str, size: int | None = None) -> bytes | mmap.mmap:
    """The rest of `stream` (`size` bytes when the archive says so), at most `cap`; ArchiveError beyond it.

    Read in pieces: asking for `cap` bytes at once would make some readers allocate
    that much before reading a byte. A member of known size is written into anonymous
    memory of that size, so it is held once (joining pieces held a 180 MB library twice).
    """
    if size is not None and size > cap:
        raise ArchiveError(f"{what} is larger than {size_text(cap)} (raise member= in LINKGATE_ARCHIVE_LIMITS)")
    if size is not None and size > _CHUNK:
        return _read_sized(stream, size)
    parts: list[bytes] = []
    total = 0
    want = size if size is not None else cap + 1
    while total < want and (part := stream.read(min(_CHUNK, want - total))):
        parts.append(part)
        total += len(part)
    if total > cap:
        raise ArchiveError(f"{what} is larger than {size_text(cap)} (raise member= in LINKGATE_ARCHIVE_LIMITS)")
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _read_sized(stream: BinaryIO, size: int) -> bytes | mmap.mmap:
    """`size` bytes of `stream` in anonymous memory (fewer, as bytes, when the stream ends early)."""
    memory = mmap.mmap(-1, size)
    total = 0
    while total < size and (part := stream.read(min(_CHUNK, size - total))):
        memory.write(part)
        total += len(part)
    if total == size:
        return memory
    short = memory[:total]  # a cut-off member: what there is, for the reader to refuse
    memory.close()
    return short
