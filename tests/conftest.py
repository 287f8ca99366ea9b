"""Shared test plumbing: tools that must exist, and a cache for binaries built at test time."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests import binaries
from tests.support import BUILD_DIR, REPO, in_ci, require, require_module, require_tool

__all__ = ["in_ci", "require_module", "require_tool", "run_linkgate"]


@pytest.fixture(scope="session")
def build_dir() -> Path:
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    return BUILD_DIR


def _build_group(group: str, build_dir: Path, workers: int = 1) -> dict[str, Path]:
    build_dir = build_dir / "reader"
    for tool in binaries.GROUP_TOOLS[group]:
        require(tool)
    if workers == 1:
        return binaries.build_group(group, build_dir)
    recipes = binaries.RECIPES[group]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        paths = pool.map(lambda recipe: binaries.build(recipe, build_dir), recipes.values())
        return dict(zip(recipes, paths, strict=True))


@pytest.fixture(scope="session")
def gcc_binaries(build_dir: Path) -> dict[str, Path]:
    return _build_group("gcc", build_dir)


@pytest.fixture(scope="session")
def musl_binaries(build_dir: Path) -> dict[str, Path]:
    return _build_group("musl", build_dir)


@pytest.fixture(scope="session")
def zig_binaries(build_dir: Path) -> dict[str, Path]:
    # The whole cross matrix at once: the first build per target compiles zig's libc
    # stubs (~25 s each, cached in zig's global cache afterwards), two at a time.
    return _build_group("zig", build_dir, workers=2)


@pytest.fixture(scope="session")
def go_binaries(build_dir: Path) -> dict[str, Path]:
    return _build_group("go", build_dir)


@pytest.fixture
def built(request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """built(name) -> path of the binary `name` from tests/binaries.py (its group is built once)."""

    def get(name: str) -> Path:
        group: dict[str, Path] = request.getfixturevalue(f"{binaries.group_of(name)}_binaries")
        return group[name]

    return get


def run_linkgate(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m linkgate ARGS` in a real process (exit codes and streams as users see them),
    outside any CI environment unless `env` says otherwise."""
    base = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITLAB_CI")}
    full = {**base, "PYTHONPATH": str(REPO), **(env or {})}
    command = [sys.executable, "-m", "linkgate", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=full, check=False)


@pytest.fixture(scope="session")
def go119(build_dir: Path) -> dict[str, Path]:
    """The Go 1.19 builds of tests/go_builds.py (cgo with a Kafka-like module, musl static, pure, net cgo)."""
    from tests import go_builds  # noqa: PLC0415 - only the Go tests pay for importing the Go recipes

    for tool in ("go", "gcc", "musl-gcc"):
        require_tool(tool)
    return go_builds.build_all(build_dir / "go", None)
