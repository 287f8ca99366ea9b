"""The archive is the shipping unit: $ORIGIN, RUNPATH and symlinks resolve among its members; an
image is judged by its final filesystem (whiteouts applied); UPX-packed members by their payload;
every report format names ARCHIVE!MEMBER (SARIF: the archive as location, the member as logical one)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import run_linkgate
from tests.helpers import require_tool, upx_tools
from tests.helpers.archive_builds import oci_layout, run, tree
from tests.helpers.report_checks import assert_valid_sarif

LIB = "int foo_value(void) { return 42; }\n"
APP = "int foo_value(void);\nint main(void) { return foo_value() == 42 ? 0 : 1; }\n"


def shipped_app(tmp_path: Path, lib_dir: str = "lib", runpath: str = "$ORIGIN/../lib") -> Path:
    """A release tree: bin/app with RUNPATH `runpath`, needing libfoo.so.1, shipped in `lib_dir`."""
    gcc = require_tool("gcc")
    root = tmp_path / "release"
    (root / "bin").mkdir(parents=True)
    (root / lib_dir).mkdir(parents=True, exist_ok=True)
    (tmp_path / "foo.c").write_text(LIB)
    (tmp_path / "app.c").write_text(APP)
    real = root / lib_dir / "libfoo.so.1.0"
    run(gcc, "-shared", "-fPIC", "-Wl,-soname,libfoo.so.1", "-o", real, tmp_path / "foo.c")
    (root / lib_dir / "libfoo.so.1").symlink_to("libfoo.so.1.0")
    (tmp_path / "link").mkdir()
    (tmp_path / "link/libfoo.so").symlink_to(real)
    run(gcc, "-o", root / "bin/app", tmp_path / "app.c", f"-L{tmp_path / 'link'}", "-lfoo", f"-Wl,-rpath,{runpath}")
    return root


def target_check(archive: Path) -> subprocess.CompletedProcess[str]:
    policy = archive.parent / "target.yml"
    policy.write_text("rules: {target: debian-12}\n")
    return run_linkgate("check", "--policy", str(policy), str(archive), cwd=archive.parent)


def test_library_shipped_in_the_archive_satisfies_origin_runpath(tmp_path: Path) -> None:
    root = shipped_app(tmp_path)
    archive = tmp_path / "app.tar.gz"
    run("tar", "-czf", archive, "-C", root, ".")
    result = target_check(archive)
    assert result.returncode == 0, result.stdout + result.stderr


def test_library_missing_from_the_archive_fails(tmp_path: Path) -> None:
    root = shipped_app(tmp_path)
    archive = tmp_path / "app.tar.gz"
    run("tar", "-czf", archive, "-C", root, "--exclude", "./lib", ".")
    result = target_check(archive)
    assert result.returncode == 1
    assert "app.tar.gz!bin/app: error: [target] libfoo.so.1: cannot open shared object file" in result.stdout


def test_symlinked_directory_inside_the_archive_is_followed(tmp_path: Path) -> None:
    root = shipped_app(tmp_path, runpath="$ORIGIN/../lib64")
    (root / "lib64").symlink_to("lib")
    archive = tmp_path / "app.zip"
    run(require_tool("zip"), "-qr", "--symlinks", archive, ".", cwd=root)
    assert target_check(archive).returncode == 0


def test_a_library_on_the_host_is_not_shipped_by_the_archive(tmp_path: Path) -> None:
    """An absolute RUNPATH in a tarball points at the target, not into the archive nor the host."""
    root = shipped_app(tmp_path, runpath=str(tmp_path / "release/lib"))
    archive = tmp_path / "app.tar"
    run("tar", "-cf", archive, "-C", root, ".")
    result = target_check(archive)
    assert result.returncode == 1
    assert "libfoo.so.1: cannot open shared object file" in result.stdout


def test_image_is_judged_by_its_final_filesystem(tmp_path: Path, clean_binary: Path) -> None:
    umoci = require_tool("umoci")
    root = tree(tmp_path / "root", Path("/usr/bin/true"), "usr/bin/old-tool")
    shutil.copy(clean_binary, root / "usr/bin/app")
    layout = oci_layout(root, tmp_path)
    assert run_linkgate("check", "--policy", "default", str(layout)).returncode == 1
    # A second layer deletes the failing binary (umoci writes a .wh.old-tool whiteout).
    bundle = tmp_path / "bundle2"
    run(umoci, "unpack", "--rootless", "--image", f"{layout}:app", bundle)
    (bundle / "rootfs/usr/bin/old-tool").unlink()
    run(umoci, "repack", "--image", f"{layout}:app", bundle)
    result = run_linkgate("check", "--policy", "default", "--format", "json", "--junit", str(tmp_path / "j.xml"),
                          str(layout))  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    junit = (tmp_path / "j.xml").read_text()
    assert "oci!/usr/bin/app" in junit and "old-tool" not in junit


def test_upx_packed_member_is_judged_by_its_payload(tmp_path: Path) -> None:
    packer = upx_tools.available(lambda: upx_tools.packer("upx-4.2.4"))
    source = upx_tools.available(lambda: upx_tools.build_input("gcc-nopie"))
    packed = upx_tools.available(lambda: upx_tools.packed(packer, "lzma", source))
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    shutil.copy(packed, root / "bin/app")
    archive = tmp_path / "app.tar.xz"
    run("tar", "-cJf", archive, "-C", root, ".")
    results = {}
    for limit in ("2.28", "2.36"):
        policy = tmp_path / f"p{limit}.yml"
        policy.write_text(f'rules: {{max-glibc: "{limit}"}}\n')
        results[limit] = run_linkgate("check", "--policy", str(policy), str(archive), cwd=tmp_path)
    assert results["2.28"].returncode == 1
    assert "app.tar.xz!bin/app: error: [max-glibc]" in results["2.28"].stdout
    assert "GLIBC_2.34" in results["2.28"].stdout
    assert results["2.36"].returncode == 0, results["2.36"].stdout


def test_every_report_format_names_the_member(tmp_path: Path) -> None:
    root = tree(tmp_path / "root", Path("/usr/bin/true"))
    archive = tmp_path / "app_1.0_amd64.tar.gz"
    run("tar", "-czf", archive, "-C", root, ".")
    name = "app_1.0_amd64.tar.gz!usr/bin/app"
    for output in ("text", "json", "github", "gitlab", "junit"):
        result = run_linkgate("check", "--policy", "default", "--format", output, archive.name, cwd=tmp_path)
        assert result.returncode == 1 and name in result.stdout, output
    sarif_file = tmp_path / "out.sarif"
    run_linkgate("check", "--policy", "default", "--sarif", str(sarif_file), archive.name, cwd=tmp_path)
    document = json.loads(sarif_file.read_text())
    assert_valid_sarif(document)
    location = document["runs"][0]["results"][0]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == archive.name
    assert location["logicalLocations"][0]["name"] == "usr/bin/app"
    assert location["logicalLocations"][0]["fullyQualifiedName"] == name
