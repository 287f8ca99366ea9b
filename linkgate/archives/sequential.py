"""Readers of sequential containers: ar (a .deb's outer layer) and cpio "newc" (an .rpm's payload).

Both are a header, then the member's bytes, then the next header. A member is
handed out as a bounded view of the stream; what the caller leaves unread is
skipped before the next header is read.
"""

from __future__ import annotations

import io
import stat
from collections.abc import Iterator
from typing import BinaryIO

from linkgate.archives.limits import ArchiveError
from linkgate.core.records import record

AR_MAGIC = b"!<arch>\n"
_AR_HEADER, _CPIO_HEADER = 60, 110
_CPIO_MAGICS = (b"070701", b"070702")
_CPIO_TRAILER = "TRAILER!!!"
_CHUNK = 1 << 20


class Bounded(io.RawIOBase):
    """At most `size` bytes of `stream`; ArchiveError when the stream ends first."""

    def __init__(self, stream: BinaryIO, size: int, what: str) -> None:
        self._stream = stream
        self.left = size
        self._what = what

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
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
            self.readinto(bytearray(min(self.left, _CHUNK)))


def _exactly(stream: BinaryIO, count: int, what: str) -> bytes:
    data = stream.read(count)
    if len(data) != count:
        raise ArchiveError(f"{what} is truncated")
    return data


def ar_members(stream: BinaryIO) -> Iterator[tuple[str, Bounded]]:
    """(name, data) of each ar member, in order."""
    if _exactly(stream, len(AR_MAGIC), "ar archive") != AR_MAGIC:
        raise ArchiveError("not an ar archive")
    while header := stream.read(_AR_HEADER):
        if len(header) != _AR_HEADER or header[58:60] != b"`\n":
            raise ArchiveError("ar member header is truncated or corrupt")
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            raise ArchiveError("ar member size is not a number") from None
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        data = Bounded(stream, size, "ar archive")
        yield name, data
        data.skip_rest()
        if size % 2:
            stream.read(1)  # members start at even offsets


@record
class CpioEntry:
    name: str
    mode: int
    size: int


def cpio_members(stream: BinaryIO) -> Iterator[tuple[CpioEntry, Bounded]]:
    """(entry, data) of each cpio "newc" member up to the trailer; ArchiveError if the trailer never comes."""
    offset = 0
    while True:
        header = _exactly(stream, _CPIO_HEADER, "cpio payload")
        if header[:6] not in _CPIO_MAGICS:
            raise ArchiveError("cpio payload is corrupt (no newc header where one must be)")
        try:
            fields = [int(header[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
        except ValueError:
            raise ArchiveError("cpio header holds a field that is not hexadecimal") from None
        mode, size, name_size = fields[1], fields[6], fields[11]
        name_bytes = _exactly(stream, name_size, "cpio payload")
        offset += _CPIO_HEADER + name_size
        stream.read(-offset % 4)
        offset = 0
        name = name_bytes.rstrip(b"\x00").decode("utf-8", "surrogateescape")
        if name == _CPIO_TRAILER:
            return
        data = Bounded(stream, size, "cpio payload")
        yield CpioEntry(name, mode, size), data
        data.skip_rest()
        stream.read(-size % 4)


def cpio_kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    return "symlink" if stat.S_ISLNK(mode) else "other"
