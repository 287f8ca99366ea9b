"""Helpers every test module shares: where the repository is, and tools that must exist.

Under CI (CI=true) a missing tool fails the test instead of skipping it, so a CI run
that lacks an install step cannot pass by testing less.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parents[2]
# Binaries built during the run are cached here (gitignored) so reruns are fast.
BUILD_DIR = REPO / "tests" / ".build"


def in_ci() -> bool:
    """CI must fail rather than skip when a tool a test needs is missing."""
    return os.environ.get("CI", "").lower() == "true"


def unavailable(message: str) -> NoReturn:
    """What a test does when something it needs cannot be had: fail under CI, skip locally."""
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def require_tool(name: str) -> str:
    """Path of `name` on PATH; skip locally, fail under CI=true, when it is missing."""
    path = shutil.which(name)
    if path is None:
        message = f"required tool {name!r} is not installed (see .ci/run)"
        unavailable(message)
    return path


def require_module(name: str) -> None:
    """Like require_tool, for a Python package run as `python -m name` (ziglang)."""
    if importlib.util.find_spec(name) is None:
        message = f"required Python package {name!r} is not installed (pip install -e '.[test]')"
        unavailable(message)


def require(tool: str) -> None:
    """A build tool of tests/helpers/binaries.py recipes: ziglang is a Python package, the rest are commands."""
    if tool == "ziglang":
        require_module(tool)
    else:
        require_tool(tool)
