"""Decompressed streams: gzip and zstd decoded on the second core, and skipped without copying.

`decompressed` is the one way to a compressed stream's bytes. `ReadAhead` decodes a gzip or
zstd stream ahead of the caller, who walks the tar and judges members. A stream is decoded in
the caller's thread until it has given _INLINE_LIMIT bytes (most compressed members of a tree
are small, and need neither a thread nor read-ahead); a longer one moves to a thread of its
own. The decoders release the GIL, so the two threads run on two cores.

Only the caller's thread reads the compressed source (a file, or a member of an outer archive,
whose reader carries on after this one): it hands chunks to the decoder ahead of need, and an
error reading them is handed over too, so it surfaces where the decoder needs those bytes, as
it did when the caller decoded. Memory stays bounded: at most _AHEAD_IN compressed chunks and
_AHEAD_OUT decompressed blocks are in flight, plus the block the caller is reading. Every
decompressed byte the caller reads or skips is charged to the archive's Budget, as it is taken.

gzip is read as Python's gzip module reads it (members one after another, zeros allowed between
them, its own words for a bad header, CRC or length, and for an early end), with the fastest
installed inflater (inflate.py); zstd through the same ZstdFile the caller used before. A
ReadAhead `skip`s without copying: streams.Forward moves past a member nobody reads so.

`Rewinding` is a decompressed file that seeks both ways (an image tar read out of order).
"""

from __future__ import annotations

import bz2
import io
import lzma
import struct
import sys
from collections import deque
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any, cast

from linkgate.archives.inflate import Decompressor, Inflater, fastest, stdlib_zlib
from linkgate.archives.limits import ArchiveError, Budget
from linkgate.archives.missing import ZSTD_MISSING
from linkgate.archives.sniff import HEAD, Format
from linkgate.archives.streams import Metered, Stream, buffered, decoder_failure

if TYPE_CHECKING:
    import queue
    import threading

# Compressed bytes read at a time: while decoding in the caller's thread, GzipFile's and ZstdFile's
# own reads (8 KiB), so an outer member is read as before; then larger chunks for the thread.
_INLINE_CHUNK, _IN_CHUNK = 8 << 10, 256 << 10
_INLINE_LIMIT = 2 << 20
_BLOCK = 1 << 20
_AHEAD_IN, _AHEAD_OUT = 16, 8
_POLL = 0.05  # seconds: how soon a dropped reader's thread notices
_END = b""
THREAD_NAME = "linkgate-readahead"

_GZIP_MAGIC = b"\x1f\x8b"
_FHCRC, _FEXTRA, _FNAME, _FCOMMENT = 2, 4, 8, 16
_EARLY_END = "Compressed file ended before the end-of-stream marker was reached"
_GZIP_READ = 8 << 10  # GzipFile's reads: compressed bytes in, decompressed bytes out, at most
_TAKEN_MOST = 1 << 20

# A chunk, or the error reading the source raised (raised where the decoder needs the chunk).
Chunk = bytes | BaseException
Producer = Callable[["_Feed"], Iterator[bytes]]


class _AbandonedError(Exception):
    """The reader was dropped before the end: its thread stops."""


class _Feed:
    """The decoder's view of the compressed chunks: read from the source while the decoder runs in the
    caller's thread, then handed over by that thread through `chunks` once the decoder has a thread."""

    def __init__(self, source: Stream) -> None:
        self.source: Stream | None = source
        self.chunks: queue.Queue[Chunk] | None = None
        self.stop: threading.Event | None = None
        self.ended = False
        self._left = b""

    def chunk(self) -> bytes:
        """The next compressed chunk; b"" at the end of the source."""
        if self._left:
            data, self._left = self._left, b""
            return data
        if self.ended:
            return _END
        if self.source is not None:
            data = self.source.read(_INLINE_CHUNK)
            self.ended = not data
            return data
        assert self.chunks is not None and self.stop is not None
        while True:
            try:
                item = self.chunks.get(timeout=_POLL)
            except _queue_empty():
                if self.stop.is_set():
                    raise _AbandonedError from None
                continue
            if isinstance(item, BaseException):
                self.ended = True
                raise item
            self.ended = not item
            return item

    def read(self, size: int = -1, /) -> bytes:
        """File-like access (ZstdFile's, GzipFile's first reads): while the decoder runs in the caller's
        thread, the source is read as that reader read it; then a read never goes past one chunk."""
        if self.source is not None and not self._left and not self.ended and size >= 0:
            data = self.source.read(size)
            self.ended = not data
            return data
        data = self.chunk()
        if 0 <= size < len(data):
            data, self._left = data[:size], data[size:]
        return data

    def close(self) -> None:
        """The source belongs to whoever opened it."""


