"""gzip and zstd decoded ahead of the tar walk (archives/readahead.py) with each inflater (archives/inflate.py):
the same report byte for byte whichever is installed; Python's gzip module (what linkgate read gzip with
before) the oracle of which streams are valid and of its words for a bad one; the decoder thread bounded,
stopped when its reader is dropped; skipping copies nothing and is charged to the budget.
"""

from __future__ import annotations

import gzip
import io
import struct
import subprocess
import sys
import tarfile
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from linkgate.archives import inflate, readahead
from linkgate.archives.limits import ArchiveError, BoundExceededError, Budget, Limits
from linkgate.archives.readahead import THREAD_NAME, ReadAhead, _zstd_module, decompressed, gzip_blocks
from linkgate.archives.sniff import Format
from linkgate.archives.streams import Forward, Prefixed
from tests.conftest import run_linkgate
from tests.helpers import REPO, require_module, require_tool

INFLATERS = {"isal": "isal.isal_zlib", "zlib-ng": "zlib_ng.zlib_ng", "zlib": "zlib"}


def plain_tar() -> bytes:
    """Three ELF members (one over the decoder's 1 MiB block and the 2 MiB decoded inline), text, a symlink."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add("/usr/bin/true", arcname="bin/true")
        big = Path("/usr/bin/ls").read_bytes() + bytes(range(256)) * 12_000
        info = tarfile.TarInfo("lib/big")
        info.size = len(big)
        tar.addfile(info, io.BytesIO(big))
        tar.add("/usr/bin/ls", arcname="bin/ls")
        text = b"not an artifact\n" * 5000
        info = tarfile.TarInfo("share/readme")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
        link = tarfile.TarInfo("bin/alias")
        link.type, link.linkname = tarfile.SYMTYPE, "true"
        tar.addfile(link)
    return buffer.getvalue()


def _members(data: bytes) -> bytes:
    third = len(data) // 3
    return gzip.compress(data[:third], mtime=0) + gzip.compress(data[third:], mtime=0)


def _trailer_flip(offset: int) -> Callable[[bytes], bytes]:
    def flip(data: bytes) -> bytes:
        packed = bytearray(gzip.compress(data, mtime=0))
        packed[offset] ^= 0x01
        return bytes(packed)

    return flip


def _with_header(flags: int) -> Callable[[bytes], bytes]:
    """A gzip member whose header has the optional fields `flags` names (extra, name, comment, header CRC)."""

    def build(data: bytes) -> bytes:
        header = bytearray(b"\x1f\x8b\x08" + bytes([flags]) + b"\0\0\0\0\0\xff")
        if flags & 4:
            header += struct.pack("<H", 5) + b"extra"
        if flags & 8:
            header += b"layer.tar\0"
        if flags & 16:
            header += b"a comment\0"
        if flags & 2:
            header += b"\x12\x34"
        encoder = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = encoder.compress(data) + encoder.flush()
        return bytes(header) + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)

    return build


def _flip(offset: int) -> Callable[[bytes], bytes]:
    def flip(data: bytes) -> bytes:
        packed = bytearray(gzip.compress(data, mtime=0))
        packed[offset] ^= 0x40
        return bytes(packed)

    return flip


VARIANTS: dict[str, Callable[[bytes], bytes]] = {
    "one-member": lambda data: gzip.compress(data, mtime=0),
    "two-members": _members,
    "zero-padding": lambda data: gzip.compress(data, mtime=0) + b"\0" * 4096,
    "trailing-garbage": lambda data: gzip.compress(data, mtime=0) + b"garbage!",
    "trailing-magic": lambda data: gzip.compress(data, mtime=0) + b"\x1f\x8b\x08",
    "truncated": lambda data: gzip.compress(data, mtime=0)[:-50_000],
    "truncated-trailer": lambda data: gzip.compress(data, mtime=0)[:-3],
    "bad-crc": _trailer_flip(-8),
    "bad-length": _trailer_flip(-4),
    "bad-method": lambda data: b"\x1f\x8b\x07" + gzip.compress(data, mtime=0)[3:],
    "header-fields": _with_header(2 | 4 | 8 | 16),
    "deflate-damage": _flip(5000),
    "not-deflate": lambda data: gzip.compress(data, mtime=0)[:10] + b"\xff" * 5000,
}


def roomy() -> Budget:
    """A budget no test stream here comes near (the bomb test sets its own)."""
    return Budget(Limits(), 1 << 30)


def oracle(packed: bytes) -> str | None:
    """Python's gzip module's words for what is wrong with `packed`; None when it reads it whole."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(packed)) as reader:
            reader.read()
    except EOFError:
        return "the compressed stream ends early"
    except zlib.error:
        return "invalid deflate data"  # each library words these its own way: one wording for all
    except OSError as error:
        return str(error)
    return None


