"""Paths of a target system that may be mounted below another directory (`--root`).

Symlinks in a root are absolute *for the target*: Debian 11's
/lib64/ld-linux-x86-64.so.2 points at /lib/x86_64-linux-gnu/ld-2.31.so. Following
them with the host's resolver would read the host's files, so links are
resolved here, component by component, inside the root.
"""

from __future__ import annotations

import os
import posixpath
from collections import deque
from fnmatch import fnmatchcase

from linkgate.elf.banner import glibc_release
from linkgate.elf.facts import ElfFacts
from linkgate.elf.image import ElfFormatError
from linkgate.elf.reader import read_elf

_MAX_LINKS = 40  # the kernel's own limit (ELOOP)


class RootFs:
    """A target file system whose `/` is the host directory `root`."""

    def __init__(self, root: str = "/") -> None:
        self.root = os.path.abspath(root)

    def host_path(self, path: str) -> str | None:
        """Where the target's absolute `path` lives on the host, links resolved; None if it loops."""
        parts = deque(path.split("/"))
        resolved: list[str] = []
        links = 0
        while parts:
            part = parts.popleft()
            if part in ("", "."):
                continue
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            host = os.path.join(self.root, *resolved, part)
            if os.path.islink(host):
                links += 1
                if links > _MAX_LINKS:
                    return None
                target = os.readlink(host)
                if target.startswith("/"):
                    resolved = []
                parts.extendleft(reversed(target.split("/")))
                continue
            resolved.append(part)
        return os.path.join(self.root, *resolved)

    def is_file(self, path: str) -> bool:
        host = self.host_path(path)
        return host is not None and os.path.isfile(host)

    def is_dir(self, path: str) -> bool:
        host = self.host_path(path)
        return host is not None and os.path.isdir(host)

    def read_text(self, path: str) -> str | None:
        host = self.host_path(path)
        if host is None or not os.path.isfile(host):
            return None
        try:
            with open(host, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return None

    def read_bytes(self, path: str) -> bytes | None:
        host = self.host_path(path)
        if host is None or not os.path.isfile(host):
            return None
        try:
            with open(host, "rb") as handle:
                return handle.read()
        except OSError:
            return None

    def listdir(self, path: str) -> list[str]:
        """Sorted entry names of the target directory `path` (empty when it is not one)."""
        host = self.host_path(path)
        try:
            return sorted(os.listdir(host)) if host is not None else []
        except OSError:
            return []

    def glob(self, pattern: str) -> list[str]:
        """Target paths matching `pattern`; wildcards in the last component only (ld.so.conf style)."""
        directory, name = posixpath.split(pattern)
        if not any(c in name for c in "*?["):
            return [pattern] if self.is_file(pattern) else []
        return [posixpath.join(directory, n) for n in self.listdir(directory) if fnmatchcase(n, name)]

    def elf_facts(self, path: str) -> ElfFacts | None:
        host = self.host_path(path)
        if host is None or not self.is_file(path):
            return None
        try:
            with open(host, "rb") as handle:
                if handle.read(4) != b"\x7fELF":
                    return None  # linker scripts (libc.so) and other text
            return read_elf(host, want_symbols=frozenset())
        except (OSError, ElfFormatError):
            return None

    def glibc_release(self, path: str) -> str | None:
        host = self.host_path(path)
        return glibc_release(host) if host else None
