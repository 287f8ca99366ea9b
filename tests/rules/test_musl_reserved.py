"""musl's loader answers glibc's C library names with itself, then binds every symbol by name.

ldso/dynlink.c (load_library) maps any name `lib` + c/pthread/rt/m/dl/util/xnet + `.` onto the
loader itself: libc.so.6, libpthread.so.0, librt.so.1, libdl.so.2, libm.so.6, libutil.so.1. A
glibc-built extension judged against a musl target therefore fails on its glibc-only symbols, not
on a missing libc.so.6, and its fix is a build in a musllinux image: never "auditwheel repair
copies libc.so.6" (bundling glibc into a musl wheel never works). The oracle is the real musl
loader, Debian's `musl` package: `/lib/ld-musl-x86_64.so.1 --list FILE`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_linkgate
from tests.helpers import require_tool, unavailable

MUSL_LOADER = "/lib/ld-musl-x86_64.so.1"
# glibc-only: gnu_get_libc_version, and __register_atfork (glibc's pthread_atfork calls it); cos()
# brings libm.so.6. The other reserved names are linked in by file name (glibc 2.34+ keeps them as stubs).
SOURCE = """\
#include <gnu/libc-version.h>
#include <math.h>
#include <pthread.h>
static void child(void) {}
double ext_cos(double x) { return cos(x); }
const char *ext_version(void) { pthread_atfork(0, 0, child); return gnu_get_libc_version(); }
"""
RESERVED = ("libm.so.6", "librt.so.1", "libpthread.so.0", "libdl.so.2", "libutil.so.1", "libc.so.6")
MUSL_TARGETS = ("musllinux_1_1", "musllinux_1_2", "alpine")


@pytest.fixture(scope="module")
def glibc_extension(build_dir: Path) -> Path:
    """A Python-extension-like shared object built against this machine's glibc."""
    gcc = require_tool("gcc")
    out = build_dir / "musl-reserved" / "_ext.so"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        source = out.parent / "ext.c"
        source.write_text(SOURCE)
        libraries = [f"-l:{name}" for name in RESERVED if name not in ("libm.so.6", "libc.so.6")]
        command = [gcc, "-shared", "-fPIC", "-O1", "-o", str(out), str(source), "-Wl,--no-as-needed", "-lm"]
        subprocess.run([*command, *libraries], check=True)
    return out


def musl_list(path: Path) -> tuple[dict[str, str], set[str]]:
    """What the real musl loader says: NEEDED name -> the file it maps, and the symbols it cannot bind."""
    if not os.path.exists(MUSL_LOADER):
        unavailable(f"{MUSL_LOADER} is missing (Debian package musl, see scripts/test.sh)")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LD_")}
    listed = subprocess.run([MUSL_LOADER, "--list", str(path)], capture_output=True, text=True, env=environment,
                            check=False)  # fmt: skip
    mapped = dict(re.findall(r"^\s*(\S+) => (\S+) \(", listed.stdout, re.M))
    unbound = set(re.findall(r"Error relocating [^:]+: ([^:]+): symbol not found", listed.stderr))
    return mapped, unbound


def check_json(path: Path, policy: str) -> list[dict[str, object]]:
    result = run_linkgate("check", "--policy", policy, "--format", "json", str(path), env={"LINKGATE_NO_CACHE": "1"})
    assert result.returncode == 1, result.stdout + result.stderr
    findings: list[dict[str, object]] = json.loads(result.stdout)["findings"]
    return findings


def test_the_extension_needs_every_reserved_name(glibc_extension: Path) -> None:
    mapped, unbound = musl_list(glibc_extension)
    assert {name: mapped.get(name) for name in RESERVED} == dict.fromkeys(RESERVED, MUSL_LOADER)
    assert unbound == {"__register_atfork", "gnu_get_libc_version"}


@pytest.mark.parametrize("policy", MUSL_TARGETS)
def test_a_musl_target_names_the_symbols_musls_loader_names(glibc_extension: Path, policy: str) -> None:
    _mapped, unbound = musl_list(glibc_extension)
    findings = check_json(glibc_extension, policy)
    assert [f["subject"] for f in findings] == ["symbol-binding"], findings  # no "cannot open libc.so.6"
    (binding,) = findings
    assert set(binding["symbols"]) == unbound  # type: ignore[call-overload]
    assert "symbol not found: __register_atfork, gnu_get_libc_version" in str(binding["message"])
    hint = str(binding["hint"])
    assert "musllinux image" in hint and "auditwheel" not in hint and "copies" not in hint


def test_a_musllinux_wheel_of_a_glibc_build_is_told_to_build_in_a_musllinux_image(
    glibc_extension: Path, tmp_path: Path
) -> None:
    """The wheel judged by its own tag: the same symbols, and no advice to bundle glibc's libc.so.6."""
    zip_tool = require_tool("zip")
    root = tmp_path / "wheel"
    (root / "demo").mkdir(parents=True)
    (root / "demo" / "_ext.so").write_bytes(glibc_extension.read_bytes())
    info = root / "demo-1.0.dist-info"
    info.mkdir()
    tag = "cp311-cp311-musllinux_1_2_x86_64"
    (info / "WHEEL").write_text(f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: {tag}\n")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
    (info / "RECORD").write_text("")
    wheel = tmp_path / f"demo-1.0-{tag}.whl"
    subprocess.run([zip_tool, "-qr", str(wheel), "."], cwd=root, check=True)
    # No --policy and no linkgate.yml above tmp_path: the wheel is judged by the tag it promises.
    result = run_linkgate("check", wheel.name, cwd=tmp_path, env={"LINKGATE_NO_CACHE": "1"})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "demo/_ext.so: error: [wheel-tag] symbol not found: __register_atfork, gnu_get_libc_version" in result.stdout
    assert "cannot open shared object file" not in result.stdout
    assert "musllinux image" in result.stdout
    assert "auditwheel repair" not in result.stdout and "copies libc.so.6" not in result.stdout


@pytest.mark.parametrize("policy", ["debian-12", "manylinux_2_34"])
def test_glibc_targets_are_unchanged(glibc_extension: Path, policy: str) -> None:
    """The reserved names are musl's loader's: a glibc target still looks libc.so.6 up as a library."""
    result = run_linkgate("check", "--policy", policy, str(glibc_extension), env={"LINKGATE_NO_CACHE": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
