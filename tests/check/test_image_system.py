"""Container images judged by their own files (`image-target`), against the real loader.

Debian 11 and 13 roots are made from Debian's packages (scripts/debian_roots.py) and
packed as OCI images with umoci (cached in tests/.build/images). A program built on
this machine (Debian 12) is then `umoci insert`ed into an image, as a multi-stage
Dockerfile's `COPY --from=builder` does. The oracle is the image's own loader, run in
its root with chroot: `chroot ROOT /lib64/ld-linux-x86-64.so.2 --list PROGRAM`
names each missing version; in a root with no C library the kernel cannot start it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from linkgate.archives.limits import Limits
from linkgate.archives.read import Reading, read_layout
from linkgate.check.image_system import is_image, kept_text
from linkgate.profiles.capture import capture, capture_fs
from linkgate.profiles.imagefs import ImageFs
from linkgate.profiles.ldcache import cached_paths
from scripts.debian_roots import DebianRoot, debian_root
from tests.conftest import run_linkgate
from tests.helpers import require_tool, unavailable

LOADER = "/lib64/ld-linux-x86-64.so.2"
IN_ROOT = "linkgate-image-test"
# Not part of an image's filesystem: /proc may be mounted in the root by another test, and the
# loader tests (this module's and test_target_loader's) put their programs in the shared roots.
_NOT_PACKED = ("proc", "sys", "dev", "linkgate-test", IN_ROOT, f"{IN_ROOT}.cache")


def run(*command: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{command}: {result.stderr}"
    return result.stdout


@pytest.fixture(scope="session")
def roots() -> dict[str, DebianRoot]:
    if os.geteuid() != 0:
        unavailable("chroot needs root")
    for tool in ("apt-get", "apt-cache", "dpkg", "dpkg-deb", "chroot", "umoci"):
        require_tool(tool)
    return {release: debian_root(release) for release in ("11", "13")}


def base_image(root: DebianRoot, build_dir: Path) -> Path:
    """An OCI layout whose tag `app` holds the root's files (one layer), built once per root."""
    # The packed-directory set is part of the key: an image cached before a test directory was left out is rebuilt.
    contents = json.dumps([root.packages, _NOT_PACKED], sort_keys=True)
    key = hashlib.sha256(contents.encode()).hexdigest()[:16]
    layout = build_dir / "images" / f"{root.suite}-{key}"
    if not (layout / "index.json").is_file():
        building = layout.with_suffix(".building")
        shutil.rmtree(building, ignore_errors=True)
        _layer(building, root.path, True)
        building.rename(layout)
    return layout


def with_program(layout: Path | None, program: Path, out: Path) -> Path:
    """A copy of `layout` (None: an empty image) with `program` added as /usr/local/bin/app in a new layer."""
    image = out / "image"
    if layout is not None:
        shutil.copytree(layout, image)
    staging = out / "program"
    (staging / "usr/local/bin").mkdir(parents=True)
    shutil.copy(program, staging / "usr/local/bin/app")
    _layer(image, staging, layout is None)
    return image


def _layer(layout: Path, files: Path, new: bool) -> None:
    """One more layer on tag `app` of `layout` (created when `new`) holding `files` (unpack, copy, repack).

    Not `umoci insert`: umoci 0.4.7 writes its layer without the tar's end-of-archive blocks."""
    if new:
        run("umoci", "init", "--layout", layout)
        run("umoci", "new", "--image", f"{layout}:app")
    bundle = layout.parent / f"{layout.name}.bundle"
    shutil.rmtree(bundle, ignore_errors=True)
    run("umoci", "unpack", "--image", f"{layout}:app", bundle)
    skipped = {str(files): _NOT_PACKED}
    shutil.copytree(files, bundle / "rootfs", symlinks=True, dirs_exist_ok=True, ignore=lambda d, _: skipped.get(d, ()))
    run("umoci", "repack", "--image", f"{layout}:app", bundle)
    shutil.rmtree(bundle)


