"""Containers read front to back into a Unit: tar, zip (wheel, jar), .deb (ar), .rpm (cpio), .apk.

Tar: Python's tarfile does the header work (ustar, GNU and PAX long names and
sizes), in seekable mode over a view that only goes forward (streams.Forward):
a member nobody reads is skipped, not copied. Here it is kept from growing (the
member list is dropped as it goes) and from ending quietly: a stream that stops
without the end-of-archive block, or at a header that is not one, is truncated
or corrupt. After the end, a compressed stream is read to its own end, so its
last CRC and whatever follows it are still checked.

Zip: the central directory (at the end) lists the members. Members are
independent, so a member that cannot be read is a problem of that member and
the others are still read. A plain member (a jar's class files) is told from its
first bytes without zipfile.open (zipsniff.py). Zip symlinks (Unix mode in the external attributes)
are kept as links.

ar (a .deb's outer layer) and cpio "newc" (an .rpm's payload) are a header, then
the member's bytes, then the next header; a member is handed out as a `Bounded`
view, and what the caller leaves unread is skipped before the next header.

Distribution packages (.deb, .rpm, .apk) install at /, so their units are
`installed`: absolute RPATHs and symlinks point among their own files. Members
are named as the package lists them (`usr/bin/app`).
"""

from __future__ import annotations

import io
import mmap
import posixpath
import re
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO, Any, cast

from linkgate.archives import android, android_manifest
from linkgate.archives.android_manifest import MinSdk
from linkgate.archives.limits import ArchiveError, BoundExceededError
from linkgate.archives.members import Context, is_plain, take, take_plain
from linkgate.archives.readahead import decompressed
from linkgate.archives.sniff import COMPRESSED, Format, sniff
from linkgate.archives.streams import (
    TRUNCATED_MEMBER,
    Bounded,
    Ending,
    Forward,
    Metered,
    Stream,
    buffered,
    read_capped,
    read_head,
    spooled,
)
from linkgate.archives.tarnames import TarNames
from linkgate.archives.tree import Entry, LinkLoopError, Node, Unit, clean_name, printable_name, resolve
from linkgate.archives.zipsniff import first_bytes
from linkgate.core.records import record

# --- tar ---
WHITEOUT, OPAQUE = ".wh.", ".wh..wh..opq"
# Top-level members that make a tar a container image (docker save, an OCI image layout).
IMAGE_MARKERS = frozenset({"manifest.json", "oci-layout"})


class ImageFoundError(Exception):
    """A top-level tar turned out to be a container image: read it again as one."""


class _Watched(TarNames):
    """Remembers on its tarfile why the last header read ended the archive."""

    @classmethod
    def fromtarfile(cls, tar: tarfile.TarFile) -> Any:
        try:
            return super().fromtarfile(tar)
        except tarfile.HeaderError as error:
            setattr(tar, "linkgate_end", error)  # noqa: B010  (an attribute tarfile does not declare)
            raise


def read_inner_tar(stream: Stream, unit: Unit, context: Context, what: str, layer: bool = False) -> None:
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


def read_tar(stream: Stream, unit: Unit, context: Context, layer: bool = False, watch_image: bool = False) -> Unit:
    """Every member of the tar stream into `unit`; ArchiveError when it is corrupt or truncated.

    `layer`: a container layer, whose whiteout entries are kept apart. `watch_image`:
    raise ImageFoundError at a top-level image marker.
    """
    try:
        # Seekable mode over a forward-only view: members nobody reads are skipped, not copied.
        # Ending: a member that claims more data than follows ends the read (streams.Ending).
        forward = Forward(Ending(stream))
        with tarfile.open(fileobj=cast(Any, forward), mode="r:", tarinfo=_Watched) as tar:
            while (info := tar.next()) is not None:
                cast(Any, tar).members.clear()  # the view never goes back: keep memory flat
                context.budget.member()
                _add(tar, info, unit, context, layer, watch_image)
            _check_end(tar)
        forward.drain()
    except (tarfile.TarError, EOFError) as error:
        # Seekable mode's "unexpected end of data" (before the next header, or inside a member read)
        # is worded as stream mode's Ending words it.
        reason = TRUNCATED_MEMBER if str(error) == "unexpected end of data" else str(error)
        raise ArchiveError(f"tar data is corrupt or truncated: {reason}") from None
    return unit


