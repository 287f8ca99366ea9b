"""The CI edge of `linkgate check` on real gcc binaries: format auto, side reports, step summary,
workspace-relative paths and fingerprints, annotations on the policy line."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from linkgate.check import ci
from linkgate.cli import main
from tests.helpers.annotations import ANNOTATION
from tests.helpers.report_checks import (
    assert_valid_code_quality,
    assert_valid_junit,
    assert_valid_sarif,
    multitool_errors,
)

POLICY = '# release policy\nrules:\n  max-glibc: "2.31"\n  forbid-upx: true\n'
CI_VARIABLES = ("GITHUB_ACTIONS", "GITHUB_WORKSPACE", "GITHUB_STEP_SUMMARY", "GITLAB_CI", "CI_PROJECT_DIR")


@pytest.fixture
def workspace(tmp_path: Path, built: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout with a policy file and dist/ holding one failing and one passing binary."""
    root = tmp_path / "repo"
    (root / "dist").mkdir(parents=True)
    (root / "linkgate.yml").write_text(POLICY)
    shutil.copy(built("gcc-pie"), root / "dist" / "app")  # needs GLIBC_2.34
    shutil.copy(built("gcc-static"), root / "dist" / "tool")
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(root)
    return root


def github_env(monkeypatch: pytest.MonkeyPatch, root: Path) -> Path:
    summary = root.parent / "step-summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(root))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    return summary


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_failing_run_under_github_actions(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = github_env(monkeypatch, workspace)
    summary.write_text("earlier step\n")
    code, out, err = check(capsys, str(workspace / "dist"))
    assert code == 1
    commands = [line for line in out.splitlines() if line.startswith(("::error", "::warning", "::notice"))]
    assert commands and all(ANNOTATION.match(line) for line in commands)
    # Inline on the policy line that sets max-glibc (line 3), titled rule + artifact.
    assert commands[0].startswith("::error file=linkgate.yml,line=3,title=max-glibc%3A dist/app::dist/app: needs")
    assert "GLIBC_2.34 (max 2.31)" in commands[0]
    assert "::group::linkgate: dist/app: 1 error(s)" in out
    assert "break policy linkgate.yml" in err
    text = summary.read_text()
    assert text.startswith("earlier step\n### linkgate: ❌ failed: 1 of 2 artifact(s)")
    # The artifact x target matrix (tests/formats/test_step_summary.py checks its cells against inspect).
    assert "| `dist/app` | ❌<br>max-glibc: GLIBC_2.34 | " in text
    assert "| `dist/tool` | ✅ | " in text


def test_passing_run_under_github_actions(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = github_env(monkeypatch, workspace)
    code, out, _err = check(capsys, "--policy", "static", "dist/tool")
    assert (code, out) == (0, "")
    assert "✅ passed: 1 artifact(s)" in summary.read_text()


def test_auto_is_text_outside_actions(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = check(capsys, "dist")
    assert code == 1
    assert out.startswith("dist/app: error: [max-glibc]")
    assert not (workspace.parent / "step-summary.md").exists()


@pytest.mark.usefixtures("workspace")
@pytest.mark.parametrize("fmt", ["gitlab", "junit", "sarif"])
def test_documents_on_stdout_are_valid(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    code, out, _err = check(capsys, "--format", fmt, "dist")
    assert code == 1
    if fmt == "gitlab":
        assert_valid_code_quality(json.loads(out))
    elif fmt == "junit":
        assert_valid_junit(out)
    else:
        assert_valid_sarif(json.loads(out))


@pytest.mark.usefixtures("workspace")
def test_one_run_writes_every_side_report(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    args = ["--sarif", f"{reports}/l.sarif", "--gitlab-report", f"{reports}/cq.json", "--junit", f"{reports}/j.xml"]
    code, out, _err = check(capsys, *args, "dist")
    assert code == 1
    assert out.startswith("dist/app: error:")  # stdout keeps its own format
    sarif = json.loads((reports / "l.sarif").read_text())
    assert_valid_sarif(sarif)
    assert [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]] == [
        "dist/app"
    ]
    assert_valid_code_quality(json.loads((reports / "cq.json").read_text()))
    junit = assert_valid_junit((reports / "j.xml").read_text())
    assert len(junit.findall("testsuite/testcase")) == 2 * 3  # 2 artifacts x (elf-format, max-glibc, forbid-upx)
    assert not multitool_errors(reports / "l.sarif", tmp_path)


def test_paths_and_fingerprints_are_workspace_relative(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def findings(*args: str) -> list[tuple[str, str]]:
        _code, out, _err = check(capsys, "--format", "json", "--policy", str(workspace / "linkgate.yml"), *args)
        return [(f["path"], f["fingerprint"]) for f in json.loads(out)["findings"]]

    relative = findings("dist/app")
    assert relative[0][0] == "dist/app"
    assert findings(str(workspace / "dist" / "app")) == relative
    assert findings("./dist/../dist/app") == relative
    # GitLab: relative to CI_PROJECT_DIR wherever the job's shell stands.
    monkeypatch.setenv("GITLAB_CI", "true")
    monkeypatch.setenv("CI_PROJECT_DIR", str(workspace))
    monkeypatch.chdir(workspace / "dist")
    assert findings("app") == relative
    # GitHub Actions: relative to GITHUB_WORKSPACE.
    github_env(monkeypatch, workspace)
    assert findings(str(workspace / "dist" / "app")) == relative


def test_policy_outside_the_workspace_annotates_the_artifact(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    github_env(monkeypatch, workspace)
    outside = tmp_path / "central-policy.yml"
    outside.write_text(POLICY)
    _code, out, _err = check(capsys, "--policy", str(outside), "dist/app")
    assert "::error file=dist/app,title=max-glibc%3A dist/app::" in out


def test_inherited_rule_points_at_extends_line(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (workspace / "linkgate.yml").write_text("# inherits max-glibc 2.28\nextends: default\nrules:\n  linkage: any\n")
    github_env(monkeypatch, workspace)
    _code, out, _err = check(capsys, "dist/app")
    assert "::error file=linkgate.yml,line=2,title=max-glibc%3A dist/app::" in out


def test_unwritable_side_report_cannot_evaluate(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = check(capsys, "--sarif", str(workspace / "missing-dir" / "x.sarif"), "dist")
    assert code == 2
    assert "x.sarif" in err


def test_detect_ignores_a_workspace_that_is_not_there(tmp_path: Path) -> None:
    # gitlab-ci-local's shell mode reports the container's CI_PROJECT_DIR, which does not exist here.
    gitlab = ci.detect({"GITLAB_CI": "true", "CI_PROJECT_DIR": str(tmp_path / "builds" / "x")}, str(tmp_path))
    assert (gitlab.workspace, gitlab.step_summary, ci.output_format("auto", gitlab)) == (str(tmp_path), None, "text")
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp_path), "GITHUB_STEP_SUMMARY": "s.md"}
    github = ci.detect(environ, "/")
    assert (github.workspace, github.step_summary, ci.output_format("auto", github)) == (
        str(tmp_path),
        "s.md",
        "github",
    )
    assert ci.output_format("json", github) == "json"


def test_workspace_reached_through_a_symlink(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    link = tmp_path / "checkout-link"
    link.symlink_to(workspace)
    github_env(monkeypatch, link)
    _code, out, _err = check(capsys, "--format", "json", str(workspace / "dist" / "app"), str(link / "dist" / "tool"))
    assert [f["path"] for f in json.loads(out)["findings"]] == ["dist/app"]
    _code, out, _err = check(capsys, "--format", "junit", str(link / "dist"))
    assert 'classname="dist/app"' in out
