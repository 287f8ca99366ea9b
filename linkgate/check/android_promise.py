"""An Android package (.apk, .aab, .aar) judged where it ships its native libraries (docs/android.md).

With no policy, an Android package is judged by the `android-<minSdk>` preset of the minSdk its
manifest gives (`android`, API 21, when it gives none) instead of the default, the way a wheel is
judged by its tag (check/wheel_promise.py). With Android rules in effect (the preset,
or a policy that sets one), the package's own `android-package` findings are emitted: ABI
directories against e_machine, the same libraries in every ABI, and zip alignment in an APK.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from linkgate.archives.android import NativeLibrary, native_library, package_kind
from linkgate.archives.android_manifest import MinSdk
from linkgate.archives.tree import Entry, Unit
from linkgate.check.evaluate import always_on
from linkgate.core.findings import Finding, Severity, Violation
from linkgate.core.records import record, replace
from linkgate.policy.compiled import CompiledPolicy
from linkgate.profiles.android import MACHINE_OF_ABI, NEWEST_API, OLDEST_API, SIXTEEN_KB_ABIS
from linkgate.rules import android_package
from linkgate.rules.android_api import ApiSetting
from linkgate.rules.base import Configured, ConfiguredRule

PRESET = "android"
_ANDROID_RULES = ("android-api", "android-linker", "android-page-size")
_PRESETS: dict[str, CompiledPolicy] = {}


def preset(name: str = PRESET) -> CompiledPolicy:
    """The `android` preset (or `android-<level>`), compiled and cached like a policy (workers inherit
    the parent's)."""
    if name not in _PRESETS:
        # Imported here: only runs that meet an Android package load a second policy.
        from linkgate.policy.cache import cache_dir, cached_policy  # noqa: PLC0415 - lazy: start-up
        from linkgate.policy.loader import load_policy  # noqa: PLC0415 - lazy: start-up

        def load() -> CompiledPolicy:
            return load_policy(name, Path.cwd())

        _PRESETS[name] = cached_policy(f"android-package|{name}", cache_dir(os.environ), load)
    return _PRESETS[name]


@record
class Level:
    """The API level an Android package is judged at with no policy, and what its manifest said."""

    api: int
    said: Violation | None  # the manifest's minSdk as a finding (a note when taken as it is)


def manifest_level(min_sdk: MinSdk | str | None) -> Level:
    """The level the package's own manifest gives (the way a wheel gives its tag); the oldest
    level judged when it gives none or cannot be read."""
    if min_sdk is None:
        return Level(OLDEST_API, None)
    if isinstance(min_sdk, str):
        return Level(OLDEST_API, android_package.unreadable_manifest(min_sdk, OLDEST_API))
    if min_sdk.codename:
        return Level(NEWEST_API, android_package.preview(min_sdk.member, min_sdk.codename, NEWEST_API))
    if min_sdk.level is None:
        return Level(OLDEST_API, None)
    if min_sdk.level < OLDEST_API:
        return Level(OLDEST_API, android_package.below_oldest(min_sdk.member, min_sdk.level, OLDEST_API))
    level = min(min_sdk.level, NEWEST_API)
    return Level(level, android_package.judged_at(min_sdk.member, level))


def preset_name(api: int) -> str:
    return PRESET if api == OLDEST_API else f"{PRESET}-{api}"


def settle(
    unit: Unit,
    file_name: str,
    display: str,
    *,
    emit: Callable[[Finding], None],
    policy: CompiledPolicy,
    today: datetime.date,
    no_policy: bool,
) -> Sequence[ConfiguredRule] | None:
    """The rules an Android package's members are judged by (None: the policy's); its own findings emitted.

    With no policy the package is judged at the minSdk its manifest gives."""
    if unit.format != "zip" or package_kind(file_name, frozenset(unit.nodes)) is None:
        return None
    level = manifest_level(unit.min_sdk) if no_policy else None
    rules = preset(preset_name(level.api)).rules_for(display) if level is not None else None
    active = rules if rules is not None else policy.rules_for(display)
    if not any(configured.rule.id in _ANDROID_RULES for configured in active):
        return rules
    said = level.said if level is not None else _below_policy(unit.min_sdk, active)
    found = [("", said)] if said is not None else []
    for path, violation in [*found, *package_violations(unit, file_name)]:
        finding = always_on(f"{display}!{path}" if path else display, android_package.RULE, violation, policy, today)
        emit(replace(finding, severity=Severity.NOTE) if violation.undetermined else finding)
    if package_kind(file_name, frozenset(unit.nodes)) == "aar":
        return [_as_library_package(configured) for configured in active]
    return rules


def _as_library_package(configured: ConfiguredRule) -> ConfiguredRule:
    """android-api judging an .aar: a library it lacks may come from another of the app's dependencies."""
    setting = configured.setting if isinstance(configured, Configured) else None
    if not isinstance(configured, Configured) or not isinstance(setting, ApiSetting):
        return configured
    return replace(configured, setting=replace(setting, library_package=True))


def _below_policy(min_sdk: MinSdk | str | None, active: Sequence[ConfiguredRule]) -> Violation | None:
    """A manifest whose minSdk is below the policy's android-api: older devices install what is not judged."""
    if not isinstance(min_sdk, MinSdk) or min_sdk.level is None:
        return None
    for configured in active:
        setting = configured.setting if isinstance(configured, Configured) else None
        if isinstance(setting, ApiSetting) and min_sdk.level < setting.min_sdk:
            return android_package.below_policy(min_sdk.member, min_sdk.level, setting.min_sdk)
    return None


def package_violations(unit: Unit, file_name: str) -> Iterator[tuple[str, Violation]]:
    """(member or "" for the package, violation) of an Android package's native libraries."""
    libraries = [(member, found) for member in sorted(unit.nodes) if (found := _library(unit, member)) is not None]
    for member, library in libraries:
        yield from ((member, v) for v in _member_violations(unit, member, library, file_name))
    yield from (("", v) for v in _incomplete_abis([library for _, library in libraries]))


def _library(unit: Unit, member: str) -> NativeLibrary | None:
    node = unit.nodes[member]
    return native_library(member) if node.kind is Entry.FILE and (node.facts or node.error) else None


def _member_violations(unit: Unit, member: str, library: NativeLibrary, file_name: str) -> Iterator[Violation]:
    facts = unit.nodes[member].facts
    expected = MACHINE_OF_ABI.get(library.abi)
    if facts is not None and expected is not None and facts.machine != expected:
        yield android_package.wrong_machine(library.abi, facts.machine, expected)
    placement = unit.placements.get(member)
    if placement is None or package_kind(file_name, frozenset(unit.nodes)) != "apk":
        return
    page = 16384 if library.abi in SIXTEEN_KB_ABIS else 4096
    if placement.compressed:
        yield android_package.compressed()
    elif placement.data_offset < 0:
        yield android_package.unreadable_header()
    elif placement.data_offset % page:
        yield android_package.misaligned(placement.data_offset, page, library.abi)


def _incomplete_abis(libraries: list[NativeLibrary]) -> Iterator[Violation]:
    by_root: dict[str, dict[str, set[str]]] = {}
    for library in libraries:
        by_root.setdefault(library.root, {}).setdefault(library.abi, set()).add(library.name)
    for root, abis in sorted(by_root.items()):
        every = set().union(*abis.values())
        for abi, names in sorted(abis.items()):
            missing = sorted(every - names)
            if missing:
                others = ", ".join(sorted(a for a, n in abis.items() if set(missing) & n))
                yield replace(android_package.missing_for(abi, missing, others), subject=f"{root}/{abi}")
