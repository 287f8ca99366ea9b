"""Differential: linkgate's verdict on an archive equals its verdict on what the installer unpacks.

Each archive is unpacked by the tool that installs it (unzip, tar -x, dpkg-deb -x, pip install
--target, skopeo + umoci unpack), then both are checked with `--policy default`. The verdicts
compared: the exit code, and the set of (member path, rule) of the error findings, paths taken
relative to the archive's root and to the unpacked tree. Findings only an archive can have
(archive-format, wheel-tag) are left out: the unpacked tree has no archive left to judge.

Failing binary: a copy of /usr/bin/true (GLIBC_2.34); clean binary: a static musl build.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_linkgate
from tests.helpers import require_tool
from tests.helpers.archives import docker_archive, make_wheel, pip_target, real_zip, tar_with, umoci_rootfs, zip_with

FAILING = Path("/usr/bin/true")
# Judged on the archive only: its readability, a wheel's tags, and an image on its own files (an
# unpacked tree is no image: it has no system of its own to run on).
ARCHIVE_ONLY = ("archive-format", "wheel-tag", "image-target")

# (archive built in tmp_path from the clean binary, the unpacked tree)
Case = Callable[[Path, Path], tuple[Path, Path]]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    musl = require_tool("musl-gcc")
    work = tmp_path_factory.mktemp("clean")
    (work / "hello.c").write_text('#include <stdio.h>\nint main(void){puts("hi");return 0;}\n')
    subprocess.run([musl, "-static", "-O2", "-o", str(work / "hello"), str(work / "hello.c")], check=True)
    return work / "hello"


def unzipped(archive: Path, tmp_path: Path) -> Path:
    out = tmp_path / "unpacked"
    result = subprocess.run(
        [require_tool("unzip"), "-q", str(archive), "-d", str(out)], capture_output=True, check=False
    )
    assert result.returncode in (0, 1), result.stderr  # 1: warnings (bytes in front of the zip)
    return out


def untarred(archive: Path, tmp_path: Path) -> Path:
    out = tmp_path / "unpacked"
    out.mkdir()
    subprocess.run([require_tool("tar"), "-xf", str(archive), "-C", str(out)], check=True)
    return out


def plain_zip(tmp_path: Path, clean: Path) -> tuple[Path, Path]:
    members = {"bin/app": (FAILING.read_bytes(), 0o100755), "bin/ok": (clean.read_bytes(), 0o100755)}
    archive = zip_with(tmp_path / "plain.zip", members)
    return archive, unzipped(archive, tmp_path)


def stubbed_zip(tmp_path: Path, clean: Path) -> tuple[Path, Path]:
    archive = real_zip(tmp_path, FAILING)
    with zipfile.ZipFile(archive, "a") as adding:
        adding.write(clean, "bin/ok")
    stubbed = tmp_path / "installer.sh"
    stubbed.write_bytes(b"#!/bin/sh\nexit 0\n" + archive.read_bytes())
    return stubbed, unzipped(stubbed, tmp_path)


def tar_of_a_self_extracting_zip(tmp_path: Path, clean: Path) -> tuple[Path, Path]:
    archive = real_zip(tmp_path, FAILING)
    members = {"bin/installer": clean.read_bytes() + archive.read_bytes(), "bin/ok": clean.read_bytes()}
    release = tar_with(tmp_path / "release.tar", members)
    return release, untarred(release, tmp_path)


def directory_bits_zip(tmp_path: Path, clean: Path) -> tuple[Path, Path]:
    members = {"bin/app": (FAILING.read_bytes(), stat.S_IFDIR | 0o755), "bin/ok": (clean.read_bytes(), 0o100755)}
    archive = zip_with(tmp_path / "bits.zip", members)
    return archive, unzipped(archive, tmp_path)


def v7_tar(tmp_path: Path, clean: Path) -> tuple[Path, Path]:
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    shutil.copy(FAILING, root / "bin/app")
    shutil.copy(clean, root / "bin/ok")
    archive = tmp_path / "old.tar.gz"
    subprocess.run([require_tool("tar"), "--format=v7", "-czf", str(archive), "-C", str(root), "."], check=True)
    return archive, untarred(archive, tmp_path)


def manifest_tarball(tmp_path: Path, clean: Path) -> tuple[Path, Path]:
    members = {"manifest.json": b'[{"Layers": []}]', "bin/app": FAILING.read_bytes(), "bin/ok": clean.read_bytes()}
    archive = tar_with(tmp_path / "release.tar", members)
    return archive, untarred(archive, tmp_path)


def deb(tmp_path: Path, clean: Path) -> tuple[Path, Path]:
    dpkg = require_tool("dpkg-deb")
    root = tmp_path / "root"
    (root / "usr/bin").mkdir(parents=True)
    (root / "DEBIAN").mkdir()
    shutil.copy(FAILING, root / "usr/bin/app")
    shutil.copy(clean, root / "usr/bin/ok")
    control = "Package: app\nVersion: 1.0\nArchitecture: amd64\nMaintainer: t <t@example.invalid>\nDescription: t\n"
    (root / "DEBIAN/control").write_text(control)
    archive = tmp_path / "app_1.0_amd64.deb"
    subprocess.run([dpkg, "-Zxz", "--root-owner-group", "--build", str(root), str(archive)], check=True,
                   capture_output=True)  # fmt: skip
    out = tmp_path / "unpacked"
    subprocess.run([dpkg, "-x", str(archive), str(out)], check=True)
    return archive, out


def wheel_with_link_bits(tmp_path: Path, clean: Path) -> tuple[Path, Path]:
    members = {
        "demo/.libs/libfoo.so.1": (FAILING.read_bytes(), stat.S_IFLNK | 0o777),
        "bin/tool.dist-info/WHEEL": (FAILING.read_bytes(), 0o100755),
        "demo/_ok.so": (clean.read_bytes(), 0o100755),
    }
    built = make_wheel(tmp_path, "cp311-cp311-manylinux_2_17_x86_64", members)
    return built, pip_target(built, tmp_path)


def image_whiteout_through_link(tmp_path: Path, clean: Path) -> tuple[Path, Path]:
    lower: dict[str, bytes | str] = {
        "usr/lib/libfoo.so.1": FAILING.read_bytes(),
        "usr/lib/libbar.so.1": FAILING.read_bytes(),
        "lib": "link:usr/lib",
        "usr/bin/app": clean.read_bytes(),
    }
    upper: dict[str, bytes | str] = {"lib/.wh.libfoo.so.1": b"", "usr/bin/again": "hard:usr/bin/app"}
    image = docker_archive(tmp_path / "image.tar", [lower, upper])
    return image, umoci_rootfs(image, tmp_path)


CASES: dict[str, Case] = {
    "zip": plain_zip,
    "zip-behind-a-stub": stubbed_zip,
    "zip-directory-bits": directory_bits_zip,
    "tar-holding-a-self-extracting-zip": tar_of_a_self_extracting_zip,
    "tar-v7-gz": v7_tar,
    "tar-with-manifest": manifest_tarball,
    "deb": deb,
    "wheel-mode-bits-and-metadata-names": wheel_with_link_bits,
    "image-whiteout-and-hard-link": image_whiteout_through_link,
}


def verdict(target: Path, root_prefix: str) -> tuple[int, set[tuple[str, str]]]:
    """(exit code, {(path relative to the root, rule)} of the error findings) of `--policy default`."""
    result = run_linkgate("check", "--policy", "default", target.name, cwd=target.parent)
    assert "internal error" not in result.stderr, result.stderr
    errors = set()
    for line in result.stdout.splitlines():
        path, marker, rest = line.partition(": error: [")
        rule = rest.split("]", 1)[0]
        if marker and rule not in ARCHIVE_ONLY:
            errors.add((path.removeprefix(root_prefix).lstrip("/"), rule))
    return result.returncode, errors


@pytest.mark.parametrize("case", sorted(CASES))
def test_archive_verdict_equals_the_unpacked_tree_verdict(case: str, tmp_path: Path, clean: Path) -> None:
    archive, unpacked = CASES[case](tmp_path, clean)
    on_archive = verdict(archive, f"{archive.name}!")
    on_tree = verdict(unpacked, f"{unpacked.name}/")
    assert on_tree[1], "the unpacked tree must fail somewhere, or the comparison proves nothing"
    assert on_archive == on_tree
