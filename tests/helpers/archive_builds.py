"""Shared by several test modules (moved from test_archives.py)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.helpers import require_module, require_tool

Builder = Callable[[Path, Path], Path]  # (root directory to pack, output directory) -> archive


def run(*command: str | Path, cwd: Path | None = None) -> None:
    subprocess.run([str(c) for c in command], check=True, cwd=cwd, capture_output=True)


def tree(root: Path, binary: Path, where: str = "usr/bin/app") -> Path:
    """A filesystem tree with `binary` at `where` and a text file beside it."""
    target = root / where
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(binary, target)
    (root / "usr/share/doc").mkdir(parents=True, exist_ok=True)
    (root / "usr/share/doc/README").write_text("not ELF\n")
    return root


def tar_builder(flag: str, suffix: str) -> Builder:
    def build(root: Path, out: Path) -> Path:
        require_tool("tar")
        if flag == "--zstd":
            require_tool("zstd")
        archive = out / f"app_1.0_linux_amd64{suffix}"
        run("tar", "-c", *([flag] if flag else []), "-f", archive, "-C", root, ".")
        return archive

    return build


def zip_builder(suffix: str) -> Builder:
    def build(root: Path, out: Path) -> Path:
        zip_tool = require_tool("zip")
        archive = out / f"app{suffix}"
        run(zip_tool, "-qr", "--symlinks", archive, ".", cwd=root)
        return archive

    return build


def deb_builder(compression: str) -> Builder:
    def build(root: Path, out: Path) -> Path:
        dpkg = require_tool("dpkg-deb")
        (root / "DEBIAN").mkdir(exist_ok=True)
        control = "Package: app\nVersion: 1.0\nArchitecture: amd64\nMaintainer: t <t@example.invalid>\nDescription: t\n"
        (root / "DEBIAN/control").write_text(control)
        archive = out / f"app_1.0_amd64_{compression}.deb"
        run(dpkg, f"-Z{compression}", "--root-owner-group", "--build", root, archive)
        return archive

    return build


def rpm_builder(payload: str) -> Builder:
    def build(root: Path, out: Path) -> Path:
        rpmbuild = require_tool("rpmbuild")
        top = out / "rpmbuild"
        (top / "SPECS").mkdir(parents=True, exist_ok=True)
        spec = top / "SPECS/app.spec"
        spec.write_text(
            "Name: app\nVersion: 1.0\nRelease: 1\nSummary: t\nLicense: MIT\n%description\nt\n"
            "%global debug_package %{nil}\n%global __strip /bin/true\n%global __brp_strip /bin/true\n"
            f"%install\nmkdir -p %{{buildroot}}\ncp -a {root}/usr %{{buildroot}}/\n%files\n/usr\n"
        )
        run(rpmbuild, "--quiet", "--define", f"_topdir {top}", "--define", f"_binary_payload {payload}", "-bb", spec)
        return next((top / "RPMS").rglob("*.rpm"))

    return build


def apk_builder(root: Path, out: Path) -> Path:
    """An Alpine package as abuild makes it: gzip'd control and data tars, concatenated, the control
    tar cut before its end-of-archive blocks so that the two read as one tar stream."""
    require_tool("tar")
    (out / "control").mkdir()
    (out / "control/.PKGINFO").write_text("pkgname = app\npkgver = 1.0-r0\n")
    control = out / "control.tar"
    run("tar", "--format=ustar", "-cf", control, "-C", out / "control", ".PKGINFO")
    data = control.read_bytes()
    while data.endswith(b"\0" * 512):
        data = data[:-512]
    control.write_bytes(data)
    run("tar", "--format=ustar", "-cf", out / "data.tar", "-C", root, "usr")
    run("gzip", "-n", control, out / "data.tar")
    archive = out / "app-1.0-r0.apk"
    archive.write_bytes((out / "control.tar.gz").read_bytes() + (out / "data.tar.gz").read_bytes())
    return archive


def oci_layout(root: Path, out: Path) -> Path:
    """An OCI image layout directory with one layer holding `root`."""
    umoci = require_tool("umoci")
    layout = out / "oci"
    run(umoci, "init", "--layout", layout)
    run(umoci, "new", "--image", f"{layout}:app")
    bundle = out / "bundle"
    run(umoci, "unpack", "--rootless", "--image", f"{layout}:app", bundle)
    shutil.copytree(root / "usr", bundle / "rootfs/usr", symlinks=True)
    run(umoci, "repack", "--image", f"{layout}:app", bundle)
    return layout


def oci_tar(root: Path, out: Path) -> Path:
    layout = oci_layout(root, out)
    archive = out / "image-oci.tar"
    run("tar", "-cf", archive, "-C", layout, ".")
    return archive


def docker_archive(root: Path, out: Path) -> Path:
    skopeo = require_tool("skopeo")
    layout = oci_layout(root, out)
    archive = out / "image.tar"
    run(skopeo, "copy", "-q", f"oci:{layout}:app", f"docker-archive:{archive}:app:latest")
    return archive


def nested_zip(root: Path, out: Path) -> Path:
    inner = tar_builder("-z", ".tar.gz")(root, out)
    inner = inner.rename(out / "inner.tar.gz")
    archive = out / "nested.zip"
    run(require_tool("zip"), "-qj", archive, inner)
    return archive


FORMATS: dict[str, tuple[Builder, str]] = {
    # name: (builder, how the binary is named inside)
    "tar": (tar_builder("", ".tar"), "usr/bin/app"),
    "tar.gz": (tar_builder("-z", ".tar.gz"), "usr/bin/app"),
    "tar.xz": (tar_builder("-J", ".tar.xz"), "usr/bin/app"),
    "tar.bz2": (tar_builder("-j", ".tar.bz2"), "usr/bin/app"),
    "tar.zst": (tar_builder("--zstd", ".tar.zst"), "usr/bin/app"),
    "zip": (zip_builder(".zip"), "usr/bin/app"),
    "jar": (zip_builder(".jar"), "usr/bin/app"),
    "deb-xz": (deb_builder("xz"), "usr/bin/app"),
    "deb-zstd": (deb_builder("zstd"), "usr/bin/app"),
    "deb-gzip": (deb_builder("gzip"), "usr/bin/app"),
    "rpm-xz": (rpm_builder("w6.xzdio"), "usr/bin/app"),
    "rpm-zstd": (rpm_builder("w19.zstdio"), "usr/bin/app"),
    "rpm-gzip": (rpm_builder("w9.gzdio"), "usr/bin/app"),
    "apk": (apk_builder, "usr/bin/app"),
    "oci-dir": (oci_layout, "/usr/bin/app"),
    "oci-tar": (oci_tar, "/usr/bin/app"),
    "docker-archive": (docker_archive, "/usr/bin/app"),
    "nested": (nested_zip, "inner.tar.gz!usr/bin/app"),
}


def build(kind: str, binary: Path, tmp_path: Path) -> tuple[Path, str]:
    builder, member = FORMATS[kind]
    if kind in ("tar.zst", "deb-zstd", "rpm-zstd"):
        require_module("backports.zstd")  # the default install's zstd decoder below Python 3.14
    root = tree(tmp_path / "root", binary)
    out = tmp_path / "out"
    out.mkdir()
    return builder(root, out), member
