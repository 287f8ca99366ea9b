"""Zip members told plain from their first bytes (archives/zipsniff.py) get the report the full zipfile
read gives: the same findings with the short cut on and off, on real zips and on crafted damage."""

from __future__ import annotations

import datetime
import gzip
import io
import shutil
import subprocess
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from linkgate.archives import zipread
from linkgate.archives.limits import Budget, Limits
from linkgate.archives.zipsniff import plain_member
from linkgate.check.discover import Candidate
from linkgate.check.scan import ScanOptions, check_candidate
from linkgate.core.findings import ArtifactResult
from linkgate.policy.loader import load_policy
from tests.support import require_tool

TEXT = b"class file, resource or text\n" * 40


def _tar_gz() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add("/usr/bin/true", arcname="bin/inner")
    return gzip.compress(buffer.getvalue(), mtime=0)


def jar(tmp_path: Path) -> Path:
    """A real zip written by Info-ZIP: text members, an ELF member, a nested archive, an empty file."""
    root = tmp_path / "jar"
    (root / "com" / "example").mkdir(parents=True)
    for number in range(30):
        (root / "com" / "example" / f"C{number}.class").write_bytes(TEXT + bytes([number]))
    shutil.copy("/usr/bin/true", root / "libnative.so")
    (root / "inner.tar.gz").write_bytes(_tar_gz())
    (root / "empty").write_bytes(b"")
    (root / "tiny").write_bytes(b"PK")
    archive = tmp_path / "app.jar"
    subprocess.run([require_tool("zip"), "-qr", str(archive), "."], cwd=root, check=True)
    return archive


def _python_zip(tmp_path: Path, name: str, members: list[tuple[str, bytes, int]]) -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        for member, data, method in members:
            archive.writestr(member, data, compress_type=method)
    return path


def stored_and_bzip2(tmp_path: Path) -> Path:
    true = Path("/usr/bin/true").read_bytes()
    return _python_zip(tmp_path, "methods.zip", [
        ("stored.txt", TEXT, zipfile.ZIP_STORED), ("stored-elf", true, zipfile.ZIP_STORED),
        ("bzip2-elf", true, zipfile.ZIP_BZIP2), ("bzip2.txt", TEXT, zipfile.ZIP_BZIP2),
        ("lzma.txt", TEXT, zipfile.ZIP_LZMA),
    ])  # fmt: skip


def _damaged(tmp_path: Path, name: str, damage: Callable[[bytearray, int], None]) -> Path:
    """A zip of one small text member whose bytes `damage(data, local_header_offset)` changes."""
    path = _python_zip(tmp_path, name, [("a.txt", b"small text\n", zipfile.ZIP_DEFLATED),
                                        ("b.txt", TEXT, zipfile.ZIP_DEFLATED)])  # fmt: skip
    data = bytearray(path.read_bytes())
    damage(data, 0)
    path.write_bytes(bytes(data))
    return path


def bad_crc(tmp_path: Path) -> Path:
    def flip_crc(data: bytearray, _offset: int) -> None:
        central = data.rindex(b"PK\x01\x02", 0, data.rindex(b"PK\x01\x02"))  # a.txt's directory entry
        data[central + 16] ^= 0xFF
        data[14] ^= 0xFF  # and its local header's copy

    return _damaged(tmp_path, "crc.zip", flip_crc)


def renamed_local(tmp_path: Path) -> Path:
    def rename(data: bytearray, offset: int) -> None:
        data[offset + 30] = ord("z")  # the local header's name no longer matches the directory

    return _damaged(tmp_path, "renamed.zip", rename)


def encrypted_flag(tmp_path: Path) -> Path:
    def encrypt(data: bytearray, offset: int) -> None:
        data[offset + 6] |= 1
        central = data.rindex(b"PK\x01\x02", 0, data.rindex(b"PK\x01\x02"))
        data[central + 8] |= 1

    return _damaged(tmp_path, "encrypted.zip", encrypt)


def corrupt_deflate(tmp_path: Path) -> Path:
    def garble(data: bytearray, offset: int) -> None:
        start = offset + 30 + len("a.txt")
        data[start : start + 4] = b"\xff\xff\xff\xff"

    return _damaged(tmp_path, "garbled.zip", garble)


ZIPS = [jar, stored_and_bzip2, bad_crc, renamed_local, encrypted_flag, corrupt_deflate]


def report(path: Path) -> tuple[ArtifactResult, ...]:
    options = ScanOptions(policy=load_policy("default", Path.cwd()), today=datetime.date(2026, 1, 1), jobs=1)
    return check_candidate(Candidate(str(path), str(path)), options)


@pytest.mark.parametrize("make", ZIPS, ids=lambda make: make.__name__)
def test_the_short_cut_reports_what_zipfile_reports(
    tmp_path: Path, make: Callable[[Path], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make(tmp_path)
    fast = report(path)
    monkeypatch.setattr(zipread, "plain_member", lambda *_args: False)
    assert fast == report(path)


def test_what_the_short_cut_decides(tmp_path: Path) -> None:
    """It answers only for plain members; every unusual one goes to zipfile."""
    decided: dict[str, bool] = {}
    for make in (jar, stored_and_bzip2, bad_crc, renamed_local, encrypted_flag, corrupt_deflate):
        path = make(tmp_path)
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    decided[f"{path.name}:{info.filename}"] = plain_member(archive, info, Budget(Limits()))
    assert decided["app.jar:com/example/C7.class"] and decided["methods.zip:stored.txt"]
    assert decided["app.jar:empty"] and decided["app.jar:tiny"]
    assert not decided["app.jar:libnative.so"] and not decided["app.jar:inner.tar.gz"]
    assert not decided["methods.zip:stored-elf"] and not decided["methods.zip:bzip2.txt"]
    assert not decided["methods.zip:lzma.txt"]
    for damaged in ("crc.zip", "renamed.zip", "encrypted.zip", "garbled.zip"):
        assert not decided[f"{damaged}:a.txt"] and decided[f"{damaged}:b.txt"], damaged


def test_damage_is_reported_as_zipfile_words_it(tmp_path: Path) -> None:
    for make, words in ((bad_crc, "Bad CRC-32"), (renamed_local, "differ"), (encrypted_flag, "encrypted")):
        (result,) = report(make(tmp_path))
        assert any(words in finding.message for finding in result.findings), (make.__name__, result.findings)
