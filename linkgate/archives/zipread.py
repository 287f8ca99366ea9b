"""Zip, wheel, jar, aar, egg: the central directory (at the end) lists the members.

Members are independent, so a member that cannot be read is a problem of that
member and the others are still read. Zip symlinks (Unix mode in the external
attributes) are kept as links.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from typing import BinaryIO

from linkgate.archives.context import Context
from linkgate.archives.limits import ArchiveError, BoundExceededError
from linkgate.archives.members import take
from linkgate.archives.streams import Metered
from linkgate.archives.tree import Entry, Node, Unit, clean_name, printable_name
from linkgate.archives.zipsniff import plain_member

# Small text members kept for their meaning: a wheel's promise (its platform tags).
_KEPT_TEXT = ".dist-info/WHEEL"
_TEXT_LIMIT = 64 * 1024
_LINK_LIMIT = 4096
_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError)


def read_zip(stream: BinaryIO, unit: Unit, context: Context) -> Unit:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise ArchiveError(f"zip data is corrupt or truncated: {error}") from None
    with archive:
        for info in archive.infolist():
            context.budget.member()
            name, refused = clean_name(info.filename, context.limits.name)
            if refused is not None:
                unit.problems.append((printable_name(info.filename), refused))
            elif name is not None:
                _member(archive, info, name, unit, context)
    return unit


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, unit: Unit, context: Context) -> None:
    mode = info.external_attr >> 16
    try:
        if info.is_dir() or stat.S_ISDIR(mode):
            unit.nodes[name] = Node(Entry.DIRECTORY)
        elif stat.S_ISLNK(mode):
            with archive.open(info) as member:
                unit.nodes[name] = Node(Entry.SYMLINK, link=member.read(_LINK_LIMIT).decode("utf-8", "replace"))
        elif name.endswith(_KEPT_TEXT) and info.file_size <= _TEXT_LIMIT:
            with archive.open(info) as member:
                unit.texts[name] = member.read(_TEXT_LIMIT).decode("utf-8", "replace")
            unit.nodes[name] = Node(Entry.FILE)
        elif plain_member(archive, info, context.budget):  # archives/zipsniff.py: neither ELF nor an archive
            unit.nodes[name] = Node(Entry.FILE)
        else:
            with archive.open(info) as member:
                take(unit, context, name, Metered(member, context.budget, "zip member"), info.file_size)  # type: ignore[arg-type]
    except BoundExceededError:
        raise
    except ArchiveError as error:
        unit.problems.append((name, str(error)))
    except _MEMBER_ERRORS as error:
        unit.problems.append((name, f"zip member cannot be read: {error}"))
