"""Repositories the CI-integration tests build: a copy of this checkout as its consumers get it
(the action, the component's install source, the pre-commit hook repository), and fixture projects."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.helpers import REPO

# Local state that a clone of the repository would not have, and the test suite it does not need.
_NOT_SHIPPED = shutil.ignore_patterns(
    ".git", ".venv", "tests", "benchmarks", "build", "*.egg-info", "__pycache__", ".*_cache", ".gitlab-ci-local"
)
_GIT = ("git", "-c", "user.name=linkgate tests", "-c", "user.email=tests@linkgate.invalid")


def copy_checkout(destination: Path) -> Path:
    shutil.copytree(REPO, destination, ignore=_NOT_SHIPPED)
    return destination


def git_commit(root: Path, origin: str | None = None) -> None:
    """`git init` + one commit of everything in `root` (branch main), with an origin remote if given."""
    commands = [["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "fixture"]]
    if origin is not None:
        commands.insert(1, ["remote", "add", "origin", origin])
    for command in commands:
        subprocess.run([*_GIT, *command], cwd=root, check=True, capture_output=True)
