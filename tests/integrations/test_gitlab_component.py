"""templates/linkgate.yml, the GitLab CI/CD component, run by gitlab-ci-local in shell mode.

A pipeline that includes the component (`include: component: ...@$CI_COMMIT_SHA`, which
gitlab-ci-local resolves from the working tree) must fail on a binary that breaks the policy and
pass on a clean one; the reports it exports must be valid. With its default inputs the job installs
linkgate's own source at the component's commit (`$[[ component.sha ]]`): here, the component's
project testing itself, its checkout; elsewhere, that commit's source archive from the GitLab
server, which a local HTTP server plays below. An install from the package index is an explicit,
pinned input; an unpinned name is refused before pip runs. Each YAML document of the component is
validated with check-jsonschema's GitLab CI schema.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO, require_tool
from tests.helpers.ci_repos import copy_checkout, git_commit
from tests.helpers.report_checks import assert_valid_code_quality, assert_valid_junit

COMPONENT = REPO / "templates" / "linkgate.yml"
# The 4.x line that still runs on Node 20 (4.74+ need Node 22).
GITLAB_CI_LOCAL_VERSION = "4.73.0"
# The component's own project (the `project` input's default): gitlab-ci-local resolves the include
# locally when the origin remote names it and the ref is the current commit.
ORIGIN = "https://gitlab.example/linkgate/linkgate.git"
INCLUDE = "  - component: $CI_SERVER_FQDN/linkgate/linkgate/linkgate@$CI_COMMIT_SHA\n"
PIPELINE = (
    "include:\n"
    + INCLUDE
    + """\
    inputs:
      paths: dist
      policy: {policy}
      install: {install}
