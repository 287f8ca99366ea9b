"""Every archive format read in place, built with the real tools: a failing member exits 1 named
ARCHIVE!MEMBER with its GLIBC version, a clean archive passes having checked at least one ELF member.

Failing binary: a copy of the system's /usr/bin/true (glibc >= 2.34: `__libc_start_main@GLIBC_2.34`).
Clean binary: a static musl build (no glibc need at all).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_linkgate
from tests.helpers.archive_builds import (
    FORMATS,
    build,
    run,
)


def check(archive: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_linkgate("check", "--policy", "default", *extra, str(archive), cwd=archive.parent)


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_failing_member_is_named_with_its_glibc_version(kind: str, tmp_path: Path) -> None:
    archive, member = build(kind, Path("/usr/bin/true"), tmp_path)
    result = check(archive)
    assert result.returncode == 1, result.stdout + result.stderr
    name = f"{archive.name}!{member}"
    line = next(line for line in result.stdout.splitlines() if line.startswith(name + ":"))
    assert "GLIBC_2.34" in line and "[max-glibc]" in line


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_clean_archive_passes_having_read_its_elf_member(kind: str, tmp_path: Path, clean_binary: Path) -> None:
    archive, member = build(kind, clean_binary, tmp_path)
    junit = tmp_path / "junit.xml"
    result = check(archive, "--format", "json", "--junit", str(junit))
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] and report["artifacts"] >= 1
    assert f"{archive.name}!{member}" in junit.read_text()  # the member itself was judged


def test_archive_without_elf_members_is_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/README").write_text("text only\n")
    archive = tmp_path / "docs.tar.gz"
    run("tar", "-czf", archive, "-C", tmp_path, "docs")
    result = check(archive)
    assert result.returncode == 2
    assert "no ELF artifacts found" in result.stderr


def test_format_is_told_by_content_not_name(tmp_path: Path) -> None:
    archive, _member = build("tar.xz", Path("/usr/bin/true"), tmp_path)
    disguised = archive.rename(tmp_path / "release.bin")
    result = check(disguised)
    assert result.returncode == 1
    assert "release.bin!usr/bin/app:" in result.stdout


def test_directory_of_archives_is_checked(tmp_path: Path, clean_binary: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    good, _ = build("tar.gz", clean_binary, tmp_path / "a")
    bad, _ = build("deb-xz", Path("/usr/bin/true"), tmp_path / "b")
    shutil.move(good, dist / "good.tar.gz")
    shutil.move(bad, dist / "app_1.0_amd64.deb")
    result = run_linkgate("check", "--policy", "default", "dist", cwd=tmp_path)
    assert result.returncode == 1
    assert "dist/app_1.0_amd64.deb!usr/bin/app:" in result.stdout
    assert "good.tar.gz" not in result.stdout
