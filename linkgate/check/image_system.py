"""A container image judged by its own final filesystem: the `image-target` rule, configured per image.

The image's members are read once; its profile is then captured from them in
place (linkgate.profiles.imagefs), exactly as `profile capture --root` captures an
unpacked root, and becomes one more configured rule for each ELF member: added
to the policy's rules, or alone when no policy was given.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from linkgate.archives.tree import Unit
from linkgate.elf.facts import split_version_token
from linkgate.elf.versions import SymbolSelection
from linkgate.policy.compiled import CompiledPolicy
from linkgate.profiles.imagefs import ImageFs
from linkgate.rules import image_target
from linkgate.rules.base import Configured, ConfiguredRule

# Members whose text (or, for a libc, its release banner) the image's profile reads.
_KEPT = ("etc/ld.so.conf", "etc/ld.so.conf.d/*", "etc/ld.so.cache", "etc/os-release", "usr/lib/os-release",
         "etc/ld-musl-*.path")  # fmt: skip
_LIBC = ("libc.so.6", "libc-[0-9]*.so")
# Each list as one pattern, as fnmatchcase matches each: asked of every member of every archive.
_KEPT_MATCH = re.compile("|".join(map(fnmatch.translate, _KEPT))).match
_LIBC_MATCH = re.compile("|".join(map(fnmatch.translate, _LIBC))).match
# Symbols are joined for glibc needs newer than this: the ones an older image may lack.
_OLDEST_JOINED = (2, 17)

if TYPE_CHECKING:
    from linkgate.profiles.model import Profile

RulesFor = Callable[[str], Sequence[ConfiguredRule] | None]


def kept_text(name: str) -> bool:
    """Whether the member `name` (`etc/os-release`) is kept for capturing an image's profile."""
    return _KEPT_MATCH(name) is not None or _LIBC_MATCH(posixpath.basename(name)) is not None


def is_image(unit: Unit) -> bool:
    return unit.format == "image"


def image_system(unit: Unit, hops: int) -> image_target.ImageSystem:
    """The image `unit` as a target system, captured from its own files."""
    # Imported here: the profile models (pydantic) cost start-up time archives without an image never need.
    from linkgate.profiles.capture import capture_fs, os_release  # noqa: PLC0415 - lazy: start-up

    fs = ImageFs(unit, hops)
    release = os_release(fs)
    system = _os_words(release, "{}")
    profile = capture_fs(fs, name=f"the image's {system}" if system else "the image")
    return image_target.ImageSystem(profile.index(), describe(profile, release), system)


def describe(profile: Profile, release: dict[str, str]) -> str:
    """`glibc 2.31 (Debian 11)`, `musl (Alpine 3.20.0)`, `no C library`."""
    libc = profile.libc
    words = "no C library" if libc is None else " ".join(filter(None, (libc.family, libc.version)))
    return words + _os_words(release, " ({})")


def _os_words(release: dict[str, str], template: str) -> str:
    """`Debian 11` from os-release's NAME (first word) and VERSION_ID; "" when it says neither."""
    name = (release.get("NAME") or release.get("ID") or "").split(" ")[0]
    words = " ".join(filter(None, (name, release.get("VERSION_ID", ""))))
    return template.format(words) if words else ""


def rules_for(
    unit: Unit, hops: int, policy: CompiledPolicy, replaces_policy: bool
) -> tuple[RulesFor, image_target.ImageSystem]:
    """The rules each member of the image `unit` is judged by: the policy's (unless it was not given)
    and the image's own system."""
    system = image_system(unit, hops)
    severity = policy.severity.get(image_target.RULE.id, image_target.RULE.severity)
    own = Configured(image_target.RULE, system, severity, image_target.check, True, image_target.rejects)
    if replaces_policy:
        return (lambda _display: (own,)), system
    return (lambda display: (*policy.rules_for(display), own)), system


class ImageSelection:
    """Symbols joined for an image member: those the policy asks for, and glibc needs newer than 2.17,
    which the image (captured only once all members are read) may lack."""

    def __init__(self, policy_selection: SymbolSelection) -> None:
        self._policy = policy_selection

    def __contains__(self, pair: object) -> bool:
        if self._policy is not None and pair in self._policy:
            return True
        if not isinstance(pair, tuple) or len(pair) != 2:
            return False
        parsed = split_version_token(str(pair[1]))
        return parsed is not None and parsed[0] == "GLIBC" and parsed[1] > _OLDEST_JOINED


def image_member(display: str) -> bool:
    """An image's members are shown with absolute names (`image.tar!/usr/bin/app`); no other archive's are."""
    return "!/" in display
