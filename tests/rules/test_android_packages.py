"""Android packages judged in place: .apk, .aab, .aar, and an AAR inside an npm tarball.

APKs are assembled with zip and aligned with Debian's zipalign (10.0, which predates `-P 16`: its `-p`
page mode aligns stored .so files to 4 KiB, and its verbose check prints each member's data offset, from
which 16 KiB alignment is computed the same way); one is signed with apksigner. The real package is
jsc-android from the npm registry (`npm pack`, cached in tests/.build/npm): an AAR of 4 KiB-aligned
libraries for four ABIs.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import tarfile
import zipfile
from pathlib import Path

from tests.conftest import run_linkgate
from tests.helpers import require_tool
from tests.helpers.android import build_library, load_aligns
from tests.helpers.android_packages import HERMETIC, apk, by_rule, no_policy_check, npm_package

CODE = "#include <stddef.h>\nvoid *malloc(size_t);\nvoid *f(void){return malloc(4);}\n"
JSC = "jsc-android@294992.0.0"


def zip_offsets(apk: Path) -> dict[str, int]:
    """member -> data offset, as zipalign's verbose check prints them (the oracle for zip alignment)."""
    out = subprocess.run([require_tool("zipalign"), "-c", "-v", "-p", "4", str(apk)], capture_output=True,
                         text=True, check=False).stdout  # fmt: skip
    return {m.group(2): int(m.group(1)) for m in re.finditer(r"^\s*(\d+) (\S+) \(", out, re.MULTILINE)}


def zipalign_ok(apk: Path) -> bool:
    return subprocess.run([require_tool("zipalign"), "-c", "-p", "4", str(apk)], capture_output=True,
                          check=False).returncode == 0  # fmt: skip


def libraries(tmp_path: Path, abis: dict[str, tuple[str, ...]], page: int = 16384) -> dict[str, Path]:
    """member path -> a library built for that ABI (`lib/<abi>/<name>`)."""
    built: dict[str, Path] = {}
    for abi, names in abis.items():
        for name in names:
            built[f"lib/{abi}/{name}"] = build_library(tmp_path / "build" / abi, abi, 21, CODE, name=name, page=page)
    return built


def zipaligned(source: Path) -> Path:
    aligned = source.with_name("aligned-" + source.name)
    subprocess.run([require_tool("zipalign"), "-f", "-p", "4", str(source), str(aligned)], check=True)
    return aligned


def test_a_raw_apk_fails_zip_alignment_as_zipalign_does(tmp_path: Path) -> None:
    raw = apk(tmp_path, libraries(tmp_path, {"arm64-v8a": ("libfoo.so",)}))
    assert not zipalign_ok(raw)
    code, findings = no_policy_check(raw)
    (finding,) = by_rule(findings, "android-package")
    offset = zip_offsets(raw)["lib/arm64-v8a/libfoo.so"]
    assert finding["path"] == f"{raw.name}!lib/arm64-v8a/libfoo.so" and f"{offset:#x}" in str(finding["message"])
    assert "zipalign -P 16" in str(finding["hint"]) and code == 1
    assert not by_rule(findings, "android-page-size")  # the ELF alignment is a separate matter, and fine here


def test_zipalign_page_mode_is_4k_enough_for_32_bit_not_for_arm64(tmp_path: Path) -> None:
    built = libraries(tmp_path, {"arm64-v8a": ("libfoo.so",), "armeabi-v7a": ("libfoo.so",)})
    aligned = zipaligned(apk(tmp_path, built))
    assert zipalign_ok(aligned)
    offsets = zip_offsets(aligned)
    code, findings = no_policy_check(aligned)
    flagged = {str(f["path"]).rsplit("!", 1)[1] for f in by_rule(findings, "android-package")}
    expected = {m for m in built if offsets[m] % (16384 if "arm64" in m else 4096)}
    assert flagged == expected, (offsets, findings)
    assert "lib/armeabi-v7a/libfoo.so" not in flagged
    assert code == (1 if expected else 0)


def test_a_16k_aligned_apk_of_16k_libraries_passes_and_survives_signing(tmp_path: Path) -> None:
    built = libraries(tmp_path, {"arm64-v8a": ("libfoo.so",), "x86_64": ("libfoo.so",)})
    assert all(min(load_aligns(path)) >= 16384 for path in built.values())
    aligned = apk(tmp_path, built, align16=True)
    offsets = zip_offsets(aligned)
    assert zipalign_ok(aligned) and all(offsets[m] % 16384 == 0 for m in built)
    signed = sign(tmp_path, aligned)
    after = zip_offsets(signed)
    assert {m: after[m] for m in offsets} == offsets  # v1 adds META-INF/ members; the v2 block sits after the entries
    code, findings = no_policy_check(signed)
    assert code == 0, findings


