"""Real archives for the archive fuzz targets (fuzz/archive_targets.py), built with the real tools:
zip and a wheel (gcc + zip, as tests/check/test_archives_wheels.py builds one), GNU, ustar and pax tars,
an uncompressed .deb (dpkg-deb -Znone), an OCI image tar (umoci) and a docker-save tar (skopeo).

Every archive holds the same small tree: a program that needs a library shipped beside it through
RUNPATH $ORIGIN/../lib, the library under its real name with a symlink for its soname, a hard link
and a text file. Uncompressed, so that mutations reach the headers rather than a compressed stream.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.helpers import require_tool

LIBRARY = "int foo(int x) { return x + 1; }\n"
PROGRAM = "int foo(int);\nint main(void) { return foo(-1); }\n"
CONTROL = "Package: app\nVersion: 1.0\nArchitecture: amd64\nMaintainer: t <t@example.invalid>\nDescription: t\n"


def run(*command: str | Path, cwd: Path | None = None) -> None:
    subprocess.run([str(c) for c in command], check=True, cwd=cwd, capture_output=True)


def build(out: Path) -> list[Path]:
    """Every seed archive, built under `out` (reused when already there)."""
    out = out.resolve()
    done = out / "seeds"
    if done.is_dir() and any(done.iterdir()):
        return sorted(done.iterdir())
    work = out / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    root = _tree(work / "root")
    seeds = [*_tars(root, work), _zip(root, work), _wheel(work), _deb(root, work), *_images(root, work)]
    done.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        shutil.copy(seed, done / seed.name)
    return sorted(done.iterdir())


def _tree(root: Path) -> Path:
    gcc = require_tool("gcc")
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/bin").mkdir()
    (root / "src").mkdir()
    (root / "src/foo.c").write_text(LIBRARY)
    (root / "src/main.c").write_text(PROGRAM)
    library = root / "usr/lib/libfoo.so.1.0"
    run(gcc, "-shared", "-fPIC", "-O2", "-Wl,-soname,libfoo.so.1", "-o", library, root / "src/foo.c")
    (root / "usr/lib/libfoo.so.1").symlink_to("libfoo.so.1.0")
    run(gcc, "-O2", "-o", root / "usr/bin/app", root / "src/main.c", "-L", root / "usr/lib", "-l:libfoo.so.1.0",
        "-Wl,-rpath,$ORIGIN/../lib", "-Wl,--enable-new-dtags")  # fmt: skip
    os.link(root / "usr/bin/app", root / "usr/bin/app-again")
    shutil.rmtree(root / "src")
    (root / "usr/share/doc").mkdir(parents=True)
    (root / "usr/share/doc/README").write_text("not ELF\n")
    return root


def _tars(root: Path, work: Path) -> list[Path]:
    tar = require_tool("tar")
    made = []
    for layout in ("gnu", "ustar", "pax"):
        archive = work / f"app-{layout}.tar"
        run(tar, f"--format={layout}", "-cf", archive, "-C", root, "usr")
        made.append(archive)
    return made


def _zip(root: Path, work: Path) -> Path:
    archive = work / "app.zip"
    run(require_tool("zip"), "-qry", archive, "usr", cwd=root)
    return archive


def _wheel(work: Path) -> Path:
    gcc, zip_tool = require_tool("gcc"), require_tool("zip")
    root = work / "wheel"
    (root / "demo.libs").mkdir(parents=True)
    (root / "demo").mkdir()
    (root / "demo/__init__.py").write_text("")
    (work / "foo.c").write_text(LIBRARY)
    (work / "ext.c").write_text("int foo(int);\nint demo(int x) { return foo(x); }\n")
    run(gcc, "-shared", "-fPIC", "-O2", "-Wl,-soname,libfoo.so.1", "-o", root / "demo.libs/libfoo.so.1", work / "foo.c")
    run(gcc, "-shared", "-fPIC", "-O2", "-o", root / "demo/_ext.so", work / "ext.c", root / "demo.libs/libfoo.so.1",
        "-Wl,-rpath,$ORIGIN/../demo.libs")  # fmt: skip
    info = root / "demo-1.0.dist-info"
    info.mkdir()
    wheel_text = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: py3-none-any\n"
    (info / "WHEEL").write_text(wheel_text)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
    (info / "RECORD").write_text("")
    wheel = work / "demo-1.0-py3-none-any.whl"
    run(zip_tool, "-qr", wheel, ".", cwd=root)
    return wheel


def _deb(root: Path, work: Path) -> Path:
    dpkg = require_tool("dpkg-deb")
    package = work / "deb"
    shutil.copytree(root, package, symlinks=True)
    (package / "DEBIAN").mkdir()
    (package / "DEBIAN/control").write_text(CONTROL)
    archive = work / "app_1.0_amd64.deb"
    run(dpkg, "-Znone", "--root-owner-group", "--build", package, archive)
    return archive


def _images(root: Path, work: Path) -> list[Path]:
    umoci, skopeo, tar = require_tool("umoci"), require_tool("skopeo"), require_tool("tar")
    layout = work / "oci"
    run(umoci, "init", "--layout", layout)
    run(umoci, "new", "--image", f"{layout}:app")
    bundle = work / "bundle"
    run(umoci, "unpack", "--rootless", "--image", f"{layout}:app", bundle)
    shutil.copytree(root / "usr", bundle / "rootfs/usr", symlinks=True, dirs_exist_ok=True)
    run(umoci, "repack", "--image", f"{layout}:app", bundle)
    oci = work / "image-oci.tar"
    run(tar, "-cf", oci, "-C", layout, ".")
    docker = work / "image-docker.tar"
    run(skopeo, "copy", "--quiet", f"oci:{layout}:app", f"docker-archive:{docker}:app:1.0")
    return [oci, docker]
