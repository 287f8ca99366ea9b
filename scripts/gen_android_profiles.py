"""Generate the Android API table (policies/android/ndk-api.yml) and the presets android-21 … android-NN.

Source: bionic's own symbol maps (libc/libc.map.txt, libm/libm.map.txt, libdl/libdl.map.txt of
aosp-mirror/platform_bionic), the files the NDK generates its stub libraries from. They are read
from a git clone or mirror of that repository at a given commit (`git show COMMIT:PATH`), and the
commit is recorded in the table.

The map files are read the way the NDK's stub generator reads them (build/soong/cc/symbolfile):
- a version block (`LIBC_N { # introduced-arm64=24 ... }`) and a symbol (`dlvsym; # introduced=24`)
  each carry tags; a symbol exists on an ABI from max(block level, symbol level), where
  `introduced-<arch>=N` overrides `introduced=N` and no tag means "from the oldest level";
- arch tags (`# arm x86`) restrict a symbol to those ABIs;
- blocks named *_PRIVATE or *_PLATFORM, and blocks or symbols tagged `platform-only`, `future`, or
  only with mode tags (`llndk`, `apex`, `systemapi`), are not in the NDK and are left out;
- levels below the oldest NDK level (21) count as 21; a codename or a level above NEWEST_API (not
  yet released) leaves the symbol out.

The table is compact: per library, the symbols grouped by the API level they appear at (and the
ABIs, when not all); the version nodes with their level per ABI. The other NDK stable libraries
(liblog, libandroid, EGL/GLES, Vulkan…) are listed by the API level they appeared at, from the NDK's
"Native APIs" documentation (NDK_LIBRARIES below), without their symbols.

    python -m scripts.gen_android_profiles /path/to/platform_bionic.git [COMMIT]
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

GENERATOR = "scripts/gen_android_profiles.py"
REPO = Path(__file__).resolve().parent.parent
TABLE = REPO / "policies" / "android" / "ndk-api.yml"
PRESETS = REPO / "policies"
OLDEST_API, NEWEST_API = 21, 36
# The default API level of the `android` preset: the oldest level current NDKs build for.
DEFAULT_API = 21
# Android ABI -> the map files' arch tag.
ABIS = {"arm64-v8a": "arm64", "armeabi-v7a": "arm", "x86": "x86", "x86_64": "x86_64"}
MAPS = {"libc.so": "libc/libc.map.txt", "libm.so": "libm/libm.map.txt", "libdl.so": "libdl/libdl.map.txt"}
_ARCHES = frozenset({"arm", "arm64", "x86", "x86_64", "riscv64"})
_MODE_TAGS = frozenset({"llndk", "apex", "systemapi"})
_LEFT_OUT = frozenset({"platform-only", "future"})
# NDK stable libraries and the API level each appeared at (NDK "Native APIs"); older than 21 counts as 21.
NDK_LIBRARIES = {
    "libc.so": 21, "libm.so": 21, "libdl.so": 21, "liblog.so": 21, "libz.so": 21, "libstdc++.so": 21,
    "libandroid.so": 21, "libjnigraphics.so": 21, "libEGL.so": 21, "libGLESv1_CM.so": 21, "libGLESv2.so": 21,
    "libGLESv3.so": 21, "libOpenSLES.so": 21, "libOpenMAXAL.so": 21, "libmediandk.so": 21,
    "libvulkan.so": 24, "libcamera2ndk.so": 24, "libnativewindow.so": 26, "libaaudio.so": 26, "libsync.so": 26,
    "libneuralnetworks.so": 27, "libamidi.so": 29, "libbinder_ndk.so": 29, "libicu.so": 31,
    "libnativehelper.so": 31,
}  # fmt: skip
_BLOCK = re.compile(r"^\s*([A-Za-z0-9_]+)\s*\{\s*(?:#(.*))?$")
_SYMBOL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*;\s*(?:#(.*))?$")


def tags_of(comment: str | None) -> list[str]:
    return (comment or "").replace("#", " ").split()


def levels(tags: list[str]) -> dict[str, int | None] | None:
    """arch -> the level it appears at (None: not in the NDK on that arch); None: left out everywhere."""
    if _LEFT_OUT & set(tags) or (tags and set(tags) <= _MODE_TAGS | {"var", "weak"} and _MODE_TAGS & set(tags)):
        return None
    arches = _ARCHES & set(tags) or _ARCHES
    common = _level(tags, "introduced")
    result: dict[str, int | None] = {}
    for arch in _ARCHES:
        specific = _level(tags, f"introduced-{arch}")
        level = specific if specific is not None else common
        result[arch] = None if arch not in arches or level == -1 else max(level or OLDEST_API, OLDEST_API)
    return result


def _level(tags: list[str], key: str) -> int | None:
    """The value of `key=N`; -1 for a codename or an unreleased level."""
    value = next((t.split("=", 1)[1] for t in tags if t.startswith(key + "=")), None)
    if value is None:
        return None
    return int(value) if value.isdigit() and int(value) <= NEWEST_API else -1


Levels = dict[str, int | None]


def parse_map(text: str) -> tuple[dict[str, Levels], dict[str, Levels], dict[str, str]]:
    """(version node -> arch levels, symbol -> arch levels, symbol -> node) of one map file, as the NDK sees it."""
    nodes: dict[str, dict[str, int | None]] = {}
    symbols: dict[str, dict[str, int | None]] = {}
    block: dict[str, int | None] | None = None
    members: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if (opened := _BLOCK.match(line)) is not None and not line.strip().startswith("extern"):
            name = opened.group(1)
            private = name.endswith(("_PRIVATE", "_PLATFORM"))
            block = None if private else levels(tags_of(opened.group(2)))
            current = name
            continue
        found = _SYMBOL.match(line)
        if block is None or found is None or found.group(1) in ("global", "local"):
            continue
        own = levels(tags_of(found.group(2)))
        if own is not None:
            symbols[found.group(1)] = {a: _later(block[a], own[a]) for a in _ARCHES}
            members.setdefault(current, []).append(found.group(1))
    # A node appears with its first symbol: LIBC_O has no level of its own, its symbols say 26.
    for name, names in members.items():
        nodes[name] = {a: min((v for n in names if (v := symbols[n][a]) is not None), default=None) for a in _ARCHES}
    return nodes, symbols, {name: node for node, names in members.items() for name in names}


def _later(first: int | None, second: int | None) -> int | None:
    return None if first is None or second is None else max(first, second)


def grouped(symbols: dict[str, Levels], nodes: dict[str, str]) -> dict[str, str]:
    """`"LEVEL NODE"` or `"LEVEL NODE abi abi"` -> the symbols of version NODE appearing at LEVEL on those ABIs."""
    groups: dict[tuple[int, str, tuple[str, ...]], list[str]] = defaultdict(list)
    for name, by_arch in symbols.items():
        per_abi = {abi: by_arch[arch] for abi, arch in ABIS.items()}
        for level in sorted({v for v in per_abi.values() if v is not None}):
            abis = tuple(abi for abi, v in per_abi.items() if v == level)
            groups[(level, nodes[name], () if len(abis) == len(ABIS) else abis)].append(name)
    return {
        " ".join([str(level), node, *abis]): " ".join(sorted(names))
        for (level, node, abis), names in sorted(groups.items())
    }


def node_levels(nodes: dict[str, Levels]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, by_arch in nodes.items():
        per_abi = {abi: by_arch[arch] for abi, arch in ABIS.items() if by_arch[arch] is not None}
        if not per_abi:
            continue  # not released yet
        values = set(per_abi.values())
        result[name] = values.pop() if len(values) == 1 and len(per_abi) == len(ABIS) else per_abi
    return result


def git_show(git_dir: str, commit: str, path: str) -> str:
    command = ["git", "--git-dir", git_dir, "show", f"{commit}:{path}"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def table(git_dir: str, commit: str) -> dict[str, Any]:
    full = subprocess.run(["git", "--git-dir", git_dir, "rev-parse", commit], capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip
    versions: dict[str, Any] = {}
    symbols: dict[str, Any] = {}
    for library, path in MAPS.items():
        nodes, names, node_of = parse_map(git_show(git_dir, full, path))
        versions[library] = node_levels(nodes)
        symbols[library] = grouped(names, node_of)
    return {
        "source": {
            "generator": GENERATOR,
            "packages": {"aosp-mirror/platform_bionic": full},
            "note": "libc, libm and libdl symbols and version nodes from bionic's map files, read as the NDK's "
            "stub generator reads them; the other NDK libraries by the API level they appeared at",
        },
        "api-levels": {"oldest": OLDEST_API, "newest": NEWEST_API, "default": DEFAULT_API},
        "abis": list(ABIS),
        "libraries": NDK_LIBRARIES,
        "versions": versions,
        "symbols": symbols,
    }


def write_table(data: dict[str, Any]) -> None:
    header = (
        f"# linkgate Android API table: generated by {GENERATOR}; regenerate, do not edit.\n"
        '# symbols: library -> "LEVEL [ABI...]" -> the names that appear at that API level (on those ABIs only).\n'
    )
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=110)
    TABLE.write_text(header + body, encoding="utf-8")


def write_presets() -> None:
    """policies/android-NN.yml: the `android` preset at API level NN."""
    for level in range(OLDEST_API, NEWEST_API + 1):
        text = (
            f"# linkgate preset android-{level}: generated by {GENERATOR}; regenerate, do not edit.\n"
            f"# The `android` preset for an app whose minSdk is {level}.\n"
            f"description: Android minSdk {level} (bionic symbols and linker at API {level}, 16 KB pages)\n"
            "extends: android\n"
            f"rules: {{android-api: {level}, android-linker: {level}}}\n"
        )
        (PRESETS / f"android-{level}.yml").write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    write_table(table(argv[0], argv[1] if len(argv) > 1 else "HEAD"))
    write_presets()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