def sign(tmp_path: Path, unsigned: Path) -> Path:
    keystore = tmp_path / "test.keystore"
    subprocess.run([require_tool("keytool"), "-genkeypair", "-keystore", str(keystore), "-storepass", "android",
                    "-keypass", "android", "-alias", "test", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
                    "-dname", "CN=linkgate test"], capture_output=True, check=True)  # fmt: skip
    signed = tmp_path / "signed.apk"
    apksigner = require_tool("apksigner")
    subprocess.run([apksigner, "sign", "--ks", str(keystore), "--ks-pass", "pass:android", "--min-sdk-version", "24",
                    "--out", str(signed), str(unsigned)], capture_output=True, check=True)  # fmt: skip
    subprocess.run([apksigner, "verify", "--min-sdk-version", "24", str(signed)], capture_output=True, check=True)
    return signed


def test_4k_elf_alignment_in_an_aligned_apk_names_member_and_segment(tmp_path: Path) -> None:
    built = libraries(tmp_path, {"arm64-v8a": ("libfoo.so",)}, page=4096)
    aligned = apk(tmp_path, built, align16=True)
    code, findings = no_policy_check(aligned)
    (finding,) = by_rule(findings, "android-page-size")
    assert finding["path"] == f"{aligned.name}!lib/arm64-v8a/libfoo.so"
    assert "PT_LOAD #" in str(finding["message"]) and "max-page-size=16384" in str(finding["hint"])
    assert not by_rule(findings, "android-package") and code == 1


def test_compressed_libraries_are_noted_as_extracted_at_install(tmp_path: Path) -> None:
    compressed = apk(tmp_path, libraries(tmp_path, {"arm64-v8a": ("libfoo.so",)}), stored=False)
    code, findings = no_policy_check(compressed)
    (note,) = by_rule(findings, "android-package")
    assert note["severity"] == "note" and "extracts it at install" in str(note["message"]) and code == 0


def test_abi_directory_must_match_the_machine_and_abis_ship_the_same_libraries(tmp_path: Path) -> None:
    built = libraries(tmp_path, {"arm64-v8a": ("liba.so", "libb.so"), "x86_64": ("liba.so",)})
    built["lib/x86_64/liba.so"] = built["lib/arm64-v8a/liba.so"]  # an arm64 file in the x86_64 directory
    package = apk(tmp_path, built, align16=True)
    code, findings = no_policy_check(package)
    messages = {(str(f["path"]), str(f["subject"])): str(f["message"]) for f in by_rule(findings, "android-package")}
    assert "aarch64 library in the x86_64 directory" in messages[(f"{package.name}!lib/x86_64/liba.so", "x86_64")]
    assert "x86_64 lacks libb.so" in messages[(package.name, "lib/x86_64")]
    assert code == 1


def test_an_aab_and_an_aar_are_read_at_their_own_layout(tmp_path: Path) -> None:
    library = build_library(tmp_path / "b", "arm64-v8a", 21, CODE, page=4096)
    for name, member in (("app.aab", "base/lib/arm64-v8a/libfoo.so"), ("lib.aar", "jni/arm64-v8a/libfoo.so")):
        package = tmp_path / name
        with zipfile.ZipFile(package, "w") as archive:
            archive.writestr("BundleConfig.pb" if name.endswith("aab") else "AndroidManifest.xml", b"x")
            archive.writestr(member, library.read_bytes(), zipfile.ZIP_DEFLATED)
        code, findings = no_policy_check(package)
        assert [f["path"] for f in by_rule(findings, "android-page-size")] == [f"{package.name}!{member}"]
        assert code == 1


def jsc_android() -> Path:
    return npm_package(JSC)


def test_real_node_addons_for_android_old_4k_and_new_16k(tmp_path: Path) -> None:
    """rollup's Android addon: 4.0.0 was linked by NDK r26 at 4 KiB, 4.69.3 by r30 at 16 KiB (both API 24)."""
    for version, aligned in (("4.0.0", False), ("4.69.3", True)):
        tarball = npm_package(f"@rollup/rollup-android-arm64@{version}")
        with tarfile.open(tarball) as archive:
            held = archive.extractfile("package/rollup.android-arm64.node")
            assert held is not None
            addon = tmp_path / f"{version}.node"
            addon.write_bytes(held.read())
        assert (min(load_aligns(addon)) >= 16384) == aligned
        result = run_linkgate("check", "--format", "json", "--policy", "android-24", str(tarball), env=HERMETIC)
        findings = json.loads(result.stdout)["findings"]
        assert bool(by_rule(findings, "android-page-size")) != aligned, findings
        assert result.returncode == (0 if aligned else 1), findings


