"""Android packages read in place: where native libraries sit in an .apk, .aab or .aar (docs/android.md).

- `.apk`: `lib/<abi>/libfoo.so`; the package manager maps a library stored uncompressed straight
  from the APK (extractNativeLibs=false, the default since AGP 3.6), so its data must start at a
  page-aligned zip offset; a compressed one is extracted at install;
- `.aab`: `<module>/lib/<abi>/libfoo.so` (bundletool builds the APKs, aligning them itself);
- `.aar`: `jni/<abi>/libfoo.so`.
A zip is an Android package by its file name, or by what it holds (AndroidManifest.xml at the root,
or a bundle's BundleConfig.pb).
"""

from __future__ import annotations

import struct
import zipfile
from typing import IO

from linkgate.core.records import record

ABIS = ("arm64-v8a", "armeabi-v7a", "x86", "x86_64", "armeabi", "mips", "mips64", "riscv64")
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_MAGIC = b"PK\x03\x04"
KINDS = {".apk": "apk", ".aab": "aab", ".aar": "aar", ".apks": "apk"}


@record
class Placement:
    """How a native library member is stored in the zip."""

    compressed: bool
    # Where its data starts in the zip (the local header's end); -1 when the header cannot be read.
    data_offset: int


@record
class NativeLibrary:
    """A member at an ABI directory of an Android package."""

    abi: str
    # The directory holding the ABI directories: `lib`, `jni`, `base/lib` (one per bundle module).
    root: str
    name: str


def native_library(member: str) -> NativeLibrary | None:
    """`lib/arm64-v8a/libfoo.so` -> (arm64-v8a, lib, libfoo.so); None for any other member."""
    parts = member.split("/")
    if len(parts) < 3 or parts[-3] not in ("lib", "jni") or parts[-2] not in ABIS:
        return None
    if len(parts) > 4 or (len(parts) == 4 and parts[-3] != "lib"):
        return None  # only <module>/lib/<abi>/ nests one level deeper
    return NativeLibrary(parts[-2], "/".join(parts[:-2]), parts[-1])


def package_kind(file_name: str, names: frozenset[str]) -> str | None:
    """apk, aab or aar, from the file name's suffix or, failing that, the members."""
    for suffix, kind in KINDS.items():
        if file_name.lower().endswith(suffix):
            return kind
    if "BundleConfig.pb" in names:
        return "aab"
    if "AndroidManifest.xml" in names:
        return "aar" if "classes.jar" in names else "apk"
    return None


def placements(stream: IO[bytes], archive: zipfile.ZipFile) -> dict[str, Placement]:
    """member name -> how it is stored, for the native libraries of the zip (local headers read)."""
    found: dict[str, Placement] = {}
    for info in archive.infolist():
        if native_library(info.filename) is not None:
            compressed = info.compress_type != zipfile.ZIP_STORED
            found[info.filename] = Placement(compressed, _data_offset(stream, info.header_offset))
    return found


def _data_offset(stream: IO[bytes], header_offset: int) -> int:
    """Where the member's data starts: after its local header, whose name and extra field lengths
    may differ from the central directory's (zipalign pads the local extra field)."""
    try:
        stream.seek(header_offset)
        raw = stream.read(_LOCAL_HEADER.size)
    except (OSError, ValueError):
        return -1
    if len(raw) < _LOCAL_HEADER.size or not raw.startswith(_LOCAL_MAGIC):
        return -1
    fields: tuple[int, ...] = _LOCAL_HEADER.unpack(raw)[1:]
    name_length, extra_length = fields[8], fields[9]
    return header_offset + _LOCAL_HEADER.size + name_length + extra_length
