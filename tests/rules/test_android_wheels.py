"""Android wheels (PEP 738 tags, `android_24_arm64_v8a`) judged by their tag with no policy, as the
`android-<level>` preset judges an APK's libraries: real wheels from PyPI (markupsafe, aiohttp, built by
cibuildwheel for API 24) and wheels of extensions linked at test time against the NDK-style stubs.

An Android extension module links libpython3.N.so (PEP 738), which the app's Python ships, and is
loaded by path by Python's importer (no DT_SONAME needed): neither is a finding.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.conftest import run_linkgate
from tests.helpers.android import build_library, load_aligns, readelf
from tests.helpers.android_packages import HERMETIC, by_rule, no_policy_check
from tests.helpers.wheels import require_wheel

REAL = ("markupsafe==3.0.4", "aiohttp==3.14.5")
PLATFORM = "android_24_arm64_v8a"
USES_24 = "struct ifaddrs;\nint getifaddrs(struct ifaddrs **);\nint f(struct ifaddrs **a){return getifaddrs(a);}\n"
EXTENSION = "pkg/_ext.cpython-313-aarch64-linux-android.so"


@pytest.mark.parametrize("spec", REAL)
def test_real_android_wheels_pass_by_their_tag(tmp_path: Path, spec: str) -> None:
    wheel = require_wheel(spec, PLATFORM, python="3.13")
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.endswith(".so")]
        for name in names:  # the oracle: readelf on each extension as unpacked
            target = tmp_path / name.replace("/", "_")
            target.write_bytes(archive.read(name))
            assert min(load_aligns(target)) >= 16384 and "libpython3.13.so" in readelf("-d", str(target))
    assert names
    code, findings = no_policy_check(wheel)
    assert code == 0 and not [f for f in findings if f["severity"] != "note"], findings
    # The default policy's Linux rules are not what an Android wheel promises: its 16 KiB pages fail 64 KiB kernels.
    result = run_linkgate("check", "--format", "json", "--policy", "default", str(wheel), env=HERMETIC)
    assert result.returncode == 1 and by_rule(json.loads(result.stdout)["findings"], "page-size")


def android_wheel(tmp_path: Path, tag: str, *, api: int = 24, page: int = 16384) -> Path:
    """pkg-1.0 with one extension linked at `api` (getifaddrs, API 24) against libpython3.13.so, tagged `tag`."""
    build = tmp_path / f"build-{api}-{page}"
    build_library(build, "arm64-v8a", api, "void Py_Initialize(void){}\n", name="libpython3.13.so")
    extension = build_library(build, "arm64-v8a", api, USES_24, name="ext.so", libs=("c", ":libpython3.13.so"),
                              page=page, soname=False)  # fmt: skip
    wheel = tmp_path / f"pkg-1.0-cp313-cp313-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(EXTENSION, extension.read_bytes())
        archive.writestr(
            "pkg-1.0.dist-info/WHEEL", f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp313-cp313-{tag}\n"
        )
        archive.writestr("pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n")
        archive.writestr("pkg-1.0.dist-info/RECORD", "")
    return wheel


def test_a_wheel_tagged_below_the_api_its_extension_needs_fails(tmp_path: Path) -> None:
    code, findings = no_policy_check(android_wheel(tmp_path, "android_24_arm64_v8a"))
    assert code == 0, findings
    code, findings = no_policy_check(android_wheel(tmp_path, "android_21_arm64_v8a"))
    (symbol,) = [f for f in by_rule(findings, "android-api") if f["symbols"]]
    assert symbol["symbols"] == ["getifaddrs"] and "API 24" in str(symbol["message"]) and code == 1
    assert symbol["path"] == f"pkg-1.0-cp313-cp313-android_21_arm64_v8a.whl!{EXTENSION}"


def test_an_android_wheel_of_the_wrong_abi_or_4k_pages_fails(tmp_path: Path) -> None:
    code, findings = no_policy_check(android_wheel(tmp_path, "android_24_x86_64"))
    (wrong,) = by_rule(findings, "wheel-tag")
    assert "built for aarch64 (tag promises x86_64)" in str(wrong["message"]) and code == 1
    code, findings = no_policy_check(android_wheel(tmp_path, "android_24_arm64_v8a", page=4096))
    assert by_rule(findings, "android-page-size") and code == 1