def _check_end(tar: tarfile.TarFile) -> None:
    """tarfile ends quietly at the end of the data or at a bad header: only the end-of-archive block is an end."""
    end = getattr(tar, "linkgate_end", None)
    kind = type(end).__name__  # tarfile's header error classes are not public
    if kind != "EOFHeaderError":
        quiet = end is None or kind in ("EmptyHeaderError", "TruncatedHeaderError")
        why = "it ends without the end-of-archive block" if quiet else f"a header is invalid ({end})"
        raise ArchiveError(f"tar data is truncated or corrupt: {why}")


def _add(  # noqa: PLR0917  (one member of read_tar's loop: its state, passed on)
    tar: tarfile.TarFile, info: tarfile.TarInfo, unit: Unit, context: Context, layer: bool, watch_image: bool
) -> None:
    name, refused = clean_name(info.name, context.limits.name)
    if watch_image and name in IMAGE_MARKERS:
        raise ImageFoundError
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
    if info.isreg() and info.size == 0:
        unit.nodes[name] = Node(Entry.FILE)  # nothing to read: neither ELF nor an archive
    elif info.isreg():
        member = tar.extractfile(info)
        assert member is not None  # a regular member always has data
        take(unit, context, name, member, info.size)
    elif info.isdir():
        unit.nodes[name] = Node(Entry.DIRECTORY)
    elif info.issym():
        unit.nodes[name] = Node(Entry.SYMLINK, link=info.linkname)
    elif info.islnk():
        _hard_link(unit, name, info.linkname, context)
    else:
        unit.nodes[name] = Node(Entry.OTHER)


def _hard_link(unit: Unit, name: str, target: str, context: Context) -> None:
    """A second name for an earlier member (or, in a container layer, for a file of the layers
    below: umoci, containerd and docker link to it): unpacked, it is the same file under both names."""
    cleaned, refused = clean_name(target, context.limits.name)
    if refused is not None:
        unit.problems.append((name, f"hard link target refused: {refused}"))
        return
    original = unit.nodes.get(cleaned or "")
    if original is None and unit.below is not None and cleaned:
        original = _below(unit.below, cleaned, context.limits.links)
    if original is None:
        unit.problems.append((name, f"hard link to {target}, which is not an earlier member"))
        return
    unit.nodes[name] = original.copy()


def _below(lower: Unit, name: str, hops: int) -> Node | None:
    """The file `name` names in the layers below: its parent directories resolved through their symlinks."""
    parent, base = posixpath.split(name)
    try:
        where = resolve(lower, parent, hops) if parent else ""
    except LinkLoopError:
        return None
    node = lower.nodes.get(posixpath.join(where, base) if where else base)
    return node if node is not None and node.kind is Entry.FILE else None


# --- zip ---
# A wheel's own metadata, kept for its meaning (its platform tags): pip reads only the top-level
# `NAME-VERSION.dist-info/WHEEL`, so a WHEEL file anywhere else is an ordinary member.
_WHEEL_FILE = re.compile(r"[^/]+\.dist-info/WHEEL")
_LINK_LIMIT = 4096
# The fixed part of a local file header: a member's data starts at least this far after its header.
_LOCAL_HEADER = 30
_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError)


def read_zip(stream: Stream, unit: Unit, context: Context, wheel: bool = False) -> Unit:
    """The zip's members into `unit`, as unzip (or pip, for a `wheel`) writes them.

    A stream that cannot seek (a nested zip) is held, bounded, to seek in it. A member is a
    directory when its name ends in `/` (never by its mode bits, as unzip and pip decide); a
    symlink when its mode says so, except in a wheel (pip writes every member as a file).
    """
    held = _seekable(stream, context)
    try:
        _read_members(held, unit, context, wheel=wheel)
    finally:
        if held is not stream:
            held.close()  # the spooled copy of a nested zip (and its temporary file)
    return unit


