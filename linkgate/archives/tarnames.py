"""Member names as GNU tar and the container runtimes read them from a tar header.

Python's tarfile puts the 155-byte ustar `prefix` field in front of every name,
whatever the header's magic. GNU tar (and Go's archive/tar, which umoci and
containerd use) read that field only under the POSIX magic "ustar\\0": in an old
GNU header ("ustar  \\0") the same bytes are the access and change times, and a
v7 header has no prefix at all. Reading them as a prefix judged a member at a path
that `tar -x` never writes (found by the tar fuzz target).
"""

from __future__ import annotations

import tarfile
from typing import Any

_POSIX_MAGIC = b"ustar\x00"
_MAGIC = slice(257, 263)
_PREFIX = slice(345, 500)


class TarNames(tarfile.TarInfo):
    """A TarInfo whose name uses the prefix field only where the header's format has one."""

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Any:
        info = super().frombuf(buf, encoding, errors)
        prefix = bytes(buf[_PREFIX]).split(b"\x00", 1)[0].decode(encoding, errors)
        if prefix and buf[_MAGIC] != _POSIX_MAGIC and info.type not in tarfile.GNU_TYPES:
            info.name = info.name.removeprefix(prefix + "/")
        return info
