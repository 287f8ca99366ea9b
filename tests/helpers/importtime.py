"""Shared by several test modules (moved from test_policy_cache.py)."""

from __future__ import annotations

import subprocess


def imported(result: subprocess.CompletedProcess[str]) -> set[str]:
    """Module names from -X importtime lines on stderr."""
    return {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