def _use(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    require_module(INFLATERS[name].split(".")[0])
    monkeypatch.setattr(inflate, "_chosen", [inflate.Inflater(name, INFLATERS[name])])


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_inflater_gives_the_same_report(tmp_path: Path, variant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    packed = VARIANTS[variant](plain_tar())
    archive = tmp_path / "layer.tar.gz"
    archive.write_bytes(packed)
    reports = {}
    for name in INFLATERS:
        _use(monkeypatch, name)
        result = run_linkgate("check", "--policy", "default", "--format", "json", str(archive), cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        reports[name] = result.stdout
    assert reports["isal"] == reports["zlib-ng"] == reports["zlib"]
    expected = oracle(packed)
    text = run_linkgate("check", "--policy", "default", str(archive), cwd=tmp_path).stdout
    if expected is None:  # the members were judged (the default policy refuses the host's glibc)
        assert "archive-format" not in text
        assert all(f"layer.tar.gz!{member}:" in text for member in ("bin/true", "lib/big", "bin/ls"))
    else:
        assert f"archive cannot be checked: gzip data is corrupt or truncated: {expected}\n" in text


def test_the_fastest_installed_inflater_is_chosen(tmp_path: Path) -> None:
    for module in ("isal", "zlib_ng"):
        require_module(module)
    probe = "from linkgate.archives.inflate import fastest; print(fastest().name)"
    for expected, blocked in (("isal", ()), ("zlib-ng", ("isal",)), ("zlib", ("isal", "zlib_ng"))):
        blocker = tmp_path / expected
        for name in blocked:
            (blocker / name).mkdir(parents=True, exist_ok=True)
            (blocker / name / "__init__.py").write_text("raise ImportError('not installed here')\n")
        env = {"PYTHONPATH": f"{blocker}:{REPO}"}
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False)
        assert result.stdout.strip() == expected, result.stderr


@pytest.mark.parametrize("name", sorted(INFLATERS))
def test_gzip_cli_agrees_on_the_bytes(name: str) -> None:
    """The decoded stream is gzip -dc's, for each inflater, read in odd pieces."""
    gzip_tool = require_tool("gzip")
    require_module(INFLATERS[name].split(".")[0])
    data = plain_tar()
    packed = _members(data) + b"\0" * 100
    expected = subprocess.run([gzip_tool, "-dc"], input=packed, capture_output=True, check=True).stdout
    assert expected == data
    reader = ReadAhead(io.BytesIO(packed), gzip_blocks(inflate.Inflater(name, INFLATERS[name])), roomy(), "g")
    pieces = []
    while piece := reader.read(123_457):
        pieces.append(piece)
    assert b"".join(pieces) == expected


def test_zstd_is_read_as_zstdfile_reads_it() -> None:
    zstd = _zstd_module()
    data = plain_tar()
    for packed in (zstd.compress(data), zstd.compress(data[:100]) + zstd.compress(data[100:])):
        stream = decompressed(Format.ZSTD, Prefixed(packed[:512], io.BytesIO(packed[512:])), roomy())
        assert stream.read() == data
    truncated = decompressed(Format.ZSTD, io.BytesIO(zstd.compress(data)[:-10]), roomy())
    with pytest.raises(ArchiveError, match="zstd data is corrupt or truncated: the compressed stream ends early"):
        truncated.read()


def test_the_budget_counts_skipped_bytes_and_stops_a_bomb() -> None:
    packed = gzip.compress(b"\0" * (64 << 20), mtime=0)
    forward = Forward(decompressed(Format.GZIP, io.BytesIO(packed), Budget(Limits(total=32 << 20))))
    with pytest.raises(BoundExceededError, match="decompression bomb"):
        forward.seek(60 << 20)


def test_skipping_moves_on_and_seeking_back_is_refused() -> None:
    data = bytes(range(256)) * 20_000
    budget = roomy()
    forward = Forward(decompressed(Format.GZIP, io.BytesIO(gzip.compress(data, mtime=0)), budget))
    assert forward.seek(3_000_000) == 3_000_000
    assert forward.read(10) == data[3_000_000:3_000_010]
    with pytest.raises(tarfile.StreamError):
        forward.seek(5)
    assert forward.seek(10**9) == len(data)  # the end: no further
    assert forward.read(1) == b""
    assert budget.produced == len(data)


class _Failing:
    """A source whose read fails after `good` bytes (an outer archive found truncated)."""

    def __init__(self, good: bytes) -> None:
        self._good = io.BytesIO(good)

    def read(self, size: int = -1, /) -> bytes:
        data = self._good.read(size)
        if not data:
            raise ArchiveError("ar archive ends before its member does (truncated)")
        return data

    def close(self) -> None:
        pass


def test_a_source_error_surfaces_where_the_bytes_are_needed_and_stays() -> None:
    data = bytes(range(256)) * 40_000  # 10 MB: decoded by the thread after the first 2 MiB
    packed = gzip.compress(data, mtime=0)
    stream = decompressed(Format.GZIP, _Failing(packed[: len(packed) // 2]), roomy())
    got = b""
    with pytest.raises(ArchiveError, match="ar archive ends before its member does"):
        while piece := stream.read(1 << 16):
            got += piece
    assert len(got) > 4 << 20 and data.startswith(got)  # every byte before the cut was handed over first
    with pytest.raises(ArchiveError, match="ar archive ends"):  # never a quiet end after a failure
        stream.read(1)


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
    stream = decompressed(Format.GZIP, io.BytesIO(packed), roomy())
    assert len(stream.read(100)) == 100
    assert _decoders() == 0  # a short read is decoded inline
    assert len(stream.read(3 << 20)) == 3 << 20  # past the inline share: a thread decodes the rest
    assert _decoders() == 1
    del stream
    assert _settle(0) == 0


def test_memory_in_flight_is_bounded() -> None:
    """However far ahead the thread may decode, it holds at most _AHEAD_OUT blocks the reader has not taken."""
    packed = gzip.compress(b"\0" * (200 << 20), mtime=0)
    stream = decompressed(Format.GZIP, io.BytesIO(packed), roomy())
    assert isinstance(stream, ReadAhead)
    stream.read(3 << 20)
    time.sleep(0.5)  # the thread fills its queue and waits
    queued = stream._blocks
    assert queued is not None and queued.qsize() <= readahead._AHEAD_OUT
    stream.close()


def test_headers_split_across_chunks_are_read() -> None:
    """A member header, trailer or zero padding cut anywhere by the source's reads is still read."""
    data = b"tiny member\n" * 3
    packed = _with_header(2 | 4 | 8 | 16)(data) + b"\0" * 3 + gzip.compress(data, mtime=0)
    for size in (1, 2, 3, 7):
        assert decompressed(Format.GZIP, _Trickle(packed, size), roomy()).read() == data * 2


class _Trickle:
    """A source that gives at most `size` bytes a read."""

    def __init__(self, data: bytes, size: int) -> None:
        self._data = io.BytesIO(data)
        self._size = size

    def read(self, size: int = -1, /) -> bytes:
        return self._data.read(self._size if size < 0 else min(size, self._size))

    def close(self) -> None:
        pass


def _page_in_a_tar(page: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add("/usr/bin/true", arcname="bin/true")
        info = tarfile.TarInfo("share/man/page.1.gz")
        info.size = len(page)
        tar.addfile(info, io.BytesIO(page))
    return buffer.getvalue()


def _head_oracle(page: bytes) -> bool:
    """Whether GzipFile's read of the head (what linkgate read of a compressed file that is no archive) fails."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(page)) as reader:
            reader.read(512)
    except (OSError, EOFError, zlib.error):
        return True
    return False


def test_a_compressed_file_read_for_its_head_is_judged_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A man page damaged past its head is no problem, as before, with every inflater (ISA-L notices
    some damage earlier than zlib: the head is decoded by zlib whichever is installed)."""
    text = b"".join(b"line %d of a manual page, some words\n" % number for number in range(4000))
    page = gzip.compress(text, mtime=0)
    damaged = [page[:cut] for cut in (5, 12, 300, 3000, len(page) - 4)]
    for number, where in enumerate((3, 11, 40, 200, 900, 2500, 5000, 9000, len(page) - 6)):
        flipped = bytearray(page)
        flipped[where] ^= 1 << (number % 8)
        damaged.append(bytes(flipped))
    # Eight bytes overwritten where ISA-L, unlike zlib, refuses the data within GzipFile's first read.
    for where, garbage in ((1662, "ba0d246ac04c81b1"), (1389, "3dc666f45bdeaa2c"), (831, "097dfa8701e9232f")):
        damaged.append(page[:where] + bytes.fromhex(garbage) + page[where + 8 :])
    for number, member in enumerate(damaged):
        archive = tmp_path / f"pages{number}.tar"
        archive.write_bytes(_page_in_a_tar(member))
        reports = set()
        for name in INFLATERS:
            _use(monkeypatch, name)
            result = run_linkgate("check", "--policy", "default", "--format", "json", str(archive), cwd=tmp_path)
            reports.add(result.stdout)
        assert len(reports) == 1, number
        assert ("page.1.gz" in reports.pop()) is _head_oracle(member), number
