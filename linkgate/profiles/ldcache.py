"""ld.so.cache: the libraries ldconfig found in the ld.so.conf directories, which is all glibc's
loader knows of those directories.

The loader never lists an ld.so.conf directory itself: it looks a name up in the cache, then in its
built-in system directories. A library copied into /usr/local/lib without running ldconfig is
therefore not found ("cannot open shared object file"). Layout (glibc sysdeps/generic/dl-cache.h):
a 48-byte header `glibc-ld.so.cache1.1` (after the old `ld.so-1.7.0` table in the compat format
glibc < 2.32 writes), then 24-byte entries whose key and value are offsets of NUL-terminated
strings from the start of that header.
"""

from __future__ import annotations

import struct

_MAGIC = b"glibc-ld.so.cache1.1"
_HEADER = struct.Struct("<20sIIB3xI12x")  # magic+version, nlibs, len_strings, flags, extension offset
_ENTRY = struct.Struct("<iIIIQ")  # flags, key, value, osversion, hwcap


def cached_paths(data: bytes) -> frozenset[str] | None:
    """The library paths an ld.so.cache holds; None when it is not one or is malformed."""
    start = data.find(_MAGIC)
    if start < 0 or start + _HEADER.size > len(data):
        return None
    count = _HEADER.unpack_from(data, start)[1]
    if start + _HEADER.size + count * _ENTRY.size > len(data):
        return None
    paths: set[str] = set()
    for index in range(count):
        value = _ENTRY.unpack_from(data, start + _HEADER.size + index * _ENTRY.size)[2]
        path = _string(data, start + value)
        if path is None:
            return None
        paths.add(path)
    return frozenset(paths)


def _string(data: bytes, offset: int) -> str | None:
    end = data.find(b"\x00", offset) if offset < len(data) else -1
    return data[offset:end].decode("utf-8", "surrogateescape") if end > offset else None
