"""Distribution packages: .deb (ar + data.tar.*), .rpm (lead, headers, cpio payload), .apk (gzip'd tars).

They install at /, so their units are `installed`: absolute RPATHs and symlinks
point among their own files. Members are named as the package lists them
(`usr/bin/app`).
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from linkgate.archives.context import Context
from linkgate.archives.limits import ArchiveError
from linkgate.archives.magic import Format, sniff
from linkgate.archives.members import take
from linkgate.archives.sequential import Bounded, CpioEntry, ar_members, cpio_kind, cpio_members
from linkgate.archives.streams import buffered, decompressed, read_head
from linkgate.archives.tarread import read_inner_tar, read_tar
from linkgate.archives.tree import Entry, Node, Unit, clean_name, printable_name

_LEAD = 96
_HEADER_MAGIC = b"\x8e\xad\xe8\x01"
_RPMTAG_PAYLOADFORMAT, _RPMTAG_PAYLOADCOMPRESSOR = 1124, 1125
_STRING_TYPES = (6, 8, 9)
_HEADER_LIMIT = 64 << 20  # rpm itself refuses headers above 256 MiB; real ones are a few MiB
_COMPRESSORS = {"gzip": Format.GZIP, "xz": Format.XZ, "lzma": Format.XZ, "zstd": Format.ZSTD, "bzip2": Format.BZIP2}


def read_deb(stream: BinaryIO, context: Context) -> Unit:
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


def read_rpm(stream: BinaryIO, context: Context) -> Unit:
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


def _header(stream: BinaryIO, what: str, pad: bool) -> dict[int, str]:
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


def read_compressed(kind: Format, stream: BinaryIO, name: str, context: Context) -> Unit:
    """A compressed stream: a tar (tar.gz, .apk's concatenated gzip'd tars), else one compressed file."""
    head, inner = read_head(decompressed(kind, stream, context.budget))
    if sniff(head) is Format.TAR:
        unit = read_tar(inner, Unit(f"tar.{kind.value}"), context, watch_image=context.depth == 1)
        if ".PKGINFO" in unit.nodes:  # Alpine: signature, control and data tars in one stream
            unit.format, unit.installed = "apk", True
        return unit
    unit = Unit(kind.value)
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "data"
    take(unit, context, stem, inner)
    return unit
