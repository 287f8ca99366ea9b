"""A plain, non-editable `pip install .` ships the presets and the console script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps",
         "--target", str(target), str(REPO)],
        check=True,
    )  # fmt: skip
    return target


def run_installed(installed: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Run from a directory outside the checkout so only the installed copy is importable.
    env = {**os.environ, "PYTHONPATH": str(installed)}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=installed.parent, env=env, check=False
    )


def test_presets_are_found_after_non_editable_install(installed: Path) -> None:
    code = (
        "import linkgate, linkgate.policy.locate as l;"
        "print(linkgate.__file__); print(l.presets_dir()); print(' '.join(l.preset_names()))"
    )
    result = run_installed(installed, "-c", code)
    assert result.returncode == 0, result.stderr
    module_file, presets, names = result.stdout.splitlines()
    assert module_file.startswith(str(installed))
    assert presets.startswith(str(installed))
    assert {"default", "manylinux2014", "manylinux_2_28", "static"} <= set(names.split())


def test_installed_check_runs_on_default_policy(installed: Path) -> None:
    result = run_installed(installed, "-m", "linkgate", "check", "--policy", "default", sys.executable)
    assert result.returncode in (0, 1), result.stderr
    assert "policy default;" in result.stderr


def test_console_script_is_declared(installed: Path) -> None:
    entry_points = next(installed.glob("linkgate-*.dist-info")) / "entry_points.txt"
    assert "linkgate = linkgate.cli:main" in entry_points.read_text()


def test_target_profiles_ship_and_work_as_presets(installed: Path) -> None:
    """policies/profiles/ is package data too: `--policy debian-11` works from the installed copy."""
    profiles = installed / "linkgate" / "policies" / "profiles"
    assert (profiles / "debian-11.yml").is_file()
    assert (profiles / "aliases.yml").is_file()
    result = run_installed(installed, "-m", "linkgate", "check", "--policy", "debian-11", sys.executable)
    assert result.returncode in (0, 1), result.stderr
    assert "policy debian-11;" in result.stderr
    listed = run_installed(installed, "-m", "linkgate", "profile", "list")
    assert listed.returncode == 0, listed.stderr
    assert "rhel-8" in listed.stdout
