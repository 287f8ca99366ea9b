"""Structure-aware mutations of archives: zip central directory and local headers, tar and ar
headers, and the JSON documents of container images.

Each mutator finds the structures the readers trust by their own signatures (zip), by walking the
header chain (tar, ar) or through Python's tarfile (image JSON), and puts a value on an edge there:
a size past the end, an offset into another entry, a mode that says directory or symlink, a name
that climbs out, a type flag no tool writes, JSON of the wrong type. A seed that is already a
mutant may not parse: the mutator then falls back to a generic one.
"""

from __future__ import annotations

import io
import json
import random
import stat
import tarfile
from typing import Any

from fuzz.mutate import GENERIC, Mutator, flip_bits, interesting, put, set_field

# --- zip -------------------------------------------------------------------------------------

_LOCAL, _CENTRAL, _END, _END64, _LOCATOR64 = b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07"
# (offset, width) of the fields each record's reader trusts.
_LOCAL_FIELDS = ((6, 2), (8, 2), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2))
_CENTRAL_FIELDS = ((4, 2), (8, 2), (10, 2), (16, 4), (20, 4), (24, 4), (28, 2), (30, 2), (32, 2), (34, 2),
                   (38, 4), (42, 4))  # fmt: skip
_END_FIELDS = ((4, 2), (6, 2), (8, 2), (10, 2), (12, 4), (16, 4), (20, 2))
_END64_FIELDS = ((24, 8), (32, 8), (40, 8), (48, 8))
# Unix modes in a central entry's external attributes: what pip and unzip must not take as a link or directory.
_MODES = (stat.S_IFLNK | 0o777, stat.S_IFDIR | 0o755, stat.S_IFREG | 0o755, stat.S_IFCHR | 0o644, 0o7777, 0xFFFF)
_NAMES = (b"../x", b"/abs", b"a/../../b", b"x/", b"WHEEL", b"x.dist-info/WHEEL", b"a\\b", b"", b"\x00", b"./a//b")
_STUBS = (b"#!/bin/sh\nexit 0\n", b"\x7fELF\x02\x01\x01" + bytes(57), bytes(512))


def _offsets(buf: bytearray, mark: bytes) -> list[int]:
    found: list[int] = []
    at = buf.find(mark)
    while at >= 0 and len(found) < 4096:
        found.append(at)
        at = buf.find(mark, at + 1)
    return found


def _record_field(buf: bytearray, rng: random.Random, mark: bytes, fields: tuple[tuple[int, int], ...]) -> bool:
    places = _offsets(buf, mark)
    if not places:
        return False
    at, (offset, width) = rng.choice(places), rng.choice(fields)
    put(buf, at + offset, width, interesting(rng, len(buf)))
    return True


def zip_local_field(buf: bytearray, rng: random.Random) -> None:
    if not _record_field(buf, rng, _LOCAL, _LOCAL_FIELDS):
        set_field(buf, rng)


def zip_central_field(buf: bytearray, rng: random.Random) -> None:
    if not _record_field(buf, rng, _CENTRAL, _CENTRAL_FIELDS):
        set_field(buf, rng)


def zip_end_field(buf: bytearray, rng: random.Random) -> None:
    if rng.random() < 0.2 and _record_field(buf, rng, _END64, _END64_FIELDS):
        return
    if not _record_field(buf, rng, _END, _END_FIELDS):
        set_field(buf, rng)


def zip_mode(buf: bytearray, rng: random.Random) -> None:
    """A central entry's Unix mode: a symlink, a directory without a trailing `/`, a device."""
    places = _offsets(buf, _CENTRAL)
    if not places:
        flip_bits(buf, rng)
        return
    at = rng.choice(places)
    put(buf, at + 5, 1, 3)  # made by Unix: the mode counts
    put(buf, at + 40, 2, rng.choice(_MODES))


def zip_name(buf: bytearray, rng: random.Random) -> None:
    """Overwrite the start of a central or local name (same length, so the offsets still hold)."""
    places = _offsets(buf, rng.choice((_CENTRAL, _LOCAL)))
    if not places:
        flip_bits(buf, rng)
        return
    at = rng.choice(places)
    start = at + (46 if buf[at + 2] == 1 else 30)
    length = int.from_bytes(buf[at + (28 if buf[at + 2] == 1 else 26) :][:2], "little")
    name = rng.choice(_NAMES)[:length]
    buf[start : start + len(name)] = name


