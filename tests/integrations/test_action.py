"""action.yml: its real steps run by the harness on a failing and a passing fixture, plus the
schema and zizmor checks of the action and the example workflow."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO, require_tool
from tests.helpers.action_harness import EXPRESSION, ActionRun, run_action
from tests.helpers.ci_repos import copy_checkout
from tests.helpers.report_checks import assert_valid_junit, assert_valid_sarif


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory, gcc_binaries: dict[str, Path]) -> dict[str, Path]:
    """One job: the action checkout, a workspace with dist/, a RUNNER_TEMP shared by both uses."""
    root = tmp_path_factory.mktemp("action")
    action = root / "_actions" / "linkgate"
    copy_checkout(action)  # what GitHub downloads for `uses: OWNER/linkgate@REF`
    workspace = root / "workspace"
    (workspace / "dist").mkdir(parents=True)
    (workspace / "release").mkdir()
    (workspace / "linkgate.yml").write_text('# built on Debian 12, shipped to Debian 11\nrules:\n  max-glibc: "2.31"\n')
    shutil.copy(gcc_binaries["gcc-pie"], workspace / "dist" / "app")  # needs GLIBC_2.34
    shutil.copy(gcc_binaries["gcc-static"], workspace / "release" / "app")
    runner_temp = root / "runner-temp"
    runner_temp.mkdir()
    return {"action": action, "workspace": workspace, "runner_temp": runner_temp}


@pytest.fixture(scope="module")
def failing(job: dict[str, Path]) -> ActionRun:
    return run_action(job["action"], {"paths": "dist/*"}, job["workspace"], job["runner_temp"])


@pytest.fixture(scope="module")
def passing(job: dict[str, Path], failing: ActionRun) -> ActionRun:
    """The action used a second time in the same job (after `failing`), as a release step would."""
    del failing
    inputs = {"paths": "release", "policy": "static", "args": "--strict", "sarif": "linkgate-release.sarif"}
    return run_action(job["action"], inputs, job["workspace"], job["runner_temp"])


def test_failing_fixture_fails_the_step_with_annotations(failing: ActionRun) -> None:
    install, check = failing.steps
    assert install.returncode == 0, install.stderr
    assert check.returncode == 1, check.stderr
    assert failing.outputs["verdict"] == "fail"
    assert failing.outputs["findings"] == "1"
    assert re.search(
        r"^::error file=linkgate\.yml,line=3,title=max-glibc%3A dist/app::dist/app: needs GLIBC_2\.34",
        check.stdout,
        re.M,
    )
    assert "| `dist/app` | ❌<br>max-glibc: GLIBC_2.34 |" in failing.summary  # the policy column of the target matrix


def test_failing_fixture_reports(failing: ActionRun, job: dict[str, Path]) -> None:
    sarif = Path(failing.outputs["sarif"])
    assert sarif == job["runner_temp"] / "linkgate.sarif"
    document = json.loads(sarif.read_text())
    assert_valid_sarif(document)
    assert (
        document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "dist/app"
    )
    assert_valid_junit(Path(failing.outputs["junit"]).read_text())


def test_passing_fixture_passes_and_reuses_the_venv(passing: ActionRun, job: dict[str, Path]) -> None:
    install, check = passing.steps
    assert check.returncode == 0, check.stdout + check.stderr
    assert passing.outputs == {
        "verdict": "pass",
        "findings": "0",
        "sarif": "linkgate-release.sarif",
        "junit": str(job["runner_temp"] / "linkgate-junit.xml"),
    }
    assert "::error" not in check.stdout
    assert (job["workspace"] / "linkgate-release.sarif").is_file()
    assert "✅ passed: 1 artifact(s) (0 error(s), 0 warning(s))" in passing.summary
    assert install.stdout.startswith("::group::Install linkgate\nlinkgate ")  # no pip run the second time


def test_inputs_reach_scripts_only_through_env() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    for step in action["runs"]["steps"]:
        assert step["shell"] == "bash"
        assert not EXPRESSION.search(step["run"]), f"expression inside run: of {step.get('name')}"
    for name, spec in action["inputs"].items():
        assert spec.get("description"), name
    for name, spec in action["outputs"].items():
        assert EXPRESSION.fullmatch(spec["value"]), name


@pytest.mark.parametrize(
    ("schema", "path"),
    [("vendor.github-actions", "action.yml"), ("vendor.github-workflows", "examples/github-workflow.yml")],
)
def test_schema(schema: str, path: str) -> None:
    tool = require_tool("check-jsonschema")
    result = subprocess.run(
        [tool, "--builtin-schema", schema, path], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("target", [".", "examples/github-workflow.yml"])
def test_zizmor_offline_is_clean(target: str) -> None:
    tool = require_tool("zizmor")
    result = subprocess.run([tool, "--offline", target], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
