"""Android native libraries built at test time: Debian's clang and lld with `--target=<abi>-linux-android<api>`,
linked against stub bionic libraries made the way the NDK makes its own (one stub function per symbol the
API level offers on the ABI, each in its version node), from the API table that scripts/gen_android_profiles.py
generates out of bionic's map files. Built once per table, ABI and level under tests/.build/android.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import zipfile
from pathlib import Path

from linkgate.profiles.android import load_table, table_file
from tests.helpers import BUILD_DIR, require_tool, unavailable

ANDROID_DIR = BUILD_DIR / "android"
TRIPLES = {
    "arm64-v8a": "aarch64-linux-android",
    "armeabi-v7a": "armv7a-linux-androideabi",
    "x86": "i686-linux-android",
    "x86_64": "x86_64-linux-android",
}
STUBBED = ("libc.so", "libm.so", "libdl.so")


def target(abi: str, api: int) -> str:
    return f"--target={TRIPLES[abi]}{api}"


def ident_note(abi: str, api: int) -> str:
    """The NDK crtbegin's `.note.android.ident` (crtbrand.S): owner "Android", type 1, the API level."""
    kind = "%note" if abi.startswith("arm") else "@note"
    return (
        f'__asm__(".pushsection .note.android.ident,\\"a\\",{kind}\\n.balign 4\\n.long 8\\n.long 4\\n.long 1\\n'
        f'.asciz \\"Android\\"\\n.balign 4\\n.long {api}\\n.popsection\\n");\n'
    )


def stub_dir(abi: str, api: int) -> Path:
    """libc.so, libm.so, libdl.so as the NDK stubs of `api` on `abi` (built once)."""
    digest = hashlib.sha256(table_file().read_bytes()).hexdigest()[:12]
    directory = ANDROID_DIR / f"stubs-{digest}" / f"{abi}-{api}"
    if all((directory / name).is_file() for name in STUBBED):
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    for library in STUBBED:
        _build_stub(directory, library, abi, api)
    return directory


def _build_stub(directory: Path, library: str, abi: str, api: int) -> None:
    table = load_table()
    nodes: dict[str, list[str]] = {}
    for name, offers in table.symbols[abi].items():
        for owner, level, node in offers:
            if owner == library and level <= api:
                nodes.setdefault(node, []).append(name)
    stem = library.removesuffix(".so")
    source = directory / f"{stem}.c"
    source.write_text("".join(f"void {name}(void) {{}}\n" for names in nodes.values() for name in names))
    script = directory / f"{stem}.map"
    script.write_text("".join(f"{node} {{ global: {'; '.join(sorted(names))}; }};\n" for node, names in nodes.items()))
    link(directory / library, abi, api, [source], [f"-Wl,--version-script={script}", f"-Wl,-soname,{library}"])


def link(output: Path, abi: str, api: int, sources: list[Path], flags: list[str], *, executable: bool = False) -> Path:
    """A shared library (or a PIE) linked with Debian's clang and lld for the Android target; AssertionError
    on failure."""
    clang = require_tool("clang")
    require_tool("ld.lld")
    kind = ["-fPIE", "-pie", "-Wl,-e,main", "-Wl,--dynamic-linker=/system/bin/linker64"] if executable else [
        "-fPIC", "-shared"]  # fmt: skip
    command = [clang, target(abi, api), "-fuse-ld=lld", *kind, "-nostdlib", "-o", str(output),
               *map(str, sources), *flags]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return output


def build_library(
    directory: Path,
    abi: str,
    api: int,
    code: str,
    *,
    name: str = "libfoo.so",
    libs: tuple[str, ...] = ("c",),
    flags: tuple[str, ...] = (),
    page: int = 16384,
    note: bool = True,
    soname: bool = True,
    executable: bool = False,
) -> Path:
    """`code` linked into `directory/name` against the stubs of `api`, with the Android note and `page` alignment."""
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / (name + ".c")
    source.write_text((ident_note(abi, api) if note else "") + code)
    stubs = stub_dir(abi, api)
    options = [f"-L{stubs}", f"-L{directory}", *(f"-l{lib}" for lib in libs), f"-Wl,-z,max-page-size={page}"]
    options += [f"-Wl,-soname,{name}"] if soname and not executable else []
    return link(directory / name, abi, api, [source], [*options, *flags], executable=executable)


def readelf(*args: str) -> str:
    """binutils' readelf output (the oracle for what a built file holds)."""
    return subprocess.run([require_tool("readelf"), *args], capture_output=True, text=True, check=True).stdout


