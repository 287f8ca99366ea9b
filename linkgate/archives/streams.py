"""Bounded byte streams: one Stream type, and the views every reader reads through.

Every reader reads a `Stream` front to back: a file, a member of an archive, a
decompressor, or a view here (`Prefixed` puts back sniffed bytes, `Bounded` is
one member of a sequential container, `Metered` charges the archive's Budget).
Every decompressed byte is charged to that Budget, so a bomb stops at the bound,
not at the end of memory. gzip and zstd are decoded ahead of their reader
(readahead.py). `Forward` lets tarfile skip what nobody reads: a stream with
`skip` moves on without copying.
"""

from __future__ import annotations

import io
import lzma
import mmap
import tarfile
import zlib
from typing import IO, TYPE_CHECKING, Protocol

from linkgate.archives.limits import ENVIRONMENT, ArchiveError, Budget, size_text
from linkgate.archives.sniff import HEAD

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

# Bytes read at a time into a held member; bytes skipped at a time.
_CHUNK, _SKIP = 16 << 20, 1 << 20
_FAR = 1 << 62  # further than any stream goes


class Stream(Protocol):
    """Bytes read front to back. Reads may be short; b"" is the end."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> object: ...


class Prefixed:
    """`head` (bytes already read to sniff the format) followed by the rest of `stream`.

    Not an io.RawIOBase: its read(n) would allocate n bytes up front, and an ELF
    member is read with n = its whole size. Reads may be short, as raw reads are.
    """

    def __init__(self, head: bytes, stream: Stream) -> None:
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
        """Move `count` bytes on (Forward skips members so), copying none of the stream's."""
        head = min(count, len(self._head))
        self._head = self._head[head:]
        return head + skip(self._stream, count - head)

    def drain(self) -> None:
        """A decompressed stream read to its end (Forward.drain); any other is left as it is."""
        self._head = b""
        drain = getattr(self._stream, "drain", None)
        if drain is not None:
            drain()

    def close(self) -> None:
        """The underlying stream belongs to whoever opened it."""

    def __enter__(self) -> Prefixed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Metered:
    """A reader that charges every byte it returns to `budget`, and turns decoder errors into ArchiveError."""

    def __init__(self, stream: Stream, budget: Budget, what: str) -> None:
        self._stream = stream
        self._budget = budget
        self._what = what

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._stream.read(size)
        except _DECODER_ERRORS as error:
            raise decoder_failure(self._what, error) from None
        self._budget.spend(len(data))
        return data

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> Metered:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# Why a tar read ends early: Ending's EOFError, and read_tar's words for tarfile's "unexpected end of data".
TRUNCATED_MEMBER = "the data ends inside a member its header says is longer"


class Ending:
    """`stream`, which raises EOFError when it is read again and again at its end.

    tarfile's stream mode skips a member's data by reading block after block, without looking
    for the end: a truncated member whose header claims a petabyte would be "skipped" for days.
    Past the end, only a few reads are ever legitimate (the end-of-archive blocks). Its skip
    passes a Forward view's skips through, counted as its reads are.
    """

    _EMPTY_READS = 64

    def __init__(self, stream: Stream) -> None:
        self._stream = stream
        self._empty = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        if data:
            self._empty = 0
        elif size:
            self._empty += 1
            if self._empty > self._EMPTY_READS:
                raise EOFError(TRUNCATED_MEMBER)
        return data

    def skip(self, count: int) -> int:
        """Move `count` bytes on without copying where `stream` can (Forward skips members so); a skip
        that moves nothing is an empty read."""
        moved = skip(self._stream, count)
        if moved:
            self._empty = 0
        elif count > 0:
            self._empty += 1
            if self._empty > self._EMPTY_READS:
                raise EOFError(TRUNCATED_MEMBER)
        return moved

    def drain(self) -> None:
        """A decompressed stream read to its end (Forward.drain); any other is left as it is."""
        drain = getattr(self._stream, "drain", None)
        if drain is not None:
            drain()

    def close(self) -> None:
        """The underlying stream belongs to whoever opened it."""


