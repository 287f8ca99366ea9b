"""Shared test plumbing: tools that must exist, and a cache for binaries built at test time."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers import BUILD_DIR, REPO, binaries, in_ci, require, require_module, require_tool
from tests.helpers.archive_builds import run

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
    """built(name) -> path of the binary `name` from tests/helpers/binaries.py (its group is built once)."""

    def get(name: str) -> Path:
        group: dict[str, Path] = request.getfixturevalue(f"{binaries.group_of(name)}_binaries")
        return group[name]

    return get


def run_linkgate(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, process: bool = False
) -> subprocess.CompletedProcess[str]:
    """`linkgate ARGS` as users see it: exit code, stdout and stderr, outside any CI environment
    unless `env` says otherwise.

    It runs in this process (cli.main with the streams, environment and working directory swapped
    for the call), which tests the same code without an interpreter start per call. `process=True`
    runs `python -m linkgate` in a real process: for what only a process shows (start-up imports,
    signals, the exit that skips teardown, buffering of real pipes).
    """
    base = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITLAB_CI")}
    if process:
        full = {**base, "PYTHONPATH": str(REPO), **(env or {})}
        command = [sys.executable, "-m", "linkgate", *args]
        return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=full, check=False)
    return _in_process(list(args), cwd, {**base, **(env or {})})


def _in_process(args: list[str], cwd: Path | None, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    from linkgate.cli import main  # noqa: PLC0415 - conftest loads before the tests choose what to import

    saved_environ, saved_cwd = dict(os.environ), os.getcwd()
    saved_streams = sys.stdout, sys.stderr
    out, err = _captured(), _captured()
    os.environ.clear()
    os.environ.update(environ)
    try:
        if cwd is not None:
            os.chdir(cwd)
        sys.stdout, sys.stderr = out, err
        code = int(main(args))
    finally:
        sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
    return subprocess.CompletedProcess(["linkgate", *args], code, _text(out), _text(err))


def _captured() -> io.TextIOWrapper:
    """A stream like a pipe's: UTF-8 text over bytes (so `.buffer` exists), not a terminal."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")


def _text(stream: io.TextIOWrapper) -> str:
    """What `subprocess.run(text=True)` would have read: decoded, with universal newlines."""
    stream.flush()
    raw = stream.buffer
    assert isinstance(raw, io.BytesIO)
    data = raw.getvalue().decode("utf-8")
    return data.replace("\r\n", "\n").replace("\r", "\n")


@pytest.fixture(scope="session")
def go119(build_dir: Path) -> dict[str, Path]:
    """The Go 1.19 builds of tests/helpers/go_builds.py (cgo with a Kafka-like module, musl static, pure, net cgo)."""
    from tests.helpers import go_builds  # noqa: PLC0415 - only the Go tests pay for importing the Go recipes

    for tool in ("go", "gcc", "musl-gcc"):
        require_tool(tool)
    return go_builds.build_all(build_dir / "go", None)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", help="also run the tests marked slow (CI=true always runs them)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked slow (host-wide agreement runs, many builds) run in CI, with --slow, or when
    `-m` names them; a local run leaves them out and says how many it left."""
    if in_ci() or config.getoption("--slow") or "slow" in (config.option.markexpr or ""):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
        config.hook.pytest_deselected(items=slow)


@pytest.fixture(scope="session")
def clean_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    musl = require_tool("musl-gcc")
    work = tmp_path_factory.mktemp("clean")
    (work / "hello.c").write_text('#include <stdio.h>\nint main(void){puts("hi");return 0;}\n')
    run(musl, "-static", "-O2", "-o", work / "hello", work / "hello.c")
    return work / "hello"
