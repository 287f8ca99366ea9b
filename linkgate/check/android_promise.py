"""An Android package (.apk, .aab, .aar) judged where it ships its native libraries (docs/android.md).

With no policy, an Android package is judged by the `android` preset instead of the default, the
way a wheel is judged by its tag (check/wheel_promise.py). With Android rules in effect (the preset,
or a policy that sets one), the package's own `android-package` findings are emitted: ABI
directories against e_machine, the same libraries in every ABI, and zip alignment in an APK.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from linkgate.archives.android import NativeLibrary, native_library, package_kind
from linkgate.archives.tree import Entry, Unit
from linkgate.check.evaluate import always_on
from linkgate.core.findings import Finding, Severity, Violation
from linkgate.core.records import replace
from linkgate.policy.compiled import CompiledPolicy
from linkgate.profiles.android import MACHINE_OF_ABI, SIXTEEN_KB_ABIS
from linkgate.rules import android_package
from linkgate.rules.base import ConfiguredRule

PRESET = "android"
_ANDROID_RULES = ("android-api", "android-linker", "android-page-size")
_PRESET: list[CompiledPolicy] = []


def preset() -> CompiledPolicy:
    """The `android` preset, compiled and cached like a policy (workers inherit the parent's)."""
    if not _PRESET:
        # Imported here: only runs that meet an Android package load a second policy.
        from linkgate.policy.cache import cache_dir, cached_policy  # noqa: PLC0415 - lazy: start-up
        from linkgate.policy.loader import load_policy  # noqa: PLC0415 - lazy: start-up

        def load() -> CompiledPolicy:
            return load_policy(PRESET, Path.cwd())

        _PRESET.append(cached_policy(f"android-package|{PRESET}", cache_dir(os.environ), load))
    return _PRESET[0]


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
    """The rules an Android package's members are judged by (None: the policy's); its own findings emitted."""
    if unit.format != "zip" or package_kind(file_name, frozenset(unit.nodes)) is None:
        return None
    rules = preset().rules_for(display) if no_policy else None
    active = rules if rules is not None else policy.rules_for(display)
    if not any(configured.rule.id in _ANDROID_RULES for configured in active):
        return rules
    for path, violation in package_violations(unit, file_name):
        finding = always_on(f"{display}!{path}" if path else display, android_package.RULE, violation, policy, today)
        emit(replace(finding, severity=Severity.NOTE) if violation.undetermined else finding)
    return rules


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
