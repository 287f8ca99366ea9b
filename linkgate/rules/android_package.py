"""android-package: an .apk, .aab or .aar ships its native libraries where Android loads them.

Applies to Android packages judged by Android rules: with no policy (the `android` preset, which
an Android package gets instead of the default), or with a policy that sets `android-api`,
`android-linker` or `android-page-size`. Checked beside each library's own findings:
- the ABI directory (`lib/arm64-v8a/`, `jni/x86_64/`) agrees with the library's machine
  (e_machine): the package manager installs the directory for the device's ABI, whatever is in it;
- every library one ABI ships, the others ship too: a library missing for x86_64 fails with
  `dlopen failed: library "libfoo.so" not found` on emulators and Chromebooks;
- in an .apk, a library stored uncompressed (mapped straight from the APK) starts at a zip offset
  aligned to 16 KiB for arm64-v8a and x86_64 (4 KiB for 32-bit ABIs): `zipalign -P 16`. A
  compressed library is extracted at install (extractNativeLibs), so its offset does not matter:
  a note says so. This is separate from the ELF alignment (`android-page-size`): both are needed.
"""

from __future__ import annotations

from linkgate.core.findings import Violation
from linkgate.rules.base import Rule
from linkgate.rules.remedies import ANDROID_ZIPALIGN_FIX

RULE = Rule(id="android-package", doc=__doc__ or "")


def wrong_machine(abi: str, machine: str, expected: str) -> Violation:
    return Violation(
        subject=abi,
        message=f"is a {machine} library in the {abi} directory, which devices expect to hold {expected} code",
        hint=f"copy the {abi} build of the library here (check the ABI filters of the build that produced it)",
    )


def missing_for(abi: str, names: list[str], others: str) -> Violation:
    listed = ", ".join(names)
    return Violation(
        subject=abi,
        message=f"{abi} lacks {listed}, which {others} ship: on {abi} devices loading it fails "
        f'(dlopen failed: library "{names[0]}" not found)',
        hint=f"build {listed} for {abi} too, or drop {abi} from the package's ABI filters",
    )


def misaligned(offset: int, page: int, abi: str) -> Violation:
    return Violation(
        subject="zip alignment",
        message=f"stored uncompressed at zip offset {offset:#x}, not aligned to {page // 1024} KiB: the package "
        f"manager cannot map it from the APK on {page // 1024} KiB page {abi} devices, and Google Play rejects it",
        hint=ANDROID_ZIPALIGN_FIX,
    )


def compressed() -> Violation:
    return Violation(
        subject="compressed",
        message="compressed in the APK: the package manager extracts it at install (extractNativeLibs), so its "
        "zip offset does not matter; stored uncompressed and 16 KiB-aligned, it would be mapped in place",
        undetermined=True,
    )


def unreadable_header() -> Violation:
    return Violation(subject="zip alignment", message="its local zip header cannot be read: its offset is unknown")
