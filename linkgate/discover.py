"""Command-line paths -> candidate files. Which of them are ELF is decided when read."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class MissingPathError(Exception):
    """A path given on the command line does not exist: the gate cannot evaluate."""


@dataclass(frozen=True)
class Candidate:
    """A regular file to look at; `display` keeps the spelling the user gave."""

    display: str
    fs_path: str


def discover(paths: list[str]) -> list[Candidate]:
    """Files named directly, and every regular file below named directories (sorted, no symlink loops)."""
    missing = [p for p in paths if not os.path.lexists(p)]
    if missing:
        raise MissingPathError(", ".join(missing))
    candidates: list[Candidate] = []
    for path in paths:
        if os.path.isdir(path):
            candidates.extend(_walk(path))
        else:
            candidates.append(Candidate(path, path))
    return candidates


def _walk(root: str) -> Iterator[Candidate]:
    """Symlinks inside a tree are skipped: their targets are checked where they live (or not shipped)."""
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        for name in sorted(files):
            full = os.path.join(directory, name)
            if not os.path.islink(full) and os.path.isfile(full):
                yield Candidate(full, full)


def relative_display(path: str, base: Path) -> str:
    """`path` relative to `base` when inside it (CI workspaces), else unchanged.

    The file's own symlinks are kept (`dist/app` must not turn into its link target); the base is
    tried as given and resolved because CI workspaces are often reached through a symlink.
    """
    absolute = Path(os.path.abspath(path))
    for root in (Path(os.path.abspath(base)), base.resolve()):
        if absolute.is_relative_to(root):
            return str(absolute.relative_to(root))
    return path
