"""Hostile and broken archives fail closed: an `archive-format` error finding, exit 1, never a pass."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.conftest import run_linkgate
from tests.helpers import require_tool
from tests.helpers.archive_builds import build, run


def check(
    archive: Path, limits: str = "", env: dict[str, str] | None = None, *, process: bool = False
) -> subprocess.CompletedProcess[str]:
    environment = {**({"LINKGATE_ARCHIVE_LIMITS": limits} if limits else {}), **(env or {})}
    return run_linkgate(
        "check", "--policy", "default", str(archive), cwd=archive.parent, env=environment, process=process
    )


def assert_archive_error(result: subprocess.CompletedProcess[str], where: str, why: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if "[archive-format]" in line]
    assert any(line.startswith(f"{where}: error:") and why in line for line in lines), result.stdout


def padded_elf(tmp_path: Path, megabytes: int) -> Path:
    """A real ELF file followed by zeros: compresses to almost nothing."""
    binary = tmp_path / "payload" / "bin" / "app"
    binary.parent.mkdir(parents=True)
    shutil.copy("/usr/bin/true", binary)
    with binary.open("ab") as handle:
        handle.write(b"\0" * (megabytes << 20))
    return binary


def test_tar_bomb_stops_at_the_total_bound(tmp_path: Path) -> None:
    padded_elf(tmp_path, 80)
    archive = tmp_path / "bomb.tar.gz"
    run("tar", "-czf", archive, "-C", tmp_path / "payload", ".")
    assert archive.stat().st_size < 1 << 20
    assert_archive_error(check(archive, "total=32M"), "bomb.tar.gz", "decompression bomb")


def test_zip_bomb_member_stops_at_the_member_bound(tmp_path: Path) -> None:
    padded_elf(tmp_path, 80)
    archive = tmp_path / "bomb.zip"
    run(require_tool("zip"), "-qr", archive, ".", cwd=tmp_path / "payload")
    assert_archive_error(check(archive, "member=16M"), "bomb.zip!bin/app", "larger than 16 MiB")


def test_member_count_is_bounded(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for index in range(40):
        (folder / f"f{index}").write_text("x")
    shutil.copy("/usr/bin/true", folder / "app")
    archive = tmp_path / "many.tar"
    run("tar", "-cf", archive, "-C", folder, ".")
    assert_archive_error(check(archive, "members=20"), "many.tar", "more than 20 members")


def test_parent_and_absolute_member_names_are_refused(tmp_path: Path) -> None:
    inside = tmp_path / "work" / "inside"
    inside.mkdir(parents=True)
    shutil.copy("/usr/bin/true", tmp_path / "work" / "evil")
    archive = tmp_path / "names.tar"
    # GNU tar keeps `..` and absolute names only with -P; real hostile archives are made so.
    run("tar", "-P", "-cf", archive, "../evil", str(tmp_path / "work" / "evil"), cwd=inside)
    result = check(archive)
    assert_archive_error(result, "names.tar!../evil", "'..'")
    assert_archive_error(result, f"names.tar!{tmp_path / 'work' / 'evil'}", "absolute member name")


def test_symlink_loop_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "lib").mkdir(parents=True)
    shutil.copy("/usr/bin/true", root / "app")
    (root / "lib/a").symlink_to("b")
    (root / "lib/b").symlink_to("a")
    archive = tmp_path / "loop.tar.gz"
    run("tar", "-czf", archive, "-C", root, ".")
    assert_archive_error(check(archive), "loop.tar.gz!lib/a", "symlink loop")


@pytest.mark.parametrize("kind", ["tar.gz", "tar.xz", "zip", "deb-xz", "rpm-xz", "tar"])
def test_truncated_archive_is_an_error(kind: str, tmp_path: Path) -> None:
    archive, _member = build(kind, Path("/usr/bin/true"), tmp_path)
    data = archive.read_bytes()
    cut = len(data) // 2 if kind != "tar" else len(data) - 1024 * 9  # the tar: cut off its end-of-archive blocks
    truncated = archive.with_name("cut-" + archive.name)
    truncated.write_bytes(data[: cut - cut % 512] if kind == "tar" else data[:cut])
    result = check(truncated)
    assert result.returncode == 1
    assert f"{truncated.name}" in result.stdout and "[archive-format]" in result.stdout


def test_corrupt_compressed_data_is_an_error(tmp_path: Path) -> None:
    archive, _member = build("tar.gz", Path("/usr/bin/true"), tmp_path)
    data = bytearray(archive.read_bytes())
    for offset in range(100, min(len(data) - 8, 4000), 7):
        data[offset] ^= 0x5A
    archive.write_bytes(bytes(data))
    assert_archive_error(check(archive), archive.name, "corrupt")


def test_zstd_without_a_decoder_is_an_error_that_says_how_to_get_one(tmp_path: Path) -> None:
    """zstd is read by the default install; an install that lost its decoder fails closed and says
    how to fix the install, not the artifact."""
    archive, _member = build("tar.zst", Path("/usr/bin/true"), tmp_path)
    blocker = tmp_path / "blocker" / "backports"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('backports.zstd is not installed here')\n")
    repo = Path(__file__).resolve().parents[2]
    # A process of its own: the blocker must shadow the module before anything imports it.
    result = check(archive, env={"PYTHONPATH": f"{blocker.parent}:{repo}"}, process=True)
    assert_archive_error(result, archive.name, "no zstd decoder is installed")
    assert "fix: install linkgate with its dependencies (`pip install backports.zstd`" in result.stdout
    assert "re-download" not in result.stdout


def test_nesting_is_bounded(tmp_path: Path) -> None:
    archive, _member = build("nested", Path("/usr/bin/true"), tmp_path)
    assert_archive_error(check(archive, "depth=1"), "nested.zip!inner.tar.gz", "nested deeper than 1")


def test_malformed_limits_cannot_evaluate(tmp_path: Path) -> None:
    archive, _member = build("tar", Path("/usr/bin/true"), tmp_path)
    result = check(archive, "total=lots")
    assert result.returncode == 2
    assert "LINKGATE_ARCHIVE_LIMITS" in result.stderr


def test_an_archive_that_yields_no_elf_file_is_not_counted_as_one(tmp_path: Path) -> None:
    archive, _member = build("tar.gz", Path("/usr/bin/true"), tmp_path)
    archive.write_bytes(archive.read_bytes()[:100])  # cut inside the gzip stream: no member can be read
    result = check(archive)
    assert_archive_error(result, archive.name, "corrupt or truncated")
    assert "failed: 1 of 1 artifact(s) (0 ELF, 1 archive or member problem(s)) break policy default" in result.stderr


def test_an_empty_zip_holds_no_elf_file(tmp_path: Path) -> None:
    """An empty central directory (what `zip` cannot make but zipfile and fuzzers can) is no crash:
    unzip extracts nothing, so there is nothing to judge (exit 2 without --allow-empty)."""
    archive = tmp_path / "empty.zip"
    zipfile.ZipFile(archive, "w").close()
    result = check(archive)
    assert result.returncode == 2 and "internal error" not in result.stderr, result.stderr
    assert "no ELF artifacts found" in result.stderr