def load_aligns(path: Path) -> list[int]:
    """p_align of every LOAD line of `readelf -lW` (the oracle Google's check script uses)."""
    out = readelf("-lW", str(path))
    return [int(line.split()[-1], 16) for line in out.splitlines() if line.strip().startswith("LOAD")]


# --- manifests ---
FRAMEWORK_RES = Path("/usr/share/android-framework-res/framework-res.apk")
MANIFEST = """<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="org.example.app">
    {uses_sdk}
    <application android:label="app" android:hasCode="false"/>
</manifest>
"""
# The part of aapt2's Resources.proto (frameworks/base/tools/aapt2/Resources.proto) a bundle's manifest
# uses, field numbers as there: protoc encodes the test bundle's manifest from it.
RESOURCES_PROTO = """syntax = "proto3";
package aapt.pb;
message Primitive { oneof oneof_value { int32 int_decimal_value = 6; } }
message Item { oneof value { Primitive prim = 7; } }
message XmlNamespace { string prefix = 1; string uri = 2; }
message XmlAttribute { string namespace_uri = 1; string name = 2; string value = 3; uint32 resource_id = 5;
                       Item compiled_item = 6; }
message XmlElement { repeated XmlNamespace namespace_declaration = 1; string namespace_uri = 2; string name = 3;
                     repeated XmlAttribute attribute = 4; repeated XmlNode child = 5; }
message XmlNode { oneof node { XmlElement element = 1; string text = 2; } }
"""


def framework_res() -> Path:
    """The framework's resources (Debian's android-framework-res), which give aapt the attribute ids."""
    if not FRAMEWORK_RES.is_file():
        unavailable(f"{FRAMEWORK_RES} is missing: apt-get install android-framework-res")
    return FRAMEWORK_RES


def manifest_text(min_sdk: str | None) -> str:
    """An app's AndroidManifest.xml; `min_sdk` None: one without <uses-sdk>."""
    uses_sdk = "" if min_sdk is None else f'<uses-sdk android:minSdkVersion="{min_sdk}"/>'
    return MANIFEST.format(uses_sdk=uses_sdk)


def binary_manifest(min_sdk: str | None) -> bytes:
    """The manifest as an APK holds it: compiled by aapt against the framework's attribute ids (built once)."""
    directory = ANDROID_DIR / "manifests" / f"minsdk-{min_sdk}"
    apk = directory / "manifest.apk"
    if not apk.is_file():
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "AndroidManifest.xml").write_text(manifest_text(min_sdk))
        command = [require_tool("aapt"), "package", "-f", "-M", str(directory / "AndroidManifest.xml"),
                   "-I", str(framework_res()), "-F", str(directory / "partial.apk")]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        (directory / "partial.apk").rename(apk)
    with zipfile.ZipFile(apk) as archive:
        return archive.read("AndroidManifest.xml")


def aapt_min_sdk(apk: Path) -> str | None:
    """The minSdk `aapt dump badging` reads from an APK (the oracle for binary manifests)."""
    out = subprocess.run([require_tool("aapt"), "dump", "badging", str(apk)], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    found = re.search(r"^sdkVersion:'([^']*)'", out, re.M)
    return None if found is None else found.group(1)


def proto_manifest(directory: Path, min_sdk: int, *, text_value: bool = True) -> bytes:
    """A bundle's manifest (aapt2's XmlNode) encoded by protoc. minSdkVersion as aapt2 writes it: the
    compiled integer, and beside it the source text unless `text_value` is False."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "resources.proto").write_text(RESOURCES_PROTO)
    value = f'value: "{min_sdk}"' if text_value else ""
    text = f"""element {{ name: "manifest" namespace_declaration {{ prefix: "android" uri: "{ANDROID_NS}" }}
  attribute {{ name: "package" value: "org.example.app" }}
  child {{ element {{ name: "uses-sdk" attribute {{ namespace_uri: "{ANDROID_NS}" name: "minSdkVersion"
    resource_id: {MIN_SDK_ATTRIBUTE} {value} compiled_item {{ prim {{ int_decimal_value: {min_sdk} }} }} }} }} }}
  child {{ element {{ name: "application" }} }} }}"""
    result = subprocess.run([require_tool("protoc"), f"--proto_path={directory}", "--encode=aapt.pb.XmlNode",
                             "resources.proto"], input=text.encode(), capture_output=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


ANDROID_NS = "http://schemas.android.com/apk/res/android"
MIN_SDK_ATTRIBUTE = 0x0101020C  # android.R.attr.minSdkVersion, as `aapt dump xmltree` prints it
