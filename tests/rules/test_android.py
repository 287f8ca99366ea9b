"""Android native libraries: bionic identification, API levels, the bionic linker's refusals, 16 KB pages.

Libraries are linked at test time by Debian's clang and lld for `<abi>-linux-android<api>` against stub
bionic libraries (tests/helpers/android.py); `readelf` is the oracle for what the files hold.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_linkgate
from tests.helpers import require_tool
from tests.helpers.android import build_library, load_aligns, readelf, stub_dir

GETRANDOM = (
    "#include <stddef.h>\nint getrandom(void*, size_t, unsigned);\nint f(void){char b[4];return getrandom(b,4,0);}\n"
)
WEAK_GETRANDOM = (
    "#include <stddef.h>\nint getrandom(void*, size_t, unsigned) __attribute__((weak));\n"
    "int f(void){char b[4];return getrandom ? getrandom(b,4,0) : -1;}\n"
)
PLAIN = "int f(int x){return x + 1;}\n"
USES_LIBC = "#include <stddef.h>\nvoid *malloc(size_t);\nvoid *f(void){return malloc(4);}\n"
HERMETIC = {"LINKGATE_NO_CACHE": "1"}
# Pointers to a local array: relative relocations, which lld packs into RELR on request.
RELATIVE = "static int x[8];\nint *p[4] = {x, x + 1, x + 2, x + 3};\n"


def check(*args: str) -> tuple[int, list[dict[str, object]]]:
    result = run_linkgate("check", "--format", "json", *args, env=HERMETIC)
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    findings: list[dict[str, object]] = report["findings"]
    return result.returncode, findings


def rules_of(findings: list[dict[str, object]]) -> set[object]:
    return {f["rule"] for f in findings if f["severity"] == "error"}


def test_a_bionic_library_is_called_bionic_not_musl(tmp_path: Path) -> None:
    # No note: bionic's LIBC version node on libc.so tells it from musl, whose soname is libc.so too.
    library = build_library(tmp_path, "arm64-v8a", 21, USES_LIBC, note=False)
    result = run_linkgate("inspect", "--format", "json", str(library), env=HERMETIC)
    assert result.returncode == 0, result.stderr
    (item,) = json.loads(result.stdout)
    assert item["libc"] == "bionic"
    # The oracle: what the file needs is bionic's LIBC node of libc.so, as readelf shows it.
    versions = readelf("-V", str(library))
    assert "File: libc.so" in versions and "Name: LIBC" in versions


def test_a_musl_library_needing_libc_so_stays_musl(tmp_path: Path) -> None:
    musl_gcc = require_tool("musl-gcc")
    (tmp_path / "m.c").write_text(PLAIN + '#include <stdio.h>\nvoid g(void){puts("x");}\n')
    library = tmp_path / "libm_musl.so"
    subprocess.run([musl_gcc, "-shared", "-fPIC", "-o", str(library), str(tmp_path / "m.c")], check=True)
    result = run_linkgate("inspect", "--format", "json", str(library), env=HERMETIC)
    (item,) = json.loads(result.stdout)
    assert item["libc"] == "musl", item


@pytest.mark.parametrize(("abi", "page", "fails"), [
    ("arm64-v8a", 4096, True), ("arm64-v8a", 16384, False), ("x86_64", 4096, True), ("x86_64", 16384, False),
    ("armeabi-v7a", 4096, False), ("x86", 4096, False),
])  # fmt: skip
def test_page_size_follows_readelf(tmp_path: Path, abi: str, page: int, fails: bool) -> None:
    library = build_library(tmp_path, abi, 21, PLAIN, page=page)
    aligns = load_aligns(library)
    assert (min(aligns) < 16384) == (page == 4096)  # the oracle agrees with how it was linked
    code, findings = check("--policy", "android", str(library))
    page_findings = [f for f in findings if f["rule"] == "android-page-size"]
    assert bool(page_findings) == fails, findings
    assert code == (1 if fails else 0), findings
    if fails:
        (finding,) = page_findings
        short = [i for i, a in enumerate(aligns) if a < 16384]
        assert all(f"({aligns[i]:#x})" in str(finding["message"]) for i in short)
        assert "-Wl,-z,max-page-size=16384" in str(finding["hint"]) and "r28" in str(finding["hint"])


def test_a_symbol_above_min_sdk_is_named_with_its_level(tmp_path: Path) -> None:
    library = build_library(tmp_path, "arm64-v8a", 28, GETRANDOM)
    code, findings = check("--policy", "android-24", str(library))
    assert code == 1
    (symbol,) = [f for f in findings if f["rule"] == "android-api" and f["severity"] == "error"]
    assert symbol["symbols"] == ["getrandom"]
    assert 'cannot locate symbol "getrandom"' in str(symbol["message"])
    assert "API 28" in str(symbol["message"]) and "LIBC_P" in str(symbol["message"])
    assert "__builtin_available" in str(symbol["hint"]) and "minSdk to 28" in str(symbol["hint"])
    # Built for 28 (its note) while minSdk is 24: a warning beside the error.
    assert any(f["subject"] == "built-for" and f["severity"] == "warning" for f in findings)
    assert check("--policy", "android-28", str(library))[0] == 0


def test_a_weak_reference_is_guarded(tmp_path: Path) -> None:
    library = build_library(tmp_path, "arm64-v8a", 28, WEAK_GETRANDOM)
    _, findings = check("--policy", "android-24", str(library))
    assert "android-api" not in rules_of(findings), findings


def test_ndk_libraries_by_level_and_private_platform_libraries(tmp_path: Path) -> None:
    stubs = stub_dir("arm64-v8a", 21)
    for extra in ("libcrypto.so", "libvulkan.so"):
        build_library(tmp_path / "sys", "arm64-v8a", 21, "void x(void){}\n", name=extra, libs=())
    flags = (f"-L{tmp_path / 'sys'}", "-l:libcrypto.so", "-l:libvulkan.so")
    library = build_library(tmp_path / "app", "arm64-v8a", 21, "void x(void);\nvoid f(void){x();}\n", flags=flags)
    assert stubs.is_dir()
    _, findings = check("--policy", "android", str(library))
    by_subject = {f["subject"]: f for f in findings if f["rule"] == "android-api"}
    assert "private platform library" in str(by_subject["libcrypto.so"]["message"])
    assert "API 24" in str(by_subject["libcrypto.so"]["message"])
    assert "from API 24" in str(by_subject["libvulkan.so"]["message"])
    assert check("--policy", "android-24", str(library))[1] != []  # libcrypto stays refused


def test_libcxx_shared_must_be_shipped_beside(tmp_path: Path) -> None:
    abi_dir = tmp_path / "jni" / "arm64-v8a"
    build_library(abi_dir, "arm64-v8a", 21, "void cxx(void){}\n", name="libc++_shared.so")
    library = build_library(abi_dir, "arm64-v8a", 21, "void cxx(void);\nvoid f(void){cxx();}\n",
                            libs=("c", ":libc++_shared.so"))  # fmt: skip
    assert check("--policy", "android", str(abi_dir))[0] == 0
    lonely = tmp_path / "alone"
    lonely.mkdir()
    shutil.copy(library, lonely / library.name)
    code, findings = check("--policy", "android", str(lonely))
    (finding,) = [f for f in findings if f["subject"] == "libc++_shared.so"]
    assert "not shipped" in str(finding["message"]) and code == 1


def test_text_relocations_are_refused_from_api_23(tmp_path: Path) -> None:
    code = "int counter;\nint *f(void){return &counter;}\n"
    library = build_library(tmp_path, "x86", 21, code, flags=("-fno-pic", "-Wl,-z,notext"))
    dynamic = readelf("-dW", str(library))
    assert "TEXTREL" in dynamic
    _, at_21 = check("--policy", "android-21", str(library))
    (warning,) = [f for f in at_21 if f["rule"] == "android-linker"]
    assert warning["severity"] == "warning" and "API 23" in str(warning["message"])
    _, at_23 = check("--policy", "android-23", str(library))
    assert [f["severity"] for f in at_23 if f["rule"] == "android-linker"] == ["error"]


def test_missing_soname_path_needed_relr_and_tls(tmp_path: Path) -> None:
    nameless = build_library(tmp_path / "a", "arm64-v8a", 21, PLAIN, soname=False)
    _, findings = check("--policy", "android-23", str(nameless))
    # linker.cpp: from target 23 a library without soname is not found by DT_NEEDED; loadLibrary still works.
    assert [f["severity"] for f in findings if f["subject"] == "DT_SONAME"] == ["warning"]
    relr = build_library(tmp_path / "b", "arm64-v8a", 21, RELATIVE, flags=("-Wl,--pack-dyn-relocs=relr",))
    dynamic = readelf("-dW", str(relr))
    assert "RELR" in dynamic
    _, findings = check("--policy", "android-28", str(relr))
    assert any(f["rule"] == "android-linker" and "API 30" in str(f["message"]) for f in findings), findings
    assert not [f for f in check("--policy", "android-30", str(relr))[1] if f["rule"] == "android-linker"]
    tls = build_library(tmp_path / "c", "arm64-v8a", 29, "__thread int t;\nint *f(void){return &t;}\n",
                        flags=("-fno-emulated-tls",))  # fmt: skip
    _, findings = check("--policy", "android-24", str(tls))
    assert any(f["subject"] == "PT_TLS" and "API 29" in str(f["message"]) for f in findings), findings


def test_packed_relocations_need_api_23_and_an_executable_tls_64_bytes(tmp_path: Path) -> None:
    many = "static int x[64];\nint *p[64] = {" + ", ".join(f"x + {i}" for i in range(64)) + "};\n"
    packed = build_library(tmp_path / "a", "arm64-v8a", 21, many, flags=("-Wl,--pack-dyn-relocs=android",))
    assert "0x0000000060000011" in readelf("-dW", str(packed))  # DT_ANDROID_RELA, as readelf prints it
    _, findings = check("--policy", "android-21", str(packed))
    (finding,) = [f for f in findings if f["subject"] == "DT_ANDROID_RELA"]
    assert "needs API 23" in str(finding["message"]) and finding["severity"] == "error"
    assert not [f for f in check("--policy", "android-23", str(packed))[1] if f["rule"] == "android-linker"]
    tls = "__thread char c;\nint main(void){return c;}\n"
    program = build_library(tmp_path / "b", "arm64-v8a", 29, tls, name="prog", flags=("-fno-emulated-tls",),
                            executable=True)  # fmt: skip
    tls_line = next(line for line in readelf("-lW", str(program)).splitlines() if line.strip().startswith("TLS"))
    assert tls_line.split()[-1] == "0x1"
    _, findings = check("--policy", "android-29", str(program))
    assert any("TLS segment is underaligned: alignment is 1" in str(f["message"]) for f in findings), findings


def test_stripped_section_headers_are_refused_from_api_24(tmp_path: Path) -> None:
    library = build_library(tmp_path, "arm64-v8a", 21, PLAIN)
    data = bytearray(library.read_bytes())
    # Crafted as sstrip leaves it: e_shoff, e_shnum and e_shstrndx zero.
    struct.pack_into("<Q", data, 0x28, 0)
    struct.pack_into("<HH", data, 0x3C, 0, 0)
    stripped = tmp_path / "libstripped.so"
    stripped.write_bytes(bytes(data))
    headers = readelf("-h", str(stripped))
    assert "Number of section headers:         0" in headers
    _, findings = check("--policy", "android-24", str(stripped))
    assert any(f["subject"] == "section headers" and f["severity"] == "error" for f in findings), findings


def test_inspect_tells_the_api_level_and_no_linux_target_runs_it(tmp_path: Path) -> None:
    library = build_library(tmp_path, "arm64-v8a", 28, GETRANDOM, page=4096)
    result = run_linkgate("inspect", "--format", "json", str(library), env=HERMETIC)
    (item,) = json.loads(result.stdout)
    android = item["android"]
    assert android["abi"] == "arm64-v8a" and android["built_for"] == 28
    assert android["loads_from"] == 28 and android["needs_api"] == {"getrandom": 28}
    assert android["page_size_16k"] is False
    # libc.so is musl's soname too: no musl (or glibc) target may claim to run it.
    assert item["compatibility"]["musllinux_1_2"]["runs"] is False
    assert item["compatibility"]["alpine"]["missing"] == ["Android"]
    text = run_linkgate("inspect", str(library), env=HERMETIC).stdout
    assert "android: arm64-v8a, built for API 28, loads from API 28 (getrandom 28), 16 KB pages: no" in text


def test_without_a_policy_a_loose_android_library_gets_the_android_preset(tmp_path: Path) -> None:
    jni = tmp_path / "jniLibs" / "arm64-v8a"
    build_library(jni, "arm64-v8a", 21, "void cxx(void){}\n", name="libc++_shared.so", page=4096)
    build_library(jni, "arm64-v8a", 21, "void cxx(void);\nvoid f(void){cxx();}\n", libs=("c", ":libc++_shared.so"),
                  page=4096)  # fmt: skip
    result = run_linkgate("check", "--format", "json", str(tmp_path / "jniLibs"), cwd=tmp_path, env=HERMETIC)
    findings = json.loads(result.stdout)["findings"]
    assert sorted(f["path"] for f in findings if f["rule"] == "android-page-size") == [
        "jniLibs/arm64-v8a/libc++_shared.so", "jniLibs/arm64-v8a/libfoo.so"]  # fmt: skip
    # Judged without the files beside it, a library the app may ship is a note, not an error.
    assert [f["severity"] for f in findings if f["subject"] == "libc++_shared.so"] == ["note"]
    assert result.returncode == 1
