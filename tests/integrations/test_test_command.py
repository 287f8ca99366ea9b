"""The test command itself: scripts/test.sh repairs a half-made virtualenv, .ci/install-ci-tools.sh
installs system-wide only as root (like test.sh), .ci/run passes its arguments on, and the UPX host
test fails rather than skips under CI=true."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import REPO, in_ci

TEST_SH = REPO / "scripts" / "test.sh"
INSTALL_CI_TOOLS = REPO / ".ci" / "install-ci-tools.sh"
NOBODY = 65534


def sourced(function_call: str) -> subprocess.CompletedProcess[str]:
    """Run one of test.sh's functions (sourcing the file runs nothing else). `;`, not `&&`: bash
    ignores `set -e` inside an && list, and the script's own `set -euo pipefail` must hold."""
    command = ["bash", "-c", f'source "{TEST_SH}"; {function_call}']
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)


def has_pip(venv: Path) -> bool:
    python = venv / "bin" / "python"
    if not python.exists():
        return False
    return subprocess.run([python, "-m", "pip", "--version"], capture_output=True, check=False).returncode == 0


def test_sourcing_test_sh_runs_nothing() -> None:
    result = sourced("type ensure_venv >/dev/null && echo defined")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "defined\n"


def test_half_made_venv_is_recreated_and_a_good_one_kept(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    assert not has_pip(venv)  # what an interrupted or ensurepip-less `python3 -m venv` leaves
    result = sourced(f'ensure_venv "{venv}"')
    assert result.returncode == 0, result.stderr
    assert "half-made virtualenv" in result.stderr
    assert has_pip(venv)
    (venv / "keep").write_text("a usable venv is not touched")
    again = sourced(f'ensure_venv "{venv}"')
    assert again.returncode == 0 and again.stderr == ""
    assert (venv / "keep").exists()


def test_venv_whose_python_is_gone_is_recreated(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    for python in (venv / "bin").glob("python*"):
        python.unlink()
    result = sourced(f'ensure_venv "{venv}"')
    assert result.returncode == 0, result.stderr
    assert has_pip(venv)


def test_a_directory_that_is_not_a_venv_is_never_emptied(tmp_path: Path) -> None:
    precious = tmp_path / "work"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    result = sourced(f'ensure_venv "{precious}"')
    assert result.returncode == 2
    assert "is not a virtualenv" in result.stderr
    assert (precious / "notes.txt").read_text() == "mine"


# --- .ci/install-ci-tools.sh -----------------------------------------------------------------------


@pytest.fixture
def stub_tree() -> Iterator[Path]:
    """A world-readable directory (the unprivileged run must read it) with a copy of the script and
    stand-ins for the package managers that record being called instead of installing."""
    top = Path(tempfile.mkdtemp(prefix="linkgate-ci-tools-"))
    try:
        top.chmod(0o755)
        shutil.copy2(INSTALL_CI_TOOLS, top / "install-ci-tools.sh")
        (top / "calls").mkdir(mode=0o777)
        (top / "calls").chmod(0o777)
        npm_root = top / "npm-root"  # owned by root, not writable by others: like /usr/lib/node_modules
        tool = npm_root / "@microsoft" / "sarif-multitool-linux"
        tool.mkdir(parents=True)
        (tool / "sarif-2.1.0.json").write_text("{}")
        (tool / "Sarif.Multitool").write_text("")
        (tool / "Sarif.Multitool").chmod(0o755)
        bin_dir = top / "bin"
        bin_dir.mkdir()
        _stub(bin_dir / "dpkg-query", "exit 1")  # every Debian package missing
        _stub(bin_dir / "apt-get", f'echo "apt-get $*" >> {top}/calls/log')
        _stub(bin_dir / "npm", f'if [ "$1 $2" = "root -g" ]; then echo {npm_root}; exit 0; fi\n'
                               f'echo "npm $*" >> {top}/calls/log')  # fmt: skip
        _stub(bin_dir / "node", "exit 0")
        for path in top.rglob("*"):
            path.chmod(path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))
        yield top
    finally:
        shutil.rmtree(top)


def _stub(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def _run_tools(top: Path, unprivileged: bool) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{top / 'bin'}:/usr/bin:/bin", "HOME": str(top)}
    command = ["bash", str(top / "install-ci-tools.sh"), "/nonexistent-venv"]
    if unprivileged and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            if in_ci():
                pytest.fail("setpriv (util-linux) is needed to run the script as an unprivileged user")
            pytest.skip("setpriv is not installed")
        command = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=top, check=False)


def _calls(top: Path) -> str:
    log = top / "calls" / "log"
    return log.read_text() if log.exists() else ""


def test_without_root_missing_packages_are_named_not_installed(stub_tree: Path) -> None:
    result = _run_tools(stub_tree, unprivileged=True)
    assert result.returncode == 2, result.stderr
    assert "missing system packages: rsync git shellcheck" in result.stderr
    assert "install them as root" in result.stderr
    assert _calls(stub_tree) == ""  # neither apt-get nor npm was run


def test_without_root_npm_global_install_is_named_not_attempted(stub_tree: Path) -> None:
    _stub(stub_tree / "bin" / "dpkg-query", "echo 'install ok installed'")  # Debian's packages are there
    result = _run_tools(stub_tree, unprivileged=True)
    assert result.returncode == 2, result.stderr
    assert "missing npm packages: gitlab-ci-local@" in result.stderr
    assert _calls(stub_tree) == ""


@pytest.mark.skipif(os.geteuid() != 0, reason="the root path installs")
def test_as_root_it_installs(stub_tree: Path) -> None:
    result = _run_tools(stub_tree, unprivileged=False)
    assert result.returncode == 0, result.stderr
    calls = _calls(stub_tree)
    assert "apt-get install -y -qq --no-install-recommends rsync git shellcheck" in calls
    assert "npm install --global --no-fund --no-audit gitlab-ci-local@" in calls


# --- .ci/run ------------------------------------------------------------------------------------------


def test_ci_run_passes_its_arguments_to_the_test_command(tmp_path: Path) -> None:
    (tmp_path / ".ci").mkdir()
    shutil.copy2(REPO / ".ci" / "run", tmp_path / ".ci" / "run")
    (tmp_path / "scripts").mkdir()
    _stub(tmp_path / "scripts" / "test.sh", 'echo "CI=$CI"; for a in "$@"; do echo "[$a]"; done')
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    result = subprocess.run(["bash", str(tmp_path / ".ci" / "run"), "-x", "-k", "target and not slow"],
                            capture_output=True, text=True, env=env, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["CI=true", "[-x]", "[-k]", "[target and not slow]"]


# --- tests/elf/test_upx_host.py under CI ----------------------------------------------------------------------

_WITHOUT_PACKER = """
import sys, pytest
import tests.helpers.upx_tools as tools

def unavailable(name):
    raise tools.PackerUnavailableError("no packer on this machine")

tools.packer = unavailable  # before collection: the test module imports this name
TEST = "tests/elf/test_upx_host.py::test_the_upx_program_is_not_packed"
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", TEST]))
"""


@pytest.mark.parametrize(("ci", "outcome"), [("true", "2 failed"), ("", "2 skipped")])
def test_upx_host_fails_under_ci_when_the_packer_is_missing(ci: str, outcome: str) -> None:
    env = {**os.environ, "CI": ci}
    result = subprocess.run([sys.executable, "-c", _WITHOUT_PACKER], capture_output=True, text=True,
                            cwd=REPO, env=env, check=False)  # fmt: skip
    assert outcome in result.stdout, result.stdout + result.stderr