"""
)
DEFAULT_PIPELINE = "include:\n" + INCLUDE  # every input at its default


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


def pipeline_repo(root: Path, binary: Path, pipeline: str) -> Path:
    """A project that includes the component from its own templates/ at the current commit."""
    (root / "templates").mkdir(parents=True)
    shutil.copy(COMPONENT, root / "templates" / "linkgate.yml")
    return pipeline_repo_in_place(root, binary, pipeline)


def own_project(root: Path, binary: Path) -> Path:
    """The component's own project (a copy of this checkout) with a dist/ and a policy: its pipeline
    includes the component with the default inputs."""
    copy_checkout(root)
    return pipeline_repo_in_place(root, binary, DEFAULT_PIPELINE)


def pipeline_repo_in_place(root: Path, binary: Path, pipeline: str) -> Path:
    (root / "dist").mkdir(parents=True, exist_ok=True)
    shutil.copy(binary, root / "dist" / "app")
    (root / "linkgate.yml").write_text('rules:\n  max-glibc: "2.31"\n')
    (root / ".gitlab-ci.yml").write_text(pipeline)
    git_commit(root, origin=ORIGIN)
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


def test_default_inputs_install_the_components_own_source_and_fail_a_broken_binary(
    tmp_path: Path, gitlab_ci_local: str, gcc_binaries: dict[str, Path]
) -> None:
    root = own_project(tmp_path / "linkgate", gcc_binaries["gcc-pie"])
    result = run_pipeline(gitlab_ci_local, root)
    log = result.stdout + result.stderr
    assert result.returncode != 0, log
    # gitlab-ci-local runs the job in the checkout (or its copy of it): never the server's archive.
    assert f"installing linkgate from {root}" in log and "/-/archive/" not in log, log
    assert "dist/app: error: [max-glibc] needs GLIBC_2.34 (max 2.31)" in log
    assert "linkgate_findings" in log  # the collapsible section
    issues = json.loads(exported(root, "gl-code-quality-report.json"))
    assert_valid_code_quality(issues)
    assert [(i["check_name"], i["location"]["path"]) for i in issues] == [("max-glibc", "dist/app")]
    junit = assert_valid_junit(exported(root, "linkgate-junit.xml"))
    assert junit.find("testsuite/testcase[@name='max-glibc']/failure") is not None
    # The merge request links the artifact x target matrix (expose_as).
    assert "| `dist/app` | ❌<br>max-glibc: GLIBC_2.34 | " in exported(root, "linkgate-summary.md")


def test_a_pinned_install_input_passes_a_clean_binary(
    tmp_path: Path, gitlab_ci_local: str, linkgate_source: Path, gcc_binaries: dict[str, Path]
) -> None:
    pipeline = PIPELINE.format(policy="static", install=linkgate_source)
    root = pipeline_repo(tmp_path / "project", gcc_binaries["gcc-static"], pipeline)
    result = run_pipeline(gitlab_ci_local, root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"installing linkgate from {linkgate_source}" in result.stdout + result.stderr
    assert json.loads(exported(root, "gl-code-quality-report.json")) == []
    junit = assert_valid_junit(exported(root, "linkgate-junit.xml"))
    assert junit.get("failures") == "0"
    assert int(junit.get("tests", "0")) >= 2


def test_an_unpinned_install_input_is_refused_before_pip_runs(
    tmp_path: Path, gitlab_ci_local: str, gcc_binaries: dict[str, Path]
) -> None:
    """`install: linkgate` would run whatever the index serves under that name today."""
    pipeline = PIPELINE.format(policy="static", install="linkgate")
    root = pipeline_repo(tmp_path / "project", gcc_binaries["gcc-static"], pipeline)
    result = run_pipeline(gitlab_ci_local, root)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "install: 'linkgate' is not pinned: write NAME==VERSION, or a path or URL" in log
    assert "installing linkgate from" not in log


@pytest.fixture
def archive_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A stand-in for the GitLab server's archive of one commit (`/PROJECT/-/archive/SHA/NAME-SHA.tar.gz`,
    what GitLab serves), made with `git archive` from a copy of this checkout: (server URL, sha)."""
    source = copy_checkout(tmp_path / "source")
    git_commit(source)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True,
                         check=True).stdout.strip()  # fmt: skip
    served = tmp_path / "served" / "acme" / "tools" / "linkgate" / "-" / "archive" / sha
    served.mkdir(parents=True)
    archive = served / f"linkgate-{sha}.tar.gz"
    command = ["git", "archive", "--format=tar.gz", f"--prefix=linkgate-{sha}/", "-o", str(archive), "HEAD"]
    subprocess.run(command, cwd=source, check=True)
    handler = functools.partial(_QuietHandler, directory=str(tmp_path / "served"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", sha
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No request lines on the test's stderr."""


def test_another_project_installs_the_components_commit_from_the_server(
    tmp_path: Path, archive_server: tuple[str, str], gcc_binaries: dict[str, Path]
) -> None:
    """A consumer's job (its commit is not the component's): the source archive of the component's
    commit, from its project on the same server. The component's script runs as GitLab runs it."""
    bash = require_tool("bash")
    server, sha = archive_server
    job = list(yaml.safe_load_all(COMPONENT.read_text()))[1]["linkgate"]
    project = tmp_path / "consumer"
    (project / "dist").mkdir(parents=True)
    shutil.copy(gcc_binaries["gcc-pie"], project / "dist" / "app")
    variables = {
        "LINKGATE_PATHS": "dist", "LINKGATE_POLICY": "default", "LINKGATE_ARGS": "", "LINKGATE_INSTALL": "",
        "LINKGATE_PROJECT": "acme/tools/linkgate", "LINKGATE_SHA": sha,
        "CI_COMMIT_SHA": "0" * 40, "CI_PROJECT_DIR": str(project), "CI_SERVER_URL": server,
    }  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "CI_"))}
    result = subprocess.run([bash, "-eo", "pipefail", "-c", job["script"][0]], cwd=project, env={**env, **variables},
                            capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    log = result.stdout + result.stderr
    assert f"installing linkgate from {server}/acme/tools/linkgate/-/archive/{sha}/linkgate-{sha}.tar.gz" in log
    assert result.returncode == 1, log
    assert "dist/app: error: [max-glibc] needs GLIBC_2.34 (max 2.28)" in log


def test_every_document_is_valid_gitlab_ci(tmp_path: Path) -> None:
    tool = require_tool("check-jsonschema")
    documents = list(yaml.safe_load_all(COMPONENT.read_text()))
    assert set(documents[0]) == {"spec"}
    assert documents[0]["spec"]["component"] == ["sha"]
    inputs = documents[0]["spec"]["inputs"]
    assert set(inputs) == {"paths", "policy", "args", "stage", "project", "install", "image"}
    assert inputs["install"]["default"] == ""  # never a name on the package index by default
    consumer = yaml.safe_load(PIPELINE.format(policy="linkgate.yml", install="linkgate==0.1.0"))
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
