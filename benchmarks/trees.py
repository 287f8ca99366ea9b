"""The files a benchmark walks: regular files below the roots, symlinks skipped (as linkgate does)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator


def regular_files(roots: list[str]) -> Iterator[str]:
    for root in roots:
        if os.path.isfile(root):
            yield root
        for directory, _subdirs, names in os.walk(root):
            for name in names:
                path = os.path.join(directory, name)
                if not os.path.islink(path) and os.path.isfile(path):
                    yield path


def elf_paths(roots: list[str]) -> list[str]:
    """Regular files that start with the ELF magic."""
    found = []
    for path in regular_files(roots):
        with open(path, "rb") as handle:
            if handle.read(4) == b"\x7fELF":
                found.append(path)
    return found


if __name__ == "__main__":
    print(len(elf_paths(sys.argv[1:])))
