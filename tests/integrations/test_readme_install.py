"""The README's first command, exactly as written, as a new user runs it on Debian or Ubuntu.

`python3 -m pip install .` failed there (PEP 668: `externally-managed-environment`), which a suite
run with a non-system Python, as root, with PYTHONUNBUFFERED set, could not see. So this runs the
command text taken from README.md with the system `/usr/bin/python3` (Debian's, EXTERNALLY-MANAGED),
as an unprivileged user (created here when the suite runs as root), with an empty HOME and an
environment of nothing but PATH, HOME and LANG: no PYTHONUNBUFFERED, no PYTHONDONTWRITEBYTECODE, no
virtualenv. It must exit 1 with the findings the README shows.

To stay fast and offline, pip finds linkgate's dependencies (and the build backend) in a wheelhouse
downloaded once into tests/.build (PIP_FIND_LINKS with PIP_NO_INDEX: the command's text is unchanged,
and a dependency missing from the wheelhouse fails the install instead of reaching the network).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import BUILD_DIR, REPO, require_tool, unavailable
from tests.helpers.ci_repos import copy_checkout

SYSTEM_PYTHON = "/usr/bin/python3"
USER = "linkgate-readme"
# The build backend pyproject.toml asks for: the wheelhouse must hold it, since the install is offline.
BUILD_REQUIREMENT = "setuptools>=77,<85"


def readme_command() -> str:
    """The first bash block under "## Two commands": what a user copies."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Two commands", 1)[1]
    found = re.search(r"```bash\n(.+?)\n```", section, re.S)
    assert found, "README.md: no bash block under ## Two commands"
    return found.group(1)


def test_the_command_uses_a_virtualenv_not_the_system_python() -> None:
    command = readme_command()
    assert "python3 -m venv" in command and "pip install --user" not in command
    assert "--break-system-packages" not in command


@pytest.fixture(scope="module")
def system_python() -> str:
    if not os.path.exists(SYSTEM_PYTHON):
        unavailable(f"{SYSTEM_PYTHON} is missing (Debian package python3)")
    probe = [SYSTEM_PYTHON, "-c", "import ensurepip, sys, sysconfig; print(sys.prefix, sysconfig.get_path('stdlib'))"]
    result = subprocess.run(probe, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        unavailable(f"{SYSTEM_PYTHON} has no venv/ensurepip (Debian package python3-venv, see scripts/test.sh)")
    prefix, stdlib = result.stdout.split()
    assert prefix == "/usr", "the system Python, not a virtualenv's or pyenv's"
    assert Path(stdlib, "EXTERNALLY-MANAGED").is_file(), "Debian's python3 refuses pip outside a venv (PEP 668)"
    return SYSTEM_PYTHON


@pytest.fixture(scope="module")
def wheelhouse(system_python: str) -> Path:
    """linkgate's dependencies and build backend as wheels for the system Python, downloaded once."""
    house = BUILD_DIR / "readme-wheelhouse"
    done = house / ".complete"
    # Downloaded again when the dependencies or the build backend change (pyproject.toml's text).
    key = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    if not done.exists() or done.read_text() != key:
        house.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            venv = Path(scratch) / "venv"
            subprocess.run([system_python, "-m", "venv", str(venv)], check=True)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
            subprocess.run([*pip, "-d", str(house), BUILD_REQUIREMENT, str(REPO)], check=True, timeout=600)
        done.write_text(key)
    return house


@pytest.fixture(scope="module")
def unprivileged() -> Iterator[list[str]]:
    """The command prefix that runs as an unprivileged user: one created here when running as root."""
    if os.geteuid() != 0:
        yield []  # already unprivileged
        return
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/bash", USER], check=True)
    yield [require_tool("runuser"), "-u", USER, "--"]


@pytest.fixture
def fresh_checkout(unprivileged: list[str]) -> Iterator[tuple[Path, Path]]:
    """A clean copy of the checkout and an empty HOME, both the user's (outside root-only /tmp dirs)."""
    base = Path(tempfile.mkdtemp(prefix="linkgate-readme-", dir="/tmp"))
    try:
        base.chmod(0o755)
        checkout, home = copy_checkout(base / "linkgate"), base / "home"
        home.mkdir()
        if unprivileged:
            subprocess.run(["chown", "-R", f"{USER}:", str(checkout), str(home)], check=True)
        yield checkout, home
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_the_readme_command_runs_on_the_system_python_as_a_new_user(
    wheelhouse: Path, unprivileged: list[str], fresh_checkout: tuple[Path, Path]
) -> None:
    checkout, home = fresh_checkout
    # Nothing of this suite's environment: a login shell's PATH, an empty HOME, no PYTHON* variables.
    env = ["env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin", f"HOME={home}", "LANG=C.UTF-8",
           f"PIP_FIND_LINKS={wheelhouse}", "PIP_NO_INDEX=1", "PIP_DISABLE_PIP_VERSION_CHECK=1"]  # fmt: skip
    bash = require_tool("bash")
    command = [*unprivileged, *env, bash, "--noprofile", "--norc", "-c", readme_command()]
    result = subprocess.run(command, cwd=checkout, capture_output=True, text=True, timeout=900, check=False)
    output = result.stdout + result.stderr
    assert "externally-managed-environment" not in output
    assert result.returncode == 1, output[-4000:]
    assert "/usr/bin/ls: error: [max-glibc] needs GLIBC_2.34 (max 2.28) from libc.so.6: __libc_start_main" in output
    assert "linkgate: failed: 1 of 1 ELF artifact(s) break policy default" in result.stderr
    venv_python = (checkout / ".venv" / "bin" / "python").resolve()
    assert str(venv_python).startswith("/usr/bin/python3"), venv_python  # the venv is the system Python's
    assert (checkout / ".venv").stat().st_uid == (pwd.getpwnam(USER).pw_uid if unprivileged else os.getuid())