def _queue_empty() -> type[Exception]:
    import queue  # noqa: PLC0415 - lazy: start-up

    return queue.Empty


def gzip_blocks(inflater: Inflater) -> Producer:
    """Decompressed blocks of a gzip stream, read as Python's gzip module reads one.

    Until the stream has given its head, it is decoded by the stdlib's zlib, one call at a time as
    GzipFile's first reads made them: a stream read only for its head (a compressed file that is no
    archive) is decoded no further, and no differently, than before, so damage past that point is
    judged as before (not at all), whichever inflater is installed. The rest goes to `inflater`,
    which first decodes again what zlib took, to pick up where it stopped.
    """
    stdlib = stdlib_zlib()

    def produce(feed: _Feed) -> Iterator[bytes]:
        source = _Input(feed)
        total = 0
        while _gzip_header(source):
            member = _Member(stdlib if total < HEAD else inflater)
            while not member.decoder.eof:
                if member.taken is not None and total >= HEAD:
                    blocks: Iterator[bytes] | list[bytes] = member.hand_over(inflater)
                else:
                    blocks = member.step(source, first=total < HEAD)
                for block in blocks:
                    member.count(block)
                    total += len(block)
                    yield block
            source.prepend(member.decoder.unused_data)
            stored_crc, stored_size = struct.unpack("<II", source.exact(8))
            if stored_crc != member.crc:
                raise OSError(f"CRC check failed {hex(stored_crc)} != {hex(member.crc)}")
            if stored_size != member.size & 0xFFFFFFFF:
                raise OSError("Incorrect length of data produced")
            source.skip_zeros()

    return produce


class _Member:
    """One gzip member's deflate data being decoded: its decoder, CRC-32 and size so far."""

    def __init__(self, library: Inflater) -> None:
        self.library = library
        self.decoder = library.raw_decoder()
        self.crc = self.size = 0
        # The compressed bytes the stdlib's decoder took while the stream gave its head (None: not kept).
        self.taken: list[bytes] | None = [] if library.name == "zlib" else None

    def count(self, block: bytes) -> None:
        self.crc = self.library.crc32(block, self.crc)
        self.size += len(block)

    def step(self, source: _Input, first: bool) -> Iterator[bytes] | list[bytes]:
        """The next decoded bytes: one GzipFile-sized call while `first`, else a whole chunk's worth."""
        data = source.file_read(_GZIP_READ) if first else source.next_chunk()
        if not data:
            held = _decoded(self.decoder, b"", _GZIP_READ, self.library)  # what the decoder still holds
            if not held:
                raise EOFError(_EARLY_END)
            return [held]
        if not first:
            return _inflated(self.decoder, data, self.library)
        block = _decoded(self.decoder, data, _GZIP_READ, self.library)
        tail = self.decoder.unconsumed_tail
        source.prepend(tail)
        if self.taken is not None:
            self.taken.append(data[: len(data) - len(tail)])
            if sum(map(len, self.taken)) > _TAKEN_MOST:
                self.taken = None  # an odd stream (empty blocks): the stdlib's decoder reads all of it
        return [block]

    def hand_over(self, inflater: Inflater) -> list[bytes]:
        """The rest of the member to `inflater`: its decoder decodes what the stdlib's took, and gives
        what lies past the bytes already handed out. If it refuses that, the stdlib's decoder goes on."""
        taken, self.taken = b"".join(self.taken or ()), None
        if inflater is self.library:
            return []
        fresh = inflater.raw_decoder()
        try:
            decoded = b"".join(_inflated(fresh, taken, inflater))
        except OSError:
            return []
        agrees = len(decoded) >= self.size and inflater.crc32(decoded[: self.size], 0) == self.crc
        if fresh.eof or fresh.unconsumed_tail or not agrees:
            return []
        self.library, self.decoder = inflater, fresh
        return [decoded[self.size :]] if len(decoded) > self.size else []


