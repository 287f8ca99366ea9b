"""The fast inflaters (ISA-L, zlib-ng) and the stdlib's zlib give the same verdicts, byte for byte;
the decoder thread is bounded, stops when its reader is dropped, and skipping copies nothing.

Python's own gzip module (what linkgate read gzip with before) is the oracle of which streams are valid.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import tarfile
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from linkgate.archives import inflate
from linkgate.archives.limits import ArchiveError, Budget, Limits
from linkgate.archives.magic import Format
from linkgate.archives.readahead import THREAD_NAME, Forward, ReadAhead, gzip_blocks, read_ahead
from tests.conftest import run_linkgate
from tests.support import REPO, require_module, require_tool

# The inflater expected, and the packages hidden to get it.
BLOCKED = {"zlib-ng": ("zlib-ng", "isal"), "zlib": ("zlib", "isal", "zlib_ng")}


def plain_tar(tmp_path: Path) -> bytes:
    """Three ELF members (one over the decoder's 1 MiB block), text and a symlink."""
    big = tmp_path / "big"
    with big.open("wb") as handle:  # a real ELF file padded past one block
        handle.write(Path("/usr/bin/ls").read_bytes())
        handle.write(bytes(range(256)) * 8192)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add("/usr/bin/true", arcname="bin/true")
        tar.add(str(big), arcname="lib/big")
        tar.add("/usr/bin/ls", arcname="bin/ls")
        info = tarfile.TarInfo("share/readme")
        text = b"not an artifact\n" * 5000
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
        link = tarfile.TarInfo("bin/alias")
        link.type, link.linkname = tarfile.SYMTYPE, "true"
        tar.addfile(link)
    return buffer.getvalue()


def _members(data: bytes) -> bytes:
    half = len(data) // 2
    return gzip.compress(data[:half], mtime=0) + gzip.compress(data[half:], mtime=0)


def _corrupt_crc(data: bytes) -> bytes:
    packed = bytearray(gzip.compress(data, mtime=0))
    packed[-8] ^= 0xFF
    return bytes(packed)


VARIANTS: dict[str, Callable[[bytes], bytes]] = {
    "one-member": lambda data: gzip.compress(data, mtime=0),
    "two-members": _members,
    "zero-padding": lambda data: gzip.compress(data, mtime=0) + b"\0" * 4096,
    "trailing-garbage": lambda data: gzip.compress(data, mtime=0) + b"garbage!",
    "truncated": lambda data: gzip.compress(data, mtime=0)[:-50_000],
    "bad-crc": _corrupt_crc,
    "not-deflate": lambda data: gzip.compress(data, mtime=0)[:10] + b"\xff" * 5000,
}


def oracle_accepts(packed: bytes) -> bool:
    try:
        gzip.decompress(packed)
    except (OSError, EOFError, zlib.error):
        return False
    return True


def check(archive: Path, blocked: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    """`linkgate check` as if the `blocked` Python packages were not installed."""
    blocker = archive.parent / ("blocker-" + "-".join(blocked))
    for name in blocked:
        (blocker / name).mkdir(parents=True, exist_ok=True)
        (blocker / name / "__init__.py").write_text(f"raise ImportError('{name} is not installed here')\n")
    env = {"PYTHONPATH": f"{blocker}:{REPO}"} if blocked else None
    return run_linkgate("check", "--policy", "default", "--format", "json", str(archive), cwd=archive.parent, env=env)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_inflater_gives_the_same_report(tmp_path: Path, variant: str) -> None:
    for module in ("isal", "zlib_ng"):
        require_module(module)
    packed = VARIANTS[variant](plain_tar(tmp_path))
    archive = tmp_path / "layer.tar.gz"
    archive.write_bytes(packed)
    reports = {}
    for used, (_, *blocked) in (("isal", ("isal",)), *BLOCKED.items()):
        result = check(archive, tuple(blocked))
        assert result.returncode == 1, result.stderr
        reports[used] = json.loads(result.stdout)
    assert reports["isal"] == reports["zlib-ng"] == reports["zlib"]
    problems = [f for f in reports["zlib"]["findings"] if f["rule"] == "archive-format"]
    assert (not problems) is oracle_accepts(packed), problems
    if not problems:  # the members were judged (the default policy refuses the host's glibc)
        checked = {f["path"] for f in reports["zlib"]["findings"]}
        assert {"layer.tar.gz!bin/true", "layer.tar.gz!lib/big", "layer.tar.gz!bin/ls"} <= checked


def test_the_fastest_installed_inflater_is_chosen(tmp_path: Path) -> None:
    require_module("isal")
    assert inflate.fastest().name == "isal"
    probe = "from linkgate.archives.inflate import fastest; print(fastest().name)"
    for expected, blocked in BLOCKED.items():
        blocker = tmp_path / expected
        for name in blocked[1:]:
            (blocker / name).mkdir(parents=True, exist_ok=True)
            (blocker / name / "__init__.py").write_text("raise ImportError\n")
        env = {"PYTHONPATH": f"{blocker}:{REPO}"}
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False)
        assert result.stdout.strip() == blocked[0], result.stderr


def test_gzip_cli_agrees_on_the_bytes(tmp_path: Path) -> None:
    """The decoded stream is gzip -dc's, for each inflater."""
    gzip_tool = require_tool("gzip")
    data = plain_tar(tmp_path)
    packed = _members(data)
    expected = subprocess.run([gzip_tool, "-dc"], input=packed, capture_output=True, check=True).stdout
    assert expected == data
    for name, module in (("isal", "isal.isal_zlib"), ("zlib-ng", "zlib_ng.zlib_ng"), ("zlib", "zlib")):
        require_module(module.split(".")[0])
        inflater = inflate.Inflater(name, module)
        reader = ReadAhead(io.BytesIO(packed), gzip_blocks(inflater), Budget(Limits()), "gzip")
        assert reader.read() == expected, name


def test_the_budget_counts_skipped_bytes_and_stops_a_bomb() -> None:
    packed = gzip.compress(b"\0" * (64 << 20), mtime=0)
    stream = read_ahead(Format.GZIP, io.BytesIO(packed), Budget(Limits(total=32 << 20)))
    assert stream is not None
    forward = Forward(stream)
    with pytest.raises(ArchiveError, match="decompression bomb"):
        forward.seek(60 << 20)


def test_skipping_moves_on_and_seeking_back_is_refused() -> None:
    data = bytes(range(256)) * 20000
    stream = read_ahead(Format.GZIP, io.BytesIO(gzip.compress(data, mtime=0)), Budget(Limits()))
    assert stream is not None
    forward = Forward(stream)
    assert forward.seek(3_000_000) == 3_000_000
    assert forward.read(10) == data[3_000_000:3_000_010]
    with pytest.raises(tarfile.StreamError):
        forward.seek(5)
    assert forward.seek(10**9) == len(data)  # the end: no further
    assert forward.read(1) == b""


def _decoders() -> int:
    return sum(thread.name == THREAD_NAME for thread in threading.enumerate())


def _settle(count: int) -> int:
    """The number of decoder threads once it falls to `count` (other tests' dropped readers end within 50 ms)."""
    deadline = time.monotonic() + 10
    while _decoders() > count and time.monotonic() < deadline:
        time.sleep(0.05)
    return _decoders()


def test_a_dropped_reader_stops_its_thread() -> None:
    assert _settle(0) == 0
    packed = gzip.compress(bytes(range(256)) * 400_000, mtime=0)  # 100 MB: far more than is read ahead
    stream = read_ahead(Format.GZIP, io.BytesIO(packed), Budget(Limits()))
    assert stream is not None
    assert len(stream.read(100)) == 100
    assert _decoders() == 0  # a short read is decoded inline
    assert len(stream.read(3 << 20)) == 3 << 20  # past the inline share: a thread decodes the rest
    assert _decoders() == 1
    del stream
    assert _settle(0) == 0
