"""How archives sit in a `check` run: one progress step per candidate,
the same report whatever --jobs, and --allow-empty counting an archive's ELF members as checked."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
from pathlib import Path

from linkgate.check.discover import discover
from linkgate.check.scan import ScanOptions, check_each
from linkgate.policy.loader import load_policy
from tests.conftest import run_linkgate
from tests.helpers import require_tool

READERS = ("linkgate.check.archive_scan", "linkgate.archives.read", "linkgate.archives.containers",
           "linkgate.archives.members", "linkgate.archives.streams", "linkgate.check.wheel_promise",
           "backports.zstd")  # fmt: skip


def dist(tmp_path: Path) -> Path:
    """dist/: two tarballs (three ELF members, one), a loose ELF file, a README."""
    tar = require_tool("tar")
    root = tmp_path / "dist"
    for name, members in (("app", ("a", "b", "c")), ("tool", ("t",))):
        staging = tmp_path / name
        staging.mkdir()
        for member in members:
            shutil.copy("/usr/bin/true", staging / member)
        root.mkdir(exist_ok=True)
        subprocess.run([tar, "-C", str(staging), "-czf", str(root / f"{name}_1.0_linux_amd64.tar.gz"), "."],
                       check=True)  # fmt: skip
    shutil.copy("/usr/bin/true", root / "loose")
    (root / "README").write_text("not an artifact\n")
    return root


def test_one_step_per_candidate_however_many_members(tmp_path: Path) -> None:
    candidates = discover([str(dist(tmp_path))])
    options = ScanOptions(policy=load_policy("default", Path.cwd()), today=datetime.date.today(), jobs=1)
    steps = list(check_each(candidates, options))
    assert len(steps) == len(candidates) == 4
    assert sorted(len(results) for results in steps) == [0, 1, 1, 3]


def test_jobs_do_not_change_the_report_of_archives(tmp_path: Path) -> None:
    root = dist(tmp_path)
    serial = run_linkgate("check", "--policy", "default", "--format", "json", "--jobs", "1", str(root), cwd=tmp_path)
    parallel = run_linkgate("check", "--policy", "default", "--format", "json", "--jobs", "2", str(root), cwd=tmp_path)
    assert serial.returncode == parallel.returncode == 1, serial.stderr
    assert serial.stdout == parallel.stdout
    document = json.loads(serial.stdout)
    assert document["artifacts"] == 5 and document["skipped"] == 1


def test_an_archive_without_elf_checks_nothing_and_one_with_elf_counts(tmp_path: Path) -> None:
    tar = require_tool("tar")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/README").write_text("text only\n")
    empty = tmp_path / "docs.tar.gz"
    subprocess.run([tar, "-C", str(tmp_path / "docs"), "-czf", str(empty), "."], check=True)
    result = run_linkgate("check", "--policy", "default", str(empty), cwd=tmp_path)
    assert result.returncode == 2
    assert "no ELF artifacts found" in result.stderr
    assert run_linkgate("check", "--policy", "default", "--allow-empty", str(empty), cwd=tmp_path).returncode == 0
    root = dist(tmp_path)
    checked = run_linkgate("check", "--policy", "static", str(root / "tool_1.0_linux_amd64.tar.gz"), cwd=tmp_path)
    assert checked.returncode == 1, checked.stderr
    assert "tool_1.0_linux_amd64.tar.gz!t: error:" in checked.stdout
