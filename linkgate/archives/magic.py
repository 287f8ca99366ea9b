"""What an archive is, from its first bytes: cheap enough to ask of every file a run meets.

Only the enum and the magic numbers live here, so `scan` can tell a non-ELF file
from an archive without importing the readers (zlib, lzma, tarfile...).
"""

from __future__ import annotations

from enum import Enum

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
    if head[257:262] == b"ustar" and _tar_checksum_ok(head):
        return Format.TAR
    return None


def _tar_checksum_ok(header: bytes) -> bool:
    """The header's own checksum (the sum of its bytes with the checksum field as spaces)."""
    if len(header) < HEAD:
        return False
    try:
        stored = int(header[148:156].replace(b"\x00", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    return stored == sum(header[:148]) + 8 * 32 + sum(header[156:HEAD])


ARCHIVE_FORMATS = frozenset(Format) - {Format.ELF}


def archive_kind(head: bytes) -> Format | None:
    """The archive format a non-ELF file's first HEAD bytes start, or None (not an archive linkgate reads)."""
    kind = sniff(head)
    return kind if kind in ARCHIVE_FORMATS else None
