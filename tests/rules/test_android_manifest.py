"""An Android package with no policy is judged at the minSdk its own manifest gives, as a wheel is by its tag.

The manifests are the real encodings: an APK's binary XML compiled by Debian's aapt against the framework's
attribute ids (`aapt dump badging` is the oracle for what the package manager reads), a real APK from the npm
registry (io.appium.settings, built by Gradle's aapt2), a bundle's protobuf XmlNode encoded by protoc from
aapt2's field numbers, and an AAR's text XML. The libraries use bionic functions from API 24 and 26
(getifaddrs, sync_file_range): a package whose manifest says a lower minSdk fails naming them.
"""

from __future__ import annotations

import contextlib
import json
import struct
import tarfile
import zipfile
from pathlib import Path

import pytest

from linkgate.archives.android_manifest import min_sdk
from tests.conftest import run_linkgate
from tests.helpers.android import aapt_min_sdk, binary_manifest, build_library, manifest_text, proto_manifest
from tests.helpers.android_packages import HERMETIC, apk, by_rule, no_policy_check, npm_package

APPIUM_SETTINGS = "io.appium.settings@8.0.10"
USES_24 = "struct ifaddrs;\nint getifaddrs(struct ifaddrs **);\nint f(struct ifaddrs **a){return getifaddrs(a);}\n"
USES_26 = "int sync_file_range(int, long, long, unsigned);\nint g(int fd){return sync_file_range(fd, 0, 0, 0);}\n"


def said(findings: list[dict[str, object]]) -> dict[str, object]:
    """The package's one minSdk finding."""
    (found,) = [f for f in findings if f["rule"] == "android-package" and f["subject"] == "minSdk"]
    return found


def symbols(findings: list[dict[str, object]]) -> set[str]:
    return {str(s) for f in by_rule(findings, "android-api") for s in f.get("symbols", ())}  # type: ignore[attr-defined]


def library(tmp_path: Path, code: str, api: int) -> dict[str, Path]:
    return {"lib/arm64-v8a/libfoo.so": build_library(tmp_path / f"build-{api}", "arm64-v8a", api, code)}


@pytest.mark.parametrize("level", ["21", "24", "33", "Tiramisu", None])
def test_binary_manifests_give_the_min_sdk_aapt_reads(tmp_path: Path, level: str | None) -> None:
    package = apk(tmp_path, {}, min_sdk=level)
    with zipfile.ZipFile(package) as archive:
        read = min_sdk("AndroidManifest.xml", archive.read("AndroidManifest.xml"))
    oracle = aapt_min_sdk(package)
    assert (str(read.level) if read.level is not None else read.codename or None) == oracle


def test_an_apk_is_judged_at_its_manifests_min_sdk(tmp_path: Path) -> None:
    built = library(tmp_path, USES_24, 24)
    code, findings = no_policy_check(apk(tmp_path, built, align16=True, min_sdk="24"))
    assert code == 0 and said(findings)["severity"] == "note", findings
    assert "says minSdk 24: its libraries are judged at API 24" in str(said(findings)["message"])
    code, findings = no_policy_check(apk(tmp_path, built, name="old.apk", align16=True, min_sdk="21"))
    (finding,) = [f for f in by_rule(findings, "android-api") if f["symbols"]]
    assert symbols(findings) == {"getifaddrs"} and "API 24" in str(finding["message"]) and code == 1


def test_a_real_apk_manifest_from_npm(tmp_path: Path) -> None:
    """io.appium.settings' APK says minSdk 26 (aapt agrees): its library may use an API 26 function."""
    tarball = npm_package(APPIUM_SETTINGS)
    with tarfile.open(tarball) as outer:
        held = outer.extractfile("package/apks/settings_apk-debug.apk")
        assert held is not None
        real = tmp_path / "settings.apk"
        real.write_bytes(held.read())
    assert aapt_min_sdk(real) == "26"
    with zipfile.ZipFile(real) as archive:
        manifest = archive.read("AndroidManifest.xml")
    assert min_sdk("AndroidManifest.xml", manifest).level == 26
    package = apk(tmp_path, library(tmp_path, USES_26, 26), align16=True, manifest=manifest)
    code, findings = no_policy_check(package)
    assert code == 0 and "minSdk 26" in str(said(findings)["message"]), findings


@pytest.mark.parametrize("text_value", [True, False])
def test_a_bundle_is_judged_at_its_protobuf_manifests_min_sdk(tmp_path: Path, text_value: bool) -> None:
    built = build_library(tmp_path / "b", "arm64-v8a", 24, USES_24)
    for level, expected in ((24, 0), (21, 1)):
        bundle = tmp_path / f"app-{level}.aab"
        with zipfile.ZipFile(bundle, "w") as archive:
            archive.writestr("BundleConfig.pb", b"")
            manifest = proto_manifest(tmp_path / "proto", level, text_value=text_value)
            archive.writestr("base/manifest/AndroidManifest.xml", manifest)
            archive.writestr("base/lib/arm64-v8a/libfoo.so", built.read_bytes(), zipfile.ZIP_DEFLATED)
        code, findings = no_policy_check(bundle)
        assert f"says minSdk {level}" in str(said(findings)["message"]) and code == expected, findings
        assert symbols(findings) == (set() if expected == 0 else {"getifaddrs"})