@pytest.fixture(scope="session")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Built here (Debian 12's glibc 2.36): `new` needs GLIBC_2.34 (every program linked against
    glibc >= 2.34) and GLIBC_2.25 (getrandom); `cxx` also GLIBCXX_3.4.29; `static` nothing at all;
    `lib` a library of its own."""
    work = tmp_path_factory.mktemp("programs")
    (work / "new.c").write_text(
        "#include <stdio.h>\n#include <sys/random.h>\n"
        'int main(void){char b[4]; getrandom(b, 4, 0); printf("%d\\n", b[0] & 1); return 0;}\n'
    )
    (work / "cxx.cc").write_text(  # string::reserve() without argument: GLIBCXX_3.4.29 (GCC 11)
        "#include <iostream>\n#include <string>\n"
        'int main(int argc, char**){ std::string s("hi"); s.reserve(); std::cout << s << argc; return 0; }\n'
    )
    (work / "static.c").write_text('#include <stdio.h>\nint main(void){puts("hi");return 0;}\n')
    run(require_tool("gcc"), "-O2", "-o", work / "new", work / "new.c")
    run(require_tool("g++"), "-O2", "-std=c++17", "-o", work / "cxx", work / "cxx.cc")
    run(require_tool("musl-gcc"), "-static", "-O2", "-o", work / "static", work / "static.c")
    # `lib` needs libdemo.so.1, which no image has (only the program is copied).
    (work / "demo.c").write_text("int demo(void) { return 1; }\n")
    (work / "lib.c").write_text("int demo(void);\nint main(void) { return demo() - 1; }\n")
    run("gcc", "-shared", "-fPIC", "-Wl,-soname,libdemo.so.1", "-o", work / "libdemo.so", work / "demo.c")
    run("gcc", "-o", work / "lib", work / "lib.c", f"-L{work}", "-ldemo")
    return {name: work / name for name in ("new", "cxx", "static", "lib")}


def loader_missing(root: Path, program: Path) -> set[str]:
    """What the root's own loader names missing for `program`: versions, and libraries not found."""
    inside = root / IN_ROOT
    shutil.rmtree(inside, ignore_errors=True)
    inside.mkdir()
    try:
        shutil.copy(program, inside / "app")
        result = subprocess.run(
            ["chroot", str(root), LOADER, "--list", f"/{IN_ROOT}/app"], capture_output=True, text=True, check=False
        )
    finally:
        shutil.rmtree(inside, ignore_errors=True)
    words = result.stdout + result.stderr
    assert "linux-vdso" in words or "not found" in words or "cannot open" in words, words  # the loader ran
    versions = re.findall(r"version [`']([^`']+)' not found", words)
    libraries = re.findall(r"^\s*(\S+) => not found", words, re.M)
    libraries += re.findall(r"error while loading shared libraries: ([^:]+): cannot open shared object", words)
    return {*versions, *libraries}


def check_image(image: Path, *options: str) -> tuple[int, set[str], list[dict[str, str]], str]:
    """`linkgate check` of the image: exit code, the image-target subjects of the program, all findings,
    and the image's system as the report names it."""
    result = run_linkgate("check", "--format", "json", *options, str(image), cwd=image.parent)
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    findings = report["findings"]
    ours = {f["subject"] for f in findings if f["rule"] == "image-target" and f["path"].endswith("!/usr/local/bin/app")}
    return result.returncode, ours, findings, ", ".join(report.get("images", ()))


@pytest.mark.parametrize("case", ["new-11", "new-13", "cxx-11", "cxx-13", "lib-13"])
def test_a_copied_program_is_judged_as_the_image_loader_judges_it(
    roots: dict[str, DebianRoot], programs: dict[str, Path], build_dir: Path, tmp_path: Path, case: str
) -> None:
    program, release = case.split("-")
    root = roots[release]
    image = with_program(base_image(root, build_dir), programs[program], tmp_path)
    expected = loader_missing(root.path, programs[program])
    code, found, findings, system = check_image(image)
    assert found == expected, findings
    assert code == (1 if expected else 0), findings
    assert system == {"11": "glibc 2.31 (Debian 11)", "13": "glibc 2.41 (Debian 13)"}[release]
    # Nothing else in the image is wrong: Debian's own files run on Debian.
    assert [f for f in findings if not f["path"].endswith("!/usr/local/bin/app")] == []


