"""A progress line on stderr for long runs: files done of total, redrawn in place.

Shown only to a person: stderr is a terminal and no CI variable is set. CI logs and
pipes get nothing, so reports and logs stay byte-for-byte the same with or without it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TextIO, TypeVar

T = TypeVar("T")

# Below this many files a run is over before a progress line would help.
MIN_FILES = 200
# Redraw at most this often (seconds): a terminal write per file would cost more than the file.
INTERVAL = 0.1


def wanted(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """A person watches: a terminal, and not a CI job (CI, GITHUB_ACTIONS, GITLAB_CI...)."""
    return stream.isatty() and not environ.get("CI")


def counted(items: Iterable[T], total: int, stream: TextIO, what: str = "files") -> Iterator[T]:
    """`items`, drawing `done/total what` on `stream` as they pass, erased at the end."""
    last = 0.0
    done = 0
    try:
        for item in items:
            done += 1
            now = time.monotonic()
            if now - last >= INTERVAL:
                stream.write(f"\rlinkgate: {done}/{total} {what}")
                stream.flush()
                last = now
            yield item
    finally:
        if last:
            stream.write("\r\x1b[K")  # erase the line: the summary that follows starts clean
            stream.flush()