def test_a_real_npm_package_with_a_4k_aar_fails_without_a_policy(tmp_path: Path) -> None:
    tarball = jsc_android()
    code, findings = no_policy_check(tarball)
    flagged = sorted(str(f["path"]).rsplit("!", 1)[1] for f in by_rule(findings, "android-page-size"))
    assert flagged == ["jni/arm64-v8a/libjsc.so", "jni/x86_64/libjsc.so"]  # 32-bit ABIs are not required
    assert code == 1
    # Its AAR's manifest says minSdk 16, below the oldest level judged: a warning says so.
    (said,) = [f for f in findings if f["subject"] == "minSdk"]
    assert said["severity"] == "warning" and "says minSdk 16, below API 21" in str(said["message"])
    # The oracle: readelf sees the same 4 KiB segments in the library unpacked from the AAR.
    with tarfile.open(tarball) as outer:
        aar = next(m for m in outer.getmembers() if m.name.endswith(".aar"))
        held = outer.extractfile(aar)
        assert held is not None
        with zipfile.ZipFile(io.BytesIO(held.read())) as inner:
            library = tmp_path / "libjsc.so"
            library.write_bytes(inner.read("jni/arm64-v8a/libjsc.so"))
    assert min(load_aligns(library)) == 4096
    result = run_linkgate("inspect", "--format", "json", str(library), env=HERMETIC)
    (item,) = json.loads(result.stdout)
    assert item["libc"] == "bionic"


def test_libcxx_shared_is_found_in_the_same_abi_directory_of_the_apk(tmp_path: Path) -> None:
    abi_dir = tmp_path / "build"
    cxx = build_library(abi_dir, "arm64-v8a", 21, "void cxx(void){}\n", name="libc++_shared.so")
    user = build_library(abi_dir, "arm64-v8a", 21, "void cxx(void);\nvoid f(void){cxx();}\n",
                         libs=("c", ":libc++_shared.so"))  # fmt: skip
    shipped = apk(tmp_path, {"lib/arm64-v8a/libfoo.so": user, "lib/arm64-v8a/libc++_shared.so": cxx}, align16=True)
    code, findings = no_policy_check(shipped)
    assert code == 0, findings
    lonely = apk(tmp_path, {"lib/arm64-v8a/libfoo.so": user}, name="lonely.apk", align16=True)
    code, findings = no_policy_check(lonely)
    (finding,) = [f for f in findings if f["subject"] == "libc++_shared.so"]
    assert finding["path"] == "lonely.apk!lib/arm64-v8a/libfoo.so" and code == 1


REACT_NATIVE = "react-native@0.64.0"  # the last React Native whose npm package ships its prebuilt AAR
RN_AAR = "package/android/com/facebook/react/react-native/0.64.0/react-native-0.64.0.aar"


def test_react_natives_prebuilt_aar_fails_on_4k_pages_and_leaves_its_dependencies_to_the_app(tmp_path: Path) -> None:
    """92 libraries for four ABIs (NDK r21): the arm64-v8a ones 64 KiB-aligned, the x86_64 ones 4 KiB, which
    16 KiB devices refuse. libhermes.so and libjsc.so come from other AARs of the app (hermes-engine,
    jsc-android): in an AAR that is a note, the APK decides."""
    tarball = npm_package(REACT_NATIVE)
    code, findings = no_policy_check(tarball)
    paged = {str(f["path"]).rsplit("!", 1)[1].split("/")[1] for f in by_rule(findings, "android-page-size")}
    assert paged == {"x86_64"} and code == 1
    api = by_rule(findings, "android-api")
    assert api and {f["severity"] for f in api} == {"note"}
    assert {f["subject"] for f in api} == {"libhermes.so", "libjsc.so"}
    with tarfile.open(tarball) as outer:
        held = outer.extractfile(RN_AAR)
        assert held is not None
        with zipfile.ZipFile(io.BytesIO(held.read())) as inner:
            aligns = {}
            for abi in ("arm64-v8a", "x86_64"):
                library = tmp_path / f"libfb-{abi}.so"
                library.write_bytes(inner.read(f"jni/{abi}/libfb.so"))
                aligns[abi] = min(load_aligns(library))
    assert aligns == {"arm64-v8a": 65536, "x86_64": 4096}  # the oracle: readelf -lW


def test_a_library_an_aar_lacks_is_a_note_but_an_error_in_an_apk(tmp_path: Path) -> None:
    build = tmp_path / "build"
    build_library(build, "arm64-v8a", 21, "void bar(void){}\n", name="libbar.so")
    user = build_library(build, "arm64-v8a", 21, "void bar(void);\nvoid f(void){bar();}\n", libs=("c", "bar"))
    aar = tmp_path / "lib.aar"
    with zipfile.ZipFile(aar, "w") as archive:
        archive.writestr("AndroidManifest.xml", '<manifest><uses-sdk android:minSdkVersion="21"/></manifest>')
        archive.writestr("jni/arm64-v8a/libfoo.so", user.read_bytes())
    code, findings = no_policy_check(aar)
    (note,) = by_rule(findings, "android-api")
    assert note["severity"] == "note" and "not in this AAR" in str(note["message"]) and code == 0
    code, findings = no_policy_check(apk(tmp_path, {"lib/arm64-v8a/libfoo.so": user}, align16=True))
    (error,) = by_rule(findings, "android-api")
    assert error["severity"] == "error" and error["subject"] == "libbar.so" and code == 1
