"""Compressed files that are no archive (`config.sh.gz`, man pages) are decided from their decompressed
head without the archive readers, and only where the full reader would say the same: nothing to check.

Every file is made by the real compressors; each case is judged both ways and the results compared.
"""

from __future__ import annotations

import datetime
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from linkgate.archives.sniff import archive_kind
from linkgate.check.discover import Candidate
from linkgate.check.scan import ScanOptions, _check_archive, _holds_nothing, check_candidate
from linkgate.policy.loader import load_policy
from tests.helpers import require_tool

TEXT = "".join(f"line {number}: a shell variable, as in config.sh\n" for number in range(200))


def _compressed(tool: str, tmp_path: Path, name: str, data: bytes) -> Path:
    """`data` compressed by the real `tool` (gzip, xz, bzip2) into tmp_path/name."""
    result = subprocess.run([require_tool(tool), "-c"], input=data, capture_output=True, check=True)
    path = tmp_path / name
    path.write_bytes(result.stdout)
    return path


def _text_gz(tmp_path: Path) -> Path:
    return _compressed("gzip", tmp_path, "config.sh.gz", TEXT.encode())


def _short_gz(tmp_path: Path) -> Path:
    return _compressed("gzip", tmp_path, "short.gz", b"hi\n")


def _text_xz(tmp_path: Path) -> Path:
    return _compressed("xz", tmp_path, "notes.xz", TEXT.encode())


def _text_bz2(tmp_path: Path) -> Path:
    return _compressed("bzip2", tmp_path, "notes.bz2", TEXT.encode())


def _elf_gz(tmp_path: Path) -> Path:
    return _compressed("gzip", tmp_path, "true.gz", Path("/usr/bin/true").read_bytes())


def _tar_gz(tmp_path: Path) -> Path:
    staging = tmp_path / "staging"
    staging.mkdir()
    shutil.copy("/usr/bin/true", staging / "true")
    path = tmp_path / "app.tar.gz"
    subprocess.run([require_tool("tar"), "-C", str(staging), "-czf", str(path), "."], check=True)
    return path


def _empty_then_elf_gz(tmp_path: Path) -> Path:
    """Two gzip members, the first empty: the first stream alone holds no bytes at all."""
    first = _compressed("gzip", tmp_path, "first.gz", b"")
    second = _compressed("gzip", tmp_path, "second.gz", Path("/usr/bin/true").read_bytes())
    path = tmp_path / "joined.gz"
    path.write_bytes(first.read_bytes() + second.read_bytes())
    return path


def _truncated_gz(tmp_path: Path) -> Path:
    path = _text_gz(tmp_path)
    path.write_bytes(path.read_bytes()[:24])
    return path


def _corrupt_gz(tmp_path: Path) -> Path:
    """A valid gzip header followed by bytes that are no deflate stream."""
    path = _text_gz(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:10] + b"\xff" * (len(data) - 10))
    return path


def _short_gz_then_garbage(tmp_path: Path) -> Path:
    path = _short_gz(tmp_path)
    path.write_bytes(path.read_bytes() + b"trailing bytes that are no gzip member")
    return path


NOTHING_INSIDE = [_text_gz, _short_gz, _text_xz, _text_bz2]
FOR_THE_FULL_READER = [_elf_gz, _tar_gz, _empty_then_elf_gz, _truncated_gz, _corrupt_gz, _short_gz_then_garbage]


def _options() -> ScanOptions:
    return ScanOptions(policy=load_policy("default", Path.cwd()), today=datetime.date.today(), jobs=1)


@pytest.mark.parametrize("make", NOTHING_INSIDE + FOR_THE_FULL_READER, ids=lambda make: make.__name__.strip("_"))
def test_the_short_cut_reports_what_the_full_reader_reports(tmp_path: Path, make: Callable[[Path], Path]) -> None:
    path = make(tmp_path)
    candidate = Candidate(str(path), str(path))
    kind = archive_kind(path.read_bytes()[:512])
    assert kind is not None
    assert check_candidate(candidate, _options()) == _check_archive(candidate, kind, _options())


@pytest.mark.parametrize("make", NOTHING_INSIDE, ids=lambda make: make.__name__.strip("_"))
def test_a_compressed_file_of_text_is_decided_without_the_readers(tmp_path: Path, make: Callable[[Path], Path]) -> None:
    path = make(tmp_path)
    kind = archive_kind(path.read_bytes()[:512])
    assert kind is not None and _holds_nothing(Candidate(str(path), str(path)), kind)


@pytest.mark.parametrize("make", FOR_THE_FULL_READER, ids=lambda make: make.__name__.strip("_"))
def test_anything_else_goes_to_the_full_reader(tmp_path: Path, make: Callable[[Path], Path]) -> None:
    path = make(tmp_path)
    kind = archive_kind(path.read_bytes()[:512])
    assert kind is not None and not _holds_nothing(Candidate(str(path), str(path)), kind)
