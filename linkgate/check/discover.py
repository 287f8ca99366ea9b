"""Command-line paths -> candidate files. Which of them are ELF is decided when read."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from operator import attrgetter

from linkgate.core.exitcodes import CannotEvaluateError
from linkgate.core.records import record
from linkgate.core.sourcefile import kind_name


class MissingPathError(CannotEvaluateError):
    """A path given on the command line does not exist: the gate cannot evaluate."""

    prefix = "no such file or directory: "


class SpecialPathError(CannotEvaluateError):
    """A path given on the command line is a FIFO, device or socket: reading it could block forever."""


@record
class Candidate:
    """A file to look at; `display` keeps the spelling the user gave.

    Discovery marks the entries it must not or could not open: the scan turns
    them into a skip (special) or an error finding (unreadable), in tree order.
    """

    display: str
    fs_path: str
    # A FIFO, device or socket found in a tree: never opened (opening may block
    # or have side effects), counted as skipped.
    special: str | None = None
    # Why discovery could not look at this entry (a directory that cannot be
    # listed): what it holds was not checked, so it must not pass.
    unreadable: str | None = None
    # A directory that is an OCI image layout: read as one container image, not walked.
    image_layout: bool = False
    # A member of the archive at fs_path (`usr/bin/app`): only `diff` makes such candidates, to pair members.
    member: str | None = None


def discover(paths: list[str]) -> list[Candidate]:
    """Files named directly, and every entry below named directories (sorted, no symlink loops)."""
    missing = [p for p in paths if not os.path.lexists(p)]
    if missing:
        raise MissingPathError(", ".join(missing))
    special = [f"{p} ({kind})" for p in paths if (kind := _named_special(p)) is not None]
    if special:
        raise SpecialPathError(f"not a regular file or directory, never read: {', '.join(special)}")
    candidates: list[Candidate] = []
    for path in paths:
        if os.path.isdir(path) and is_image_layout(path):
            candidates.append(Candidate(path, path, image_layout=True))
        elif os.path.isdir(path):
            candidates.extend(_walk(path))
        else:
            candidates.append(Candidate(path, path))
    # `dist dist/app` or `dist ./dist` names a file twice: judged twice, it would give the same
    # findings twice under one fingerprint. One path cannot repeat itself: skip the work then.
    return _first_of_each_file(candidates) if _overlapping(paths) else candidates


def _overlapping(paths: list[str]) -> bool:
    """Whether one named path is another or lies below it (compared normalised, links not followed).

    Only then can a file be found twice: a walk joins names below its root and never follows a
    link, so roots apart from each other give paths apart from each other. Two trees named side
    by side (`/usr/lib /usr/bin`) then cost no per-file comparison before the first file is read.
    """
    roots = [os.path.abspath(p) for p in paths]  # a handful: every pair is compared
    return any(
        inner == outer or inner.startswith(outer.rstrip(os.sep) + os.sep)
        for at, outer in enumerate(roots)
        for inner in roots[:at] + roots[at + 1 :]
    )


def _first_of_each_file(candidates: list[Candidate]) -> list[Candidate]:
    """Each file once, under the first spelling given (paths compared normalised, links not followed)."""
    seen: set[str] = set()
    unique = []
    for candidate in candidates:
        key = os.path.abspath(candidate.fs_path)  # normalised too (abspath normalises)
        if key not in seen:
            seen.add(key)
            unique.append(candidate)
    return unique


def is_image_layout(directory: str) -> bool:
    """An OCI image layout: its blobs are layers of one image, so it is read as a whole."""
    marker = os.path.join(directory, "oci-layout")
    return os.path.isfile(marker) and not os.path.islink(marker)


def _named_special(path: str) -> str | None:
    """The kind of a named path that is neither a regular file nor a directory (symlinks followed)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None  # a dangling link: reading it reports why
    return None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else kind_name(mode)


_NAME = attrgetter("name")


def _walk(root: str) -> Iterator[Candidate]:
    """Depth first, files before subdirectories, each in name order (as os.walk top-down, sorted).

    Not os.walk: it drops directories it cannot list, and those must fail the
    run. Symlinks inside a tree are skipped: their targets are checked where
    they live (or not shipped).
    """
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=_NAME)
        except OSError as error:
            reason = f"directory cannot be listed, its files were not checked: {error.strerror}"
            yield Candidate(directory, directory, unreadable=reason)
            continue
        subdirectories: list[str] = []
        for entry in entries:
            candidate = _entry_candidate(entry, subdirectories)
            if candidate is not None:
                yield candidate
        layouts = [d for d in subdirectories if is_image_layout(d)]
        yield from (Candidate(d, d, image_layout=True) for d in layouts)
        pending.extend(reversed([d for d in subdirectories if d not in layouts]))


def _entry_candidate(entry: os.DirEntry[str], subdirectories: list[str]) -> Candidate | None:
    """None for directories (added to `subdirectories`) and symlinks. The type comes from the
    listing, a stat only where it lacks it; regular files, nearly every entry, are asked first."""
    path = entry.path  # joined anew on each access
    try:
        if entry.is_file(follow_symlinks=False):
            return Candidate(path, path)
        if entry.is_dir(follow_symlinks=False):
            subdirectories.append(path)
            return None
        if entry.is_symlink():
            return None
        kind = kind_name(entry.stat(follow_symlinks=False).st_mode)
    except OSError as error:
        return Candidate(path, path, unreadable=f"cannot stat: {error.strerror}")
    return Candidate(path, path, special=kind)


def workspace_roots(base: str) -> tuple[str, ...]:
    """The workspace as given and resolved: CI workspaces are often reached through a symlink."""
    return tuple(dict.fromkeys((os.path.abspath(base), os.path.realpath(base))))


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
