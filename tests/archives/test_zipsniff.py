"""Zip members told plain from their first bytes (archives/zipsniff.py) get the report the full zipfile
read gives: the same findings with the short cut on and off, on real zips and on crafted damage, and
the same first bytes as zipfile's own read."""

from __future__ import annotations

import datetime
import gzip
import io
import shutil
import struct
import subprocess
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from linkgate.archives import containers
from linkgate.archives.sniff import HEAD
from linkgate.archives.zipsniff import first_bytes
from linkgate.check.discover import Candidate
from linkgate.check.scan import ScanOptions, check_candidate
from linkgate.core.findings import ArtifactResult
from linkgate.policy.loader import load_policy
from tests.helpers import require_tool

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
    monkeypatch.setattr(containers, "first_bytes", lambda *_args: None)
    assert fast == report(path)


def _zipfile_head(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """What linkgate's read of the head through zipfile gives; None when that read raises."""
    try:
        with archive.open(info) as member:
            head = member.read(HEAD)
            return head + member.read(HEAD - len(head)) if len(head) < HEAD else head
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError):
        return None


def test_what_the_short_cut_decides(tmp_path: Path) -> None:
    """It answers for stored and deflated members it can read as zipfile does; every unusual one goes to zipfile."""
    decided: dict[str, bytes | None] = {}
    for make in ZIPS:
        path = make(tmp_path)
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    head = decided[f"{path.name}:{info.filename}"] = first_bytes(archive, info)
                    assert head is None or head == _zipfile_head(archive, info), info.filename
    assert decided["app.jar:com/example/C7.class"] and decided["methods.zip:stored.txt"]
    assert decided["app.jar:empty"] == b"" and decided["app.jar:tiny"] == b"PK"
    assert decided["app.jar:libnative.so"] and decided["app.jar:inner.tar.gz"]  # the caller sniffs these and reads on
    assert decided["methods.zip:bzip2.txt"] is None and decided["methods.zip:lzma.txt"] is None
    for damaged in ("crc.zip", "renamed.zip", "encrypted.zip", "garbled.zip"):
        assert decided[f"{damaged}:a.txt"] is None and decided[f"{damaged}:b.txt"], damaged


def test_a_first_read_that_needs_a_second_goes_to_zipfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A deflated member whose first 4 KiB of compressed bytes inflate to fewer than HEAD bytes: zipfile reads
    on, and so does linkgate."""
    encoder = zlib.compressobj(6, zlib.DEFLATED, -15)
    padding = b"\x00\x00\x00\xff\xff" * 1000  # empty stored blocks: compressed bytes that give no data
    body = padding + encoder.compress(TEXT) + encoder.flush()
    name, crc = b"padded.txt", zlib.crc32(TEXT)
    sizes = struct.pack("<3L", crc, len(body), len(TEXT))
    local = b"PK\x03\x04" + struct.pack("<5H", 20, 0, 8, 0, 0) + sizes + struct.pack("<2H", len(name), 0) + name
    central = (
        b"PK\x01\x02" + struct.pack("<6H", 20, 20, 0, 8, 0, 0) + sizes
        + struct.pack("<5H2L", len(name), 0, 0, 0, 0, 0, 0) + name
    )  # fmt: skip
    end = b"PK\x05\x06" + struct.pack("<4H2LH", 0, 0, 1, 1, len(central), len(local) + len(body), 0)
    path = tmp_path / "padded.zip"
    path.write_bytes(local + body + central + end)
    with zipfile.ZipFile(path) as archive:
        (info,) = archive.infolist()
        assert len(padding) > 4096 and _zipfile_head(archive, info) == TEXT[:HEAD]
        assert first_bytes(archive, info) is None
    fast = report(path)
    monkeypatch.setattr(containers, "first_bytes", lambda *_args: None)
    assert fast == report(path)


def test_damage_is_reported_as_zipfile_words_it(tmp_path: Path) -> None:
    for make, words in ((bad_crc, "Bad CRC-32"), (renamed_local, "differ"), (encrypted_flag, "encrypted")):
        (result,) = report(make(tmp_path))
        assert any(words in finding.message for finding in result.findings), (make.__name__, result.findings)
