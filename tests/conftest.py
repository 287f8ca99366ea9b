"""Shared test plumbing: tools that must exist, and a cache for binaries built at test time."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Binaries built during the run are cached here (gitignored) so reruns are fast.
BUILD_DIR = REPO / "tests" / ".build"


def in_ci() -> bool:
    """CI must fail rather than skip when a tool a test needs is missing."""
    return os.environ.get("CI", "").lower() == "true"


def require_tool(name: str) -> str:
    """Path of `name` on PATH; skip locally, fail under CI=true, when it is missing."""
    path = shutil.which(name)
    if path is None:
        message = f"required tool {name!r} is not installed (see .ci/run)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def build_dir() -> Path:
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    return BUILD_DIR