def test_the_multi_stage_failure_is_named_with_its_fix(
    roots: dict[str, DebianRoot], programs: dict[str, Path], build_dir: Path, tmp_path: Path
) -> None:
    image = with_program(base_image(roots["11"], build_dir), programs["new"], tmp_path)
    result = run_linkgate("check", str(image), cwd=tmp_path)
    assert result.returncode == 1
    line = next(line for line in result.stdout.splitlines() if "!/usr/local/bin/app:" in line)
    assert "[image-target] version 'GLIBC_2.34' not found in libc.so.6 (the image's Debian 11: glibc 2.31" in line
    assert "__libc_start_main" in line
    assert "a builder stage FROM the same base" in result.stdout
    assert "policy default (images: their own files); image: glibc 2.31 (Debian 11)" in result.stderr


def test_a_missing_library_is_named_with_the_image_fix(
    roots: dict[str, DebianRoot], programs: dict[str, Path], build_dir: Path, tmp_path: Path
) -> None:
    image = with_program(base_image(roots["13"], build_dir), programs["lib"], tmp_path)
    result = run_linkgate("check", str(image), cwd=tmp_path)
    assert result.returncode == 1
    assert "[image-target] libdemo.so.1: cannot open shared object file" in result.stdout
    assert "fix: install the package that provides libdemo.so.1 in the image's final stage" in result.stdout


def test_a_policy_is_applied_on_top(
    roots: dict[str, DebianRoot], programs: dict[str, Path], build_dir: Path, tmp_path: Path
) -> None:
    image = with_program(base_image(roots["13"], build_dir), programs["new"], tmp_path)
    code, found, findings, _ = check_image(image, "--policy", "default")
    assert found == set()  # Debian 13 runs it
    rules = {f["rule"] for f in findings if f["path"].endswith("!/usr/local/bin/app")}
    assert code == 1 and rules == {"max-glibc"}  # the default policy's limit, glibc 2.28, does not


def test_docker_save_tars_are_judged_the_same(
    roots: dict[str, DebianRoot], programs: dict[str, Path], build_dir: Path, tmp_path: Path
) -> None:
    skopeo = require_tool("skopeo")
    layout = with_program(base_image(roots["11"], build_dir), programs["new"], tmp_path)
    archive = tmp_path / "image.tar"
    run(skopeo, "copy", "-q", f"oci:{layout}:app", f"docker-archive:{archive}:app:latest")
    _, from_layout, _, _ = check_image(layout)
    code, from_tar, _, system = check_image(archive)
    assert from_tar == from_layout == loader_missing(roots["11"].path, programs["new"])
    assert code == 1 and system == "glibc 2.31 (Debian 11)"


def kernel_runs(program: Path, tmp_path: Path) -> bool:
    """Started by the kernel in a root holding nothing but the program (an image FROM scratch)."""
    root = tmp_path / "scratch-root"
    root.mkdir()
    shutil.copy(program, root / "app")
    result = subprocess.run(["chroot", str(root), "/app"], capture_output=True, text=True, check=False)
    return result.returncode == 0


@pytest.mark.parametrize("policy", [(), ("--policy", "debian-12")])
def test_an_image_with_no_c_library_fails_a_dynamic_program(
    roots: dict[str, DebianRoot], programs: dict[str, Path], tmp_path: Path, policy: tuple[str, ...]
) -> None:
    del roots  # for the root check and the tools only
    assert not kernel_runs(programs["new"], tmp_path)
    image = with_program(None, programs["new"], tmp_path)
    code, found, _, system = check_image(image, *policy)
    assert code == 1 and found == {LOADER}
    assert system == "no C library"


def test_a_static_program_runs_from_scratch(
    roots: dict[str, DebianRoot], programs: dict[str, Path], tmp_path: Path
) -> None:
    del roots
    assert kernel_runs(programs["static"], tmp_path)
    code, found, findings, system = check_image(with_program(None, programs["static"], tmp_path))
    assert (code, found, findings, system) == (0, set(), [], "no C library")


