"""Shared by several test modules (moved from test_diff.py)."""

from __future__ import annotations

import shutil
from pathlib import Path


def tree(root: Path, files: dict[str, Path]) -> Path:
    """A build directory: `files` maps a relative path to the binary copied there."""
    for relative, source in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return root
