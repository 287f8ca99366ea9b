"""Decompression on the second core, and skipping bytes without copying them.

`ReadAhead` decodes a gzip (or zstd) stream in a thread while the caller walks the tar and judges
members: the decoders release the GIL, so the two run on two cores. Only the caller's thread
reads the compressed source (a file, or the bounded member of an outer archive, whose reader
carries on after this one), handing chunks to the decoder ahead of need. Memory stays bounded:
at most `_AHEAD_IN` compressed and `_AHEAD_OUT` decompressed blocks are in flight, plus what the
caller holds. Every decompressed byte is charged to the archive's Budget, skipped ones too.

`Forward` gives tarfile's seekable mode a stream that only goes forward: moving past a member
nobody needs drops decompressed blocks (or seeks a file) instead of copying them through reads.
"""

from __future__ import annotations

import io
import queue
import tarfile
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import BinaryIO, cast

from linkgate.archives.inflate import Decompressor, Inflater, fastest
from linkgate.archives.limits import ArchiveError, Budget
from linkgate.archives.magic import Format

_IN_CHUNK = 256 << 10
# A stream is decoded in the caller's thread until it has given this much: most compressed members
# (man pages, changelogs) end first, and need neither a thread nor read-ahead.
_INLINE_CHUNK, _INLINE_LIMIT = 32 << 10, 2 << 20
_BLOCK = 1 << 20
_AHEAD_IN, _AHEAD_OUT = 16, 8
_POLL = 0.05  # seconds: how soon an abandoned reader's thread notices
_END = b""
_GZIP_MAGIC = b"\x1f\x8b"
THREAD_NAME = "linkgate-readahead"

Producer = Callable[["_Feed"], Iterator[bytes]]
# Decompressed blocks, then None (the end) or the exception that ended the stream.
Blocks = queue.Queue[bytes | BaseException | None]


class _Feed:
    """The decoder's view of the compressed chunks: read from the source while the decoder runs in the
    caller's thread, then handed over by it through `chunks` once the decoder has a thread."""

    def __init__(self, source: BinaryIO, chunks: queue.Queue[bytes], stop: threading.Event) -> None:
        self.source: BinaryIO | None = source
        self._chunks = chunks
        self._stop = stop
        self.ended = False
        self._left = b""

    def chunk(self) -> bytes:
        """The next compressed chunk; b"" at the end of the source."""
        if self.source is not None and not self.ended:
            chunk = self.source.read(_INLINE_CHUNK)
            self.ended = not chunk
            return chunk
        while not self.ended:
            try:
                chunk = self._chunks.get(timeout=_POLL)
            except queue.Empty:
                if self._stop.is_set():
                    raise _AbandonedError from None
                continue
            self.ended = chunk == _END
            return chunk
        return _END

    def read(self, size: int = -1) -> bytes:
        """File-like access for decoders that pull (zstandard's stream_reader)."""
        data = self._left or self.chunk()
        if size < 0 or len(data) <= size:
            self._left = b""
            return data
        self._left = data[size:]
        return data[:size]


class _AbandonedError(Exception):
    """The reader was dropped before the end: its thread stops."""


def gzip_blocks(inflater: Inflater) -> Producer:
    """Decompressed blocks of a gzip stream, read as Python's gzip reads one: members one after
    another, zeros allowed between them, anything else refused with gzip's own words."""

    def produce(feed: _Feed) -> Iterator[bytes]:
        decoder: Decompressor | None = None  # None: before a member
        members, pending = 0, b""
        while chunk := feed.chunk():
            data, pending = pending + chunk, b""
            while data:
                if decoder is None:
                    data = data.lstrip(b"\0") if members else data
                    if len(data) < len(_GZIP_MAGIC):
                        pending = data
                        break
                    if not data.startswith(_GZIP_MAGIC):
                        raise OSError(f"Not a gzipped file ({data[:2]!r})")
                    decoder = inflater.gzip_decoder()
                yield from _inflated(decoder, data, inflater)
                data, decoder, members = (
                    (decoder.unused_data, None, members + 1) if decoder.eof else (b"", decoder, members)
                )
        if decoder is not None or pending:
            raise EOFError("Compressed file ended before the end-of-stream marker was reached")

    return produce


