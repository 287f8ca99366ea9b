"""Reading one archive into its member tree: what its readers share, and one regular member.

A regular member is an ELF file (parsed, then dropped), a nested archive, or
neither. Only ELF members are held in memory, one at a time and at most `member`
bytes; other members are looked at for HEAD bytes to learn what they are.
"""

from __future__ import annotations

import io
import mmap
from collections.abc import Callable
from typing import Protocol

from linkgate.archives.foreign import native_kind
from linkgate.archives.limits import ArchiveError, BoundExceededError, Budget, Limits
from linkgate.archives.sniff import Format, sniff, zip_in
from linkgate.archives.streams import Stream, read_capped, read_head
from linkgate.archives.tree import Entry, Node, Unit
from linkgate.core.records import record, replace
from linkgate.elf.banner import glibc_release_in
from linkgate.elf.exports import exports_of
from linkgate.elf.facts import ElfFacts, Kind
from linkgate.elf.image import Buffer, ElfFormatError
from linkgate.elf.reader import parse_elf
from linkgate.elf.versions import SymbolSelection

# Fills in facts a rule needs beyond the loader's view (hardening), from a member's bytes:
# (display path, bytes, facts) -> facts.
Completer = Callable[[str, Buffer, ElfFacts], ElfFacts]
# Reads an archive of a known format from a stream: (format, stream, its member name, context) -> unit.
Reader = Callable[[Format, Stream, str, "Context"], Unit]

_TEXT_LIMIT = 4 << 20  # a kept member (ld.so.conf, os-release, ld.so.cache) is small


class NestedZips(Protocol):
    """Who reads nested zips while the caller reads on (linkgate.archives.helper.ZipHelper)."""

    def takes(self, context: Context, size: int | None) -> bool:
        """Whether the zip member of `size` bytes found in `context`'s archive is handed over."""

    def submit(self, unit: Unit, name: str, inner: Context, stream: Stream, size: int | None) -> Unit:
        """Hand it over: what stands in for its unit until the answers are put in place."""

    def settle(self) -> None:
        """Put the answers so far in place (before an image's layer is applied below)."""


@record
class Context:
    limits: Limits
    budget: Budget
    # The symbol selection for a member's display path (which needs some rule will reject).
    select: Callable[[str], SymbolSelection]
    # The display path of the archive being read (`dist/a.zip`, then `dist/a.zip!b.tar.gz` inside it).
    prefix: str
    # The dispatcher (linkgate.archives.read), handed down so nested archives need no import cycle.
    reader: Reader
    depth: int = 1
    complete: Completer | None = None
    # Read the exports of shared-library members: the unit's members are judged as shipped
    # together, and musl binds symbols by name to whichever loaded library exports them.
    exports: bool = False
    # A tar given on the command line may be a container image (false once it proved not to be one).
    images: bool = True
    # Member names whose text is kept on their node (an image's ld.so.conf, os-release, libc).
    keep_text: Callable[[str], bool] | None = None
    # A forked process that reads nested zips while this one reads on (linkgate.archives.helper).
    helper: NestedZips | None = None

    def inside(self, member: str) -> Context:
        """The context of an archive found at `member` of this one."""
        return replace(self, prefix=f"{self.prefix}!{member}", depth=self.depth + 1)

    def display(self, member: str) -> str:
        return f"{self.prefix}!{member}"


def take(unit: Unit, context: Context, name: str, stream: Stream, size: int | None = None) -> None:
    """Record the regular member `name` of `unit`, reading it from `stream` as far as needed.

    `size`: the member's size as the archive states it, when it does.
    """
    head, stream = read_head(stream)
    kind = sniff(head)
    kept = _kept(context, name)
    if kind is None and not kept:
        take_plain(unit, name, head)
        return
    node = Node(Entry.FILE)
    unit.nodes[name] = node
    if kind is Format.ELF:
        data = _read_elf(node, context, unit.shown(name), stream, size, kept=kept)
        if zip_in(data):  # a self-extracting archive: unzip and pip read the zip behind the stub
            node.nested = _read_nested(unit, context, name, Format.ZIP, _seekable_view(data))
    elif kind is not None:
        node.nested = _read_nested(unit, context, name, kind, stream, size=size)
    else:
        node.text = _text(stream)


def is_plain(context: Context, name: str, head: bytes) -> bool:
    """Whether the member `name` whose first HEAD bytes are `head` is neither ELF nor an archive,
    nor kept whole: all take would do with it is take_plain."""
    return sniff(head) is None and not _kept(context, name)


def take_plain(unit: Unit, name: str, head: bytes) -> None:
    """Record a member that is neither ELF nor an archive from its first bytes (it may be native code
    of another format)."""
    node = Node(Entry.FILE)
    node.foreign = native_kind(head)
    unit.nodes[name] = node


def _kept(context: Context, name: str) -> bool:
    return context.keep_text is not None and context.keep_text(name)


def _read_elf(
    node: Node, context: Context, shown: str, stream: Stream, size: int | None, *, kept: bool
) -> bytes | mmap.mmap:
    """The member's bytes, held; what they say filled in on `node` (a kept one: the C library release it names)."""
    display = context.display(shown)
    data = read_capped(stream, context.limits.member, "ELF member", size)
    node.text = glibc_release_in(data) if kept else None
    try:
        facts = parse_elf(data, context.select(display))
        node.facts = facts if context.complete is None else context.complete(display, data, facts)
    except ElfFormatError as error:
        node.error = str(error)
        return data
    if context.exports and (facts.payload or facts).kind is Kind.SHARED_LIBRARY:
        node.exports = _exports(data)
    return data


def _seekable_view(data: bytes | mmap.mmap) -> Stream:
    """Held bytes as a stream the zip reader can seek in, without a copy."""
    return io.BytesIO(data) if isinstance(data, bytes) else data


def _text(stream: Stream) -> str:
    parts: list[bytes] = []
    while (room := _TEXT_LIMIT - sum(map(len, parts))) > 0 and (part := stream.read(room)):
        parts.append(part)
    return b"".join(parts).decode("utf-8", "surrogateescape")  # lossless: ld.so.cache is binary


def _exports(data: Buffer) -> frozenset[str] | None:
    try:
        return exports_of(data)
    except ElfFormatError:
        return None  # unknown: no symbol is taken as bound to it


def _read_nested(
    unit: Unit, context: Context, name: str, kind: Format, stream: Stream, *, size: int | None = None
) -> Unit | None:
    shown = unit.shown(name)
    if context.depth >= context.limits.depth:
        unit.problems.append((name, f"archive nested deeper than {context.limits.depth} levels: not read"))
        return None
    inner = context.inside(shown)
    try:
        if kind is Format.ZIP and context.helper is not None and context.helper.takes(context, size):
            return context.helper.submit(unit, name, inner, stream, size)
        return context.reader(kind, stream, name, inner)
    except BoundExceededError:
        raise
    except ArchiveError as error:
        unit.problems.append((name, str(error)))
        return None
