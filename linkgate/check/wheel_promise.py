"""A wheel judged by its own promise: the platform tags in its file name and WHEEL file.

Used when no policy was given. Each promising tag (the oldest manylinux or
musllinux tag per architecture) becomes a configured `wheel-tag` rule holding the
shipped target profile it names; the wheel's ELF members are judged by those
instead of the default policy. Tags that promise nothing PyPI accepts, or that no
shipped profile describes, are `wheel-tag` findings on the wheel itself.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from linkgate.archives.tree import Unit
from linkgate.archives.wheel import PlatformTag, name_platforms, parse_platform, promised, wheel_file_platforms
from linkgate.check.evaluate import always_on
from linkgate.core.findings import Finding
from linkgate.policy.compiled import CompiledPolicy
from linkgate.policy.errors import PolicyError
from linkgate.profiles.errors import ProfileError
from linkgate.profiles.index import TargetIndex
from linkgate.rules import wheel_tag
from linkgate.rules.base import Configured, ConfiguredRule

# Shipped profiles loaded in this process (workers inherit those the parent loaded before forking).
_PROFILES: dict[str, TargetIndex | None] = {}


def shipped_profile(name: str) -> TargetIndex | None:
    """The shipped target profile `name`, indexed; None when none is shipped under that name.

    A shipped profile is also a preset (`--policy manylinux_2_17`, exactly its target), so it is
    compiled and cached like one: a later run reads the pickled index instead of parsing YAML.
    """
    if name not in _PROFILES:
        from linkgate.policy import targets  # noqa: PLC0415 - lazy: start-up
        from linkgate.policy.cache import cache_dir, cached_policy  # noqa: PLC0415 - lazy: start-up
        from linkgate.policy.locate import presets_dir  # noqa: PLC0415 - lazy: start-up

        if targets.shipped_path(name, presets_dir()) is None:
            _PROFILES[name] = None
        else:

            def load() -> CompiledPolicy:
                from linkgate.policy.loader import load_policy  # noqa: PLC0415 - lazy: start-up

                return load_policy(name, Path.cwd())

            compiled = cached_policy(f"wheel-tag|{name}", cache_dir(os.environ), load)
            _PROFILES[name] = next(iter(compiled.profiles.values()), None)
    return _PROFILES[name]


class WheelJudgement:
    """The promise of one wheel, from its file name; the WHEEL file is compared once read."""

    def __init__(self, file_name: str, platforms: tuple[str, ...]) -> None:
        self.file_name = file_name
        self.tags = tuple(parse_platform(p) for p in platforms)
        self.promises = [
            wheel_tag.Promise(t.tag, t.profile_name, t.architecture, profile)
            for t in promised(self.tags)
            if (profile := shipped_profile(t.profile_name)) is not None
        ]
        self.android = [t for t in self.tags if t.family == "android"]

    @property
    def replaces_policy(self) -> bool:
        return bool(self.promises or self.android)

    def __contains__(self, pair: object) -> bool:
        """Symbols are joined for needs some promised profile lacks."""
        if not isinstance(pair, tuple) or len(pair) != 2:
            return False
        return any(wheel_tag.rejects(p, str(pair[0]), str(pair[1])) for p in self.promises)

    def settle(
        self, unit: Unit, display: str, emit: Callable[[Finding], None], policy: CompiledPolicy, today: datetime.date
    ) -> Sequence[ConfiguredRule] | None:
        """The rules the wheel's members are judged by (None: the policy's); refused tags are emitted."""
        for subject, why, hint in self._refusals(unit):
            violation = wheel_tag.refused(subject, why, hint)
            emit(always_on(display, wheel_tag.RULE, violation, policy, today))
        severity = policy.severity.get(wheel_tag.RULE.id, wheel_tag.RULE.severity)
        configured: list[ConfiguredRule] = [
            Configured(wheel_tag.RULE, p, severity, wheel_tag.check, True, wheel_tag.rejects) for p in self.promises
        ]
        if self.android:
            abis = tuple(dict.fromkeys(t.architecture for t in self.android))
            configured.append(Configured(wheel_tag.RULE, abis, severity, wheel_tag.check_android_abi, True, None))
            configured += _android_rules(min(t.version[0] for t in self.android), display)
        return configured or None

    def _refusals(self, unit: Unit) -> list[tuple[str, str, str]]:
        # linux_* anywhere is refused; a missing profile only matters for the tags that make the promise.
        refusals = [_refusal(tag) for tag in self.tags if tag.family == "linux"]
        refusals += [_refusal(tag) for tag in promised(self.tags)]
        found = [r for r in refusals if r is not None]
        written = [wheel_file_platforms(text) for text in unit.texts.values()]
        names = {t.tag for t in self.tags}
        for platforms in written:
            if set(platforms) != names:
                found.append((
                    "WHEEL",
                    f"the WHEEL file says {'.'.join(platforms) or 'nothing'} but the file name says "
                    f"{'.'.join(sorted(names))}",
                    "rebuild the wheel so that its name and its WHEEL file carry the same tags",
                ))  # fmt: skip
        return found


def _android_rules(api: int, display: str) -> Sequence[ConfiguredRule]:
    """The rules of the `android-<api>` preset (an API level below the oldest judged: the oldest)."""
    # Imported here: only Android wheels load the Android presets.
    from linkgate.check import android_promise  # noqa: PLC0415 - lazy: start-up
    from linkgate.profiles.android import NEWEST_API, OLDEST_API  # noqa: PLC0415 - lazy: start-up

    level = min(max(api, OLDEST_API), NEWEST_API)
    return android_promise.preset(android_promise.preset_name(level)).rules_for(display)


def _refusal(tag: PlatformTag) -> tuple[str, str, str] | None:
    if tag.family == "linux":
        return (
            tag.tag,
            f"{tag.tag} promises nothing about the target system, and PyPI refuses such wheels",
            "run `auditwheel repair` on the wheel: it bundles the libraries and sets a manylinux tag",
        )
    if tag.family in ("manylinux", "musllinux") and shipped_profile(tag.profile_name) is None:
        return (
            tag.tag,
            f"no {tag.profile_name} target profile is shipped, so the wheel cannot be judged against its tag",
            "check it with a policy naming a target profile of that system (`linkgate profile list`)",
        )
    return None


def any_platform_findings(
    unit: Unit, file_name: str, display: str, policy: CompiledPolicy, today: datetime.date
) -> list[Finding]:
    """A wheel tagged for any platform (`py3-none-any`, or `any` beside platform tags) that ships ELF
    files: pip installs it everywhere, musllinux included, where a glibc extension cannot load."""
    platforms = name_platforms(file_name) or ()
    elf = [name for name, _node in unit.elf_members()]
    if "any" not in platforms or not elf:
        return []
    shown = ", ".join(elf[:5]) + (f" and {len(elf) - 5} more" if len(elf) > 5 else "")
    violation = wheel_tag.refused(
        "any",
        f"the wheel is tagged for any platform but ships {len(elf)} ELF file(s): {shown}",
        "build a platform wheel (`auditwheel repair`), or ship no compiled files in an any-platform wheel",
    )
    return [always_on(display, wheel_tag.RULE, violation, policy, today)]


def judgement_for(file_name: str, wheel_tags: bool) -> WheelJudgement | None:
    """The wheel's judgement when wheels are judged by their tags and `file_name` is a wheel's."""
    platforms = name_platforms(file_name) if wheel_tags else None
    return WheelJudgement(file_name, platforms) if platforms else None


def preload_wheel_profiles(paths: Iterable[str]) -> None:
    """Load the profiles the wheels among `paths` promise, so forked workers share them."""
    for path in paths:
        platforms = name_platforms(os.path.basename(path))
        for tag in promised(tuple(parse_platform(p) for p in platforms or ())):
            try:
                shipped_profile(tag.profile_name)
            except (ProfileError, PolicyError):
                continue  # reported when the wheel is judged