@pytest.mark.parametrize("release", ["11", "13"])
def test_capture_in_place_equals_capture_of_the_unpacked_root(
    roots: dict[str, DebianRoot], build_dir: Path, release: str
) -> None:
    root = roots[release]
    layout = base_image(root, build_dir)
    reading = Reading(Limits(), lambda _display: None, keep_text=kept_text)
    unit = read_layout(str(layout), "image", reading)
    assert is_image(unit)
    today = datetime.date(2026, 1, 1)
    in_place = capture_fs(ImageFs(unit, Limits().links), name="x", today=today)
    unpacked = capture(str(root.path), name="x", today=today)
    assert in_place == unpacked
    assert in_place.libc is not None and in_place.libc.version == {"11": "2.31", "13": "2.41"}[release]


def test_a_hostile_image_fails_closed(roots: dict[str, DebianRoot], programs: dict[str, Path], tmp_path: Path) -> None:
    """ld.so.conf including itself, a library directory that is a symlink loop, an os-release far
    larger than the text kept: judged (no libc found), never a traceback."""
    del roots
    files = tmp_path / "files"
    (files / "etc").mkdir(parents=True)
    (files / "etc/ld.so.conf").write_text("include /etc/ld.so.conf\n/lib/loop\n")
    (files / "etc/os-release").write_text("NAME=Hostile\nVERSION_ID=1\n" + "X=" + "y" * (1 << 20) + "\n")
    (files / "lib").mkdir()
    os.symlink("/lib/loop", files / "lib/loop")
    os.symlink("lib", files / "lib64")
    image = tmp_path / "image"
    _layer(image, files, True)
    code, found, _, system = check_image(with_program(image, programs["new"], tmp_path / "with"))
    assert code == 1 and found == {LOADER}
    assert system == "no C library (Hostile 1)"


def test_ld_so_cache_decides_what_an_ld_so_conf_directory_offers(
    roots: dict[str, DebianRoot], programs: dict[str, Path], tmp_path: Path
) -> None:
    """A library copied into /usr/local/lib/x86_64-linux-gnu (listed in ld.so.conf.d) is found only once
    ldconfig has put it in ld.so.cache: the Dockerfile that forgets `RUN ldconfig` ships a broken image."""
    root = tmp_path / "root"
    shutil.copytree(
        roots["13"].path, root, symlinks=True, ignore=lambda d, _: _NOT_PACKED if d == str(roots["13"].path) else ()
    )
    run("chroot", root, "/sbin/ldconfig")  # the base image's cache
    local = root / "usr/local/lib/x86_64-linux-gnu"
    local.mkdir(parents=True, exist_ok=True)
    shutil.copy(programs["lib"].parent / "libdemo.so", local / "libdemo.so.1")
    verdicts = []
    for step in ("copied", "after ldconfig"):
        if step == "after ldconfig":
            run("chroot", root, "/sbin/ldconfig")
        image = tmp_path / step.replace(" ", "-")
        _layer(image, root, True)
        _, found, _, _ = check_image(with_program(image, programs["lib"], tmp_path / f"{image.name}-app"))
        verdicts.append((found, loader_missing(root, programs["lib"])))
    assert verdicts == [({"libdemo.so.1"}, {"libdemo.so.1"}), (set(), set())]


@pytest.mark.parametrize("release", ["11", "13"])
def test_ld_so_cache_is_read_as_ldconfig_prints_it(roots: dict[str, DebianRoot], release: str) -> None:
    """Debian 11's ldconfig can still write the compat format (`-c compat`: the old table, then the new
    one), Debian 13's the new one only; `ldconfig -p` of the same file is the oracle. Cut short or
    garbled, it is no cache."""
    root = roots[release].path
    inside = f"/{IN_ROOT}.cache"
    try:
        run("chroot", root, "/sbin/ldconfig", *(["-c", "compat"] if release == "11" else []), "-C", inside)
        printed = run("chroot", root, "/sbin/ldconfig", "-p", "-C", inside)
        data = (root / inside.lstrip("/")).read_bytes()
    finally:
        (root / inside.lstrip("/")).unlink(missing_ok=True)
    assert data.startswith(b"ld.so-1.7.0" if release == "11" else b"glibc-ld.so.cache1.1")
    expected = set(re.findall(r" => (\S+)$", printed, re.M))
    assert len(expected) > 50 and cached_paths(data) == frozenset(expected)
    assert cached_paths(data[: len(data) // 2]) is None
    assert cached_paths(b"glibc-ld.so.cache1.1" + b"\xff" * 64) is None