def _read_members(held: IO[bytes], unit: Unit, context: Context, *, wheel: bool) -> None:
    try:
        archive = zipfile.ZipFile(held)
    except _MEMBER_ERRORS as error:  # NotImplementedError: a central directory entry of a future version
        raise ArchiveError(f"zip data is corrupt or truncated: {error}") from None
    with archive:
        _refuse_overlap(archive)
        for info in archive.infolist():
            context.budget.member()
            name, refused = clean_name(info.filename, context.limits.name)
            if refused is not None:
                unit.problems.append((printable_name(info.filename), refused))
            elif name is not None:
                _member(archive, info, name, unit, context, wheel=wheel)
        unit.placements = android.placements(held, archive)
        unit.min_sdk = _min_sdk(archive)


def _min_sdk(archive: zipfile.ZipFile) -> MinSdk | str | None:
    """What an Android package's manifest says of minSdk, or why it cannot be read; None without one."""
    names = set(archive.namelist())
    member = next((name for name in android_manifest.MEMBERS if name in names), None)
    if member is None:
        return None
    try:
        with archive.open(member) as stream:
            data = stream.read(android_manifest.LIMIT + 1)
        if len(data) > android_manifest.LIMIT:
            return f"{member} is larger than {android_manifest.LIMIT >> 20} MiB"
        return android_manifest.min_sdk(member, data)
    except android_manifest.ManifestError as error:
        return f"{member} cannot be decoded: {error}"
    except _MEMBER_ERRORS as error:
        return f"{member} cannot be read: {error}"


def _seekable(stream: Stream, context: Context) -> IO[bytes]:
    """A zip is read from its end: the file given on the command line seeks; a member is held to seek in it."""
    if isinstance(stream, (io.FileIO, io.BufferedReader, io.BytesIO, mmap.mmap)):
        return cast(IO[bytes], stream)
    return spooled(stream, context.limits.member, "nested zip")


def _refuse_overlap(archive: zipfile.ZipFile) -> None:
    """Members whose data overlap (one deflate stream named by many entries: a bomb) are refused,
    as Python 3.12's zipfile does: each member's data must end before the next header."""
    infos = sorted(archive.infolist(), key=lambda info: info.header_offset)
    if not infos:
        return  # an empty central directory: nothing to overlap
    ends = [info.header_offset for info in infos[1:]] + [archive.start_dir]
    for info, end in zip(infos, ends, strict=True):
        if info.header_offset + _LOCAL_HEADER + info.compress_size > end:
            raise ArchiveError(
                f"zip entries overlap ({printable_name(info.filename)} runs into the next one): "
                "unzip would inflate the same data many times (a zip bomb)"
            )


def _member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, unit: Unit, context: Context, *, wheel: bool
) -> None:
    try:
        if info.filename.endswith("/"):
            unit.nodes[name] = Node(Entry.DIRECTORY)
        elif not wheel and stat.S_ISLNK(info.external_attr >> 16):
            with archive.open(info) as member:
                unit.nodes[name] = Node(Entry.SYMLINK, link=member.read(_LINK_LIMIT).decode("utf-8", "replace"))
        elif wheel and _WHEEL_FILE.fullmatch(name):
            _wheel_file(archive, info, name, unit, context)
        elif (head := first_bytes(archive, info)) is not None and is_plain(context, name, head):
            # Told without zipfile.open (zipsniff.py) from the bytes zipfile's read gives, charged as that read is.
            context.budget.spend(len(head))
            take_plain(unit, name, head)
        else:
            with archive.open(info) as member:
                take(unit, context, name, Metered(member, context.budget, "zip member"), info.file_size)
    except BoundExceededError:
        raise
    except ArchiveError as error:
        unit.problems.append((name, str(error)))
    except _MEMBER_ERRORS as error:
        unit.problems.append((name, f"zip member cannot be read: {error}"))


