"""Native code linkgate does not judge (Mach-O, PE) is counted by kind, in text, JSON and the step summary.

The members are real: a PE executable linked by lld-link and a Mach-O dylib linked by ld64.lld, through
Debian's clang; `file` is the oracle for what each one is. They ship in an npm-like tarball beside an
Android library, as packages that serve every platform do.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

from tests.conftest import run_linkgate
from tests.helpers import require_tool
from tests.helpers.android import build_library

MAIN = "int main(void){return 0;}\n"


def foreign_builds(directory: Path) -> dict[str, Path]:
    clang = require_tool("clang")
    require_tool("ld.lld")
    source = directory / "m.c"
    source.write_text(MAIN)
    builds = {
        "PE": (directory / "tool.exe", ["--target=x86_64-pc-windows-msvc", "-nostdlib", "-Wl,/entry:main"]),
        "Mach-O": (directory / "libtool.dylib", ["--target=arm64-apple-macos11", "-nostdlib", "-shared"]),
    }
    for output, flags in builds.values():
        subprocess.run([clang, "-fuse-ld=lld", *flags, "-o", str(output), str(source)], check=True)
    return {kind: output for kind, (output, _) in builds.items()}


def test_mach_o_and_pe_members_are_counted_not_judged(tmp_path: Path) -> None:
    built = foreign_builds(tmp_path)
    described = {kind: subprocess.run([require_tool("file", ), "-b", str(path)], capture_output=True, text=True,
                                      check=True).stdout for kind, path in built.items()}  # fmt: skip
    assert described["PE"].startswith("PE32+") and described["Mach-O"].startswith("Mach-O")
    library = build_library(tmp_path / "android", "arm64-v8a", 21, "int f(int x){return x;}\n")
    tarball = tmp_path / "pkg.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(library, "package/android/libfoo.so")
        archive.add(built["PE"], "package/win32/tool.exe")
        archive.add(built["PE"], "package/win32/tool2.exe")
        archive.add(built["Mach-O"], "package/darwin/libtool.dylib")
        archive.add(tmp_path / "m.c", "package/src/m.c")
    env = {"LINKGATE_NO_CACHE": "1"}
    result = run_linkgate("check", "--policy", "android", "--format", "json", str(tarball), env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["not_judged"] == {"Mach-O": 1, "PE": 2} and report["artifacts"] == 1
    text = run_linkgate("check", "--policy", "android", str(tarball), env=env)
    assert "3 Mach-O/PE file(s) not judged (1 Mach-O, 2 PE)" in text.stdout + text.stderr
    summary = tmp_path / "summary.md"
    github = {**env, "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp_path), "GITHUB_STEP_SUMMARY": str(summary)}
    assert run_linkgate("check", "--policy", "android", str(tarball), cwd=tmp_path, env=github).returncode == 0
    assert "3 Mach-O/PE file(s) not judged (1 Mach-O, 2 PE)" in summary.read_text()


def test_a_report_without_them_keeps_its_shape(tmp_path: Path) -> None:
    library = build_library(tmp_path, "arm64-v8a", 21, "int f(int x){return x;}\n")
    result = run_linkgate(
        "check", "--policy", "android", "--format", "json", str(library), env={"LINKGATE_NO_CACHE": "1"}
    )
    assert "not_judged" not in json.loads(result.stdout) and "not judged" not in result.stderr