def zip_duplicate_entry(buf: bytearray, rng: random.Random) -> None:
    """A central entry repeated (overlapping entries, duplicate names), the end record counting it."""
    places, ends = _offsets(buf, _CENTRAL), _offsets(buf, _END)
    if not places or not ends:
        splice(buf, rng)
        return
    at = rng.choice(places)
    size = 46 + sum(int.from_bytes(buf[at + o : at + o + 2], "little") for o in (28, 30, 32))
    entry = bytes(buf[at : at + size])
    end = ends[-1]
    buf[end:end] = entry
    end += len(entry)
    for offset in (8, 10):
        put(buf, end + offset, 2, int.from_bytes(buf[end + offset : end + offset + 2], "little") + 1)
    put(buf, end + 12, 4, int.from_bytes(buf[end + 12 : end + 16], "little") + len(entry))


def zip_prefix(buf: bytearray, rng: random.Random) -> None:
    """Bytes in front of the archive (a self-extracting stub), offsets left as they were or not."""
    buf[0:0] = rng.choice(_STUBS)


def splice(buf: bytearray, rng: random.Random) -> None:
    if len(buf) > 2:
        start = rng.randrange(len(buf))
        piece = bytes(buf[start : start + rng.randrange(1, 256)])
        at = rng.randrange(len(buf))
        buf[at:at] = piece


ZIP: tuple[Mutator, ...] = (zip_local_field, zip_central_field, zip_central_field, zip_end_field, zip_mode,
                            zip_name, zip_duplicate_entry, zip_prefix)  # fmt: skip

# --- tar and ar ------------------------------------------------------------------------------

_BLOCK = 512
# (offset, width) of ustar header fields: name, mode, uid, size, mtime, typeflag, linkname, magic, version, prefix.
_TAR_FIELDS = ((0, 100), (100, 8), (108, 8), (124, 12), (136, 12), (156, 1), (157, 100), (257, 6), (263, 2),
               (345, 155))  # fmt: skip
_TYPES = b"0123456789LKxgSVMDN7A\x00"
_MAGICS = (b"ustar\x00", b"ustar ", b"\x00" * 6, b"USTAR\x00")
_LINKS = (b"..", b"../../etc/passwd", b"/usr/lib", b"a/b/../../..", b"self", b"", b"lib/libfoo.so.1")


