"""templates/linkgate.yml, the GitLab CI/CD component, run by gitlab-ci-local in shell mode.

A pipeline that includes the component (`include: component: ...@$CI_COMMIT_SHA`, which
gitlab-ci-local resolves from the working tree) must fail on a binary that breaks the policy and
pass on a clean one; the reports it exports must be valid. Each YAML document of the component
is validated with check-jsonschema's GitLab CI schema.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.ci_repos import copy_checkout, git_commit
from tests.report_checks import assert_valid_code_quality, assert_valid_junit
from tests.support import REPO, require_tool

COMPONENT = REPO / "templates" / "linkgate.yml"
# The 4.x line that still runs on Node 20 (4.74+ need Node 22).
GITLAB_CI_LOCAL_VERSION = "4.73.0"
PIPELINE = """\
include:
  - component: $CI_SERVER_FQDN/acme/linkgate/linkgate@$CI_COMMIT_SHA
    inputs:
      paths: dist
      policy: {policy}
      install: {install}
"""


@pytest.fixture(scope="module")
def gitlab_ci_local() -> str:
    tool = require_tool("gitlab-ci-local")
    for needed in ("git", "rsync"):
        require_tool(needed)
    version = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert version == GITLAB_CI_LOCAL_VERSION
    return tool


@pytest.fixture(scope="module")
def linkgate_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the jobs pip-install (the `install` input takes any pip argument): a wheel of this
    checkout, built once so the two pipelines do not build it again."""
    root = tmp_path_factory.mktemp("source")
    copy_checkout(root / "linkgate")
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(root / "wheels")]
    subprocess.run([*command, str(root / "linkgate")], check=True, capture_output=True)
    (wheel,) = (root / "wheels").glob("linkgate-*.whl")
    return wheel


def pipeline_repo(root: Path, binary: Path, policy: str, install: Path) -> Path:
    """A project that includes the component from its own templates/ at the current commit."""
    (root / "dist").mkdir(parents=True)
    (root / "templates").mkdir()
    shutil.copy(COMPONENT, root / "templates" / "linkgate.yml")
    shutil.copy(binary, root / "dist" / "app")
    (root / "linkgate.yml").write_text('rules:\n  max-glibc: "2.31"\n')
    (root / ".gitlab-ci.yml").write_text(PIPELINE.format(policy=policy, install=install))
    git_commit(root, origin="https://gitlab.example/acme/linkgate.git")
    return root


def run_pipeline(tool: str, root: Path) -> subprocess.CompletedProcess[str]:
    # gitlab-ci-local sets GITLAB_CI=false itself; the real value makes paths CI_PROJECT_DIR-relative.
    command = [tool, "--force-shell-executor", "--no-color", "--variable", "GITLAB_CI=true"]
    command += ["--ignore-predefined-vars", "GITLAB_CI"]
    # The host's own CI variables (this suite may run inside a CI job) must not reach the job.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "CI_"))}
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=600, check=False)


def exported(root: Path, name: str) -> str:
    return (root / ".gitlab-ci-local" / "artifacts" / "linkgate" / name).read_text(encoding="utf-8")


def test_pipeline_fails_on_a_binary_that_breaks_the_policy(
    tmp_path: Path, gitlab_ci_local: str, linkgate_source: Path, gcc_binaries: dict[str, Path]
) -> None:
    root = pipeline_repo(tmp_path / "project", gcc_binaries["gcc-pie"], "linkgate.yml", linkgate_source)
    result = run_pipeline(gitlab_ci_local, root)
    log = result.stdout + result.stderr
    assert result.returncode != 0, log
    assert "dist/app: error: [max-glibc] needs GLIBC_2.34 (max 2.31)" in log
    assert "linkgate_findings" in log  # the collapsible section
    issues = json.loads(exported(root, "gl-code-quality-report.json"))
    assert_valid_code_quality(issues)
    assert [(i["check_name"], i["location"]["path"]) for i in issues] == [("max-glibc", "dist/app")]
    junit = assert_valid_junit(exported(root, "linkgate-junit.xml"))
    assert junit.find("testsuite/testcase[@name='max-glibc']/failure") is not None
    # The merge request links the artifact x target matrix (expose_as).
    assert "| `dist/app` | ❌<br>max-glibc: GLIBC_2.34 | " in exported(root, "linkgate-summary.md")


def test_pipeline_passes_on_a_clean_binary(
    tmp_path: Path, gitlab_ci_local: str, linkgate_source: Path, gcc_binaries: dict[str, Path]
) -> None:
    root = pipeline_repo(tmp_path / "project", gcc_binaries["gcc-static"], "static", linkgate_source)
    result = run_pipeline(gitlab_ci_local, root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(exported(root, "gl-code-quality-report.json")) == []
    junit = assert_valid_junit(exported(root, "linkgate-junit.xml"))
    assert junit.get("failures") == "0"
    assert int(junit.get("tests", "0")) >= 2


def test_every_document_is_valid_gitlab_ci(tmp_path: Path) -> None:
    tool = require_tool("check-jsonschema")
    documents = list(yaml.safe_load_all(COMPONENT.read_text()))
    assert set(documents[0]) == {"spec"}
    assert set(documents[0]["spec"]["inputs"]) == {"paths", "policy", "args", "stage", "install", "image"}
    consumer = yaml.safe_load(PIPELINE.format(policy="linkgate.yml", install="linkgate"))
    for index, document in enumerate([*documents, consumer]):
        path = tmp_path / f"document-{index}.yml"
        path.write_text(yaml.safe_dump(document))
        result = subprocess.run(
            [tool, "--builtin-schema", "vendor.gitlab-ci", str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"document {index}: {result.stdout}{result.stderr}"


def test_job_exports_reports_always() -> None:
    job = list(yaml.safe_load_all(COMPONENT.read_text()))[1]["linkgate"]
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    assert set(artifacts["reports"].values()) <= set(artifacts["paths"])
    assert all("$[[" not in line for line in job["script"][0].splitlines()), "inputs reach the script as variables"
