"""The archive targets: a mutated zip, tar (.deb, .tar) or container image judged as `linkgate check`
judges a file given on the command line, and, on a sample, the same bytes unpacked by the real
installer (unzip, pip, tar, dpkg-deb, umoci) as the differential oracle.

Archive readers are reached only through the scan's entry point (linkgate.check.scan.check_candidate),
as the command line reaches them: how linkgate.archives is split up is no concern of the fuzzer.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

from linkgate.check.discover import Candidate
from linkgate.check.scan import ScanOptions, check_candidate
from linkgate.core.findings import ArtifactResult
from linkgate.elf.layouts import ELF_MAGIC
from linkgate.policy.compiled import CompiledPolicy
from linkgate.policy.loader import load_policy

# A preset with a target: the shipping pre-pass (load chains inside the archive) runs too.
POLICY = "debian-12"
# Findings that mean "this archive (or member) could not be judged": the run fails, so no false pass.
_UNREADABLE = ("archive-format", "elf-format")
_DIST_INFO = re.compile(rb"([A-Za-z0-9_.]+)-([0-9][A-Za-z0-9_.+!]*)\.dist-info/WHEEL")
_TOOL_SECONDS = 30


@cache
def _policy() -> CompiledPolicy:
    return load_policy(POLICY, Path.cwd())


def artifact_name(data: bytes) -> str:
    """The name a seed kind is given on disk: a wheel is named after its `*.dist-info` directory."""
    if data.startswith(b"!<arch>\n"):
        return "app_1.0_amd64.deb"
    wheel = _DIST_INFO.search(data)
    if wheel is not None and b"PK" in data[:4096]:
        name, version = (part.decode("ascii") for part in wheel.groups())
        return f"{name}-{version}-py3-none-any.whl"
    if data[:2] == b"PK" or b"PK\x05\x06" in data[-65557:]:
        return "app.zip"
    return "image.tar" if b"oci-layout" in data or b"manifest.json" in data else "app.tar"


def judge(data: bytes, work: Path) -> tuple[Path, tuple[ArtifactResult, ...]]:
    """The archive written under its name and checked as `linkgate check --policy debian-12 FILE` does."""
    path = work / artifact_name(data)
    for old in work.iterdir():
        _remove(old)
    path.write_bytes(data)
    options = ScanOptions(_policy(), datetime.date(2026, 1, 1), jobs=1)
    return path, check_candidate(Candidate(str(path), str(path)), options)


def run(data: bytes, work: Path) -> None:
    judge(data, work)


# --- the differential oracle -----------------------------------------------------------------


def disagreement(data: bytes, work: Path) -> str | None:
    """What the installer wrote that linkgate neither judged nor refused; None when they agree.

    Only a clean unpack counts (the tool exits 0): a pipeline whose unpack fails stops there. Only
    the dangerous direction is checked: an ELF file the installer puts on disk, in an archive
    linkgate passed without reading it. linkgate refusing more than the tool is failing closed.
    """
    path, results = judge(data, work)
    if any(f.rule in _UNREADABLE for r in results for f in r.findings):
        return None
    installed = installed_elf_files(path, work / "unpacked")
    if installed is None:
        return None
    missed = sorted(installed - judged_members(results))
    return f"{tool_of(path)} writes {', '.join(missed[:3])}; linkgate judged none of them" if missed else None


def judged_members(results: tuple[ArtifactResult, ...]) -> set[str]:
    """The members linkgate judged, as paths in the unpacked tree (nested archives left out)."""
    return {r.path.split("!", 1)[1].lstrip("/") for r in results if r.path.count("!") == 1}


def installed_elf_files(path: Path, out: Path) -> set[str] | None:
    """The ELF files the real installer writes for the archive at `path` (relative paths under
    `out`), or None when it refuses the archive."""
    unpacked = _unpack(path, out)
    return None if unpacked is None else _elf_files(unpacked)


def tool_of(path: Path) -> str:
    """The installer that unpacks the archive at `path`: pip, unzip, dpkg-deb, tar or umoci."""
    tools = {".whl": "pip", ".zip": "unzip", ".deb": "dpkg-deb"}
    return tools.get(path.suffix, "umoci" if "image" in path.name else "tar")


def _unpack(path: Path, out: Path) -> Path | None:
    """The tree the installer writes, or None when it refuses the archive."""
    out.mkdir()
    tool = tool_of(path)
    if tool == "pip":
        return _ran([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--no-compile",
                     "--disable-pip-version-check", "--target", str(out), str(path)], out)  # fmt: skip
    if tool == "unzip":
        return _ran(["unzip", "-qq", "-o", str(path), "-d", str(out)], out)
    if tool == "dpkg-deb":
        return _ran(["dpkg-deb", "-x", str(path), str(out)], out)
    if tool == "tar":
        return _ran(["tar", "-xf", str(path), "-C", str(out), "--no-same-owner", "--no-same-permissions"], out)
    return _umoci(path, out)


def _umoci(path: Path, out: Path) -> Path | None:
    layout = out / "layout"
    layout.mkdir()
    if _ran(["tar", "-xf", str(path), "-C", str(layout), "--no-same-owner"], layout) is None:
        return None
    listed = subprocess.run(["umoci", "ls", "--layout", str(layout)], capture_output=True, text=True,
                            timeout=_TOOL_SECONDS, check=False)  # fmt: skip
    tags = listed.stdout.split() if listed.returncode == 0 else []
    if len(tags) != 1:
        return None  # docker-save tars and several tags: no single unpack to compare with
    bundle = out / "bundle"
    command = ["umoci", "unpack", "--rootless", "--image", f"{layout}:{tags[0]}", str(bundle)]
    return None if _ran(command, out) is None else bundle / "rootfs"


def _ran(command: list[str], out: Path) -> Path | None:
    try:
        # No input: a zip entry marked encrypted makes unzip ask for a password.
        done = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, timeout=_TOOL_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        return None
    return out if done.returncode == 0 else None


def _elf_files(root: Path) -> set[str]:
    found = set()
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = Path(directory, name)
            if path.is_symlink() or not path.is_file():
                continue
            try:
                with path.open("rb") as handle:
                    if handle.read(4) == ELF_MAGIC:
                        found.add(str(path.relative_to(root)))
            except OSError:
                continue
    return found


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        for inner in path.rglob("*"):
            if inner.is_dir() and not inner.is_symlink():
                inner.chmod(0o700)  # a tool may write directories without write permission
        shutil.rmtree(path)
    else:
        path.unlink()
