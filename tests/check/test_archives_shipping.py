"""An archive is judged exactly as its unpacked tree: load chains, inherited DT_RPATH, $ORIGIN, symlinks,
shipped libraries satisfying allowed-needed, musl binding by the exports of shipped libraries.

The oracle is the unpacked tree itself (checked by linkgate on disk, and the real glibc loader on a
built chain): every member's findings in place must equal those of the same file unpacked. Real
wheels come from tests/helpers/wheels.py (pinned, cached under tests/.build/wheels).
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from linkgate.check.discover import discover
from linkgate.check.scan import ScanOptions
from linkgate.policy.loader import load_policy
from tests.conftest import run_linkgate
from tests.helpers import require_tool, unavailable
from tests.helpers.scan import check_all
from tests.helpers.wheels import require_wheel, unpack

GLIBC_LOADER = "/lib64/ld-linux-x86-64.so.2"
MUSL = "musllinux_1_2_x86_64"
ALLOWED = '["libc.so.6", "libm.so.6", "libpthread.so.0", "librt.so.1", "ld-linux-*", "libstdc++.so.6", "libgcc_s.so.1"]'

Verdicts = dict[str, list[tuple[str, str, str, str, tuple[str, ...]]]]


def verdicts(path: Path, policy: str) -> Verdicts:
    """Member path (below the tree, or after `ARCHIVE!`) -> its findings, as comparable tuples."""
    options = ScanOptions(policy=load_policy(policy, Path.cwd()), today=datetime.date.today())
    found: Verdicts = {}
    for result in check_all(discover([str(path)]), options):
        if result is None:
            continue
        key = result.path.split("!", 1)[1] if "!" in result.path else os.path.relpath(result.path, path)
        found[key] = sorted((f.rule, f.subject, f.severity.value, f.message, f.symbols) for f in result.findings)
    return found


def assert_same_in_place(archive: Path, tree: Path, policy: str) -> Verdicts:
    in_place, unpacked = verdicts(archive, policy), verdicts(tree, policy)
    assert in_place, f"{archive.name}: no ELF member judged"
    assert in_place == unpacked
    return in_place


def rezip(wheel: Path, destination: Path, leave_out: str) -> Path:
    """A copy of `wheel` without the members whose names start with `leave_out`."""
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in source.infolist():
            if not info.filename.startswith(leave_out):
                copy.writestr(info, source.read(info))
    return destination


# --- a chain built here: program (DT_RPATH) -> libA (none) -> libB, found only by the program's RPATH ---


def build_chain(root: Path) -> None:
    """bin/prog RPATH $ORIGIN/../lib:$ORIGIN/../deps; lib/libA.so.1 -> libA.so.1.0 (a symlink); deps -> vendor
    (a symlinked directory) holding libB.so, which only libA needs and libA has no search path of its own."""
    gcc = require_tool("gcc")
    src = root.parent / "src"
    src.mkdir()
    for directory in ("bin", "lib", "vendor"):
        (root / directory).mkdir(parents=True)
    (src / "b.c").write_text("int b(void) { return 1; }\n")
    (src / "a.c").write_text("int b(void);\nint a(void) { return b() + 1; }\n")
    (src / "prog.c").write_text("int a(void);\nint main(void) { return a() - 2; }\n")
    libb, liba = root / "vendor/libB.so", root / "lib/libA.so.1.0"
    subprocess.run([gcc, "-shared", "-fPIC", "-Wl,-soname,libB.so", "-o", libb, src / "b.c"], check=True)
    subprocess.run([gcc, "-shared", "-fPIC", "-Wl,-soname,libA.so.1", "-o", liba, src / "a.c", libb], check=True)
    (root / "lib/libA.so.1").symlink_to("libA.so.1.0")
    (root / "deps").symlink_to("vendor")
    rpath = "-Wl,--disable-new-dtags,-rpath,$ORIGIN/../lib:$ORIGIN/../deps"
    subprocess.run([gcc, "-o", root / "bin/prog", src / "prog.c", liba, f"-Wl,-rpath-link,{root / 'vendor'}", rpath],
                   check=True)  # fmt: skip


def tar_of(root: Path, destination: Path, *members: str) -> Path:
    subprocess.run([require_tool("tar"), "-C", str(root), "-czf", str(destination), *members], check=True)
    return destination


def test_inherited_rpath_chain_among_members_is_judged_as_unpacked(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    build_chain(root)
    if not os.path.exists(GLIBC_LOADER):
        unavailable(f"{GLIBC_LOADER} is missing (Debian package libc6)")
    listed = subprocess.run([GLIBC_LOADER, "--list", str(root / "bin/prog")], capture_output=True, text=True,
                            env={"PATH": os.environ["PATH"]}, check=False)  # fmt: skip
    assert f"libB.so => {root}/bin/../deps/libB.so" in listed.stdout, "the real loader finds libB by prog's RPATH"
    archive = tar_of(root, tmp_path / "app.tar.gz", "bin", "lib", "vendor", "deps")
    found = assert_same_in_place(archive, root, "debian-12")
    assert set(found) == {"bin/prog", "lib/libA.so.1.0", "vendor/libB.so"}
    assert found["lib/libA.so.1.0"] == [], "libB is found through the RPATH libA inherits from prog"
    assert found["bin/prog"] == []


def test_library_without_its_loader_misses_what_only_the_loader_finds(tmp_path: Path) -> None:
    """Without bin/prog, libA is loaded first: its own (empty) search path cannot find libB, in place or unpacked."""
    root = tmp_path / "tree"
    build_chain(root)
    shutil.rmtree(root / "bin")
    archive = tar_of(root, tmp_path / "lib.tar.gz", "lib", "vendor", "deps")
    found = assert_same_in_place(archive, root, "debian-12")
    assert [f[1] for f in found["lib/libA.so.1.0"]] == ["libB.so"]


def test_symlink_loop_among_chain_members_fails_closed(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    build_chain(root)
    (root / "loop").symlink_to("loop")
    archive = tar_of(root, tmp_path / "loop.tar.gz", "bin", "lib", "vendor", "deps", "loop")
    result = run_linkgate("check", "--policy", "debian-12", str(archive), cwd=tmp_path)
    assert result.returncode == 1
    assert f"{archive.name}!loop: error: [archive-format]" in result.stdout
    assert "symlink loop" in result.stdout


# --- real wheels: inherited RPATH into PKG.libs, allowed-needed, musl binding ---------------------------


@pytest.mark.parametrize(
    ("spec", "platform", "policy"),
    [
        ("pillow==12.0.0", None, "manylinux_2_17"),  # _imagingft -> libfreetype -> libbrotlicommon: inherited
        ("psutil==7.0.0", None, "alpine"),  # glibc build on musl: binding by name to what is mapped
        ("numpy==2.2.6", MUSL, "musllinux_1_2"),  # musl wheel, openblas & gfortran shipped in numpy.libs
    ],
)
def test_real_wheel_in_place_equals_unpacked(spec: str, platform: str | None, policy: str, tmp_path: Path) -> None:
    wheel = require_wheel(spec, platform) if platform else require_wheel(spec)
    tree = unpack(wheel, tmp_path / "tree")
    found = assert_same_in_place(wheel, tree, policy)
    assert len(found) >= 2


def test_wheel_missing_a_library_of_an_inherited_chain_fails_like_the_tree(tmp_path: Path) -> None:
    wheel = require_wheel("pillow==12.0.0")
    with zipfile.ZipFile(wheel) as archive:
        removed = min((n for n in archive.namelist() if "/libbrotlicommon" in n), key=len)
    broken = rezip(wheel, tmp_path / wheel.name, removed)
    tree = unpack(broken, tmp_path / "tree")
    found = assert_same_in_place(broken, tree, "manylinux_2_17")
    missing = [f for fs in found.values() for f in fs if f[1] == removed.rsplit("/", 1)[1]]
    assert missing, "the member that loads it through the inherited RPATH misses it"
    assert any("loaded by" in f[3] and "via RPATH $ORIGIN/../" in f[3] for f in missing), missing


def test_shipped_library_satisfies_allowed_needed_inside_a_wheel(tmp_path: Path) -> None:
    wheel = require_wheel("pyzmq==26.4.0")
    policy = tmp_path / "allowed.yml"
    policy.write_text(f"rules:\n  allowed-needed: {ALLOWED}\n")
    found = verdicts(wheel, str(policy))
    assert found and all(f == [] for f in found.values()), found
    # Without pyzmq.libs/ the extensions need what nothing ships: findings, with the wheel repair hint.
    bare = rezip(wheel, tmp_path / wheel.name, "pyzmq.libs/")
    result = run_linkgate("check", "--policy", str(policy), "--format", "json", str(bare), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert findings and all(f["rule"] == "allowed-needed" and "auditwheel repair" in f["hint"] for f in findings)
    assert all(f["path"].startswith(f"{bare.name}!zmq/") for f in findings)


def test_musllinux_wheel_judged_by_its_tag_with_shipped_libraries(tmp_path: Path) -> None:
    """numpy's musl wheel needs libscipy_openblas and libgfortran from numpy.libs/, bound by name under musl."""
    wheel = require_wheel("numpy==2.2.6", MUSL)
    copy = tmp_path / wheel.name
    shutil.copy(wheel, copy)
    result = run_linkgate("check", "--format", "json", str(copy), cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert json.loads(result.stdout)["artifacts"] >= 2
    # The same wheel without numpy.libs/: its extensions need what the tag's system lacks.
    (tmp_path / "bare").mkdir()
    bare = rezip(wheel, tmp_path / "bare" / wheel.name, "numpy.libs/")
    result = run_linkgate("check", str(bare), cwd=bare.parent)
    assert result.returncode == 1
    assert "(tag promises musllinux_1_2)" in result.stdout
    assert "auditwheel repair" in result.stdout


def test_glibc_build_tagged_musllinux_fails_its_tag(tmp_path: Path) -> None:
    wheel = require_wheel("psutil==7.0.0")
    wrong = tmp_path / wheel.name.replace(wheel.name.split("-")[-1], "musllinux_1_2_x86_64.whl")
    shutil.copy(wheel, wrong)
    result = run_linkgate("check", str(wrong), cwd=tmp_path)
    assert result.returncode == 1
    # musl's loader maps libc.so.6 (a reserved name) to itself, then cannot bind glibc-only symbols.
    assert "symbol not found: __sched_cpualloc" in result.stdout
    assert "(tag promises musllinux_1_2)" in result.stdout


def test_tar_members_named_in_image_form_keep_symlinked_directories(tmp_path: Path) -> None:
    """The tar written by Python's tarfile (no ./ prefix) and by GNU tar (./ prefix) judge alike."""
    root = tmp_path / "tree"
    build_chain(root)
    gnu = tar_of(root, tmp_path / "gnu.tar.gz", ".")
    python = tmp_path / "py.tar"
    with tarfile.open(python, "w") as archive:
        for name in ("bin", "lib", "vendor", "deps"):
            archive.add(root / name, arcname=name)
    assert verdicts(gnu, "debian-12") == verdicts(python, "debian-12") == verdicts(root, "debian-12")


def test_hardening_of_members_is_read_from_their_bytes_as_unpacked(tmp_path: Path) -> None:
    """The hardening reader takes a path: members reach it through an anonymous memory file, same verdicts."""
    root = tmp_path / "tree"
    build_chain(root)
    archive = tar_of(root, tmp_path / "app.tar.gz", "bin", "lib", "vendor", "deps")
    found = assert_same_in_place(archive, root, "hardened")
    assert any(f[0] == "hardening" for fs in found.values() for f in fs), found