def _wheel_file(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, unit: Unit, context: Context) -> None:
    """A wheel's WHEEL file: kept whole as text (its tags are compared with the name), and still
    read as any member is (an ELF file under that name is judged)."""
    with archive.open(info) as member:
        data = bytes(read_capped(Metered(member, context.budget, "zip member"), context.limits.member, "WHEEL file"))
    unit.texts[name] = data.decode("utf-8", "replace")
    take(unit, context, name, io.BytesIO(data), len(data))


# --- ar and cpio ---
AR_MAGIC = b"!<arch>\n"
_AR_HEADER, _CPIO_HEADER = 60, 110
_CPIO_MAGICS = (b"070701", b"070702")
_CPIO_TRAILER = "TRAILER!!!"


def _exactly(stream: Stream, count: int, what: str) -> bytes:
    data = stream.read(count)
    if len(data) != count:
        raise ArchiveError(f"{what} is truncated")
    return data


def ar_members(stream: Stream) -> Iterator[tuple[str, Bounded]]:
    """(name, data) of each ar member, in order."""
    if _exactly(stream, len(AR_MAGIC), "ar archive") != AR_MAGIC:
        raise ArchiveError("not an ar archive")
    while header := stream.read(_AR_HEADER):
        if len(header) != _AR_HEADER or header[58:60] != b"`\n":
            raise ArchiveError("ar member header is truncated or corrupt")
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            raise ArchiveError("ar member size is not a number") from None
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        data = Bounded(stream, size, "ar archive")
        yield name, data
        data.skip_rest()
        if size % 2:
            stream.read(1)  # members start at even offsets


@record
class CpioEntry:
    name: str
    mode: int
    size: int


