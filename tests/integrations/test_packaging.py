"""A plain, non-editable `pip install .` ships the presets and the console script."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import REPO


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
    assert "linkgate = linkgate.cli:run" in entry_points.read_text()


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


def test_the_android_table_ships_and_the_android_presets_work(installed: Path) -> None:
    """policies/android/ is package data: the android-NN presets compile their table from the installed copy."""
    assert (installed / "linkgate" / "policies" / "android" / "ndk-api.yml").is_file()
    result = run_installed(installed, "-m", "linkgate", "check", "--policy", "android-24", sys.executable)
    assert result.returncode in (0, 1), result.stderr
    assert "policy android-24;" in result.stderr


# --- the build itself -------------------------------------------------------------------------------

# pip's own complaint about this machine's pip configuration (an extra index directory that is not
# there), printed before any build: not the project's build.
_PIP_CONFIG_NOISE = re.compile(r"WARNING: Location '[^']*' is ignored: it is neither a file nor a directory")
_WARNING = re.compile(r"warning|deprecat|is absent from|will be removed|by \d{4}-\w{3}-\d{2}", re.IGNORECASE)


def _backend_bounds() -> tuple[str, str]:
    """The lowest setuptools `[build-system] requires` allows, and its cap: `setuptools>=77,<85`."""
    text = (REPO / "pyproject.toml").read_text()
    match = re.search(r'^requires = \["setuptools>=([\d.]+),<([\d.]+)"', text, re.MULTILINE)
    assert match is not None, "the build backend must be bounded on both sides"
    return match.group(1), match.group(2)


def _source_copy(destination: Path) -> Path:
    """The files a fresh clone would have (tracked or new, not ignored): no stale build/ or egg-info."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file() and not source.is_symlink():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


@pytest.mark.parametrize("backend", ["newest", "lowest"])
def test_wheel_builds_without_a_warning(tmp_path: Path, backend: str) -> None:
    """The wheel builds with setuptools' output shown (-v) and not one warning or deprecation line,
    both with the newest setuptools the bounds allow and with the lowest."""
    lowest, _cap = _backend_bounds()
    source = _source_copy(tmp_path / "src")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # else "byte-compiling is disabled"
    if backend == "lowest":
        # A release of the lowest major allowed (77.0.0 itself is not on the index).
        (tmp_path / "constraints.txt").write_text(f"setuptools=={lowest}.*\n")
        # pip < 26.2 applies PIP_CONSTRAINT to the isolated build environment, newer pip only
        # PIP_BUILD_CONSTRAINT: set both, whichever pip the venv has.
        env["PIP_CONSTRAINT"] = env["PIP_BUILD_CONSTRAINT"] = str(tmp_path / "constraints.txt")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(tmp_path / "dist"), str(source)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    used = re.search(r"Successfully installed .*?setuptools-([\d.]+)", output)
    assert used is not None, output
    if backend == "lowest":
        assert used.group(1).split(".")[0] == lowest
    warnings = [line for line in output.splitlines() if _WARNING.search(line) and not _PIP_CONFIG_NOISE.search(line)]
    assert warnings == [], "\n".join(warnings)
    wheel = next((tmp_path / "dist").glob("linkgate-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "linkgate/policies/profiles/debian-11.yml" in names
    assert "linkgate/policies/profiles/aliases.yml" in names
    assert "linkgate/policies/android/ndk-api.yml" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: MIT" in metadata.splitlines()
