"""`check --baseline REPORT.json`: known findings are shown but do not fail; a new artifact's do.

Real binaries built here (gcc, zig pinned to glibc 2.34), the real CLI process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_linkgate
from tests.helpers.report_checks import assert_valid_sarif

Built = Callable[[str], Path]
HERMETIC = {"LINKGATE_NO_CACHE": "1"}
# The default preset allows GLIBC 2.28: a glibc 2.34 build fails it, a 2.17 one passes.
POLICY = ("--policy", "default")


def check(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_linkgate("check", *POLICY, *args, cwd=cwd, env=HERMETIC)


def findings(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert result.returncode in (0, 1), result.stderr
    found: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
    return found


@pytest.fixture
def dist(built: Built, tmp_path: Path) -> Path:
    """A release tree with one artifact that breaks the policy (needs GLIBC_2.34) and one that passes."""
    (tmp_path / "dist").mkdir()
    shutil.copy2(built("zig-x86_64-glibc2.34"), tmp_path / "dist" / "legacy")
    shutil.copy2(built("zig-x86_64-glibc2.17"), tmp_path / "dist" / "ok")
    return tmp_path / "dist"


@pytest.fixture
def baseline(dist: Path) -> Path:
    """The baseline written by a run over `dist` as it is now."""
    written = check(dist.parent, "--write-baseline", "baseline.json", "dist")
    path = dist.parent / "baseline.json"
    held = json.loads(path.read_text())["findings"]
    assert held, "the baseline must hold the known findings"
    # Writing the first baseline is adoption: the job succeeds, and says what the file holds.
    assert written.returncode == 0, written.stderr
    assert f"linkgate: baseline written to baseline.json: {len(held)} finding(s)" in written.stderr
    assert "dist/legacy: error: [max-glibc]" in written.stdout  # the findings are still shown
    return path


def test_a_baseline_absorbs_the_known_findings(baseline: Path, dist: Path) -> None:
    result = check(dist.parent, "--baseline", baseline.name, "--format", "json", "dist")
    assert result.returncode == 0, result.stdout
    known = findings(result)
    assert known and all(f["baseline"] == "unchanged" and not f["fails"] for f in known)
    assert json.loads(result.stdout)["passed"] is True
    text = check(dist.parent, "--baseline", baseline.name, "dist")
    assert text.returncode == 0
    assert "dist/legacy: error (baselined): [max-glibc] needs GLIBC_2.34" in text.stdout
    assert "fix:" not in text.stdout  # known findings are shown, not pressed on
    assert "0 error(s)" in text.stderr and "baselined" in text.stderr


def test_a_new_artifact_fails_and_only_its_findings_are_new(baseline: Path, dist: Path, built: Built) -> None:
    shutil.copy2(built("zig-x86_64-glibc2.34"), dist / "new-tool")
    result = check(dist.parent, "--baseline", baseline.name, "--format", "json", "dist")
    assert result.returncode == 1
    states = {(f["path"], f["baseline"], f["fails"]) for f in findings(result)}
    assert {state for _path, state, _fails in states} == {"unchanged", "new"}
    assert {(path, fails) for path, state, fails in states if state == "new"} == {("dist/new-tool", True)}
    assert json.loads(result.stdout)["failed_artifacts"] == 1


def test_sarif_github_and_junit_mark_baselined_findings(baseline: Path, dist: Path, built: Built) -> None:
    shutil.copy2(built("zig-x86_64-glibc2.34"), dist / "new-tool")
    sarif = json.loads(check(dist.parent, "--baseline", baseline.name, "--format", "sarif", "dist").stdout)
    assert_valid_sarif(sarif)
    states = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], r["baselineState"])
              for r in sarif["runs"][0]["results"]}  # fmt: skip
    assert states == {("dist/legacy", "unchanged"), ("dist/new-tool", "new")}
    github = check(dist.parent, "--baseline", baseline.name, "--format", "github", "dist").stdout
    annotations = [line for line in github.splitlines() if line.startswith("::error ")]
    assert annotations and all("dist/new-tool" in line and "dist/legacy" not in line for line in annotations)
    assert "::group::linkgate: dist/legacy: " in github and " baselined" in github
    junit = check(dist.parent, "--baseline", baseline.name, "--format", "junit", "dist").stdout
    assert junit.count("<failure") == 1  # the new artifact's max-glibc testcase, nothing known


def test_a_waived_finding_is_not_known_once_its_waiver_goes(built: Built, tmp_path: Path) -> None:
    """The baseline keeps active findings only: removing a waiver must not be absorbed by it."""
    (tmp_path / "dist").mkdir()
    shutil.copy2(built("zig-x86_64-glibc2.34"), tmp_path / "dist" / "app")
    policy = tmp_path / "linkgate.yml"
    waiver = '  - {rule: max-glibc, paths: ["dist/app"], reason: "until the rebuild"}\n'
    policy.write_text(f'rules:\n  max-glibc: "2.28"\nwaivers:\n{waiver}')
    written = run_linkgate("check", "--write-baseline", "baseline.json", "dist", cwd=tmp_path, env=HERMETIC)
    assert written.returncode == 0, written.stdout
    policy.write_text('rules:\n  max-glibc: "2.28"\n')
    result = run_linkgate("check", "--baseline", "baseline.json", "dist", cwd=tmp_path, env=HERMETIC)
    assert result.returncode == 1, result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "baseline error: missing.json: No such file or directory"),
        ("{not json", "baseline error: missing.json: not JSON"),
        ('{"policy": "default"}', 'not a linkgate JSON report (no "findings" list)'),
        ('{"findings": [{"rule": "max-glibc"}]}', "finding 0 has no fingerprint"),
    ],
)
def test_an_unusable_baseline_cannot_evaluate(dist: Path, content: str | None, message: str) -> None:
    if content is not None:
        (dist.parent / "missing.json").write_text(content)
    result = check(dist.parent, "--baseline", "missing.json", "dist")
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def _created(path: Path) -> Path:
    path.write_text('{"findings": []}')
    return path  # made larger than the limit by truncate: a sparse file, nothing written


@pytest.mark.parametrize(
    ("make", "message"),
    [
        # Issue 21: each of these was an internal error, an unbounded read or a hang.
        (lambda path: path.write_text("[" * 200_000 + "]" * 200_000), "not a linkgate JSON report (nested too deeply)"),
        (lambda path: path.symlink_to("/dev/zero"), "not a regular file (a character device)"),
        (os.mkfifo, "not a regular file (a FIFO)"),
        (lambda path: path.mkdir(), "not a regular file (a directory)"),
        (lambda path: os.truncate(_created(path), (128 << 20) + 1), "file larger than the 131072 KiB limit"),
        (lambda path: path.write_bytes(b'{"findings": [], "x": "\xff"}'), "not UTF-8 text"),
    ],
)
def test_a_hostile_baseline_is_a_baseline_error(dist: Path, make: Callable[[Path], None], message: str) -> None:
    baseline = dist.parent / "hostile.json"
    make(baseline)
    started = time.monotonic()
    result = check(dist.parent, "--baseline", "hostile.json", "dist")
    assert time.monotonic() - started < 30
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"baseline error: hostile.json: {message}" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
