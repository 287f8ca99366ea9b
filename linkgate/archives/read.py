"""The entry point: an archive given on the command line (a file, or an OCI layout directory) -> its unit.

Formats are told by content. A tar given on the command line that turns out to
be a container image is read again as one (layers applied); an image inside
another archive is read as a plain tar.
"""

from __future__ import annotations

import io
import lzma
import os
import tarfile
from collections.abc import Callable
from typing import Any, cast

from linkgate.archives.containers import ImageFoundError, read_compressed, read_deb, read_rpm, read_tar, read_zip
from linkgate.archives.helper import WORTH_A_HELPER, ReadAgainError, start_helper
from linkgate.archives.images import DirectoryStore, TarStore, is_image, read_image
from linkgate.archives.limits import ArchiveError, BoundExceededError, Budget, Limits
from linkgate.archives.members import Completer, Context
from linkgate.archives.readahead import Rewinding
from linkgate.archives.sniff import COMPRESSED, Format
from linkgate.archives.streams import Pieced, Stream, buffered
from linkgate.archives.tarnames import TarNames
from linkgate.archives.tree import Unit
from linkgate.core.records import record, replace
from linkgate.elf.versions import SymbolSelection


def read_stream(kind: Format, stream: Stream, name: str, context: Context) -> Unit:
    """An archive of format `kind` read from `stream`."""
    if kind is Format.ZIP:
        return read_zip(stream, Unit("zip"), context, wheel=name.endswith(".whl"))
    if kind is Format.TAR:
        return read_tar(stream, Unit("tar"), context, watch_image=context.depth == 1 and context.images)
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
    # A large tar may hand its nested zips to a helper process (linkgate.archives.helper): only when
    # this process has a core to spare (not a worker of a pool that already uses every core).
    helper: bool = False

    def context(self, display: str, size: int = 0) -> Context:
        """The context of one archive given on the command line, `size` bytes long (0: counted as read)."""
        budget = Budget(self.limits, size)
        return Context(
            self.limits, budget, self.select, display, read_stream, 1, self.complete, self.exports,
            keep_text=self.keep_text,
        )  # fmt: skip


def read_file(handle: io.FileIO, kind: Format, name: str, display: str, reading: Reading) -> Unit:
    """The archive open as `handle` (unbuffered, read-only), already sniffed as `kind`.

    A tar with an image's marker at its top is read again as an image when its structure is
    complete (images.is_image), and otherwise once more as the plain tar it then is.
    """
    size = os.fstat(handle.fileno()).st_size
    helped = reading.helper and kind is not Format.ZIP and size >= WORTH_A_HELPER
    try:
        if helped:
            return _read_helped(handle, kind, name, reading.context(display, size))
        return _read_from_start(handle, kind, name, reading.context(display, size))
    except ImageFoundError:
        handle.seek(0)
        image = _image_tar(handle, kind, reading.context(display, size))
    if image is not None:
        return image
    handle.seek(0)
    return _read_from_start(handle, kind, name, replace(reading.context(display, size), images=False))


def _read_from_start(handle: io.FileIO, kind: Format, name: str, context: Context) -> Unit:
    stream = handle if kind is Format.ZIP else buffered(handle)
    try:
        return read_stream(kind, stream, name, context)
    finally:
        if isinstance(stream, io.BufferedReader) and not stream.closed:
            # The buffer is let go of, not closed: `handle` is its opener's to close.
            stream.detach()


def _read_helped(handle: io.FileIO, kind: Format, name: str, context: Context) -> Unit:
    """As _read_from_start, nested zips read by a helper process meanwhile; read again in this
    process alone when the helper's reading cannot stand for that (helper.ReadAgainError)."""
    helper = start_helper(context)
    if helper is None:
        return _read_from_start(handle, kind, name, context)
    try:
        unit = _read_from_start(handle, kind, name, replace(context, helper=helper))
        helper.finish()
        return unit
    except (ReadAgainError, BoundExceededError):
        pass  # a bound, or a helper lost: reading in order says where it stops
    except ArchiveError:
        # The archive's own error stands, unless the zips read before it pass a bound once counted.
        try:
            helper.finish()
        except ReadAgainError:
            pass
        else:
            raise
    finally:
        helper.close()
    handle.seek(0)
    return _read_from_start(handle, kind, name, replace(context, budget=Budget(context.limits, context.budget.size)))


def read_layout(directory: str, display: str, reading: Reading) -> Unit:
    """An OCI image layout directory."""
    context = reading.context(display)
    return read_image(DirectoryStore(directory, context), context)


def _image_tar(handle: io.FileIO, kind: Format, context: Context) -> Unit | None:
    """A container image in a tar (compressed ones through a view that can seek); None
    when the tar holds no complete image."""
    stream = Pieced(handle) if kind is Format.TAR else Rewinding(kind, handle, context.budget)
    try:
        # tarfile only reads, seeks and tells here; a Pieced or Rewinding view does all three.
        with tarfile.open(fileobj=cast(Any, stream), mode="r:", tarinfo=TarNames) as tar:
            store = TarStore(tar, context)
            return read_image(store, context) if is_image(store) else None
    except (tarfile.TarError, EOFError, OSError, lzma.LZMAError) as error:
        raise ArchiveError(f"container image tar is corrupt or truncated: {error}") from None
    finally:
        if isinstance(stream, Rewinding):
            stream.close()
