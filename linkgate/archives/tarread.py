"""Tar streams (plain, or after decompression), read front to back without seeking.

Python's tarfile in stream mode does the header work (ustar, GNU and PAX long
names and sizes); here it is kept from growing (the member list is dropped as it
goes) and from ending quietly: a stream that stops without the end-of-archive
block, or at a header that is not one, is truncated or corrupt.
"""

from __future__ import annotations

import posixpath
import tarfile
from typing import Any, BinaryIO, cast

from linkgate.archives.context import Context
from linkgate.archives.limits import ArchiveError
from linkgate.archives.magic import COMPRESSED, Format, sniff
from linkgate.archives.members import take
from linkgate.archives.readahead import Forward
from linkgate.archives.streams import decompressed, read_head
from linkgate.archives.tree import Entry, Node, Unit, clean_name, printable_name

WHITEOUT, OPAQUE = ".wh.", ".wh..wh..opq"
# Top-level members that make a tar a container image (docker save, an OCI image layout).
IMAGE_MARKERS = frozenset({"manifest.json", "oci-layout"})


class ImageFoundError(Exception):
    """A top-level tar turned out to be a container image: read it again as one."""


class _Watched(tarfile.TarInfo):
    """Remembers on its tarfile why the last header read ended the archive."""

    @classmethod
    def fromtarfile(cls, tar: tarfile.TarFile) -> Any:
        try:
            return super().fromtarfile(tar)
        except tarfile.HeaderError as error:
            tar.linkgate_end = error  # type: ignore[attr-defined]
            raise


def read_inner_tar(stream: BinaryIO, unit: Unit, context: Context, what: str, layer: bool = False) -> None:
    """A tar that may be compressed, inside a package or image (data.tar.*, a layer blob)."""
    head, stream = read_head(stream)
    kind = sniff(head)
    if kind in COMPRESSED:
        assert kind is not None
        head, stream = read_head(decompressed(kind, stream, context.budget))
        kind = sniff(head)
    if kind is not Format.TAR:
        raise ArchiveError(f"{what} is not a tar archive")
    read_tar(stream, unit, context, layer=layer)


def read_tar(stream: BinaryIO, unit: Unit, context: Context, layer: bool = False, watch_image: bool = False) -> Unit:
    """Every member of the tar stream into `unit`; ArchiveError when it is corrupt or truncated.

    `layer`: a container layer, whose whiteout entries are kept apart. `watch_image`:
    raise ImageFoundError at a top-level image marker.
    """
    try:
        # Seekable mode over a forward-only view: members nobody reads are skipped, not copied.
        forward = Forward(stream)
        with tarfile.open(fileobj=forward, mode="r:", tarinfo=_Watched) as tar:
            while (info := _next(tar)) is not None:
                cast(Any, tar).members.clear()  # stream mode never goes back: keep memory flat
                context.budget.member()
                if watch_image and info.name.strip("./") in IMAGE_MARKERS:
                    raise ImageFoundError
                _add(tar, info, unit, context, layer)
            _check_end(tar)
        forward.drain()
    except (tarfile.TarError, EOFError) as error:
        raise ArchiveError(f"tar data is corrupt or truncated: {error}") from None
    return unit


def _next(tar: tarfile.TarFile) -> tarfile.TarInfo | None:
    """The next member; a stream cut off inside a member nobody read ends as a quiet end does."""
    try:
        return tar.next()
    except tarfile.ReadError as error:
        if str(error) == "unexpected end of data":  # seekable mode's check before the next header
            _check_end(tar)
        raise


def _check_end(tar: tarfile.TarFile) -> None:
    """tarfile ends quietly at the end of the data or at a bad header: only the end-of-archive block is an end."""
    end = getattr(tar, "linkgate_end", None)
    kind = type(end).__name__  # tarfile's header error classes are not public
    if kind != "EOFHeaderError":
        quiet = end is None or kind in ("EmptyHeaderError", "TruncatedHeaderError")
        why = "it ends without the end-of-archive block" if quiet else f"a header is invalid ({end})"
        raise ArchiveError(f"tar data is truncated or corrupt: {why}")


def _add(tar: tarfile.TarFile, info: tarfile.TarInfo, unit: Unit, context: Context, layer: bool) -> None:
    name, refused = clean_name(info.name, context.limits.name)
    if refused is not None:
        unit.problems.append((printable_name(info.name), refused))
        return
    if name is None:
        return
    base = posixpath.basename(name)
    if layer and base.startswith(WHITEOUT):
        directory = posixpath.dirname(name)
        if base == OPAQUE:
            unit.opaque.append(directory)
        else:
            unit.whiteouts.append(posixpath.join(directory, base[len(WHITEOUT) :]))
        return
    if info.isreg():
        member = tar.extractfile(info)
        assert member is not None  # a regular member always has data
        take(unit, context, name, member, info.size)  # type: ignore[arg-type]
    elif info.isdir():
        unit.nodes[name] = Node(Entry.DIRECTORY)
    elif info.issym():
        unit.nodes[name] = Node(Entry.SYMLINK, link=info.linkname)
    elif info.islnk():
        _hard_link(unit, name, info.linkname, context)
    else:
        unit.nodes[name] = Node(Entry.OTHER)


def _hard_link(unit: Unit, name: str, target: str, context: Context) -> None:
    """A second name for an earlier member: unpacked, it is the same file under both names."""
    cleaned, refused = clean_name(target, context.limits.name)
    if refused is not None:
        unit.problems.append((name, f"hard link target refused: {refused}"))
        return
    original = unit.nodes.get(cleaned or "")
    if original is None:
        unit.problems.append((name, f"hard link to {target}, which is not an earlier member"))
        return
    unit.nodes[name] = original.copy()
