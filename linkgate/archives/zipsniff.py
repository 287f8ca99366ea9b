"""A zip member's first bytes read without zipfile.open, exactly as zipfile's first read gives them.

A jar holds thousands of class files; opening each through zipfile (its local header, a decoder,
a reader object) costs more than everything else linkgate does with one. Here the first read of
a stored or deflated member is done as ZipExtFile does it: the same compressed bytes fed to the
same decoder with the same output bound, the same CRC check when that read reaches the end. So
the bytes are the ones zipfile would give, and every error zipfile would raise on the way is
raised there too. Anything unusual (another method, encryption, a local header that disagrees
with the central directory, a decoding error, a first read that needs a second) answers None:
the caller reads the member through zipfile, which reports it exactly as before.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from typing import IO

from linkgate.archives.sniff import HEAD

_LOCAL = struct.Struct("<4s2B4HL2L2H")  # zipfile's structFileHeader
_SIGNATURE = b"PK\x03\x04"
_STORED, _DEFLATED = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
# General-purpose flags read here as zipfile reads them: deflate options, data descriptor, UTF-8 names.
_PLAIN_FLAGS = 0x0002 | 0x0004 | 0x0008 | 0x0800
_UTF8 = 0x0800
# ZipExtFile reads at least this many compressed bytes and inflates at most this many at a time.
_MIN_READ = zipfile.ZipExtFile.MIN_READ_SIZE


def first_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """What reading min(HEAD, size) bytes of the member through zipfile gives, or None: read it through zipfile."""
    if info.compress_type not in (_STORED, _DEFLATED) or info.flag_bits & ~_PLAIN_FLAGS:
        return None
    raw = _raw(archive, info)
    if raw is None:
        return None
    ended = info.compress_size <= len(raw)
    if info.compress_type == _STORED:
        data = raw
    else:
        decoder = zlib.decompressobj(-15)
        try:
            data = decoder.decompress(raw, max(HEAD, _MIN_READ))
            ended = decoder.eof or (ended and not decoder.unconsumed_tail)
            if ended:
                data += decoder.flush()
        except zlib.error:
            return None
    data = data[: info.file_size]
    ended = ended or len(data) >= info.file_size
    if ended and zlib.crc32(data) != info.CRC:
        return None  # zipfile raises "Bad CRC-32": let it
    if not ended and len(data) < HEAD:
        return None  # zipfile would read again
    return data[:HEAD]


def _raw(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """The compressed bytes ZipExtFile's first read takes, after a local header zipfile.open accepts."""
    stream = archive.fp
    start = None if stream is None else _data_start(stream, archive, info)
    if stream is None or start is None:
        return None
    end = getattr(info, "_end_offset", None)  # Python 3.12+: zipfile refuses data that runs into the next entry
    if end is not None and start + info.compress_size > end:
        return None
    want = min(max(HEAD, _MIN_READ), info.compress_size)
    stream.seek(start)
    raw = stream.read(want) if want else b""
    return raw if raw or not want else None  # nothing where data should be: zipfile raises EOFError


def _data_start(stream: IO[bytes], archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> int | None:
    """Where the member's data starts, after a local header zipfile.open accepts; None for any other."""
    stream.seek(info.header_offset)
    header = stream.read(_LOCAL.size)
    if len(header) != _LOCAL.size:
        return None
    fields = _LOCAL.unpack(header)
    signature, flags, name_length, extra_length = fields[0], fields[3], int(fields[10]), int(fields[11])
    name = stream.read(name_length)
    encoding = "utf-8" if flags & _UTF8 else (getattr(archive, "metadata_encoding", None) or "cp437")
    try:
        if signature != _SIGNATURE or flags & ~_PLAIN_FLAGS or name.decode(encoding) != info.orig_filename:
            return None
    except UnicodeDecodeError:
        return None
    return info.header_offset + _LOCAL.size + name_length + extra_length
