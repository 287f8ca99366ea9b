"""The deflate decoder archives are read with: ISA-L or zlib-ng when installed, else the stdlib's zlib.

ISA-L (`isal`) and zlib-ng (`zlib-ng`, the `linkgate[fast]` extra installs both) inflate a gzip
layer about twice as fast as zlib; all three decode the same bytes to the same bytes and refuse
the same corrupt streams, so a verdict never depends on which is installed. Each releases the GIL
while it inflates, which lets a reader thread decompress while the main thread judges members.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Protocol

# gzip framing: the decoder reads the header and checks the CRC-32 and length of each member.
GZIP_WBITS = 16 + 15

# Preferred first; each module has zlib's decompressobj and error.
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
    """One library's gzip decoder factory, and the exception its decoders raise."""

    def __init__(self, name: str, module_name: str) -> None:
        module = importlib.import_module(module_name)
        self.name = name
        self._decompressobj: Callable[..., Decompressor] = module.decompressobj
        self.error: type[Exception] = module.error

    def gzip_decoder(self) -> Decompressor:
        """A decoder of one gzip member (header, deflate data, CRC-32 and length checked)."""
        return self._decompressobj(wbits=GZIP_WBITS)


def fastest() -> Inflater:
    """The fastest installed inflater (the stdlib's zlib is always there)."""
    for name, module_name in _CANDIDATES:
        try:
            return Inflater(name, module_name)
        except ImportError:
            continue
    raise AssertionError("zlib is part of the standard library")  # pragma: no cover
