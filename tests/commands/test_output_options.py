"""What ruff, yamllint and hadolint users expect of the output: colour, -q, --output-format, --help.

Colour: `--color auto|always|never`; auto colours a terminal (a real pseudo-terminal here) and
honours NO_COLOR and FORCE_COLOR (no-color.org, force-color.org); the flag beats both.
"""

from __future__ import annotations

import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from linkgate.policy.locate import preset_names
from tests.conftest import run_linkgate
from tests.helpers import REPO

RED = "\x1b[1;31m"
HERMETIC = {"LINKGATE_NO_CACHE": "1"}
# A dynamic glibc 2.34+ build: max-glibc fails (error); linkage: static is turned into a warning.
POLICY = 'rules:\n  max-glibc: "2.28"\n  linkage: static\nseverity:\n  linkage: warning\n'


@pytest.fixture
def project(tmp_path: Path, gcc_binaries: dict[str, Path]) -> Path:
    (tmp_path / "dist").mkdir()
    shutil.copy2(gcc_binaries["gcc-pie"], tmp_path / "dist" / "app")
    (tmp_path / "linkgate.yml").write_text(POLICY)
    return tmp_path


def check(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {"NO_COLOR": "", "FORCE_COLOR": "", **HERMETIC, **(env or {})}
    return run_linkgate("check", *args, "dist", cwd=project, env=clean)


@pytest.mark.parametrize(
    ("args", "env", "colored"),
    [
        ((), {}, False),  # a pipe: no colour
        ((), {"FORCE_COLOR": "1"}, True),
        ((), {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),  # NO_COLOR wins, as in CPython
        (("--color", "always"), {"NO_COLOR": "1"}, True),  # the flag beats the environment
        (("--color", "never"), {"FORCE_COLOR": "1"}, False),
    ],
)
def test_color_in_a_pipe(project: Path, args: tuple[str, ...], env: dict[str, str], colored: bool) -> None:
    result = check(project, *args, env=env)
    assert result.returncode == 1
    assert (f"dist/app: {RED}error\x1b[0m: [max-glibc]" in result.stdout) is colored, result.stdout
    assert (f"linkgate: {RED}failed\x1b[0m: 1 of 1" in result.stderr) is colored, result.stderr
    assert ("\x1b[" in result.stdout + result.stderr) is colored


def on_a_terminal(project: Path, env: dict[str, str]) -> str:
    """stdout and stderr of a run on a pseudo-terminal, as a person sees them."""
    leader, follower = pty.openpty()
    full = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "", "FORCE_COLOR": "", **HERMETIC, **env}
    command = [sys.executable, "-m", "linkgate", "check", "dist"]
    with subprocess.Popen(command, cwd=project, stdout=follower, stderr=follower, env=full) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode()


def test_a_terminal_gets_coloured_severities(project: Path) -> None:
    shown = on_a_terminal(project, {"TERM": "xterm"})
    assert f"dist/app: {RED}error\x1b[0m: [max-glibc]" in shown
    assert "dist/app: \x1b[33mwarning\x1b[0m: [linkage]" in shown
    assert f"linkgate: {RED}failed\x1b[0m" in shown


@pytest.mark.parametrize("env", [{"TERM": "dumb"}, {"TERM": "xterm", "NO_COLOR": "1"}])
def test_a_terminal_without_colour(project: Path, env: dict[str, str]) -> None:
    shown = on_a_terminal(project, env)
    assert "dist/app: error: [max-glibc]" in shown and "\x1b[" not in shown


def test_quiet_shows_only_what_fails_and_the_summary(project: Path) -> None:
    loud = check(project)
    assert "[linkage]" in loud.stdout and "[max-glibc]" in loud.stdout
    quiet = check(project, "-q")
    assert quiet.returncode == loud.returncode == 1
    assert "[linkage]" not in quiet.stdout  # a warning does not fail this run
    assert "dist/app: error: [max-glibc]" in quiet.stdout and "    fix:" in quiet.stdout
    assert quiet.stderr == loud.stderr  # the summary still counts everything
    strict = check(project, "--quiet", "--strict")
    assert "[linkage]" in strict.stdout  # with --strict the warning fails: it is shown


def test_output_format_is_an_alias_of_format(project: Path) -> None:
    assert check(project, "--output-format", "json").stdout == check(project, "--format", "json").stdout
    inspected = run_linkgate("inspect", "--output-format", "json", str(project / "dist" / "app"))
    assert inspected.returncode == 0 and inspected.stdout.startswith("[")


@pytest.mark.parametrize("command", [(), ("check",)])
def test_help_lists_exit_codes_and_presets(command: tuple[str, ...]) -> None:
    result = run_linkgate(*command, "--help")
    assert result.returncode == 0
    assert "exit codes:\n  0  no error-level findings\n  1  error-level findings" in result.stdout
    assert "  2  could not evaluate" in result.stdout
    for name in preset_names():
        description = yaml.safe_load((REPO / "policies" / f"{name}.yml").read_text())["description"]
        assert f"  {name:<16}{description}" in result.stdout


def test_every_preset_is_documented_where_users_choose_one() -> None:
    readme = (REPO / "README.md").read_text()
    policy_input = yaml.safe_load((REPO / "action.yml").read_text())["inputs"]["policy"]["description"]
    documented, described = _named_in_rows(readme), set(numbered_names(policy_input))
    for name in preset_names():
        assert name in documented, name
        assert name in described, name


def _named_in_rows(readme: str) -> set[str]:
    """The names in the first cell of each table row: `` `a`, `b-21` … `b-36` `` names a, b-21, b-22, … b-36."""
    cells = (line.split("|")[1] for line in readme.splitlines() if line.startswith("| `"))
    return {name for cell in cells for name in numbered_names(cell.replace("`", ""))}


def numbered_names(text: str) -> list[str]:
    """The words of `text`, a range `x-21 … x-36` spelled out."""
    words = re.findall(r"[\w.-]+(?: … [\w.-]+)?", text)
    names = []
    for word in words:
        first, _, last = word.partition(" … ")
        if last:
            prefix, start = re.fullmatch(r"(.*?)(\d+)", first).groups()  # type: ignore[union-attr]
            names += [f"{prefix}{n}" for n in range(int(start), int(last.removeprefix(prefix)) + 1)]
        else:
            names.append(first)
    return names
