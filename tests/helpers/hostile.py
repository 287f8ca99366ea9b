"""Crafted archives the real tools cannot be asked to make: bytes written as the formats define them.

Each writer builds its input in a second or two and keeps it under tests/.build/hostile, so a rerun
reads it back. The formats: a zip local header, central directory and end record (APPNOTE 4.3), a
ustar header (POSIX pax "ustar Interchange Format").
"""

from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

from tests.helpers import BUILD_DIR, REPO

HOSTILE = BUILD_DIR / "hostile"
MIB = 1 << 20


def cached(name: str) -> tuple[Path, bool]:
    """(path under the cache, whether it is already there)."""
    HOSTILE.mkdir(parents=True, exist_ok=True)
    path = HOSTILE / name
    return path, path.exists()


def deflated_zeros(head: bytes, mebibytes: int) -> tuple[bytes, int, int]:
    """(raw deflate stream, CRC-32, size) of `head` followed by `mebibytes` MiB of zeros.

    A full flush restarts the compressor with no history, so every further MiB of zeros
    deflates to the same bytes: the stream is written by repeating them.
    """
    zeros = bytes(MIB)
    first = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = first.compress(head + zeros) + first.flush(zlib.Z_FULL_FLUSH)
    again = zlib.compressobj(9, zlib.DEFLATED, -15)
    repeated = again.compress(zeros) + again.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(head + zeros)
    for _ in range(mebibytes - 1):
        crc = zlib.crc32(zeros, crc)
    stream = start + repeated * (mebibytes - 1) + b"\x03\x00"  # an empty final fixed-Huffman block
    return stream, crc, len(head) + mebibytes * MIB


def _local(name: bytes, crc: int, compressed: int, size: int, method: int) -> bytes:
    return struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, method, 0, 0, crc, compressed, size, len(name), 0) + name


def _central(name: bytes, crc: int, compressed: int, size: int, *, method: int, offset: int) -> bytes:
    fixed = struct.pack(
        "<4s6H3I5H2I", b"PK\x01\x02", 0x31E, 20, 0, method, 0, 0, crc, compressed, size, len(name), 0, 0, 0, 0,
        0o100644 << 16, offset,
    )  # fmt: skip
    return fixed + name


def _end(entries: int, size: int, offset: int) -> bytes:
    return struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, entries, entries, size, offset, 0)


def zip_of_stream(path: Path, name: str, deflated: tuple[bytes, int, int], copies: int = 1) -> Path:
    """A zip whose one member is `deflated` (stream, CRC-32, size: deflated_zeros); `copies` > 1
    lists it that many times in the central directory, every entry at the same data (overlapping)."""
    stream, crc, size = deflated
    raw = name.encode()
    local = _local(raw, crc, len(stream), size, 8)
    directory = _central(raw, crc, len(stream), size, method=8, offset=0) * copies
    data = local + stream
    path.write_bytes(data + directory + _end(copies, len(directory), len(data)))
    return path


def _ustar(name: str) -> bytes:
    header = bytearray(512)
    header[0 : len(name)] = name.encode()
    for offset, value in ((100, b"0000644\x00"), (108, b"0000000\x00"), (116, b"0000000\x00")):
        header[offset : offset + 8] = value
    header[124:136] = b"00000000000\x00"  # size 0
    header[136:148] = b"00000000000\x00"
    header[148:156] = b" " * 8
    header[156:157] = b"0"
    header[257:265] = b"ustar\x0000"
    header[148:156] = b"%06o\x00 " % sum(header)
    return bytes(header)


def empty_members_tar_gz(path: Path, count: int) -> Path:
    """A gzipped ustar archive of `count` empty regular members (and the end-of-archive blocks)."""

    def blocks() -> Iterator[bytes]:
        for index in range(count):
            yield _ustar(f"f{index}")
        yield bytes(1024)

    with gzip.open(path, "wb", compresslevel=6) as out:
        batch: list[bytes] = []
        for block in blocks():
            batch.append(block)
            if len(batch) == 4096:
                out.write(b"".join(batch))
                batch.clear()
        out.write(b"".join(batch))
    return path


# The check runs under a small launcher: a child started straight from the test process would
# carry the test process's own peak RSS (Linux keeps the high-water mark across fork and exec).
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_pid, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss * 1024}")
"""


def measured_check(archive: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """`linkgate check --policy default ARCHIVE` in its own process: (result, seconds, peak RSS in bytes)."""
    command = [sys.executable, "-m", "linkgate", "check", "--policy", "default", *extra, str(archive)]
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as work:
        usage = Path(work) / "usage"
        started = time.monotonic()
        launched = [sys.executable, "-c", _LAUNCHER, str(usage), *command]
        # A hang fails the test (TimeoutExpired) instead of stalling the suite.
        result = subprocess.run(launched, capture_output=True, text=True, cwd=archive.parent, env=environment,
                                check=False, timeout=120)  # fmt: skip
        seconds = time.monotonic() - started
        code, rss = (int(field) for field in usage.read_text().split())
    return subprocess.CompletedProcess(command, code, result.stdout, result.stderr), seconds, rss
