"""The compiled-policy cache: a warm `check` skips YAML and validation, and never uses a stale policy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from linkgate.policy import compiled
from tests.conftest import run_linkgate
from tests.helpers import REPO
from tests.helpers.importtime import imported


def check(tmp_path: Path, *args: str, importtime: bool = False) -> subprocess.CompletedProcess[str]:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), **({"PYTHONPROFILEIMPORTTIME": "1"} if importtime else {})}
    return run_linkgate("check", *args, cwd=tmp_path, env=env, process=importtime)  # import times need a process


def entries(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "linkgate").glob("*.pickle"))


def test_a_cold_check_validates_and_a_warm_one_uses_the_cache(tmp_path: Path) -> None:
    """What a warm check imports is tests/core/test_startup.py's."""
    cold = check(tmp_path, "--policy", "debian-12", "/usr/bin/true", importtime=True)
    warm = check(tmp_path, "--policy", "debian-12", "/usr/bin/true", importtime=True)
    assert cold.returncode == warm.returncode == 0, warm.stderr[-2000:]
    assert {"pydantic", "yaml"} <= imported(cold)
    assert len(entries(tmp_path)) == 1


def test_an_edited_policy_is_validated_again(tmp_path: Path) -> None:
    policy = tmp_path / "linkgate.yml"
    policy.write_text('rules:\n  max-glibc: "2.99"\n')
    assert check(tmp_path, "/usr/bin/true").returncode == 0
    policy.write_text('rules:\n  max-glibc: "2.2.5"\n')
    assert check(tmp_path, "/usr/bin/true").returncode == 1
    policy.write_text('rules:\n  max-glibc: "2.2.5"\n  max-glibcc: "2.17"\n')
    broken = check(tmp_path, "/usr/bin/true")
    assert broken.returncode == 2
    assert "linkgate.yml:3: rules.max-glibcc: unknown key" in broken.stderr


def test_an_edited_extended_file_is_noticed(tmp_path: Path) -> None:
    base = tmp_path / "base.yml"
    base.write_text('rules:\n  max-glibc: "2.99"\n')
    (tmp_path / "linkgate.yml").write_text("extends: ./base.yml\n")
    assert check(tmp_path, "/usr/bin/true").returncode == 0
    base.write_text('rules:\n  max-glibc: "2.2.5"\n')
    assert check(tmp_path, "/usr/bin/true").returncode == 1


def test_a_damaged_or_foreign_entry_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "linkgate.yml").write_text('rules:\n  max-glibc: "2.2.5"\n')
    assert check(tmp_path, "/usr/bin/true").returncode == 1
    (entry,) = entries(tmp_path)
    entry.write_bytes(b"not a pickle")
    assert check(tmp_path, "/usr/bin/true").returncode == 1
    os.chmod(entry, 0o666)  # noqa: S103 - writable by others: someone else could have put code in it
    assert check(tmp_path, "/usr/bin/true").returncode == 1
    assert os.stat(entry).st_mode & 0o022 == 0  # replaced by a fresh entry of our own


def test_the_cache_can_be_turned_off(tmp_path: Path) -> None:
    result = run_linkgate(
        "check", "--policy", "default", "/usr/bin/true", cwd=tmp_path,
        env={"XDG_CACHE_HOME": str(tmp_path / "cache"), "LINKGATE_NO_CACHE": "1"},
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    assert entries(tmp_path) == []


def test_an_entry_from_other_linkgate_code_is_not_used(tmp_path: Path) -> None:
    """A pickled policy must match the classes that load it: editing or upgrading linkgate
    (any module's size or mtime) changes the key, so an old entry is never unpickled."""
    (tmp_path / "linkgate.yml").write_text('rules:\n  max-glibc: "2.2.5"\n')
    assert check(tmp_path, "/usr/bin/true").returncode == 1
    module = Path(compiled.__file__)
    info = module.stat()
    try:
        os.utime(module, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
        assert check(tmp_path, "/usr/bin/true").returncode == 1
        assert len(entries(tmp_path)) == 2
    finally:
        os.utime(module, ns=(info.st_atime_ns, info.st_mtime_ns))


def test_an_entry_renamed_onto_another_policys_name_is_not_used(tmp_path: Path) -> None:
    """Issue 21 item 13: a permissive policy's entry moved onto the entry name of `--policy default`."""
    failing = tmp_path / "app"
    failing.write_bytes(Path("/usr/bin/true").read_bytes())  # needs GLIBC_2.34: default fails it
    (tmp_path / "loose.yml").write_text('rules:\n  max-glibc: "2.99"\n')
    assert check(tmp_path, "--policy", "loose.yml", str(failing)).returncode == 0
    (loose,) = entries(tmp_path)
    assert check(tmp_path, "--policy", "default", str(failing)).returncode == 1
    (strict,) = set(entries(tmp_path)) - {loose}
    os.replace(loose, strict)
    result = check(tmp_path, "--policy", "default", str(failing))
    assert result.returncode == 1, result.stdout
    assert "loose.yml" not in result.stdout + result.stderr


def _warm_run_used_the_cache(tmp_path: Path) -> bool:
    warm = check(tmp_path, "--policy", "debian-12", "/usr/bin/true", importtime=True)
    assert warm.returncode == 0, warm.stderr[-2000:]
    return "pydantic" not in imported(warm)


def test_a_cache_directory_others_can_write_is_not_used(tmp_path: Path) -> None:
    assert check(tmp_path, "--policy", "debian-12", "/usr/bin/true").returncode == 0
    assert _warm_run_used_the_cache(tmp_path)
    directory = tmp_path / "cache" / "linkgate"
    for mode in (0o770, 0o707):
        directory.chmod(mode)
        assert not _warm_run_used_the_cache(tmp_path), oct(mode)
    directory.chmod(0o700)
    assert _warm_run_used_the_cache(tmp_path)


def test_a_cache_directory_owned_by_someone_else_is_not_used(tmp_path: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("giving a directory to another user needs root")
    assert check(tmp_path, "--policy", "debian-12", "/usr/bin/true").returncode == 0
    directory = tmp_path / "cache" / "linkgate"
    os.chown(directory, 65534, 65534)
    assert not _warm_run_used_the_cache(tmp_path)


def test_a_symlinked_cache_directory_is_not_used(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "linkgate").symlink_to(elsewhere)
    assert check(tmp_path, "--policy", "debian-12", "/usr/bin/true").returncode == 0
    assert not _warm_run_used_the_cache(tmp_path)
    assert list(elsewhere.iterdir()) == []


def test_every_directory_linkgate_creates_is_private(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "a" / "b")}
    command = [sys.executable, "-c", "import os, sys, runpy; os.umask(0); sys.argv = sys.argv[1:]; "
               "runpy.run_module('linkgate', run_name='__main__')", "linkgate", "check", "--policy", "debian-12",
               "/usr/bin/true"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env={**os.environ, **env,
                            "PYTHONPATH": str(REPO)}, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    for directory in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "linkgate"):
        assert directory.stat().st_mode & 0o777 == 0o700, directory
    (entry,) = (tmp_path / "a" / "b" / "linkgate").glob("*.pickle")
    assert entry.stat().st_mode & 0o077 == 0  # even with umask 0