def _tar_headers(buf: bytearray, limit: int = 512) -> list[int]:
    """Offsets of the header blocks, found by walking sizes from the start (as tar does)."""
    found: list[int] = []
    at = 0
    while at + _BLOCK <= len(buf) and len(found) < limit:
        block = buf[at : at + _BLOCK]
        if not any(block):
            break
        found.append(at)
        size = _octal(block[124:136])
        if size is None:
            break
        at += _BLOCK + -(-size // _BLOCK) * _BLOCK
    return found


def _octal(field: bytes | bytearray) -> int | None:
    text = bytes(field).split(b"\x00", 1)[0].strip()
    try:
        return int(text or b"0", 8)
    except ValueError:
        return None


def _fix_checksum(buf: bytearray, at: int) -> None:
    header = buf[at : at + _BLOCK]
    header[148:156] = b" " * 8
    buf[at + 148 : at + 156] = b"%06o\x00 " % (sum(header) & 0o777777)


def _tar_value(rng: random.Random, offset: int, width: int, size: int) -> bytes:
    if offset == 156:
        return bytes([rng.choice(_TYPES)])
    if offset == 257:
        return rng.choice(_MAGICS)
    if offset in (0, 157, 345):
        return rng.choice((*_LINKS, *_NAMES)).ljust(width, b"\x00")[:width]
    if rng.random() < 0.2:  # GNU base-256
        return b"\x80" + (interesting(rng, size) & ((1 << (8 * (width - 1))) - 1)).to_bytes(width - 1, "big")
    return (b"%0*o\x00" % (width - 1, interesting(rng, size) & ((1 << (3 * (width - 1))) - 1)))[-width:]


def tar_header_field(buf: bytearray, rng: random.Random) -> None:
    """A header field on an edge; the checksum made valid again most of the time (else tar stops there)."""
    headers = _tar_headers(buf)
    if not headers:
        set_field(buf, rng)
        return
    at, (offset, width) = rng.choice(headers), rng.choice(_TAR_FIELDS)
    buf[at + offset : at + offset + width] = _tar_value(rng, offset, width, len(buf))
    if rng.random() < 0.9:
        _fix_checksum(buf, at)


def tar_drop_end(buf: bytearray, rng: random.Random) -> None:
    """The end-of-archive blocks cut, or a member's data cut short."""
    headers = _tar_headers(buf)
    if headers:
        del buf[rng.choice(headers) + rng.randrange(_BLOCK, 4 * _BLOCK) :]


def tar_repeat_member(buf: bytearray, rng: random.Random) -> None:
    """A header (and its data) repeated: a duplicate name, a later link to an earlier file."""
    headers = _tar_headers(buf)
    if len(headers) < 2:
        splice(buf, rng)
        return
    index = rng.randrange(len(headers) - 1)
    start, end = headers[index], headers[index + 1]
    buf[end:end] = buf[start:end]


_AR_FIELDS = ((0, 16), (40, 8), (48, 10), (58, 2))


def ar_header_field(buf: bytearray, rng: random.Random) -> None:
    """A .deb's ar member header: name, mode, size (decimal), end mark."""
    if not buf.startswith(b"!<arch>\n"):
        tar_header_field(buf, rng)
        return
    places: list[int] = []
    at = 8
    while at + 60 <= len(buf) and len(places) < 16:
        places.append(at)
        try:
            at += 60 + int(bytes(buf[at + 48 : at + 58]).strip() or b"0")
        except ValueError:
            break
        at += at & 1
    if not places:  # cut inside the first member header
        flip_bits(buf, rng)
        return
    at, (offset, width) = rng.choice(places), rng.choice(_AR_FIELDS)
    value = str(interesting(rng, len(buf))).encode() if offset == 48 else rng.choice((b"data.tar", b"/", b"`\n", b""))
    buf[at + offset : at + offset + width] = value.ljust(width)[:width]


TAR: tuple[Mutator, ...] = (tar_header_field, tar_header_field, tar_header_field, tar_drop_end, tar_repeat_member,
                            ar_header_field)  # fmt: skip

# --- container image JSON --------------------------------------------------------------------

_JSON_VALUES: tuple[Any, ...] = ({}, [], "", "x", 0, -1, 1 << 63, None, True, [""], {"": ""}, ["a", {}],
                                 "sha256:" + "0" * 64, "sha512:xx", "../../etc", "/")  # fmt: skip


def _json_edit(document: Any, rng: random.Random) -> Any:
    """One value somewhere in `document` replaced by a value of another type, deleted or duplicated."""
    if isinstance(document, dict) and document and rng.random() < 0.6:
        key = rng.choice(sorted(document))
        choice = rng.random()
        if choice < 0.15:
            del document[key]
        elif choice < 0.5:
            document[key] = rng.choice(_JSON_VALUES)
        else:
            document[key] = _json_edit(document[key], rng)
        return document
    if isinstance(document, list) and document and rng.random() < 0.6:
        index = rng.randrange(len(document))
        if rng.random() < 0.2:
            document.append(document[index])
        else:
            document[index] = _json_edit(document[index], rng)
        return document
    return rng.choice(_JSON_VALUES)


def _tar_members(data: bytes) -> list[tuple[tarfile.TarInfo, bytes | None]] | None:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            members = archive.getmembers()
            return [(m, archive.extractfile(m).read() if m.isfile() else None) for m in members]  # type: ignore[union-attr]
    except (tarfile.TarError, OSError, ValueError, EOFError):
        return None


def _json_members(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> list[int]:
    found = []
    for index, (_info, content) in enumerate(members):
        if content is not None and content[:1] in (b"{", b"[") and len(content) < 1 << 20:
            found.append(index)
    return found


def image_json(buf: bytearray, rng: random.Random) -> None:
    """A manifest, index, config or oci-layout document of the image tar edited, the tar rebuilt."""
    members = _tar_members(bytes(buf))
    documents = _json_members(members) if members else []
    if not members or not documents:
        tar_header_field(buf, rng)
        return
    index = rng.choice(documents)
    info, content = members[index]
    try:
        document = json.loads(content or b"")
    except ValueError:
        flip_bits(buf, rng)
        return
    edited = json.dumps(_json_edit(document, rng)).encode()
    members[index] = (info, edited)
    buf[:] = _rebuilt(members)


def _rebuilt(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:", format=tarfile.PAX_FORMAT) as archive:
        for info, content in members:
            if content is not None:
                info.size = len(content)
            archive.addfile(info, io.BytesIO(content) if content is not None else None)
    return out.getvalue()


IMAGE: tuple[Mutator, ...] = (image_json, image_json, image_json, tar_header_field, tar_repeat_member)

ZIP_ALL = ZIP + ZIP + GENERIC
TAR_ALL = TAR + TAR + GENERIC
IMAGE_ALL = IMAGE + IMAGE + (flip_bits,)