def buffered(raw: io.RawIOBase) -> io.BufferedReader:
    """`raw` read ahead in large pieces (callers such as tarfile read a few hundred bytes at a time)."""
    return io.BufferedReader(raw, buffer_size=1 << 20)


_DECODER_ERRORS: tuple[type[Exception], ...] = (EOFError, OSError, lzma.LZMAError, zlib.error)


def decoder_failure(what: str, error: Exception) -> ArchiveError:
    """A decoder's error as the report words it."""
    reason = "the compressed stream ends early" if isinstance(error, EOFError) else str(error) or type(error).__name__
    return ArchiveError(f"{what} data is corrupt or truncated: {reason}")


def read_head(stream: Stream) -> tuple[bytes, Stream]:
    """The first HEAD bytes (fewer at the end of the stream), and the stream with them put back."""
    head = b""
    while len(head) < HEAD and (chunk := stream.read(HEAD - len(head))):
        head += chunk
    return head, Prefixed(head, stream)


def read_capped(stream: Stream, cap: int, what: str, size: int | None = None) -> bytes | mmap.mmap:
    """The rest of `stream` (`size` bytes when the archive says so), at most `cap`; ArchiveError beyond it.

    Read in pieces: asking for `cap` bytes at once would make some readers allocate
    that much before reading a byte. A member of known size is written into anonymous
    memory of that size, so it is held once (joining pieces held a 180 MB library twice).
    """
    if size is not None and size > cap:
        raise ArchiveError(f"{what} is larger than {size_text(cap)}: the bound is member= of {ENVIRONMENT}")
    if size is not None and size > _CHUNK:
        return _read_sized(stream, size, what)
    parts: list[bytes] = []
    total = 0
    want = size if size is not None else cap + 1
    while total < want and (part := stream.read(min(_CHUNK, want - total))):
        parts.append(part)
        total += len(part)
    if total > cap:
        raise ArchiveError(f"{what} is larger than {size_text(cap)}: the bound is member= of {ENVIRONMENT}")
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _read_sized(stream: Stream, size: int, what: str) -> bytes | mmap.mmap:
    """`size` bytes of `stream` in anonymous memory (fewer, as bytes, when the stream ends early).

    The first piece is read before the memory is mapped: a truncated member whose header
    claims gigabytes then never reserves them (under `ulimit -v`, that reservation alone
    failed). Pieces of zeros are not written: the pages stay untouched, so a member padded
    with zeros (a bomb's favourite content) costs its real bytes in memory, not its size.
    """
    first = _read_full(stream, _CHUNK)
    if len(first) < _CHUNK:
        return first  # a cut-off member: what there is, for the reader to refuse
    memory = _anonymous(size, what)
    memory.write(first)
    total = len(first)
    while total < size and (part := stream.read(min(_CHUNK, size - total))):
        if _zeros(part):
            memory.seek(len(part), io.SEEK_CUR)
        else:
            memory.write(part)
        total += len(part)
    if total == size:
        return memory
    short = memory[:total]
    memory.close()
    return short


def _read_full(stream: Stream, size: int) -> bytes:
    """`size` bytes of `stream`, fewer only at its end (reads may be short)."""
    parts: list[bytes] = []
    total = 0
    while total < size and (part := stream.read(size - total)):
        parts.append(part)
        total += len(part)
    return b"".join(parts)


def _anonymous(size: int, what: str) -> mmap.mmap:
    try:
        return mmap.mmap(-1, size)
    except (OSError, MemoryError, OverflowError):
        raise ArchiveError(f"{what} of {size_text(size)} cannot be held in this process's memory") from None


def _zeros(part: bytes) -> bool:
    return part[0] == 0 and part[-1] == 0 and part.count(0) == len(part)


def spooled(stream: Stream, cap: int, what: str) -> IO[bytes]:
    """The rest of `stream` in a file that can seek: in memory up to 64 MiB, then in an unlinked
    temporary file; ArchiveError beyond `cap` bytes."""
    import tempfile  # noqa: PLC0415 - lazy: start-up

    held = tempfile.SpooledTemporaryFile(max_size=64 << 20)  # noqa: SIM115  (the caller closes it)
    total = 0
    while part := stream.read(_SKIP):
        total += len(part)
        if total > cap:
            held.close()
            raise ArchiveError(f"{what} is larger than {size_text(cap)}: the bound is member= of {ENVIRONMENT}")
        held.write(part)
    held.seek(0)
    return held


