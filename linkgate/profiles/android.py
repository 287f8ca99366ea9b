"""The Android API table: which NDK library, symbol and version node each API level offers, per ABI.

Generated from bionic's own symbol maps by scripts/gen_android_profiles.py into
policies/android/ndk-api.yml (docs/android.md). Read once per process; the rules that use it keep
what they need in their compiled setting, which the policy cache pickles.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from linkgate.core.records import record
from linkgate.profiles.errors import ProfileError

if TYPE_CHECKING:
    from pathlib import Path

TABLE_PATH = ("android", "ndk-api.yml")
# The API levels the table covers (scripts/gen_android_profiles.py writes the same).
OLDEST_API, NEWEST_API = 21, 36
# linkgate's machine names -> Android ABI names (the lib/<abi>/ directories of an APK).
ABI_OF_MACHINE = {"aarch64": "arm64-v8a", "arm": "armeabi-v7a", "i386": "x86", "x86_64": "x86_64"}
MACHINE_OF_ABI = {abi: machine for machine, abi in ABI_OF_MACHINE.items()}
# The ABIs Google Play requires 16 KB page-size compatible (the 32-bit ones are not).
SIXTEEN_KB_ABIS = frozenset({"arm64-v8a", "x86_64"})


@record
class AndroidTable:
    """The API levels of the NDK's libraries, bionic's symbols and version nodes."""

    source: str  # the generator and the bionic commit, for messages and docs
    oldest: int
    newest: int
    default: int
    # NDK stable library -> the API level it appeared at.
    libraries: Mapping[str, int]
    # (abi, library, version node) -> the API level it appeared at on that ABI.
    versions: Mapping[tuple[str, str, str], int]
    # abi -> symbol -> ((library, API level, version node), ...)
    symbols: Mapping[str, Mapping[str, tuple[tuple[str, int, str], ...]]]

    def symbol_level(self, abi: str, name: str, needed: tuple[str, ...]) -> tuple[str, int, str] | None:
        """(library, API level, version node) of the library among `needed` that exports `name` on `abi` earliest."""
        offers = [offer for offer in self.symbols.get(abi, {}).get(name, ()) if offer[0] in needed]
        return min(offers, key=lambda offer: offer[1]) if offers else None


def table_file() -> Path:
    """policies/android/ndk-api.yml: package data after `pip install`, the checkout's otherwise."""
    import importlib.resources  # noqa: PLC0415 - lazy: start-up
    from pathlib import Path  # noqa: PLC0415 - lazy: start-up

    try:
        base = Path(str(importlib.resources.files("linkgate.policies")))
    except ModuleNotFoundError:
        base = Path(__file__).resolve().parents[2] / "policies"
    return base.joinpath(*TABLE_PATH)


@functools.lru_cache(maxsize=1)
def load_table() -> AndroidTable:
    """The shipped table; ProfileError names the file and line of a broken one."""
    # Imported here: a run whose compiled policy is cached imports no YAML reader (the table is in it).
    from linkgate.core.sourcefile import PROFILE_LIMIT, SourceFileError, read_source  # noqa: PLC0415 - lazy: start-up
    from linkgate.core.yamlsource import YamlError, load_yaml  # noqa: PLC0415 - lazy: start-up

    path = table_file()
    try:
        data = load_yaml(read_source(path, PROFILE_LIMIT)).data
    except (SourceFileError, YamlError) as error:
        raise ProfileError(str(path), error.line, str(error)) from None
    try:
        return _table(data)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ProfileError(str(path), None, f"not an Android API table: {error!r}") from None


def _table(data: Any) -> AndroidTable:
    levels = data["api-levels"]
    abis = tuple(str(abi) for abi in data["abis"])
    source = data["source"]
    commit = next(iter(source["packages"].values()))
    return AndroidTable(
        source=f"{source['generator']} from bionic {str(commit)[:12]}",
        oldest=int(levels["oldest"]),
        newest=int(levels["newest"]),
        default=int(levels["default"]),
        libraries={str(name): int(level) for name, level in data["libraries"].items()},
        versions=_versions(data["versions"], abis),
        symbols=_symbols(data["symbols"], abis),
    )


def _versions(data: Mapping[str, Mapping[str, Any]], abis: tuple[str, ...]) -> dict[tuple[str, str, str], int]:
    result: dict[tuple[str, str, str], int] = {}
    for library, nodes in data.items():
        for node, level in nodes.items():
            per_abi = level if isinstance(level, Mapping) else dict.fromkeys(abis, level)
            for abi, value in per_abi.items():
                result[(str(abi), str(library), str(node))] = int(value)
    return result


def _symbols(data: Mapping[str, Mapping[str, str]], abis: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """`"LEVEL NODE [ABI...]": "names"` groups, inverted into abi -> name -> ((library, level, node), ...)."""
    result: dict[str, dict[str, Any]] = {abi: {} for abi in abis}
    for library, groups in data.items():
        for key, names in groups.items():
            level, node, *only = str(key).split()
            offer = (str(library), int(level), node)
            for abi in only or abis:
                table = result[abi]
                for name in str(names).split():
                    table[name] = (*table.get(name, ()), offer)
    return result
