"""The compiled-policy cache: a warm `check` skips YAML and validation, and never uses a stale policy."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from linkgate.policy import compiled
from tests.conftest import run_linkgate


def check(tmp_path: Path, *args: str, importtime: bool = False) -> subprocess.CompletedProcess[str]:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), **({"PYTHONPROFILEIMPORTTIME": "1"} if importtime else {})}
    return run_linkgate("check", *args, cwd=tmp_path, env=env)


def imported(result: subprocess.CompletedProcess[str]) -> set[str]:
    """Module names from -X importtime lines on stderr."""
    return {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}


def entries(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "linkgate").glob("*.pickle"))


def test_a_cold_check_validates_and_a_warm_one_uses_the_cache(tmp_path: Path) -> None:
    """What a warm check imports is tests/test_startup.py's."""
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
