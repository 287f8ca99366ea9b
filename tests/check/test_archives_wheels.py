"""Wheels are judged against their own platform tag when no policy is given.

Real wheels come from the package index (`pip download --only-binary=:all: --platform ...`, cached
in tests/.build/wheels); non-compliant ones are built here with gcc and zip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_linkgate
from tests.helpers import require_tool
from tests.helpers.wheels import require_wheel

# Small binary wheels: (requirement, platform given to pip), downloaded once by tests/helpers/wheels.py.
REAL = {
    "manylinux": ("MarkupSafe==3.0.2", "manylinux2014_x86_64"),
    "musllinux": ("MarkupSafe==3.0.2", "musllinux_1_2_x86_64"),
}


def real_wheel(kind: str, tmp_path: Path) -> Path:
    """A copy in `tmp_path`: no linkgate.yml above it, so the run has no policy and the wheel promises."""
    wheel = require_wheel(*REAL[kind])
    copy = tmp_path / wheel.name
    shutil.copy(wheel, copy)
    return copy


def local_wheel(tmp_path: Path, platform: str, source: str, wheel_tag: str | None = None) -> Path:
    """demo-1.0 with one C extension, tagged `platform` (the WHEEL file says `wheel_tag`, default the same)."""
    gcc, zip_tool = require_tool("gcc"), require_tool("zip")
    root = tmp_path / "wheel"
    (root / "demo").mkdir(parents=True)
    (root / "demo/__init__.py").write_text("")
    (tmp_path / "ext.c").write_text(source)
    subprocess.run([gcc, "-shared", "-fPIC", "-O2", "-o", str(root / "demo/_ext.so"), str(tmp_path / "ext.c")],
                   check=True)  # fmt: skip
    info = root / "demo-1.0.dist-info"
    info.mkdir()
    tag = wheel_tag or platform
    (info / "WHEEL").write_text(
        f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: cp311-cp311-{tag}\n"
    )
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
    (info / "RECORD").write_text("")
    wheel = tmp_path / f"demo-1.0-cp311-cp311-{platform}.whl"
    subprocess.run([zip_tool, "-qr", str(wheel), "."], cwd=root, check=True)
    return wheel


DLOPEN = "#include <dlfcn.h>\nvoid *demo(const char *n) { return dlopen(n, 0); }\n"
PLAIN = "int demo(int x) { return x + 1; }\n"


def check_wheel(wheel: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    # No linkgate.yml above tmp dirs or the cache: the run has no policy, so wheels promise.
    return run_linkgate("check", *extra, str(wheel), cwd=wheel.parent)


@pytest.mark.parametrize("kind", sorted(REAL))
def test_real_wheel_meets_its_tag(kind: str, tmp_path: Path) -> None:
    wheel = real_wheel(kind, tmp_path)
    result = check_wheel(wheel, "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["artifacts"] >= 1


def test_real_musllinux_wheel_fails_a_manylinux_tag(tmp_path: Path) -> None:
    """The same musl build renamed to promise manylinux: musl's C library is not on a glibc system."""
    wheel = real_wheel("musllinux", tmp_path)
    renamed = wheel.with_name(wheel.name.replace("musllinux_1_2_x86_64", "manylinux_2_17_x86_64"))
    wheel.rename(renamed)
    result = check_wheel(renamed)
    assert result.returncode == 1
    assert "libc.musl-x86_64.so.1" in result.stdout
    assert "(tag promises manylinux_2_17)" in result.stdout


def test_wheel_needing_more_than_its_tag_fails_naming_the_symbol(tmp_path: Path) -> None:
    wheel = local_wheel(tmp_path, "manylinux_2_17_x86_64", DLOPEN)
    result = check_wheel(wheel)
    assert result.returncode == 1, result.stdout + result.stderr
    expected = f"{wheel.name}!demo/_ext.so: error: [wheel-tag] needs GLIBC_2.34 (tag promises manylinux_2_17): dlopen"
    assert expected in result.stdout


def test_same_wheel_tagged_for_its_glibc_passes(tmp_path: Path) -> None:
    wheel = local_wheel(tmp_path, "manylinux_2_34_x86_64", DLOPEN)
    result = check_wheel(wheel)
    assert result.returncode == 0, result.stdout + result.stderr
    # The summary says what judged the wheel: its tag, not the default preset's glibc 2.28.
    assert "meet policy default (wheels: their own platform tags)" in result.stderr


def test_legacy_alias_promises_its_pep600_profile(tmp_path: Path) -> None:
    wheel = local_wheel(tmp_path, "manylinux2014_x86_64", DLOPEN)
    result = check_wheel(wheel)
    assert result.returncode == 1
    assert "needs GLIBC_2.34 (tag promises manylinux_2_17): dlopen" in result.stdout


def test_linux_tag_is_refused_with_auditwheel_fix(tmp_path: Path) -> None:
    wheel = local_wheel(tmp_path, "linux_x86_64", PLAIN)
    result = check_wheel(wheel)
    assert result.returncode == 1
    assert f"{wheel.name}: error: [wheel-tag]" in result.stdout
    assert "auditwheel repair" in result.stdout


def test_wheel_file_disagreeing_with_the_name_is_an_error(tmp_path: Path) -> None:
    wheel = local_wheel(tmp_path, "manylinux_2_17_x86_64", PLAIN, wheel_tag="linux_x86_64")
    result = check_wheel(wheel)
    assert result.returncode == 1
    assert "the WHEEL file says linux_x86_64" in result.stdout


def test_with_a_policy_the_policy_judges_wheels(tmp_path: Path) -> None:
    wheel = local_wheel(tmp_path, "manylinux_2_34_x86_64", DLOPEN)
    result = check_wheel(wheel, "--policy", "default")  # max-glibc 2.28
    assert result.returncode == 1
    assert f"{wheel.name}!demo/_ext.so: error: [max-glibc]" in result.stdout


def test_policy_override_matches_the_member_part(tmp_path: Path) -> None:
    wheel = local_wheel(tmp_path, "manylinux_2_34_x86_64", DLOPEN)
    policy = tmp_path / "linkgate.yml"
    policy.write_text(
        'rules: {max-glibc: "2.28"}\noverrides:\n  - paths: ["demo/*.so"]\n    rules: {max-glibc: "2.34"}\n'
    )
    result = run_linkgate("check", "--policy", str(policy), str(wheel), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_several_tags_promise_the_oldest(tmp_path: Path) -> None:
    """manylinux_2_17 + manylinux_2_28 (a preset of that name exists too): judged against 2_17, no refusal."""
    wheel = local_wheel(tmp_path, "manylinux_2_17_x86_64.manylinux_2_28_x86_64", DLOPEN, wheel_tag="x")
    (tmp_path / "wheel/demo-1.0.dist-info/WHEEL").write_text(
        "Wheel-Version: 1.0\nTag: cp311-cp311-manylinux_2_17_x86_64\nTag: cp311-cp311-manylinux_2_28_x86_64\n"
    )
    wheel.unlink()
    subprocess.run([require_tool("zip"), "-qr", str(wheel), "."], cwd=tmp_path / "wheel", check=True)
    result = check_wheel(wheel)
    assert result.returncode == 1
    assert "needs GLIBC_2.34 (tag promises manylinux_2_17): dlopen" in result.stdout
    assert "[wheel-tag] wheel tag" not in result.stdout  # no refusal of the 2_28 tag
    plain = local_wheel(tmp_path / "plain", "manylinux_2_17_x86_64.manylinux_2_28_x86_64", PLAIN, wheel_tag="x")
    assert "the WHEEL file says x" in check_wheel(plain).stdout