def _inflated(decoder: Decompressor, data: bytes, inflater: Inflater) -> Iterator[bytes]:
    """All `data` decoded, in blocks of at most _BLOCK bytes (a bomb never makes a big one)."""
    while data:
        try:
            block = decoder.decompress(data, _BLOCK)
        except inflater.error as error:
            raise OSError(_deflate_reason(str(error))) from None
        if block:
            yield block
        if decoder.eof:
            return
        data = decoder.unconsumed_tail


def _deflate_reason(message: str) -> str:
    """One wording whichever library refused the data (a verdict never depends on which is installed)."""
    lowered = message.lower()
    if "header" in lowered or "method" in lowered:
        return "invalid gzip header"
    if "check" in lowered or "crc" in lowered or "length" in lowered:
        return "CRC-32 or length check failed"
    return "invalid deflate data"


def zstd_blocks(feed: _Feed) -> Iterator[bytes]:
    """Decompressed blocks of a zstd stream (frames one after another)."""
    import zstandard  # noqa: PLC0415 - lazy: optional

    reader = zstandard.ZstdDecompressor().stream_reader(cast(BinaryIO, feed), read_across_frames=True)
    try:
        while block := reader.read(_BLOCK):
            yield block
    except zstandard.ZstdError as error:
        raise OSError(str(error)) from None


class ReadAhead:
    """The decompressed bytes of `source`, decoded ahead of the reader (by a thread once the stream
    proves long); metered."""

    def __init__(self, source: BinaryIO, produce: Producer, budget: Budget, what: str) -> None:
        self._source = source
        self._budget = budget
        self._what = what
        self._chunks: queue.Queue[bytes] = queue.Queue(_AHEAD_IN)
        self._blocks: Blocks = queue.Queue(_AHEAD_OUT)
        self._stop = threading.Event()
        self._feed = _Feed(source, self._chunks, self._stop)
        self._decoded: Iterator[bytes] | None = produce(self._feed)  # None: handed to the thread
        self._inline = 0
        self._source_done = False
        self._held: deque[memoryview] = deque()
        self._done = False

    def read(self, size: int = -1) -> bytes:
        wanted = size if size >= 0 else 1 << 62
        parts: list[memoryview] = []
        while wanted and self._fill():
            first = self._held[0]
            if len(first) <= wanted:
                parts.append(self._held.popleft())
                wanted -= len(first)
            else:
                parts.append(first[:wanted])
                self._held[0] = first[wanted:]
                wanted = 0
        return parts[0].tobytes() if len(parts) == 1 else b"".join(parts)

    def skip(self, count: int) -> int:
        """Drop up to `count` bytes without copying them; how many were dropped."""
        left = count
        while left and self._fill():
            first = self._held[0]
            if len(first) <= left:
                self._held.popleft()
                left -= len(first)
            else:
                self._held[0] = first[left:]
                left = 0
        return count - left

    def _fill(self) -> bool:
        """At least one decompressed byte held; False at the end of the stream."""
        while not self._held:
            if self._done:
                return False
            if self._decoded is not None:
                self._decode_inline(self._decoded)
                continue
            self._feed_source()
            try:  # a decoder that needs more input than is queued (a long header) gets it on the next turn
                item = self._blocks.get(timeout=_POLL)
            except queue.Empty:
                continue
            if item is None:
                self._done = True
            elif isinstance(item, BaseException):
                self._done = True
                raise self._failure(item)
            else:
                self._hold(item)
        return True

    def _decode_inline(self, decoded: Iterator[bytes]) -> None:
        """One block decoded in this thread; past _INLINE_LIMIT, the decoder moves to a thread of its own."""
        try:
            block = next(decoded)
        except StopIteration:
            self._done = True
            return
        except Exception as error:
            self._done = True
            raise self._failure(error) from None
        self._hold(block)
        self._inline += len(block)
        if self._inline >= _INLINE_LIMIT:
            # From now on this thread feeds and the other decodes; the feed's flag is the decoder's own.
            self._source_done, self._feed.source, self._decoded = self._feed.ended, None, None
            thread = threading.Thread(
                target=_decode, args=(decoded, self._blocks, self._stop), name=THREAD_NAME, daemon=True
            )
            thread.start()

    def _hold(self, block: bytes) -> None:
        self._budget.spend(len(block))
        self._held.append(memoryview(block))

    def _feed_source(self) -> None:
        """Hand the decoder compressed chunks until it has _AHEAD_IN of them (this thread only reads the source)."""
        while not self._source_done and not self._chunks.full():
            chunk = self._source.read(_IN_CHUNK)
            self._source_done = not chunk
            self._chunks.put_nowait(chunk or _END)

    def _failure(self, error: BaseException) -> Exception:
        if isinstance(error, EOFError):
            reason = "the compressed stream ends early"
        elif isinstance(error, OSError):
            reason = str(error) or type(error).__name__
        else:
            return error if isinstance(error, Exception) else RuntimeError(str(error))
        return ArchiveError(f"{self._what} data is corrupt or truncated: {reason}")

    def close(self) -> None:
        self._stop.set()

    def __del__(self) -> None:
        self._stop.set()