def _gzip_header(source: _Input) -> bool:
    """Past one member's header; False at the end of the stream. gzip's own checks and words."""
    magic = source.exact(2, short=True)
    if not magic:
        return False
    if magic != _GZIP_MAGIC:
        raise OSError(f"Not a gzipped file ({magic!r})")
    method, flags = source.exact(8)[:2]
    if method != 8:
        raise OSError("Unknown compression method")
    if flags & _FEXTRA:
        source.exact(int.from_bytes(source.exact(2), "little"))
    for field in (_FNAME, _FCOMMENT):
        if flags & field:
            source.skip_string()
    if flags & _FHCRC:
        source.exact(2)
    return True


def _inflated(decoder: Decompressor, data: bytes, inflater: Inflater) -> Iterator[bytes]:
    """All `data` decoded, in blocks of at most _BLOCK bytes (a bomb never makes a big one)."""
    while data:
        block = _decoded(decoder, data, _BLOCK, inflater)
        if block:
            yield block
        if decoder.eof:
            return
        data = decoder.unconsumed_tail


def _decoded(decoder: Decompressor, data: bytes, most: int, inflater: Inflater) -> bytes:
    try:
        return decoder.decompress(data, most)
    except inflater.error:
        # Each library words a corrupt stream its own way (and may notice it a few bytes
        # apart): one wording, so a report never depends on which one is installed.
        raise OSError("invalid deflate data") from None


class _Input:
    """The compressed bytes as the gzip reader takes them: bytes put back first, then the feed's chunks."""

    def __init__(self, feed: _Feed) -> None:
        self._feed = feed
        self._data = b""

    def next_chunk(self) -> bytes:
        if self._data:
            data, self._data = self._data, b""
            return data
        return self._feed.chunk()

    def prepend(self, data: bytes) -> None:
        self._data = data + self._data

    def file_read(self, size: int) -> bytes:
        """As GzipFile's reads of its file: bytes put back first, the rest read from the source."""
        if not self._data:
            return self._feed.read(size)
        data, self._data = self._data[:size], self._data[size:]
        return data + self._feed.read(size - len(data)) if len(data) < size else data

    def exact(self, count: int, short: bool = False) -> bytes:
        """`count` bytes; fewer only at the end with `short`, else EOFError (gzip's _read_exact)."""
        while len(self._data) < count and (chunk := self._feed.chunk()):
            self._data += chunk
        data, self._data = self._data[:count], self._data[count:]
        if len(data) < count and not short:
            raise EOFError(_EARLY_END)
        return data

    def skip_string(self) -> None:
        """Past a NUL-terminated header field (or to the end, as gzip goes, quietly)."""
        while True:
            data = self.next_chunk()
            end = data.find(b"\0")
            if end >= 0:
                self.prepend(data[end + 1 :])
                return
            if not data:
                return

    def skip_zeros(self) -> None:
        """Past the zeros a gzip file may be padded with between and after members."""
        while data := self.next_chunk():
            rest = data.lstrip(b"\0")
            if rest:
                self.prepend(rest)
                return


