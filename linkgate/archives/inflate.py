"""The deflate decoder gzip streams are read with: ISA-L or zlib-ng when installed, else the stdlib's zlib.

ISA-L (`isal`) and zlib-ng (`zlib-ng`; the `linkgate[fast]` extra installs both) inflate faster
than zlib. All three decode a valid stream to the same bytes; only their words for a corrupt
one differ, so readahead.py reports every one of those in the same words and a report never
depends on which library is installed. Each releases the GIL while it inflates, which lets a
decoder thread decompress while the caller's thread judges members.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Protocol

# Raw deflate: the gzip framing (header, CRC-32, length) is read as Python's gzip module reads it.
_RAW_DEFLATE = -15

# Preferred first; each module has zlib's decompressobj, crc32 and error.
_CANDIDATES = (("isal", "isal.isal_zlib"), ("zlib-ng", "zlib_ng.zlib_ng"), ("zlib", "zlib"))


class Decompressor(Protocol):
    """What zlib.decompressobj returns (and isal_zlib's and zlib_ng's do)."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    @property
    def unconsumed_tail(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = 0, /) -> bytes: ...


class Inflater:
    """One library's raw deflate decoders, its CRC-32 and the exception its decoders raise."""

    def __init__(self, name: str, module_name: str) -> None:
        module = importlib.import_module(module_name)
        self.name = name
        self._decompressobj: Callable[..., Decompressor] = module.decompressobj
        self.crc32: Callable[[bytes, int], int] = module.crc32
        self.error: type[Exception] = module.error

    def raw_decoder(self) -> Decompressor:
        """A decoder of one raw deflate stream (the body of one gzip member)."""
        return self._decompressobj(wbits=_RAW_DEFLATE)


_chosen: list[Inflater] = []
_stdlib: list[Inflater] = []


def fastest() -> Inflater:
    """The fastest installed inflater (the stdlib's zlib is always there); looked for once per process."""
    if not _chosen:
        _chosen.append(_first_installed())
    return _chosen[0]


def stdlib_zlib() -> Inflater:
    """The stdlib's zlib: the one whose behaviour on damage the reports were written against."""
    if not _stdlib:
        _stdlib.append(Inflater("zlib", "zlib"))
    return _stdlib[0]


def _first_installed() -> Inflater:
    for name, module_name in _CANDIDATES:
        try:
            return Inflater(name, module_name)
        except ImportError:
            continue
    raise AssertionError("zlib is part of the standard library")  # pragma: no cover