def _decode(decoded: Iterator[bytes], blocks: Blocks, stop: threading.Event) -> None:
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


def _put(blocks: Blocks, item: bytes | BaseException | None, stop: threading.Event) -> None:
    while True:
        try:
            blocks.put(item, timeout=_POLL)
            return
        except queue.Full:
            if stop.is_set():
                raise _AbandonedError from None


def read_ahead(kind: Format, source: BinaryIO, budget: Budget) -> BinaryIO | None:
    """A ReadAhead for a gzip or zstd stream; None for other formats, and for zstd without zstandard."""
    if kind is Format.GZIP:
        inflater = fastest()
        return cast(BinaryIO, ReadAhead(source, gzip_blocks(inflater), budget, kind.value))
    if kind is Format.ZSTD and _zstandard_installed():
        return cast(BinaryIO, ReadAhead(source, zstd_blocks, budget, kind.value))
    return None


def _zstandard_installed() -> bool:
    """Imported here, in the reader's thread: without it, streams.py says how to install it."""
    try:
        import zstandard  # noqa: F401, PLC0415 - lazy: optional
    except ImportError:
        return False
    return True


class Forward(io.RawIOBase):
    """`stream` with tell() and forward seek() for tarfile's seekable mode; seeking back is refused
    (tarfile.StreamError, as its stream mode refuses it)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._position += len(data)
        return data

    def seek(self, position: int, whence: int = io.SEEK_SET) -> int:
        target = position if whence == io.SEEK_SET else self._position + position
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or target < self._position:
            raise tarfile.StreamError("seeking backwards is not allowed")
        self._position += skip(self._stream, target - self._position)
        return self._position

    def drain(self) -> None:
        """Read on to the end: a decoder checks the rest of its stream (the last CRC, bytes after it)."""
        self.seek(1 << 62, io.SEEK_CUR)


def skip(stream: BinaryIO, count: int) -> int:
    """Move `stream` `count` bytes on without copying where it can; how many it moved (fewer at its end)."""
    if count <= 0:
        return 0
    skipper = getattr(stream, "skip", None)
    if skipper is not None:
        moved: int = skipper(count)
        return moved
    moved = 0
    while moved < count and (data := stream.read(min(count - moved, _BLOCK))):
        moved += len(data)
    return moved
