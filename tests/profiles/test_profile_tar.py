"""`profile capture --root TAR`: the documented no-install one-liner, run on this machine.

The line is taken from docs/targets.md (so the documentation cannot drift from what is
tested), run with `sh -c` as ssh would run it on a server, and its tar captured with the
values it printed; the profile must equal the live capture of the same machine. Hostile
tars must not write outside the temporary root, and a stream that is not a tar fails closed.
"""

from __future__ import annotations

import gzip
import io
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.helpers import REPO, require_tool

DOCS = REPO / "docs" / "targets.md"
_ONE_LINER = re.compile(r"<!-- capture-oneliner:start -->\s*```sh\s*ssh SERVER '(.*)' > server.tar\s*```", re.S)


def _linkgate(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {"PYTHONPATH": str(REPO), "LINKGATE_NO_CACHE": "1", "PATH": "/usr/bin:/bin"}
    argv = [sys.executable, "-m", "linkgate", *args]
    # A hang fails the test (TimeoutExpired) instead of stalling the suite.
    return subprocess.run(argv, input=stdin, capture_output=True, env=env, check=False, timeout=300)


def _without_date(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("date:"))


@pytest.fixture(scope="module")
def streamed() -> tuple[bytes, str]:
    """The one-liner's tar and what it printed on stderr."""
    for tool in ("sh", "tar", "find", "readlink", "getconf"):
        require_tool(tool)
    found = _ONE_LINER.search(DOCS.read_text(encoding="utf-8"))
    assert found is not None, "docs/targets.md lost the capture one-liner"
    run = subprocess.run(["sh", "-c", found.group(1)], capture_output=True, check=False)
    assert run.stdout, run.stderr
    return run.stdout, run.stderr.decode()


def test_the_one_liner_captures_what_a_live_capture_sees(streamed: tuple[bytes, str]) -> None:
    data, printed = streamed
    kernel, page_size, *rest = printed.splitlines()
    levels = re.findall(r"(x86-64-v[234]) \(supported", "\n".join(rest))
    isa = max(levels, default="x86-64-baseline")
    from_tar = _linkgate("profile", "capture", "--root", "-", "--kernel", kernel, "--page-size", page_size,
                         "--isa", isa, stdin=data)  # fmt: skip
    assert from_tar.returncode == 0, from_tar.stderr
    live = _linkgate("profile", "capture")
    assert live.returncode == 0, live.stderr
    assert _without_date(from_tar.stdout.decode()) == _without_date(live.stdout.decode())
    assert "machine:" in from_tar.stdout.decode()


def test_a_member_under_a_symlink_stays_inside_the_root(tmp_path: Path) -> None:
    """`lib -> /OUTSIDE` then `lib/evil.so`: the file lands in the temporary root, not in /OUTSIDE."""
    outside = tmp_path / "outside"
    outside.mkdir()
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w") as tar:
        link = tarfile.TarInfo("lib")
        link.type, link.linkname = tarfile.SYMTYPE, str(outside)
        tar.addfile(link)
        for name in ("lib/evil.so", "../escape.so"):
            member = tarfile.TarInfo(name)
            member.size = 4
            tar.addfile(member, io.BytesIO(b"\x7fELF"))
    run = _linkgate("profile", "capture", "--root", "-", stdin=stream.getvalue())
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "escape.so").exists()
    assert run.returncode == 2, run.stderr  # nothing a loader could use: fails closed


def test_a_stream_that_is_not_a_tar_fails_closed() -> None:
    run = _linkgate("profile", "capture", "--root", "-", stdin=b"not a tar at all" * 100)
    assert run.returncode == 2
    assert b"cannot read the tar" in run.stderr


@pytest.mark.parametrize("compress", [False, True])
def test_a_member_claiming_more_data_than_follows_ends_the_capture(compress: bool) -> None:
    """A header claiming 2**50 bytes of an unknown type before a few bytes: tarfile skipped it block by
    block for days; the capture refuses it at once."""
    header = tarfile.TarInfo("usr/share/huge")
    header.size, header.type = 1 << 50, b"9"
    data = header.tobuf(tarfile.GNU_FORMAT) + b"text\n" * 200
    if compress:
        data = gzip.compress(data)
    run = _linkgate("profile", "capture", "--root", "-", stdin=data)
    assert run.returncode == 2 and b"the data ends inside a member" in run.stderr, run.stderr