def cpio_members(stream: Stream) -> Iterator[tuple[CpioEntry, Bounded]]:
    """(entry, data) of each cpio "newc" member up to the trailer; ArchiveError if the trailer never comes."""
    offset = 0
    while True:
        header = _exactly(stream, _CPIO_HEADER, "cpio payload")
        if header[:6] not in _CPIO_MAGICS:
            raise ArchiveError("cpio payload is corrupt (no newc header where one must be)")
        try:
            fields = [int(header[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
        except ValueError:
            raise ArchiveError("cpio header holds a field that is not hexadecimal") from None
        mode, size, name_size = fields[1], fields[6], fields[11]
        name_bytes = _exactly(stream, name_size, "cpio payload")
        offset += _CPIO_HEADER + name_size
        stream.read(-offset % 4)
        offset = 0
        name = name_bytes.rstrip(b"\x00").decode("utf-8", "surrogateescape")
        if name == _CPIO_TRAILER:
            return
        data = Bounded(stream, size, "cpio payload")
        yield CpioEntry(name, mode, size), data
        data.skip_rest()
        stream.read(-size % 4)


def cpio_kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    return "symlink" if stat.S_ISLNK(mode) else "other"


# --- .deb, .rpm, .apk, one compressed file ---
_LEAD = 96
_HEADER_MAGIC = b"\x8e\xad\xe8\x01"
_RPMTAG_PAYLOADFORMAT, _RPMTAG_PAYLOADCOMPRESSOR = 1124, 1125
_STRING_TYPES = (6, 8, 9)
_HEADER_LIMIT = 64 << 20  # rpm itself refuses headers above 256 MiB; real ones are a few MiB
_COMPRESSORS = {"gzip": Format.GZIP, "xz": Format.XZ, "lzma": Format.XZ, "zstd": Format.ZSTD, "bzip2": Format.BZIP2}


def read_deb(stream: Stream, context: Context) -> Unit:
    unit = Unit("deb", installed=True)
    members = ar_members(stream)
    first = next(members, None)
    if first is None or first[0] != "debian-binary":
        raise ArchiveError("an ar archive that is not a Debian package (no debian-binary first)")
    for name, data in members:
        if name.startswith("data.tar"):
            read_inner_tar(buffered(data), unit, context, "data.tar")
            return unit
    raise ArchiveError("Debian package without a data.tar member")


def read_rpm(stream: Stream, context: Context) -> Unit:
    lead = stream.read(_LEAD)
    if len(lead) != _LEAD:
        raise ArchiveError("rpm lead is truncated")
    _header(stream, "signature", pad=True)
    tags = _header(stream, "main", pad=False)
    if tags.get(_RPMTAG_PAYLOADFORMAT, "cpio") != "cpio":
        raise ArchiveError(f"rpm payload format {tags[_RPMTAG_PAYLOADFORMAT]!r} is not supported (only cpio)")
    compressor = tags.get(_RPMTAG_PAYLOADCOMPRESSOR, "gzip")
    expected = _COMPRESSORS.get(compressor)
    head, stream = read_head(stream)
    kind = sniff(head)
    if expected is None or kind is not expected:
        raise ArchiveError(f"rpm payload compressor {compressor!r} does not match its data ({kind or 'unknown'})")
    payload = decompressed(kind, stream, context.budget)
    unit = Unit("rpm", installed=True)
    for entry, data in cpio_members(payload):
        context.budget.member()
        _cpio_member(unit, context, entry, data)
    return unit


def _cpio_member(unit: Unit, context: Context, entry: CpioEntry, data: Bounded) -> None:
    raw, kind = entry.name, cpio_kind(entry.mode)
    name, refused = clean_name(raw, context.limits.name)
    if refused is not None:
        unit.problems.append((printable_name(raw), refused))
    elif name is None:
        return
    elif kind == "file":
        take(unit, context, name, buffered(data), entry.size)
    elif kind == "symlink":
        unit.nodes[name] = Node(Entry.SYMLINK, link=data.read(context.limits.name).decode("utf-8", "replace"))
    else:
        unit.nodes[name] = Node(Entry.DIRECTORY if kind == "directory" else Entry.OTHER)


def _header(stream: Stream, what: str, pad: bool) -> dict[int, str]:
    """The string tags of one rpm header structure (the others are skipped)."""
    intro = stream.read(16)
    if len(intro) != 16 or intro[:4] != _HEADER_MAGIC:
        raise ArchiveError(f"rpm {what} header is missing or corrupt")
    count, size = struct.unpack(">II", intro[8:16])
    if count * 16 + size > _HEADER_LIMIT:
        raise ArchiveError(f"rpm {what} header claims {count} entries and {size} bytes: too large")
    body = stream.read(count * 16 + size)
    if len(body) != count * 16 + size:
        raise ArchiveError(f"rpm {what} header is truncated")
    if pad:
        stream.read(-size % 8)  # the signature header is padded to 8 bytes
    store = body[count * 16 :]
    tags: dict[int, str] = {}
    for index in range(count):
        tag, kind, offset, _count = struct.unpack(">IIII", body[index * 16 : index * 16 + 16])
        if kind in _STRING_TYPES and offset < len(store):
            end = store.find(b"\x00", offset)
            tags[tag] = store[offset : end if end >= 0 else len(store)].decode("utf-8", "replace")
    return tags


def read_compressed(kind: Format, stream: Stream, name: str, context: Context) -> Unit:
    """A compressed stream: a tar (tar.gz, .apk's concatenated gzip'd tars), else one compressed file."""
    head, inner = read_head(decompressed(kind, stream, context.budget))
    if sniff(head) is Format.TAR:
        unit = read_tar(inner, Unit(f"tar.{kind.value}"), context, watch_image=context.depth == 1 and context.images)
        if ".PKGINFO" in unit.nodes:  # Alpine: signature, control and data tars in one stream
            unit.format, unit.installed = "apk", True
        return unit
    unit = Unit(kind.value)
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "data"
    take(unit, context, stem, inner)
    return unit
