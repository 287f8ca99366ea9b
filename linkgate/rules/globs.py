"""Glob matching shared by the rules that take soname or path patterns."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase


def matches_any(value: str, patterns: Iterable[str]) -> bool:
    """Case-sensitive shell-style match (sonames and paths are case-sensitive)."""
    return any(fnmatchcase(value, pattern) for pattern in patterns)


def matches_path(path: str, patterns: Iterable[str]) -> bool:
    """A pattern without "/" matches the file name; with "/", the path or any trailing part of it.

    So `bin/legacy-*` matches `dist/bin/legacy-tool`, as users expect from
    .gitignore-style patterns, and `*.so` matches a library at any depth. A
    member of an archive (`dist/app.deb!usr/bin/app`) also matches by its path
    inside the archive (`usr/bin/*`), and `!` counts as a separator.
    """
    relative = _relative(path)
    splits = [relative.split("/"), *([relative.replace("!", "/").split("/")] if "!" in relative else [])]
    for pattern in map(_relative, patterns):
        if "/" not in pattern:
            if fnmatchcase(splits[-1][-1], pattern):
                return True
        elif any(fnmatchcase("/".join(parts[i:]), pattern) for parts in splits for i in range(len(parts))):
            return True
    return False


def _relative(path: str) -> str:
    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path
