"""The names a shared library defines for other objects: what musl's loader can bind to.

musl binds undefined symbols by name alone (it ignores symbol versions), so a
library shipped with an artifact satisfies a symbol exactly when its dynamic
symbol table defines that name. Read like the rest of the reader: through
PT_DYNAMIC and the loader's address map, never the section headers.
"""

from __future__ import annotations

import mmap
import os

from linkgate.elf import dynamic as dt
from linkgate.elf.image import AddressMap, Buffer, Image
from linkgate.elf.symbols import dynamic_symbols


def read_exports(path: str | os.PathLike[str]) -> frozenset[str] | None:
    """Defined dynamic symbol names of the file; None when it has no table the loader could search.

    Raises ElfFormatError (or OSError) like read_elf for a file that cannot be read.
    """
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return exports_of(data)


def exports_of(data: Buffer) -> frozenset[str] | None:
    """As read_exports, from an in-memory ELF image (a mapped file, or an archive member's bytes)."""
    image = Image(data)
    segments = image.segments(image.header())
    addresses = AddressMap(segments)
    table = dt.read_dynamic(image, segments, addresses)
    symbols = dynamic_symbols(image, table, addresses)
    return None if symbols is None else symbols.exports
