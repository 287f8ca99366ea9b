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


def workspace_roots(base: Path) -> tuple[str, ...]:
    """The workspace as given and resolved: CI workspaces are often reached through a symlink."""
    return tuple(dict.fromkeys((os.path.abspath(base), str(base.resolve()))))


def relative_display(path: str, roots: tuple[str, ...]) -> str:
    """`path` relative to the first workspace root it lies in, else unchanged.

    Pure string work on purpose (no resolve() per file): the file's own symlinks
    are kept, so `dist/app` never turns into its link target.
    """
    absolute = os.path.abspath(path)
    for root in roots:
        if absolute == root:
            return "."
        prefix = root.rstrip(os.sep) + os.sep
        if absolute.startswith(prefix):
            return absolute[len(prefix) :]
    return path
