"""`linkgate completion bash|zsh|fish`, run by the real shells.

bash: the script is sourced and its function called with COMP_WORDS/COMP_CWORD set, as bash's
completion does on TAB. fish: `complete -C LINE` asks fish itself for the completions of a
line. zsh: compinit registers the function (`_comps[linkgate]`); its word logic runs with
compadd/_files replaced by printers (zsh's completion widgets need an interactive line editor).
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import pytest

from linkgate.cli import build_parser
from tests.conftest import run_linkgate
from tests.helpers import require_tool


def script(shell: str, tmp_path: Path) -> Path:
    result = run_linkgate("completion", shell)
    assert result.returncode == 0, result.stderr
    path = tmp_path / f"linkgate.{shell}"
    path.write_text(result.stdout)
    return path


def bash_complete(tmp_path: Path, line: str) -> list[str]:
    """What bash offers for the last word of `line` (a trailing space: an empty word)."""
    bash = require_tool("bash")
    completion = script("bash", tmp_path)
    words = line.split(" ")
    quoted = " ".join(f"'{w}'" for w in words)
    program = f'source "{completion}"; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; _linkgate; '
    program += 'printf "%s\\n" "${COMPREPLY[@]}"'
    result = subprocess.run([bash, "--noprofile", "--norc", "-c", program], cwd=tmp_path, capture_output=True,
                            text=True, check=True)  # fmt: skip
    return result.stdout.split()


def fish_complete(tmp_path: Path, line: str) -> list[str]:
    fish = require_tool("fish")
    completion = script("fish", tmp_path)
    program = f"source {completion}; complete -C '{line}'"
    result = subprocess.run([fish, "--no-config", "-c", program], cwd=tmp_path, capture_output=True, text=True,
                            check=True)  # fmt: skip
    return [row.split("\t")[0] for row in result.stdout.splitlines()]


CASES = [
    ("linkgate ", {"check", "inspect", "explain", "profile", "schema", "diff", "completion"}),
    ("linkgate check --fo", {"--format"}),
    ("linkgate check --output-format ", {"auto", "text", "json", "github", "gitlab", "sarif", "junit"}),
    ("linkgate check --color ", {"auto", "always", "never"}),
    ("linkgate check --policy hard", {"hardened"}),
    ("linkgate check --policy musllinux_1_", {"musllinux_1_1", "musllinux_1_2"}),
    ("linkgate profile ", {"capture", "list"}),
    ("linkgate completion ", {"bash", "zsh", "fish"}),
]


@pytest.mark.parametrize(("line", "expected"), CASES)
def test_bash(tmp_path: Path, line: str, expected: set[str]) -> None:
    assert set(bash_complete(tmp_path, line)) == expected


@pytest.mark.parametrize(("line", "expected"), CASES)
def test_fish(tmp_path: Path, line: str, expected: set[str]) -> None:
    offered = set(fish_complete(tmp_path, line))
    # fish also completes a bare `-` prefix to options of the same stem: the expected ones must be there.
    assert expected <= offered and not offered - expected - {"--format", "--output-format"}, offered


def test_paths_complete_to_files(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    assert bash_complete(tmp_path, "linkgate check di") == ["dist"]
    assert "dist/" in fish_complete(tmp_path, "linkgate check di")


def test_every_option_of_the_parser_completes(tmp_path: Path) -> None:
    """The script is written from the parser: no option of check can be missing."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    flags = {f for action in sub.choices["check"]._actions for f in action.option_strings if f.startswith("--")}
    assert flags >= {"--quiet", "--color", "--output-format", "--write-baseline"}
    assert set(bash_complete(tmp_path, "linkgate check --")) == flags


def test_zsh_registers_and_completes(tmp_path: Path) -> None:
    zsh = require_tool("zsh")
    completion = script("zsh", tmp_path)
    registered = f"autoload -U compinit; compinit -u -D; source {completion}; print -r -- $_comps[linkgate]"
    result = subprocess.run([zsh, "-f", "-c", registered], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "_linkgate", result.stderr
    probe = (
        "compdef() { :; }; compadd() { print -rl -- ${@:#--}; }; _files() { print -r -- FILES; }; "
        f"source {completion}; words=(linkgate check --format ''); CURRENT=4; _linkgate; "
        "words=(linkgate profile ''); CURRENT=3; _linkgate; words=(linkgate check ''); CURRENT=3; _linkgate"
    )
    result = subprocess.run([zsh, "-f", "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["auto", "github", "gitlab", "json", "junit", "sarif", "text", "capture", "list",
                                     "FILES"]  # fmt: skip


def test_an_unknown_shell_is_a_usage_error() -> None:
    result = run_linkgate("completion", "powershell")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
