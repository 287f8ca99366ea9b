"""One shipping unit read from an archive: its members by path, as the unpacked tree would hold them.

Names are cleaned once (`./usr/bin/app` -> `usr/bin/app`); hostile ones (absolute,
`..`, NUL, too long) become problems, never paths. Symlinks are resolved among the
unit's own members only, with the kernel's bound on links followed, so a loop is
reported, not followed forever.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from enum import Enum

from linkgate.archives.android import Placement
from linkgate.archives.android_manifest import MinSdk
from linkgate.elf.facts import ElfFacts


class Entry(str, Enum):
    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"
    OTHER = "other"  # devices, FIFOs: names only, never judged


# What reading a member found (Node.facts, error, exports, foreign, text), pickled by position.
_NodeState = tuple[ElfFacts | None, str | None, frozenset[str] | None, str | None, str | None]


class Node:
    """One member; what reading it found is filled in as it is read."""

    __slots__ = ("error", "exports", "facts", "foreign", "kind", "link", "nested", "text")

    def __init__(self, kind: Entry, link: str = "", nested: Unit | None = None) -> None:
        self.kind = kind
        self.link = link  # a symlink's target as written
        self.facts: ElfFacts | None = None  # an ELF member, read
        self.error: str | None = None  # an ELF member that cannot be read, and why
        self.nested = nested  # an archive inside the archive, read as its own unit
        self.exports: frozenset[str] | None = None  # a shared library's defined dynamic symbols, when asked for
        self.foreign: str | None = None  # native code of another format (Mach-O, PE): counted, not judged
        self.text: str | None = None  # a kept member's text; a kept ELF member: the C library release it names

    def __reduce__(self) -> tuple[type[Node], tuple[Entry, str, Unit | None], _NodeState]:
        # A jar's unit comes back from the helper process as thousands of nodes: fields by
        # position, not the name -> value dict pickle would make of the slots of each one.
        state = (self.facts, self.error, self.exports, self.foreign, self.text)
        return (Node, (self.kind, self.link, self.nested), state)

    def __setstate__(self, state: _NodeState) -> None:
        self.facts, self.error, self.exports, self.foreign, self.text = state

    def copy(self) -> Node:
        """Another name for the same member (a hard link): what was read about it, shared."""
        twin = Node(self.kind, self.link, self.nested)
        twin.facts, twin.error, twin.exports = self.facts, self.error, self.exports
        twin.foreign, twin.text = self.foreign, self.text
        return twin


class Unit:
    """Members of one archive (or one container image's final filesystem), filled in while reading.

    `installed` units (.deb, .rpm, .apk, images) unpack at /, so absolute RPATHs
    and symlinks point into them; others (zip, tar) unpack anywhere, and an
    absolute path leaves them.
    """

    def __init__(self, format: str, installed: bool = False, absolute_names: bool = False) -> None:
        self.format = format
        self.installed = installed
        self.absolute_names = absolute_names  # images: members are shown as /usr/bin/app
        self.nodes: dict[str, Node] = {}
        self.problems: list[tuple[str, str]] = []  # (member name or "", reason)
        self.texts: dict[str, str] = {}  # small metadata members (a wheel's WHEEL file)
        self.placements: dict[str, Placement] = {}  # how a zip stores its Android native libraries
        # An Android package's manifest: its minSdk, or why it cannot be read (None: the zip has none).
        self.min_sdk: MinSdk | str | None = None
        # A container layer's `.wh.NAME` entries (NAME is deleted from the layers below) and
        # `.wh..wh..opq` directories (their contents in the layers below are deleted).
        self.whiteouts: list[str] = []
        self.opaque: list[str] = []
        # A container layer: the filesystem of the layers below it, where a hard link may point.
        self.below: Unit | None = None

    def shown(self, name: str) -> str:
        return "/" + name if self.absolute_names else name

    def elf_members(self) -> Iterator[tuple[str, Node]]:
        return ((name, node) for name, node in sorted(self.nodes.items()) if node.facts or node.error)


# The root the unit's members sit under. A NUL cannot occur in a real RPATH or
# symlink, so a unit that unpacks anywhere never matches an absolute path.
_INSTALLED_ROOT, _ANYWHERE_ROOT = "/", "/\x00"


def virtual_path(unit: Unit, name: str) -> str:
    return posixpath.join(_INSTALLED_ROOT if unit.installed else _ANYWHERE_ROOT, name)


def clean_name(raw: str, limit: int) -> tuple[str | None, str | None]:
    """(clean member name, None), (None, None) for the archive's root entry, or (None, why it is refused)."""
    if len(raw.encode("utf-8", "surrogateescape")) > limit:
        return None, f"member name longer than {limit} bytes"
    if "\x00" in raw:
        return None, "member name contains a NUL byte"
    if raw.startswith("/"):
        return None, "absolute member name: it would be unpacked outside the target directory"
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None, "member name contains '..': it would be unpacked outside the target directory"
    return ("/".join(parts) or None), None


class LinkLoopError(Exception):
    """Resolving a path followed more symlinks than the kernel would (a loop)."""


def resolve(unit: Unit, name: str, hops: int) -> str | None:
    """The member `name` names once every symlink on the way is followed ("" is the root).

    None when the path leaves the unit: an absolute target, or `..` above the top,
    of an archive that unpacks anywhere. LinkLoopError after `hops` links.
    """
    done: list[str] = []
    pending = name.split("/")
    followed = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not done and not unit.installed:
                return None
            done = done[:-1]
            continue
        node = unit.nodes.get("/".join([*done, part]))
        if node is None or node.kind is not Entry.SYMLINK:
            done.append(part)
            continue
        followed += 1
        if followed > hops:
            raise LinkLoopError(f"more than {hops} symlinks followed resolving {name} (a symlink loop)")
        if node.link.startswith("/"):
            if not unit.installed:
                return None
            done = []
        pending = node.link.split("/") + pending
    return "/".join(done)


def printable_name(name: str) -> str:
    """A member name as reported: printable and short, since it may be hostile."""
    printable = name.encode("unicode_escape").decode("ascii")
    return printable if len(printable) <= 200 else printable[:197] + "..."
