"""android-package: an .apk, .aab or .aar ships its native libraries where Android loads them.

Applies to Android packages judged by Android rules: with no policy (the `android-<minSdk>` preset
of its manifest, which an Android package gets instead of the default), or with a policy that sets `android-api`,
`android-linker` or `android-page-size`. Checked beside each library's own findings:
- the ABI directory (`lib/arm64-v8a/`, `jni/x86_64/`) agrees with the library's machine
  (e_machine): the package manager installs the directory for the device's ABI, whatever is in it;
- every library one ABI ships, the others ship too: a library missing for x86_64 fails with
  `dlopen failed: library "libfoo.so" not found` on emulators and Chromebooks;
- in an .apk, a library stored uncompressed (mapped straight from the APK) starts at a zip offset
  aligned to 16 KiB for arm64-v8a and x86_64 (4 KiB for 32-bit ABIs): `zipalign -P 16`. A
  compressed library is extracted at install (extractNativeLibs), so its offset does not matter:
  a note says so. This is separate from the ELF alignment (`android-page-size`): both are needed;
- the minSdk of its manifest (binary XML, a bundle's protobuf, an AAR's text): with no policy the
  package is judged at it, and a note says so. A manifest that cannot be decoded, a minSdk below 21
  or a preview codename is a warning (judged at 21, or at the newest level for a codename); so is a
  minSdk below the policy's `android-api` (older devices install what is not judged).
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


def judged_at(source: str, level: int) -> Violation:
    return Violation(
        subject="minSdk",
        message=f"its {source} says minSdk {level}: its libraries are judged at API {level}",
        undetermined=True,
    )


def below_oldest(source: str, level: int, oldest: int) -> Violation:
    return Violation(
        subject="minSdk",
        message=f"its {source} says minSdk {level}, below API {oldest}, the oldest level judged (the NDK builds "
        f"for {oldest} and up since r26): judged at API {oldest}, devices at {_levels(level, oldest - 1)} are not",
        hint=f"raise minSdk to {oldest}, or test the app on an API {level} device",
        advisory=True,
    )


def preview(source: str, codename: str, newest: int) -> Violation:
    return Violation(
        subject="minSdk",
        message=f"its {source} says minSdk {codename}, a preview codename: it installs on {codename} previews "
        f"only, and is judged at API {newest}, the newest level known",
        hint="give minSdk as an API level before release",
        advisory=True,
    )


def unreadable_manifest(reason: str, oldest: int) -> Violation:
    return Violation(
        subject="minSdk",
        message=f"{reason}: its minSdk is unknown, so it is judged at API {oldest}, the oldest level judged",
        hint="rebuild the package; `aapt dump badging` (an .apk) shows the manifest the package manager reads",
        advisory=True,
    )


def below_policy(source: str, level: int, judged: int) -> Violation:
    return Violation(
        subject="minSdk",
        message=f"its {source} says minSdk {level}, below the policy's android-api {judged}: devices at "
        f"{_levels(level, judged - 1)} install it, and its libraries are not judged for them",
        hint=f"set `android-api: {level}` in the policy, or raise the app's minSdk to {judged}",
        advisory=True,
    )


def _levels(first: int, last: int) -> str:
    return f"API {first}" if first == last else f"API {first}-{last}"