class Bounded(io.RawIOBase):
    """At most `size` bytes of `stream` (one member of an ar or cpio archive); ArchiveError when it ends first."""

    def __init__(self, stream: Stream, size: int, what: str) -> None:
        self._stream = stream
        self.left = size
        self._what = what

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self.left)
        if want == 0:
            return 0
        data = self._stream.read(want)
        if not data:
            raise ArchiveError(f"{self._what} ends before its member does (truncated)")
        view[: len(data)] = data
        self.left -= len(data)
        return len(data)

    def skip_rest(self) -> None:
        while self.left:
            self.readinto(bytearray(min(self.left, _SKIP)))


class Forward:
    """`stream` with tell() and forward seek() for tarfile's seekable mode; seeking back is refused
    (tarfile.StreamError, in the words of its stream mode)."""

    def __init__(self, stream: Stream) -> None:
        self._stream = stream
        self._position = 0

    def seekable(self) -> bool:
        """Forward only; a tar member read through tarfile asks (and seeks within itself)."""
        return True

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1, /) -> bytes:
        """Up to `size` bytes, read in pieces: tarfile asks for a header's claimed size at once (a GNU long
        name, a PAX header), and a buffered file would allocate that much before reading a byte."""
        data = read_pieces(self._stream, size)
        self._position += len(data)
        return data

    def seek(self, position: int, whence: int = io.SEEK_SET, /) -> int:
        target = position if whence == io.SEEK_SET else self._position + position
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or target < self._position:
            raise tarfile.StreamError("seeking backwards is not allowed")
        self._position += skip(self._stream, target - self._position)
        return self._position

    def drain(self) -> None:
        """A decompressed stream read on to its end: the decoder checks the rest (the last CRC, bytes after it)."""
        drain = getattr(self._stream, "drain", None)
        if drain is not None:
            drain()

    def close(self) -> None:
        """The stream belongs to whoever opened it."""


def read_pieces(stream: Stream, size: int) -> bytes:
    """Up to `size` bytes of `stream` (all of it for a negative size), read in pieces of at most 1 MiB:
    a file's read(size) allocates `size` bytes before reading one."""
    if 0 <= size <= _SKIP:
        return stream.read(size)
    parts: list[bytes] = []
    left = size if size >= 0 else _FAR
    while left and (part := stream.read(min(left, _SKIP))):
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


class Pieced:
    """A seekable file whose reads go in pieces (read_pieces), for tarfile's seekable mode over a file:
    it reads a GNU long name's or a PAX header's claimed size at once, gigabytes for a hostile header."""

    def __init__(self, handle: io.FileIO) -> None:
        self._handle = handle

    def read(self, size: int = -1, /) -> bytes:
        return read_pieces(self._handle, size)

    def seekable(self) -> bool:
        """A member read through tarfile asks."""
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def close(self) -> None:
        """The handle belongs to whoever opened it."""


def skip(stream: Stream, count: int) -> int:
    """Move `stream` `count` bytes on without copying where it can; how many it moved (fewer at its end)."""
    if count <= 0:
        return 0
    skipper = getattr(stream, "skip", None)
    if skipper is not None:
        moved: int = skipper(count)
        return moved
    if isinstance(stream, io.BufferedReader) and stream.seekable():  # a file, or a member of a tar that seeks
        start = stream.tell()
        try:
            return stream.seek(count, io.SEEK_CUR) - start
        except (OSError, ValueError, OverflowError):
            # Further than a file may go (EINVAL past the file system's largest file, ValueError
            # past 2**63): a header's claimed size, past the end of the data in any case.
            return stream.seek(0, io.SEEK_END) - start
    moved = 0
    while moved < count and (data := stream.read(min(count - moved, _SKIP))):
        moved += len(data)
    return moved
