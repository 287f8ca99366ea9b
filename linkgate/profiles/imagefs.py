"""A container image's final filesystem, as read in place from its layers, seen as a target system.

The members were read once (linkgate.archives): ELF members hold their facts,
kept text members (ld.so.conf, os-release) their text, a kept libc its release.
Paths resolve through the image's own symlinks (absolute ones from its root, as
inside a container), with the kernel's bound on links followed.
"""

from __future__ import annotations

import posixpath
from fnmatch import fnmatchcase

from linkgate.archives.tree import Entry, LinkLoopError, Node, Unit, resolve
from linkgate.elf.facts import ElfFacts


class ImageFs:
    """The target system whose `/` is the image `unit` (an installed unit: names relative to /)."""

    def __init__(self, unit: Unit, hops: int) -> None:
        self._unit = unit
        self._hops = hops
        self._children: dict[str, set[str]] = {}
        for name in unit.nodes:
            parts = name.split("/")
            for depth in range(len(parts)):  # parents need no entry of their own in a layer
                self._children.setdefault("/".join(parts[:depth]), set()).add(parts[depth])

    def _resolved(self, path: str) -> str | None:
        try:
            return resolve(self._unit, path.lstrip("/"), self._hops)
        except LinkLoopError:
            return None

    def _node(self, path: str) -> Node | None:
        name = self._resolved(path)
        return self._unit.nodes.get(name) if name else None

    def is_file(self, path: str) -> bool:
        node = self._node(path)
        return node is not None and node.kind is Entry.FILE

    def is_dir(self, path: str) -> bool:
        name = self._resolved(path)
        return name is not None and name in self._children

    def read_text(self, path: str) -> str | None:
        node = self._node(path)
        return node.text if node is not None and node.facts is None else None

    def read_bytes(self, path: str) -> bytes | None:
        text = self.read_text(path)  # kept losslessly: undecodable bytes as surrogates
        return text.encode("utf-8", "surrogateescape") if text is not None else None

    def listdir(self, path: str) -> list[str]:
        name = self._resolved(path)
        return sorted(self._children.get(name, ())) if name is not None else []

    def glob(self, pattern: str) -> list[str]:
        directory, name = posixpath.split(pattern)
        if not any(c in name for c in "*?["):
            return [pattern] if self.is_file(pattern) else []
        return [posixpath.join(directory, n) for n in self.listdir(directory) if fnmatchcase(n, name)]

    def elf_facts(self, path: str) -> ElfFacts | None:
        node = self._node(path)
        return node.facts if node is not None else None

    def glibc_release(self, path: str) -> str | None:
        node = self._node(path)
        return node.text if node is not None and node.facts is not None else None

    def exports(self, path: str) -> frozenset[str] | None:
        node = self._node(path)
        return node.exports if node is not None else None
