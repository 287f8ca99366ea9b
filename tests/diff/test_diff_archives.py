"""`linkgate diff` over archives: members pair by their path inside the archive, whatever the archive is called.

The archives are made here with the real tools (tar, zip) from binaries tests/helpers/binaries.py builds.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import run_linkgate
from tests.helpers import require_tool
from tests.helpers.build_trees import tree

Built = Callable[[str], Path]
HERMETIC = {"LINKGATE_NO_CACHE": "1"}


def diff(*args: str, cwd: Path) -> tuple[int, list[dict[str, Any]]]:
    result = run_linkgate("diff", "--format", "json", *args, cwd=cwd, env=HERMETIC)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)["findings"]


def tar_gz(root: Path, archive: Path) -> Path:
    subprocess.run([require_tool("tar"), "-C", str(root), "-czf", str(archive), "."], check=True)
    return archive


def zipped(root: Path, archive: Path) -> Path:
    subprocess.run([require_tool("zip"), "-qr", str(archive), "."], cwd=root, check=True)
    return archive


def test_tarballs_of_two_versions_pair_members_by_path(built: Built, tmp_path: Path) -> None:
    old = tree(tmp_path / "old", {"bin/app": built("gcc-runpath"), "bin/gone": built("gcc-pie")})
    new = tree(tmp_path / "new", {"bin/app": built("gcc-rpath"), "bin/extra": built("gcc-static")})
    old_tar = tar_gz(old, tmp_path / "app_1.0_linux_amd64.tar.gz")
    new_tar = tar_gz(new, tmp_path / "app_1.1_linux_amd64.tar.gz")
    code, found = diff(old_tar.name, new_tar.name, cwd=tmp_path)
    assert code == 1
    paths = {(f["rule"], f["subject"]): f["path"] for f in found}
    assert paths[("diff-search-path", "RPATH")] == f"{new_tar.name}!bin/app"
    assert paths[("diff-artifacts", "removed")] == f"{old_tar.name}!bin/gone"
    assert paths[("diff-artifacts", "added")] == f"{new_tar.name}!bin/extra"
    # The same pairs as the unpacked trees give, member for member.
    _code, unpacked = diff("old", "new", cwd=tmp_path)
    assert {(f["rule"], f["subject"], f["message"]) for f in found} == {
        (f["rule"], f["subject"], f["message"]) for f in unpacked
    }


def test_wheels_pair_the_extension_and_name_the_floor_rise(built: Built, tmp_path: Path) -> None:
    old = tree(tmp_path / "old", {"demo/_ext.so": built("zig-x86_64-glibc2.17")})
    new = tree(tmp_path / "new", {"demo/_ext.so": built("zig-x86_64-glibc2.34")})
    old_wheel = zipped(old, tmp_path / "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl")
    new_wheel = zipped(new, tmp_path / "demo-1.1-cp311-cp311-manylinux_2_17_x86_64.whl")
    code, found = diff(old_wheel.name, new_wheel.name, cwd=tmp_path)
    assert code == 1
    floor = [f for f in found if f["rule"] == "diff-floor" and f["fails"]]
    assert floor and all(f["path"] == f"{new_wheel.name}!demo/_ext.so" for f in floor)
    assert not [f for f in found if f["rule"] == "diff-artifacts"]
    same_code, same = diff(old_wheel.name, zipped(old, tmp_path / "copy.whl").name, cwd=tmp_path)
    assert same_code == 0
    assert [f for f in same if f["fails"]] == []


def test_archive_against_a_directory_and_explicit_member_pairs(built: Built, tmp_path: Path) -> None:
    old = tree(tmp_path / "old", {"bin/app-1.0": built("zig-x86_64-glibc2.17")})
    tree(tmp_path / "new", {"bin/app-1.1": built("zig-x86_64-glibc2.34")})
    old_tar = tar_gz(old, tmp_path / "old.tar.gz")
    _code, unpaired = diff(old_tar.name, "new", cwd=tmp_path)
    # Unpaired: 1.0 removed, and 1.1 new: it fails the policy, raises the release's GLIBC floor
    # (2.17 -> 2.34) and loses it the targets 1.0 ran on.
    assert {f["rule"] for f in unpaired if f["fails"]} == {"diff-artifacts", "diff-floor", "diff-targets"}
    code, paired = diff("--pair", "bin/app-1.0=bin/app-1.1", old_tar.name, "new", cwd=tmp_path)
    assert code == 1
    assert ("diff-floor", "GLIBC") in {(f["rule"], f["subject"]) for f in paired if f["fails"]}
    assert not [f for f in paired if f["rule"] == "diff-artifacts"]


def test_a_corrupt_archive_fails_the_diff_closed(built: Built, tmp_path: Path) -> None:
    old = tree(tmp_path / "old", {"bin/app": built("gcc-pie")})
    good = tar_gz(old, tmp_path / "good.tar.gz")
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    code, found = diff(good.name, broken.name, cwd=tmp_path)
    assert code == 1
    assert any(f["path"].startswith(broken.name) and f["fails"] and "truncated" in f["message"] for f in found), found


def test_malformed_archive_limits_are_named_not_an_internal_error(built: Built, tmp_path: Path) -> None:
    old = tar_gz(tree(tmp_path / "old", {"bin/app": built("gcc-pie")}), tmp_path / "old.tar.gz")
    env = {**HERMETIC, "LINKGATE_ARCHIVE_LIMITS": "members=lots"}
    result = run_linkgate("diff", old.name, old.name, cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "LINKGATE_ARCHIVE_LIMITS" in result.stderr
    assert "internal error" not in result.stderr
