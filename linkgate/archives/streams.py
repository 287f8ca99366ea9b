"""Bounded byte streams: one Stream type, and the views every reader reads through.

Every reader reads a `Stream` front to back: a file, a member of an archive, a
decompressor, or a view here (`Prefixed` puts back sniffed bytes, `Bounded` is
one member of a sequential container, `Metered` charges the archive's Budget).
Every decompressed byte is charged to that Budget, so a bomb stops at the bound,
not at the end of memory.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import mmap
import sys
import zlib
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, Protocol, cast

from linkgate.archives.limits import ENVIRONMENT, ArchiveError, Budget, size_text
from linkgate.archives.missing import ZSTD_MISSING
from linkgate.archives.sniff import HEAD, Format

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

# Bytes read at a time into a held member; bytes skipped at a time.
_CHUNK, _SKIP = 16 << 20, 1 << 20


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
            raise ArchiveError(f"{self._what} data is corrupt or truncated: {_reason(error)}") from None
        self._budget.spend(len(data))
        return data

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> Metered:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Ending:
    """`stream`, which raises EOFError when it is read again and again at its end.

    tarfile's stream mode skips a member's data by reading block after block, without looking
    for the end: a truncated member whose header claims a petabyte would be "skipped" for days.
    Past the end, only a few reads are ever legitimate (the end-of-archive blocks).
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
                raise EOFError("the data ends inside a member its header says is longer")
        return data

    def close(self) -> None:
        """The underlying stream belongs to whoever opened it."""


def buffered(raw: io.RawIOBase) -> io.BufferedReader:
    """`raw` read ahead in large pieces (callers such as tarfile read a few hundred bytes at a time)."""
    return io.BufferedReader(raw, buffer_size=1 << 20)


def decompressed(kind: Format, stream: Stream, budget: Budget) -> Stream:
    """The decompressed bytes of `stream`, metered; ArchiveError when no zstd decoder can be imported."""
    opener = _OPENERS.get(kind) or _zstd_reader
    return Metered(opener(stream), budget, kind.value)


def _zstd_reader(stream: Stream) -> Stream:
    zstd = _zstd_module()
    reader = zstd.ZstdFile(_as_file(stream), mode="rb")  # reads concatenated frames as one stream, like gzip
    return _Translated(reader, zstd.ZstdError)


def _zstd_module() -> Any:
    """The standard library's compression.zstd (Python 3.14+), else its backport, a dependency below 3.14."""
    try:
        if sys.version_info >= (3, 14):
            from compression import zstd  # noqa: PLC0415 - lazy: start-up
        else:
            from backports import zstd  # noqa: PLC0415 - lazy: start-up
    except ImportError:  # a broken install (--no-deps): say so, never pass what was not read
        raise ArchiveError(ZSTD_MISSING) from None
    return zstd


class _Translated:
    """A decoder whose own exception type becomes OSError, which Metered reports."""

    def __init__(self, stream: Stream, error: type[Exception]) -> None:
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
_OPENERS: dict[Format, Callable[[Stream], Stream]] = {
    Format.GZIP: lambda s: gzip.GzipFile(fileobj=_as_file(s), mode="rb"),
    Format.XZ: lambda s: lzma.LZMAFile(_as_file(s)),  # noqa: SIM115  (closed with the stream)
    Format.BZIP2: lambda s: bz2.BZ2File(_as_file(s)),
}


def _as_file(stream: Stream) -> IO[bytes]:
    """`stream` for a decoder typed to take a file: read front to back, the decoders only call read."""
    return cast(IO[bytes], stream)


class Rewinding:
    """The decompressed bytes of a compressed file, seekable: for a container image tar read out of
    order. Forward by decoding and dropping, backward by decoding again from the start; every byte
    decoded is charged to the budget, so going back and forth costs no more than it may decode."""

    def __init__(self, kind: Format, handle: io.FileIO, budget: Budget) -> None:
        self._kind, self._handle, self._budget = kind, handle, budget
        self._buffer: io.BufferedReader | None = None
        self._at = 0
        self._stream = self._restart()

    def _restart(self) -> Stream:
        self._let_go()
        self._handle.seek(0)
        self._buffer = buffered(self._handle)
        self._at = 0
        return decompressed(self._kind, self._buffer, self._budget)

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self._at += len(data)
        return data

    def tell(self) -> int:
        return self._at

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        target = offset + (self._at if whence == io.SEEK_CUR else 0)
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or target < 0:
            raise OSError("a decompressed stream seeks only from its start or its position")
        if target < self._at:
            self._stream = self._restart()
        while self._at < target and self.read(min(_SKIP, target - self._at)):
            pass
        return self._at

    def close(self) -> None:
        self._let_go()

    def _let_go(self) -> None:
        """The buffer is let go of, never closed: the handle is its opener's to close."""
        if self._buffer is not None:
            self._buffer.detach()
            self._buffer = None


_DECODER_ERRORS: tuple[type[Exception], ...] = (EOFError, OSError, lzma.LZMAError, zlib.error)


def _reason(error: Exception) -> str:
    if isinstance(error, EOFError):
        return "the compressed stream ends early"
    return str(error) or type(error).__name__


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
