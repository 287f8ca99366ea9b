"""Progress on stderr for long runs: files done of total.

A person at a terminal (stderr a terminal, no CI variable) gets a line redrawn in place and
erased before the summary. CI logs and pipes cannot redraw: they get a plain line about every
PLAIN_INTERVAL seconds instead, so a long run is not silent, and a run shorter than that prints
exactly what it printed before.
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
# A plain line in a log this often (seconds): often enough to show life, rare enough to read.
PLAIN_INTERVAL = 10.0


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


def ticked(items: Iterable[T], total: int, stream: TextIO, interval: float = PLAIN_INTERVAL) -> Iterator[T]:
    """`items`, writing `done/total files, N s` on its own line about every `interval` seconds."""
    start = time.monotonic()
    due = start + interval
    for done, item in enumerate(items, 1):
        now = time.monotonic()
        if now >= due:
            stream.write(f"linkgate: {done}/{total} files checked, {now - start:.0f} s\n")
            stream.flush()
            due = now + interval
        yield item