def test_an_aar_is_judged_at_its_text_manifests_min_sdk(tmp_path: Path) -> None:
    built = build_library(tmp_path / "b", "arm64-v8a", 26, USES_26)
    for level, expected in (("26", 0), ("24", 1)):
        aar = tmp_path / f"lib-{level}.aar"
        with zipfile.ZipFile(aar, "w") as archive:
            archive.writestr("AndroidManifest.xml", manifest_text(level))
            archive.writestr("classes.jar", b"PK\x05\x06" + bytes(18))
            archive.writestr("jni/arm64-v8a/libfoo.so", built.read_bytes(), zipfile.ZIP_DEFLATED)
        code, findings = no_policy_check(aar)
        assert code == expected and symbols(findings) == (set() if expected == 0 else {"sync_file_range"}), findings


def test_a_policy_judges_at_its_own_level_and_warns_of_an_older_min_sdk(tmp_path: Path) -> None:
    package = apk(tmp_path, library(tmp_path, USES_24, 24), align16=True, min_sdk="21")
    result = run_linkgate("check", "--format", "json", "--policy", "android-24", str(package), env=HERMETIC)
    findings = json.loads(result.stdout)["findings"]
    warning = said(findings)
    assert warning["severity"] == "warning" and "below the policy's android-api 24" in str(warning["message"])
    assert "API 21-23 install it" in str(warning["message"]) and not by_rule(findings, "android-api")
    assert result.returncode == 0, findings


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        (b"\x03\x00\x08\x00\xff\xff\xff\x7f", "cannot be decoded: binary XML"),
        (b"PK\x03\x04 not a manifest", "cannot be decoded: neither text XML"),
        (b'<manifest><uses-sdk android:minSdkVersion="2x"/></manifest>', "neither an API level nor a codename"),
    ],
)
def test_a_manifest_that_cannot_be_decoded_is_judged_at_the_oldest_level(
    tmp_path: Path, manifest: bytes, expected: str
) -> None:
    package = apk(tmp_path, library(tmp_path, USES_24, 24), align16=True, manifest=manifest)
    code, findings = no_policy_check(package)
    warning = said(findings)
    assert warning["severity"] == "warning" and expected in str(warning["message"]), findings
    assert "judged at API 21" in str(warning["message"]) and symbols(findings) == {"getifaddrs"} and code == 1


def test_every_truncation_and_byte_flip_of_a_real_manifest_is_decoded_or_refused(tmp_path: Path) -> None:
    """The decoders never raise anything but ManifestError, whatever the bytes."""
    from linkgate.archives.android_manifest import ManifestError  # noqa: PLC0415 - lazy: one test

    manifests = [binary_manifest("24"), proto_manifest(tmp_path, 24), manifest_text("24").encode()]
    for data in manifests:
        variants = [data[:cut] for cut in range(len(data))]
        variants += [data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :] for i in range(len(data))]
        for variant in variants:
            with contextlib.suppress(ManifestError):
                min_sdk("AndroidManifest.xml", variant)


def utf8_pool(manifest: bytes) -> bytes:
    """aapt's manifest with its UTF-16 string pool rewritten as UTF-8 (flag 0x100), as other builders write
    it: the same strings, lengths as one or two bytes each (characters, then bytes)."""
    kind, header, size, count, styles, flags, start = struct.unpack_from("<HHIIIII", manifest, 8)
    assert kind == 0x0001 and styles == 0 and not flags & 0x100
    pool = manifest[8 : 8 + size]
    offsets = struct.unpack_from(f"<{count}I", pool, header)
    strings = []
    for offset in offsets:
        (length,) = struct.unpack_from("<H", pool, start + offset)
        assert length < 0x8000
        strings.append(pool[start + offset + 2 : start + offset + 2 + 2 * length].decode("utf-16-le"))
    data, new_offsets = b"", []
    for text in strings:
        encoded = text.encode()
        new_offsets.append(len(data))
        data += length8(len(text)) + length8(len(encoded)) + encoded + b"\x00"
    data += bytes(-len(data) % 4)
    start = header + 4 * count
    body = struct.pack("<IIIII", count, 0, flags | 0x100, start, 0) + struct.pack(f"<{count}I", *new_offsets) + data
    chunk = struct.pack("<HHI", kind, header, start + len(data)) + body
    rest = manifest[8 + size :]
    return struct.pack("<HHI", 0x0003, 8, 8 + len(chunk) + len(rest)) + chunk + rest


def length8(value: int) -> bytes:
    return bytes([value]) if value < 0x80 else bytes([0x80 | value >> 8, value & 0xFF])


def test_a_utf8_string_pool_gives_the_same_min_sdk() -> None:
    for level in ("24", "Tiramisu"):
        original = min_sdk("AndroidManifest.xml", binary_manifest(level))
        assert min_sdk("AndroidManifest.xml", utf8_pool(binary_manifest(level))) == original
