"""The entry point: an archive given on the command line (a file, or an OCI layout directory) -> its unit.

Formats are told by content. A tar given on the command line that turns out to
be a container image is read again as one (layers applied); an image inside
another archive is read as a plain tar.
"""

from __future__ import annotations

import contextlib
import io
import lzma
import os
import tarfile
from collections.abc import Callable
from typing import Any, TypeVar, cast

from linkgate.archives.containers import ImageFoundError, read_compressed, read_deb, read_rpm, read_tar, read_zip
from linkgate.archives.helper import WORTH_A_HELPER, read_helped
from linkgate.archives.images import DirectoryStore, TarStore, is_image, read_image
from linkgate.archives.limits import ArchiveError, Budget, Limits
from linkgate.archives.members import Completer, Context
from linkgate.archives.readahead import Rewinding
from linkgate.archives.sniff import COMPRESSED, Format
from linkgate.archives.streams import Pieced, Stream, buffered
from linkgate.archives.tarnames import TarNames
from linkgate.archives.tree import Unit
from linkgate.core.records import record, replace
from linkgate.elf.versions import SymbolSelection

T = TypeVar("T")


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
    # A large tar's nested zips may be read by a helper process meanwhile (archives.helper).
    helped = reading.helper and kind is not Format.ZIP and size >= WORTH_A_HELPER

    def fresh() -> Context:
        return reading.context(display, size)

    def read(read_with: Callable[[Context], T]) -> T:
        return read_helped(fresh, read_with) if helped else read_with(fresh())

    try:
        return read(lambda context: _read_from_start(_rewound(handle), kind, name, context))
    except ImageFoundError:
        image = read(lambda context: _image_tar(_rewound(handle), kind, context))
    if image is not None:
        return image
    return _read_from_start(_rewound(handle), kind, name, replace(fresh(), images=False))


def _rewound(handle: io.FileIO) -> io.FileIO:
    handle.seek(0)
    return handle


def _read_from_start(handle: io.FileIO, kind: Format, name: str, context: Context) -> Unit:
    stream = handle if kind is Format.ZIP else buffered(handle)
    try:
        return read_stream(kind, stream, name, context)
    finally:
        if isinstance(stream, io.BufferedReader) and not stream.closed:
            # The buffer is let go of, not closed: `handle` is its opener's to close.
            stream.detach()


def read_layout(directory: str, display: str, reading: Reading) -> Unit:
    """An OCI image layout directory."""

    def fresh() -> Context:
        return reading.context(display)

    def read_with(context: Context) -> Unit:
        return read_image(DirectoryStore(directory, context), context)

    helped = reading.helper and _blobs_size(directory) >= WORTH_A_HELPER
    return read_helped(fresh, read_with) if helped else read_with(fresh())


def _blobs_size(directory: str) -> int:
    """The bytes of the layout's blobs (its layers): a small image is read in one process."""
    total = 0
    for folder, _directories, files in os.walk(os.path.join(directory, "blobs")):
        for name in files:
            with contextlib.suppress(OSError):  # reading it reports why
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


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
