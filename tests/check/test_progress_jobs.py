"""--jobs N gives the same report as --jobs 1; a progress line only for a person at a terminal."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

from tests.conftest import run_linkgate
from tests.helpers import REPO

# /usr/bin holds a few hundred ELF files on any Debian system: enough for the worker pool.
TREE = "/usr/bin"


def test_jobs_do_not_change_the_report() -> None:
    serial = run_linkgate("check", "--policy", "default", "--format", "json", "--jobs", "1", TREE)
    parallel = run_linkgate("check", "--policy", "default", "--format", "json", "--jobs", "2", TREE)
    assert serial.returncode == parallel.returncode == 1, serial.stderr
    assert serial.stdout == parallel.stdout
    assert '"artifacts": ' in serial.stdout and '"artifacts": 0' not in serial.stdout


def test_jobs_must_be_a_positive_number() -> None:
    for bad in ("0", "-1", "many"):
        result = run_linkgate("check", "--jobs", bad, TREE)
        assert result.returncode == 2
        assert "--jobs takes a whole number of 1 or more" in result.stderr


def _stderr_in_a_terminal(env: dict[str, str]) -> str:
    """Run check with stderr on a pseudo-terminal; what the terminal showed."""
    leader, follower = pty.openpty()
    command = [sys.executable, "-m", "linkgate", "check", "--policy", "default", "--jobs", "1", TREE]
    full = {**{k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_ACTIONS", "GITLAB_CI")}, **env}
    full["PYTHONPATH"] = str(REPO)
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=follower, env=full) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the follower side closed: the process is done
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_terminal_gets_a_progress_line_erased_before_the_summary() -> None:
    shown = _stderr_in_a_terminal({})
    assert "\rlinkgate: 1/" in shown and " files" in shown
    assert "\r\x1b[K" in shown
    # The terminal also gets the verdict coloured (--color auto); the line itself starts after the erase.
    summary = re.sub(r"\x1b\[[\d;]*m", "", shown.rstrip().splitlines()[-1].split("\x1b[K")[-1])
    assert summary.startswith("linkgate: failed:"), summary


def test_ci_and_pipes_get_no_progress() -> None:
    assert "\rlinkgate:" not in _stderr_in_a_terminal({"CI": "true"})
    piped = run_linkgate("check", "--policy", "default", TREE)
    assert "\rlinkgate:" not in piped.stderr
