"""Where an artifact sits among the artifacts checked with it.

The loader expands `$ORIGIN` in RPATH/RUNPATH to the directory of the object
that names it, and finds libraries shipped beside a program by path. So judging
whether one artifact runs on a target needs facts about the others: their
paths and what they define. The scan edge gathers them in one pre-pass
(linkgate.shipping); rules get them as plain data.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ShippedLibrary:
    """A shared library among the checked artifacts."""

    path: str
    machine: str
    versions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Site:
    """An artifact's directory ($ORIGIN) and the shipped libraries by every path they can be opened at.

    Paths are absolute and normalised; a symlink beside a library (libfoo.so.1 ->
    libfoo.so.1.2.3) is one more path to the same library.
    """

    origin: str | None = None
    shipped: Mapping[str, ShippedLibrary] = field(default_factory=dict)

    def library_at(self, path: str) -> ShippedLibrary | None:
        return self.shipped.get(posixpath.normpath(path))

    def expand(self, entry: str) -> str | None:
        """An RPATH/RUNPATH entry as a directory; None when it cannot be known before run time.

        `$ORIGIN` is this artifact's directory. `$LIB` and `$PLATFORM` depend on
        the target's loader, and relative entries on the working directory.
        """
        if self.origin is not None:
            entry = entry.replace("${ORIGIN}", self.origin).replace("$ORIGIN", self.origin)
        if "$" in entry or not entry.startswith("/"):
            return None
        return posixpath.normpath(entry)


NOWHERE = Site()
