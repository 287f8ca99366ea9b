"""A CI log reads top to bottom: findings, then the summary, then (in CI) nothing out of order.

Every CI log, `2>&1 | tee` and pre-commit join stdout and stderr into one pipe, where Python
block-buffers stdout. The summary goes to stderr, so unless stdout is flushed first the log
reads "failed: 1 of 1" above the findings it sums up. The environment of this suite (and of
many CI runners) sets PYTHONUNBUFFERED, which hides exactly this: the runs here unset it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.helpers import REPO, require_tool

Built = Callable[[str], Path]


def buffered_env() -> dict[str, str]:
    """The environment of a plain shell: no PYTHONUNBUFFERED, no CI variables, no policy cache."""
    hidden = ("PYTHONUNBUFFERED", "GITHUB_ACTIONS", "GITLAB_CI")
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    return {**env, "PYTHONPATH": str(REPO), "LINKGATE_NO_CACHE": "1"}


def failing_dist(built: Built, tmp_path: Path) -> Path:
    (tmp_path / "dist").mkdir()
    for name in ("a", "b", "c"):  # a few findings: more than one write's worth of stdout order
        shutil.copy2(built("zig-x86_64-glibc2.34"), tmp_path / "dist" / name)
    return tmp_path


def test_findings_come_before_the_summary_in_one_pipe(built: Built, tmp_path: Path) -> None:
    root = failing_dist(built, tmp_path)
    command = [sys.executable, "-m", "linkgate", "check", "--policy", "default", "dist"]
    # stdout and stderr share one real pipe, as in a CI job's log.
    result = subprocess.run(command, cwd=root, env=buffered_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, check=False)  # fmt: skip
    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    summary = next(i for i, line in enumerate(lines) if line.startswith("linkgate: failed: 3 of 3"))
    findings = [i for i, line in enumerate(lines) if ": error: [max-glibc]" in line]
    assert len(findings) >= 3 and max(findings) < summary, result.stdout
    assert summary == len(lines) - 1  # the summary is the log's last line


def test_findings_come_before_the_summary_through_tee(built: Built, tmp_path: Path) -> None:
    """The user's own words: `linkgate check dist 2>&1 | tee log`, in a shell."""
    root = failing_dist(built, tmp_path)
    bash = require_tool("bash")
    script = f'"{sys.executable}" -m linkgate check --policy default dist 2>&1 | tee log; exit "${{PIPESTATUS[0]}}"'
    result = subprocess.run([bash, "-c", script], cwd=root, env=buffered_env(), capture_output=True, text=True,
                            check=False)  # fmt: skip
    assert result.returncode == 1
    log = (root / "log").read_text().splitlines()
    assert log[-1].startswith("linkgate: failed: 3 of 3"), log
    assert all(": error: [max-glibc]" in line or line.startswith("    fix:") for line in log[:-1]), log
