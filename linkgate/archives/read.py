"""The entry point: an archive given on the command line (a file, or an OCI layout directory) -> its unit.

Formats are told by content. A tar given on the command line that turns out to
be a container image is read again as one (layers applied); an image inside
another archive is read as a plain tar.
"""

from __future__ import annotations

import io
import lzma
import tarfile
from collections.abc import Callable
from typing import BinaryIO, cast

from linkgate.archives.context import Completer, Context
from linkgate.archives.image import DirectoryStore, TarStore, is_image, read_image
from linkgate.archives.limits import ArchiveError, Budget, Limits
from linkgate.archives.magic import COMPRESSED, Format, sniff
from linkgate.archives.packages import read_compressed, read_deb, read_rpm
from linkgate.archives.streams import buffered, read_head, seekable_decompressed
from linkgate.archives.tarread import ImageFoundError, read_tar
from linkgate.archives.tree import Unit
from linkgate.archives.zipread import read_zip
from linkgate.core.records import record
from linkgate.elf.versions import SymbolSelection


def read_stream(kind: Format, stream: BinaryIO, name: str, context: Context) -> Unit:
    """An archive of format `kind` read from `stream` (seekable for zip)."""
    if kind is Format.ZIP:
        return read_zip(stream, Unit("zip"), context)
    if kind is Format.TAR:
        return read_tar(stream, Unit("tar"), context, watch_image=context.depth == 1)
    if kind is Format.AR:
        return read_deb(stream, context)
    if kind is Format.RPM:
        return read_rpm(stream, context)
    if kind in COMPRESSED:
        return read_compressed(kind, stream, name, context)
    raise ArchiveError(f"{kind.value} is not an archive format")


@record
class Reading:
    """How the members of one archive given on the command line are read."""

    limits: Limits
    # The symbol selection for a member's display path (which needs some rule will reject).
    select: Callable[[str], SymbolSelection]
    complete: Completer | None = None
    # Read shared-library members' exports (their unit is judged as shipped together).
    exports: bool = False
    keep_text: Callable[[str], bool] | None = None

    def context(self, display: str) -> Context:
        budget = Budget(self.limits)
        return Context(
            self.limits, budget, self.select, display, read_stream, 1, self.complete, self.exports, self.keep_text
        )


def read_file(handle: BinaryIO, kind: Format, name: str, display: str, reading: Reading) -> Unit:
    """The archive open as `handle` (seekable, read-only), already sniffed as `kind`."""
    stream = handle if kind is Format.ZIP else buffered(handle)  # type: ignore[arg-type]
    try:
        return read_stream(kind, stream, name, reading.context(display))
    except ImageFoundError:
        handle.seek(0)
        return _image_tar(handle, kind, reading.context(display))
    finally:
        if stream is not handle and not stream.closed:
            # The buffer is let go of, not closed: `handle` is its opener's to close.
            cast(io.BufferedReader, stream).detach()


def read_layout(directory: str, display: str, reading: Reading) -> Unit:
    """An OCI image layout directory."""
    return read_image(DirectoryStore(directory), reading.context(display))


def _image_tar(handle: BinaryIO, kind: Format, context: Context) -> Unit:
    """A container image in a tar (compressed ones through a decompressor that can seek)."""
    stream = handle if kind is Format.TAR else seekable_decompressed(kind, handle)
    try:
        with tarfile.open(fileobj=stream, mode="r:") as tar:
            store = TarStore(tar, context)
            if not is_image(store):
                raise ArchiveError("a tar with an image marker but no image manifest")
            return read_image(store, context)
    except (tarfile.TarError, EOFError, OSError, lzma.LZMAError) as error:
        raise ArchiveError(f"container image tar is corrupt or truncated: {error}") from None


def sniff_file(handle: BinaryIO) -> Format | None:
    """The format the open file starts with (the handle is left at its start)."""
    head, _ = read_head(handle)
    handle.seek(0)
    return sniff(head)
