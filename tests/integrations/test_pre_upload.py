"""examples/pre-upload.sh (build -> linkgate check -> upload only on exit 0) and the pre-commit
hook, each run for real: the script under bash, the hook through `pre-commit try-repo`."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO, require_tool
from tests.helpers.ci_repos import copy_checkout, git_commit

SCRIPT = REPO / "examples" / "pre-upload.sh"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project directory whose PATH finds `linkgate` from this checkout."""
    shim = tmp_path / "bin" / "linkgate"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m linkgate "$@"\n')
    shim.chmod(0o755)
    root = tmp_path / "project"
    root.mkdir()
    (root / "linkgate.yml").write_text('rules:\n  max-glibc: "2.31"\n')
    return root


def pre_upload(project: Path, binary: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "CI_"))}
    env.update(
        PATH=f"{project.parent / 'bin'}{os.pathsep}{env['PATH']}",
        PYTHONPATH=str(REPO),
        BUILD_CMD=f'cp "{binary}" "$DIST/app"',
        UPLOAD_CMD="touch uploaded",
    )
    env.update(settings)
    return subprocess.run(["bash", str(SCRIPT)], cwd=project, env=env, capture_output=True, text=True, check=False)


def test_failing_binary_is_not_uploaded(project: Path, gcc_binaries: dict[str, Path]) -> None:
    result = pre_upload(project, gcc_binaries["gcc-pie"])
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("dist/app: error: [max-glibc] needs GLIBC_2.34 (max 2.31)")
    assert not (project / "uploaded").exists()


def test_clean_binary_is_uploaded_quietly(project: Path, gcc_binaries: dict[str, Path]) -> None:
    result = pre_upload(project, gcc_binaries["gcc-static"], POLICY="static")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert (project / "uploaded").exists()


@pytest.mark.parametrize(
    ("settings", "code"),
    [
        ({"POLICY": "no-such-policy.yml"}, 2),
        ({"BUILD_CMD": "exit 3"}, 3),
        ({"BUILD_CMD": 'echo "no binary" > "$DIST/app.txt"'}, 2),
    ],
    ids=["gate-cannot-evaluate", "build-fails", "build-makes-no-elf"],
)
def test_nothing_is_uploaded_when_a_stage_fails(
    project: Path, gcc_binaries: dict[str, Path], settings: dict[str, str], code: int
) -> None:
    result = pre_upload(project, gcc_binaries["gcc-static"], **settings)
    assert result.returncode == code, result.stderr
    assert not (project / "uploaded").exists()


def test_pre_commit_hook_definition() -> None:
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "linkgate"
    assert hook["language"] == "python"
    assert hook["types"] == ["binary"]
    assert hook["pass_filenames"] is True
    # The console script; try-repo below runs it for real. --allow-empty: commits of non-ELF binaries pass.
    assert hook["entry"] == "linkgate check --allow-empty"


def test_pre_commit_runs_the_hook_on_committed_binaries(tmp_path: Path, gcc_binaries: dict[str, Path]) -> None:
    """`pre-commit try-repo` installs this checkout as the hook repository, as users' clones would."""
    tool = require_tool("pre-commit")
    hooks = copy_checkout(tmp_path / "linkgate")
    git_commit(hooks)
    work = tmp_path / "work"
    (work / "bin").mkdir(parents=True)
    shutil.copy(gcc_binaries["gcc-pie"], work / "bin" / "app")
    (work / "bin" / "notes.txt").write_text("not a binary: pre-commit does not pass it\n")
    (work / "linkgate.yml").write_text('rules:\n  max-glibc: "2.31"\n')
    git_commit(work)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    command = [tool, "try-repo", str(hooks), "linkgate", "--all-files", "--color", "never"]
    failing = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, check=False)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "bin/app: error: [max-glibc] needs GLIBC_2.34 (max 2.31)" in failing.stdout
    (work / "linkgate.yml").write_text('rules:\n  max-glibc: "2.40"\n')
    passing = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, check=False)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    # Binaries that are none of them ELF: nothing to gate, the commit passes.
    (work / "bin" / "app").unlink()
    (work / "bin" / "logo.gz").write_bytes(gzip.compress(b"not ELF" * 100))
    git_commit(work)
    no_elf = subprocess.run([*command, "--verbose"], cwd=work, env=env, capture_output=True, text=True, check=False)
    assert no_elf.returncode == 0, no_elf.stdout + no_elf.stderr
    assert "0 ELF artifact(s)" in no_elf.stdout


def test_shipped_shell_passes_shellcheck(tmp_path: Path) -> None:
    """The scripts users run: the example, the action's steps, the GitLab job (POSIX sh in images)."""
    tool = require_tool("shellcheck")
    scripts = [(REPO / "examples" / "pre-upload.sh", "bash"), (REPO / ".ci" / "install-ci-tools.sh", "bash")]
    action = yaml.safe_load((REPO / "action.yml").read_text())
    for index, step in enumerate(action["runs"]["steps"]):
        scripts.append((tmp_path / f"action-step-{index}.sh", "bash"))
        scripts[-1][0].write_text(step["run"])
    job = list(yaml.safe_load_all((REPO / "templates" / "linkgate.yml").read_text()))[1]["linkgate"]
    scripts.append((tmp_path / "gitlab-job.sh", "sh"))
    scripts[-1][0].write_text("\n".join(job["script"]))
    for path, shell in scripts:
        result = subprocess.run([tool, "--shell", shell, str(path)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{path.name}:\n{result.stdout}"
