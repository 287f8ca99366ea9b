"""One regular member of an archive: an ELF file (parsed, then dropped), a nested archive, or neither.

Only ELF members are held in memory, one at a time and at most `member` bytes;
other members are looked at for HEAD bytes to learn what they are.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from linkgate.archives.context import Context
from linkgate.archives.limits import ArchiveError, BoundExceededError
from linkgate.archives.magic import Format, sniff
from linkgate.archives.streams import read_capped, read_head
from linkgate.archives.tree import Entry, Node, Unit
from linkgate.elf.banner import glibc_release_in
from linkgate.elf.exports import exports_of
from linkgate.elf.facts import Kind
from linkgate.elf.image import Buffer, ElfFormatError
from linkgate.elf.reader import parse_elf

_TEXT_LIMIT = 4 << 20  # a kept member (ld.so.conf, os-release, ld.so.cache) is small


def take(unit: Unit, context: Context, name: str, stream: BinaryIO, size: int | None = None) -> None:
    """Record the regular member `name` of `unit`, reading it from `stream` as far as needed.

    `size`: the member's size as the archive states it, when it does.
    """
    head, stream = read_head(stream)
    kind = sniff(head)
    node = Node(Entry.FILE)
    unit.nodes[name] = node
    kept = context.keep_text is not None and context.keep_text(name)
    if kind is Format.ELF:
        _read_elf(node, context, unit.shown(name), stream, size, kept=kept)
    elif kind is not None:
        node.nested = _read_nested(unit, context, name, kind, stream)
    elif kept:
        node.text = _text(stream)


def _read_elf(node: Node, context: Context, shown: str, stream: BinaryIO, size: int | None, *, kept: bool) -> None:
    display = context.display(shown)
    data = read_capped(stream, context.limits.member, "ELF member", size)
    node.text = glibc_release_in(data) if kept else None
    try:
        facts = parse_elf(data, context.select(display))
        node.facts = facts if context.complete is None else context.complete(display, data, facts)
    except ElfFormatError as error:
        node.error = str(error)
        return
    if context.exports and (facts.payload or facts).kind is Kind.SHARED_LIBRARY:
        node.exports = _exports(data)


def _text(stream: BinaryIO) -> str:
    parts: list[bytes] = []
    while (room := _TEXT_LIMIT - sum(map(len, parts))) > 0 and (part := stream.read(room)):
        parts.append(part)
    return b"".join(parts).decode("utf-8", "surrogateescape")  # lossless: ld.so.cache is binary


def _exports(data: Buffer) -> frozenset[str] | None:
    try:
        return exports_of(data)
    except ElfFormatError:
        return None  # unknown: no symbol is taken as bound to it


def _read_nested(unit: Unit, context: Context, name: str, kind: Format, stream: BinaryIO) -> Unit | None:
    shown = unit.shown(name)
    if context.depth >= context.limits.depth:
        unit.problems.append((name, f"archive nested deeper than {context.limits.depth} levels: not read"))
        return None
    inner = context.inside(shown)
    try:
        if kind is Format.ZIP:  # a zip is read from its end: hold it (bounded) to seek in it
            held = read_capped(stream, context.limits.member, "nested zip")
            return context.reader(kind, io.BytesIO(held), name, inner)
        return context.reader(kind, stream, name, inner)
    except BoundExceededError:
        raise
    except ArchiveError as error:
        unit.problems.append((name, str(error)))
        return None
