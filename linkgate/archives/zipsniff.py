"""A zip member that is neither ELF nor an archive, told from its first bytes without zipfile.open.

A jar holds thousands of class files; opening each through zipfile (local header, a decoder,
a buffered reader) cost more than everything else linkgate does with it. Here the first HEAD
bytes of a stored or deflated member are decoded straight from the zip's bytes. Anything
unusual (another method, encryption, a local header that disagrees with the central directory,
a decoding error, a short or mismatching small member) answers "read it the full way", so
zipfile reports it exactly as before.
"""

from __future__ import annotations

import struct
import zipfile
import zlib

from linkgate.archives.limits import Budget
from linkgate.archives.magic import HEAD, sniff

_LOCAL = struct.Struct("<4s2B4HL2L2H")  # zipfile's structFileHeader
_SIGNATURE = b"PK\x03\x04"
_STORED, _DEFLATED = 0, 8
# General-purpose flags this path reads as zipfile does: data descriptor, deflate options, UTF-8 names.
_PLAIN_FLAGS = 0x0002 | 0x0004 | 0x0008 | 0x0800
_UTF8 = 0x0800
_RAW_LIMIT = 64 << 10  # compressed bytes looked at: HEAD bytes never need more


def plain_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget) -> bool:
    """True: the member is neither ELF nor an archive (its HEAD bytes charged to `budget`, as a read
    of them would be). False: read it through zipfile."""
    head = _head(archive, info)
    if head is None or sniff(head) is not None:
        return False
    budget.spend(len(head))
    return True


def _head(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    if info.compress_type not in (_STORED, _DEFLATED) or info.flag_bits & ~_PLAIN_FLAGS:
        return None
    raw = _raw(archive, info)
    if raw is None:
        return None
    want = min(HEAD, info.file_size)
    try:
        head = raw[:want] if info.compress_type == _STORED else zlib.decompressobj(-15).decompress(raw, want)
    except zlib.error:
        return None
    if len(head) != want or (want == info.file_size and zlib.crc32(head) != info.CRC):
        return None  # zipfile checks the CRC-32 when a read reaches the end: let it
    return head


def _raw(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """The first compressed bytes of the member, after a local header that agrees with the directory."""
    stream = archive.fp
    if stream is None:
        return None
    stream.seek(info.header_offset)
    header = stream.read(_LOCAL.size)
    if len(header) != _LOCAL.size:
        return None
    fields = _LOCAL.unpack(header)
    signature, flags, name_length, extra_length = fields[0], fields[3], fields[10], fields[11]
    name = stream.read(name_length)
    encoding = "utf-8" if flags & _UTF8 else (getattr(archive, "metadata_encoding", None) or "cp437")
    try:
        if signature != _SIGNATURE or flags & ~_PLAIN_FLAGS or name.decode(encoding) != info.orig_filename:
            return None
    except UnicodeDecodeError:
        return None
    stream.seek(extra_length, 1)
    return stream.read(min(info.compress_size, _RAW_LIMIT))
