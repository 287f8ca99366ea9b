"""A wheel's platform tags, from its file name and its WHEEL file (PEP 427, 600, 656, 738).

Legacy manylinux names are the PEP 600 ones they stand for: manylinux1 is
manylinux_2_5, manylinux2010 is manylinux_2_12, manylinux2014 is manylinux_2_17.
"""

from __future__ import annotations

import re

from linkgate.core.records import record

_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_PEP600 = re.compile(r"^(manylinux|musllinux)_(\d+)_(\d+)_(\w+)$")
_LEGACY_TAG = re.compile(r"^(manylinux1|manylinux2010|manylinux2014)_(\w+)$")
_LINUX = re.compile(r"^linux_(\w+)$")
_ANDROID = re.compile(r"^android_(\d+)_(\w+)$")  # PEP 738: android_<API level>_<ABI>
# PEP 738 writes the ABI's `-` as `_`; x86_64 is its own name.
_ANDROID_ABIS = {"arm64_v8a": "arm64-v8a", "armeabi_v7a": "armeabi-v7a"}


@record
class PlatformTag:
    tag: str
    family: str  # manylinux, musllinux, linux, android (version: the API level, 0), or other (macosx, win, any)
    version: tuple[int, int] = (0, 0)
    architecture: str = ""

    @property
    def profile_name(self) -> str:
        return f"{self.family}_{self.version[0]}_{self.version[1]}"


def parse_platform(tag: str) -> PlatformTag:
    if match := _PEP600.match(tag):
        return PlatformTag(tag, match.group(1), (int(match.group(2)), int(match.group(3))), match.group(4))
    if match := _LEGACY_TAG.match(tag):
        return PlatformTag(tag, "manylinux", _LEGACY[match.group(1)], match.group(2))
    if match := _ANDROID.match(tag):
        abi = _ANDROID_ABIS.get(match.group(2), match.group(2))
        return PlatformTag(tag, "android", (int(match.group(1)), 0), abi)
    if match := _LINUX.match(tag):
        return PlatformTag(tag, "linux", architecture=match.group(1))
    return PlatformTag(tag, "other")


def name_platforms(file_name: str) -> tuple[str, ...] | None:
    """The platform tags of a wheel file name, or None when it is not `name-ver(-build)-py-abi-plat.whl`."""
    if not file_name.endswith(".whl"):
        return None
    parts = file_name[: -len(".whl")].split("-")
    if len(parts) not in (5, 6):
        return None
    return tuple(parts[-1].split("."))


def wheel_file_platforms(text: str) -> tuple[str, ...]:
    """The platform parts of the `Tag: py-abi-platform` lines of a WHEEL file."""
    tags = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.lower().startswith("tag:")]
    return tuple(dict.fromkeys(tag.rsplit("-", 1)[-1] for tag in tags if tag.count("-") == 2))


def promised(tags: tuple[PlatformTag, ...]) -> list[PlatformTag]:
    """Per family and architecture, the oldest tag: a wheel must run everywhere any of its tags installs it."""
    oldest: dict[tuple[str, str], PlatformTag] = {}
    for tag in tags:
        key = (tag.family, tag.architecture)
        if tag.family in ("manylinux", "musllinux") and (key not in oldest or tag.version < oldest[key].version):
            oldest[key] = tag
    return list(oldest.values())
