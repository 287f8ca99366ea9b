"""What an archive is, from its first bytes: cheap enough to ask of every file a run meets.

Only the enum, the magic numbers and a peek into a compressed file's head live
here, so `scan` can tell a non-ELF file from an archive without importing the
readers (tarfile, gzip, the member machinery).

A tree often holds compressed files that are no archive at all (`config.sh.gz`,
man pages). The full reader decompresses such a file's head, finds neither ELF
nor an archive there, and reports nothing; getting there imports tarfile, gzip
and the member machinery, tens of milliseconds in every worker process.
`inner_head` uses only the C decoder, and only its answer "nothing to read" is
trusted: every other case (an archive, an ELF file, a corrupt or truncated start,
more streams after a short first one, zstd) goes to the full reader, which reports it.
"""

from __future__ import annotations

from enum import Enum
from typing import BinaryIO, Protocol

from linkgate.elf.image import Buffer
from linkgate.elf.layouts import ELF_MAGIC

# Enough to tell every format apart: tar's "ustar" sits at offset 257.
HEAD = 512


class Format(str, Enum):
    ELF = "ELF"
    ZIP = "zip"
    TAR = "tar"
    AR = "ar"
    RPM = "rpm"
    GZIP = "gzip"
    XZ = "xz"
    BZIP2 = "bzip2"
    ZSTD = "zstd"


COMPRESSED = (Format.GZIP, Format.XZ, Format.BZIP2, Format.ZSTD)

_MAGICS = (
    (ELF_MAGIC, Format.ELF),
    (b"PK\x03\x04", Format.ZIP),
    (b"PK\x05\x06", Format.ZIP),  # an empty zip: only the end of central directory
    # Only a Debian package is read inside an ar archive; a static library (.a) is not an artifact.
    (b"!<arch>\ndebian-binary", Format.AR),
    (b"\xed\xab\xee\xdb", Format.RPM),
    (b"\x1f\x8b", Format.GZIP),
    (b"\xfd7zXZ\x00", Format.XZ),
    (b"BZh", Format.BZIP2),
    (b"\x28\xb5\x2f\xfd", Format.ZSTD),
)


def sniff(head: bytes) -> Format | None:
    """The format `head` (the first HEAD bytes) starts, or None for anything else."""
    for magic, kind in _MAGICS:
        if head.startswith(magic):
            return kind
    # The checksum last: it sums 512 bytes, and most heads (text, data) fail the cheaper tests first.
    if len(head) >= HEAD and (head[257:262] == b"ustar" or _v7_tar(head)) and _tar_checksum_ok(head):
        return Format.TAR
    return None


def _v7_tar(header: bytes) -> bool:
    """A pre-POSIX (v7) tar header, which has no magic: GNU tar extracts it when its checksum holds.

    The checksum alone is 8 octal digits a text file could hold by chance; a v7 header
    also has a name, a type of 0-7 (or NUL) and octal numbers in its number fields.
    """
    numbers = (header[100:108], header[108:116], header[116:124], header[124:136], header[136:148])
    return header[0] != 0 and header[156:157] in _V7_TYPES and all(map(_octal_field, numbers))


_V7_TYPES = (b"\x00", b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7")


def _octal_field(field: bytes) -> bool:
    digits = field.strip(b" \x00")
    return bool(digits) and digits.isdigit() and b"8" not in digits and b"9" not in digits


def _tar_checksum_ok(header: bytes) -> bool:
    """The header's own checksum (the sum of its bytes with the checksum field as spaces)."""
    if len(header) < HEAD:
        return False
    try:
        stored = int(header[148:156].replace(b"\x00", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    return stored == sum(header[:148]) + 8 * 32 + sum(header[156:HEAD])


# A zip's end-of-central-directory record and its zip64 locator: found from the end of the file, as
# zipfile, pip and unzip find them, so bytes in front (a shell or ELF stub) do not hide a zip.
ZIP_TAIL = 22 + 0xFFFF
END_OF_ZIP, _EOCD64, _LOCATOR64 = b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07"
CENTRAL_DIRECTORY = b"PK\x01\x02"


def zip_directory(tail: bytes, tail_at: int) -> int | None:
    """Where the central directory of a zip ending a file starts, as zipfile computes it, or None.

    `tail`: the file's last ZIP_TAIL bytes (all of it if smaller), starting at offset `tail_at`.
    The caller checks that CENTRAL_DIRECTORY is at the offset returned: a stray signature in
    ordinary data is very unlikely to also point at one. A zip with no members gives None.
    """
    end = len(tail) - 22
    if not (end >= 0 and tail[end : end + 4] == END_OF_ZIP and tail[-2:] == b"\x00\x00"):
        end = tail.rfind(END_OF_ZIP)  # zipfile takes the last signature: the one nearest the end
    if end < 0 or end + 22 > len(tail):
        return None
    entries, size = (
        int.from_bytes(tail[end + 10 : end + 12], "little"),
        int.from_bytes(tail[end + 12 : end + 16], "little"),
    )
    located = end
    if end >= 76 and tail[end - 20 : end - 16] == _LOCATOR64 and tail[end - 76 : end - 72] == _EOCD64:
        located = end - 76
        entries = int.from_bytes(tail[located + 32 : located + 40], "little")
        size = int.from_bytes(tail[located + 40 : located + 48], "little")
    start = tail_at + located - size
    return start if entries and start >= 0 else None


class FileBytes(Buffer, Protocol):
    """A whole file's bytes as read or mapped (bytes, bytearray, mmap): searchable from the end too."""

    def rfind(self, sub: bytes, start: int = ..., end: int = ..., /) -> int: ...


def zip_in(data: FileBytes) -> bool:
    """Whether `data` (an ELF file's bytes) ends in a zip (a self-extracting archive): zipfile, pip and
    unzip read it as one."""
    tail_at = max(0, len(data) - ZIP_TAIL)
    # rfind, not find: the same answer (is there one at all), and CPython's reverse search is about
    # twice as fast over the binary bytes of an ELF file's tail, which every file of a tree pays.
    if data.rfind(END_OF_ZIP, tail_at) < 0:
        return False  # the common case, decided without copying the tail
    start = zip_directory(bytes(data[tail_at:]), tail_at)
    return start is not None and bytes(data[start : start + 4]) == CENTRAL_DIRECTORY


ARCHIVE_FORMATS = frozenset(Format) - {Format.ELF}


def archive_kind(head: bytes) -> Format | None:
    """The archive format a non-ELF file's first HEAD bytes start, or None (not an archive linkgate reads)."""
    kind = sniff(head)
    return kind if kind in ARCHIVE_FORMATS else None


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
        import zlib  # noqa: PLC0415 - lazy: start-up

        return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    if kind is Format.XZ:
        import lzma  # noqa: PLC0415 - lazy: start-up

        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    if kind is Format.BZIP2:
        import bz2  # noqa: PLC0415 - lazy: start-up

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
