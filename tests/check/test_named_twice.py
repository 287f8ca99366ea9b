"""A file named twice (`dist dist/app`, `dist ./dist`) is judged once, under the first spelling given.

Judged twice it gave the same findings twice under one fingerprint (and counted the file twice).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from linkgate.check.discover import _overlapping
from tests.conftest import run_linkgate

HERMETIC = {"LINKGATE_NO_CACHE": "1"}


@pytest.fixture
def dist(tmp_path: Path, gcc_binaries: dict[str, Path]) -> Path:
    (tmp_path / "dist").mkdir()
    shutil.copy2(gcc_binaries["gcc-pie"], tmp_path / "dist" / "app")  # needs GLIBC_2.34: fails max 2.28
    shutil.copy2(gcc_binaries["gcc-static"], tmp_path / "dist" / "tool")
    return tmp_path


@pytest.mark.parametrize(
    ("paths", "displays"),
    [
        (["dist", "dist/app"], {"dist/app", "dist/tool"}),
        (["dist/app", "dist"], {"dist/app", "dist/tool"}),
        (["dist", "./dist/"], {"dist/app", "dist/tool"}),
        (["dist/app", "./dist/app", "dist//app"], {"dist/app"}),
    ],
)
def test_each_file_is_judged_once(dist: Path, paths: list[str], displays: set[str]) -> None:
    result = run_linkgate("check", "--policy", "default", "--format", "json", *paths, cwd=dist, env=HERMETIC)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["artifacts"] == len(displays)
    fingerprints = [finding["fingerprint"] for finding in report["findings"]]
    assert len(fingerprints) == len(set(fingerprints)) > 0
    assert {finding["path"] for finding in report["findings"]} == {"dist/app"}


def test_the_summary_counts_each_file_once(dist: Path) -> None:
    result = run_linkgate("check", "--policy", "default", "dist", "dist/app", "dist/tool", cwd=dist, env=HERMETIC)
    assert "failed: 1 of 2 ELF artifact(s)" in result.stderr
    assert result.stdout.count("dist/app: error: [max-glibc] needs GLIBC_2.34") == 1


@pytest.mark.parametrize(
    ("paths", "overlapping"),
    [
        (["/usr/lib", "/usr/bin"], False),
        (["/a", "/a-b"], False),  # a shared prefix is not a parent
        (["/a", "/a-b", "/a/c"], True),  # "/a-b" sorts between "/a" and "/a/c"
        (["/a/c", "/a"], True),
        (["/a/", "/a"], True),
        (["/", "/usr"], True),
        (["dist", "./dist/../dist"], True),
    ],
)
def test_only_named_paths_that_overlap_are_compared_file_by_file(paths: list[str], overlapping: bool) -> None:
    assert _overlapping(paths) is overlapping


def test_trees_side_by_side_are_each_judged_whole(dist: Path) -> None:
    shutil.copytree(dist / "dist", dist / "dist-2")
    result = run_linkgate("check", "--policy", "default", "--format", "json", "dist", "dist-2", cwd=dist, env=HERMETIC)
    report = json.loads(result.stdout)
    assert report["artifacts"] == 4
    assert {finding["path"] for finding in report["findings"]} == {"dist/app", "dist-2/app"}
