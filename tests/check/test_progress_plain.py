"""CI logs and pipes: a plain progress line about every PLAIN_INTERVAL seconds, nothing redrawn.

`/usr` (140k files) printed nothing for 80 s in a CI log. The redrawn terminal line cannot go
there (a log keeps every `\\r`), so the log gets a line of its own now and then instead.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator

from linkgate.check import progress
from tests.conftest import run_linkgate


def slow(count: int, pause: float) -> Iterator[int]:
    for item in range(count):
        time.sleep(pause)
        yield item


def test_a_plain_line_about_every_interval() -> None:
    stream = io.StringIO()
    started = time.monotonic()
    items = list(progress.ticked(slow(40, 0.01), 40, stream, interval=0.1))
    elapsed = time.monotonic() - started
    assert items == list(range(40))  # every item passes, in order
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()
    assert all(re.fullmatch(r"linkgate: \d+/40 files checked, \d+ s", line) for line in lines), lines
    # About one line per interval: not one per file, not none.
    assert 1 <= len(lines) <= elapsed / 0.1 + 1, (lines, elapsed)
    done = [int(line.split()[1].split("/")[0]) for line in lines]
    assert done == sorted(done) and done[-1] <= 40


def test_a_short_run_prints_no_progress_line() -> None:
    stream = io.StringIO()
    assert list(progress.ticked(range(1000), 1000, stream)) == list(range(1000))
    assert stream.getvalue() == ""


def test_a_ci_run_stderr_is_unchanged_when_short() -> None:
    """Under CI a run shorter than the interval prints the summary alone (logs stay as they were)."""
    result = run_linkgate("check", "--policy", "default", "/usr/bin/ls", env={"CI": "true"})
    assert result.stderr.startswith("linkgate: failed: 1 of 1"), result.stderr
    assert result.stderr.count("\n") == 1