def zstd_blocks(zstd: Any) -> Producer:
    """Decompressed blocks of a zstd stream, read by `zstd` (compression.zstd or its backport) as before."""

    def produce(feed: _Feed) -> Iterator[bytes]:
        reader = zstd.ZstdFile(feed, mode="rb")  # reads concatenated frames as one stream, like gzip
        try:
            # The head first, as the caller's first read took it (see gzip_blocks), then large blocks.
            size = HEAD
            while block := reader.read(size):
                yield block
                size = _BLOCK
        except zstd.ZstdError as error:
            raise OSError(str(error)) from None

    return produce


class ReadAhead:
    """The decompressed bytes of `source`, decoded ahead of the reader (by a thread once the stream
    proves long); every byte read or skipped charged to `budget`."""

    def __init__(self, source: Stream, produce: Producer, budget: Budget, what: str) -> None:
        self._source = source
        self._budget = budget
        self._what = what
        self._feed = _Feed(source)
        self._decoded: Iterator[bytes] | None = produce(self._feed)  # None: handed to the thread
        self._inline = 0
        self._chunks: queue.Queue[Chunk] | None = None
        self._blocks: queue.Queue[bytes | BaseException | None] | None = None
        self._stop: threading.Event | None = None
        self._source_done = False
        self._held: deque[memoryview] = deque()
        self._done = False
        # Raised again at every later read: a nested reader that swallowed it must not make this end quietly.
        self._failed: BaseException | None = None

    def read(self, size: int = -1, /) -> bytes:
        wanted = size if size >= 0 else 1 << 62
        parts: list[memoryview] = []
        while wanted and self._fill():
            first = self._held[0]
            if len(first) <= wanted:
                parts.append(self._held.popleft())
            else:
                parts.append(first[:wanted])
                self._held[0] = first[wanted:]
            wanted -= len(parts[-1])
            self._budget.spend(len(parts[-1]))  # block by block: a bomb stops at the bound, not at the end
        return parts[0].tobytes() if len(parts) == 1 else b"".join(parts)

    def skip(self, count: int) -> int:
        """Drop up to `count` bytes without copying them (each charged, as a read of it is); how many were dropped."""
        left = count
        while left and self._fill():
            first = self._held[0]
            dropped = min(len(first), left)
            if dropped == len(first):
                self._held.popleft()
            else:
                self._held[0] = first[dropped:]
            left -= dropped
            self._budget.spend(dropped)
        return count - left

    def drain(self) -> None:
        """Read on to the end, copying nothing: the decoder checks the rest of its stream."""
        while self.skip(1 << 62):
            pass

    def _fill(self) -> bool:
        """At least one decompressed byte held; False at the end of the stream."""
        while not self._held:
            if self._failed is not None:
                raise self._failed
            if self._done:
                return False
            if self._decoded is not None:
                self._decode_inline(self._decoded)
            else:
                self._take_block()
        return True

    def _decode_inline(self, decoded: Iterator[bytes]) -> None:
        """One block decoded in this thread; past _INLINE_LIMIT, the decoder moves to a thread of its own."""
        try:
            block = next(decoded)
        except StopIteration:
            self._done = True
            return
        except Exception as error:
            self._failed = self._failure(error)
            raise self._failed from None
        self._held.append(memoryview(block))
        self._inline += len(block)
        if self._inline >= _INLINE_LIMIT:
            self._start_thread(decoded)

    def _start_thread(self, decoded: Iterator[bytes]) -> None:
        """From now on this thread feeds the decoder and the other decodes."""
        import queue  # noqa: PLC0415 - lazy: start-up
        import threading  # noqa: PLC0415 - lazy: start-up

        self._chunks, self._blocks, self._stop = queue.Queue(_AHEAD_IN), queue.Queue(_AHEAD_OUT), threading.Event()
        self._feed.chunks, self._feed.stop = self._chunks, self._stop
        # The feed's own flag: the source may have ended while the decoder read it itself.
        self._source_done, self._feed.source, self._decoded = self._feed.ended, None, None
        thread = threading.Thread(
            target=_decode, args=(decoded, self._blocks, self._stop), name=THREAD_NAME, daemon=True
        )
        thread.start()

    def _take_block(self) -> None:
        assert self._blocks is not None
        self._feed_source()
        try:  # a decoder that needs more input than is queued (a long header) gets it on the next turn
            item = self._blocks.get(timeout=_POLL)
        except _queue_empty():
            return
        if item is None:
            self._done = True
        elif isinstance(item, BaseException):
            self._failed = self._failure(item)
            raise self._failed
        else:
            self._held.append(memoryview(item))

    def _feed_source(self) -> None:
        """Hand the decoder compressed chunks until it has _AHEAD_IN of them (only this thread reads the source)."""
        assert self._chunks is not None
        while not self._source_done and not self._chunks.full():
            item: Chunk
            try:
                item = self._source.read(_IN_CHUNK)
            except Exception as error:  # the decoder raises it where it needs these bytes
                item = error
            self._source_done = not isinstance(item, bytes) or not item
            self._chunks.put_nowait(item)

    def _failure(self, error: BaseException) -> BaseException:
        if isinstance(error, ArchiveError) or not isinstance(error, EOFError | OSError):
            return error  # an outer archive's own error (truncated, over its bound), or a bug: as it is
        return decoder_failure(self._what, error)

    def close(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def __del__(self) -> None:
        self.close()


def _decode(decoded: Iterator[bytes], blocks: queue.Queue[bytes | BaseException | None], stop: threading.Event) -> None:
    """The decoder thread: blocks into the queue, then None (the end) or the exception that ended it."""
    try:
        for block in decoded:
            _put(blocks, block, stop)
        _put(blocks, None, stop)
    except _AbandonedError:
        return
    except BaseException as error:  # handed to the reader, which raises it in its own thread
        try:
            _put(blocks, error, stop)
        except _AbandonedError:
            return


def _put(blocks: queue.Queue[bytes | BaseException | None], item: bytes | BaseException | None, stop: Any) -> None:
    import queue  # noqa: PLC0415 - lazy: start-up

    while True:
        try:
            blocks.put(item, timeout=_POLL)
            return
        except queue.Full:
            if stop.is_set():
                raise _AbandonedError from None


def decompressed(kind: Format, stream: Stream, budget: Budget) -> Stream:
    """The decompressed bytes of `stream`, metered; ArchiveError when no zstd decoder can be imported.

    gzip and zstd (layers, packages, most tarballs) are decoded ahead of the reader, on the second
    core once the stream proves long; xz and bzip2 as they are read.
    """
    if kind is Format.GZIP:
        return ReadAhead(stream, gzip_blocks(fastest()), budget, kind.value)
    if kind is Format.ZSTD:
        return ReadAhead(stream, zstd_blocks(_zstd_module()), budget, kind.value)
    return Metered(_OPENERS[kind](stream), budget, kind.value)


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


# The stdlib decoders: each reads concatenated streams as one.
_OPENERS: dict[Format, Callable[[Stream], Stream]] = {
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
        if self._buffer is not None:
            self._stream.close()  # a decoder thread stops now, not when collected
        self._let_go()
        self._handle.seek(0)
        self._buffer = buffered(self._handle)
        self._at = 0
        return decompressed(self._kind, self._buffer, self._budget)

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self._at += len(data)
        return data

    def seekable(self) -> bool:
        """It seeks (a tar member read through tarfile asks)."""
        return True

    def tell(self) -> int:
        return self._at

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        target = offset + (self._at if whence == io.SEEK_CUR else 0)
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or target < 0:
            raise OSError("a decompressed stream seeks only from its start or its position")
        if target < self._at:
            self._stream = self._restart()
        while self._at < target and self.read(min(_BLOCK, target - self._at)):
            pass
        return self._at

    def close(self) -> None:
        self._let_go()

    def _let_go(self) -> None:
        """The buffer is let go of, never closed: the handle is its opener's to close."""
        if self._buffer is not None:
            self._buffer.detach()
            self._buffer = None
