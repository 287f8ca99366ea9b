"""The release a C library announces about itself.

glibc's libc.so.6 is also a program that prints "GNU C Library (…) stable
release version 2.31."; the newest GLIBC_x.y it defines can be older than the
release (2.31 added no symbols on x86_64), so the banner is the better source.
"""

from __future__ import annotations

import mmap
import os
import re

from linkgate.elf.image import Buffer

_GLIBC_RELEASE = re.compile(rb"GNU C Library [^\n\x00]*release version (\d+\.\d+(?:\.\d+)?)")


def glibc_release_in(data: Buffer) -> str | None:
    """ "2.31" from the banner in the bytes of a libc.so.6; None when there is none."""
    match = _GLIBC_RELEASE.search(data)  # type: ignore[call-overload]  # bytes or mmap, both searchable
    return bytes(match.group(1)).decode() if match else None


def glibc_release(path: str | os.PathLike[str]) -> str | None:
    """ "2.31" from the banner inside libc.so.6 at `path`; None when there is none."""
    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            match = _GLIBC_RELEASE.search(data)
            return bytes(match.group(1)).decode() if match else None
    except (OSError, ValueError):
        return None
