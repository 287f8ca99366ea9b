"""android-api: the library loads on every Android version from the app's minSdk (e.g. `android-api: 24`).

Judges bionic files (Android native libraries) only, against the API table generated from
bionic's own symbol maps (scripts/gen_android_profiles.py, policies/android/ndk-api.yml):
- every symbol the library imports from libc.so, libm.so or libdl.so exists at that API level
  on its ABI. Below the level a symbol appeared at, the bionic linker stops with
  `cannot locate symbol "X" referenced by "libfoo.so"`. A weak reference (what
  `__builtin_available` guards make) is allowed: it is null on older devices;
- every NEEDED library is an NDK stable library present at that level (libvulkan.so from 24,
  libaaudio.so from 26, libbinder_ndk.so from 29...) or is shipped in the same ABI directory of
  the APK/AAR. Platform-private libraries (libcrypto.so, libcutils.so, libskia.so...) are refused
  by the linker for apps targeting API 24 and later; `libc++_shared.so` must be packaged with the
  library (same `lib/<abi>/` or `jni/<abi>/` directory). In an .aar such a library may come from
  another of the app's dependencies at packaging: a note says so, the APK decides;
- a library built for a higher API level than minSdk (its `.note.android.ident`) is a warning:
  its build assumed functions older devices may lack.
Libraries other than libc, libm and libdl are judged by name and level, not symbol by symbol.
A Python extension module (an Android wheel's `*.cpython-313-aarch64-linux-android.so`) may need
`libpython3.N.so`: PEP 738 makes it link libpython, which the app's embedded Python ships.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import Annotated

from linkgate.core.findings import Violation
from linkgate.core.records import record
from linkgate.core.site import Site
from linkgate.elf.android import with_android
from linkgate.elf.facts import ElfFacts
from linkgate.profiles.android import ABI_OF_MACHINE, NEWEST_API, OLDEST_API, AndroidTable, load_table
from linkgate.rules.base import CompileContext, PolicyRule, short_list
from linkgate.rules.remedies import ANDROID_SYMBOL_FIX
from linkgate.rules.schema import Checked, keywords

# Platform libraries apps used before API 24 made them private (bionic's "Private API" section).
PRIVATE_LIBRARIES = frozenset({
    "libandroid_runtime.so", "libbase.so", "libbinder.so", "libcrypto.so", "libcutils.so", "libexpat.so",
    "libgui.so", "libicui18n.so", "libicuuc.so", "libmedia.so", "libnativehelper.so", "libskia.so",
    "libsqlite.so", "libssl.so", "libstagefright.so", "libui.so", "libutils.so",
})  # fmt: skip
PRIVATE_SINCE = 24
_LIBPYTHON = re.compile(r"libpython3\.\d+\.so")
CXX_SHARED = "libc++_shared.so"


@record
class ApiSetting:
    """The app's minSdk and the table it is judged with."""

    min_sdk: int
    table: AndroidTable
    # Judging an .aar: the app's other dependencies may ship what it lacks (merged at app packaging).
    library_package: bool = False


def check(facts: ElfFacts, setting: ApiSetting, site: Site) -> Iterator[Violation]:
    abi = ABI_OF_MACHINE.get(facts.machine)
    if facts.libc != "bionic" or abi is None:
        return
    yield from _libraries(facts, setting, site)
    yield from _symbols(facts, setting, abi)
    yield from _built_for(facts, setting)


def _libraries(facts: ElfFacts, setting: ApiSetting, site: Site) -> Iterator[Violation]:
    for name in facts.needed:
        if site.python_extension and _LIBPYTHON.fullmatch(name):
            continue  # PEP 738: Android extension modules link libpython, which the app's Python ships
        level = setting.table.libraries.get(name)
        if level is None and not _shipped_beside(facts, name, site):
            yield _not_available(name, setting, site)
        elif level is not None and level > setting.min_sdk:
            yield Violation(
                subject=name,
                message=f"needs {name}, an NDK library from API {level}: devices from minSdk {setting.min_sdk} "
                f'to API {level - 1} do not have it (dlopen failed: library "{name}" not found)',
                hint=f"raise minSdk to {level}, or dlopen() {name} at run time when the device has it",
            )


def _shipped_beside(facts: ElfFacts, name: str, site: Site) -> bool:
    """The app's native library directory is the library's own: the linker finds siblings by name."""
    if site.origin is None:
        return False
    shipped = site.library_at(posixpath.join(site.origin, name))
    return shipped is not None and shipped.machine == facts.machine


def _not_available(name: str, setting: ApiSetting, site: Site) -> Violation:
    if site.origin is None:  # judged without the files beside it (no pre-pass: no policy asked for one)
        private = " (a private platform library: the app must ship its own)" if name in PRIVATE_LIBRARIES else ""
        return Violation(
            subject=name,
            message=f"needs {name}, which is not an NDK library{private}: whether the app ships it cannot be "
            "told from this file alone",
            hint="check the APK/AAR, or the ABI directory with a policy that sets android-api",
            undetermined=True,
        )
    where = "in the same ABI directory"
    if setting.library_package and name not in PRIVATE_LIBRARIES:
        return Violation(
            subject=name,
            message=f"needs {name}, which is not an NDK library and not in this AAR: the app must ship it "
            "from another dependency (an AAR, or its own build) in the same ABI directory",
            hint=f"check that the app's APK ships {name} for every ABI (`linkgate check app.apk`)",
            undetermined=True,
        )
    if name == CXX_SHARED:
        return Violation(
            subject=name,
            message=f"needs {name}, which is not shipped {where}: Android has no system libc++ for apps",
            hint=f"package {name} from the NDK (`ANDROID_STL=c++_shared` does it in Gradle) into every ABI "
            "directory, or link the STL statically (`c++_static`)",
        )
    if name in PRIVATE_LIBRARIES:
        return Violation(
            subject=name,
            message=f"needs {name}, a private platform library: the linker refuses it for apps targeting "
            f'API {PRIVATE_SINCE} and later (library "{name}" is not accessible for the namespace)',
            hint="build your own copy of it and ship it in the APK (renamed, to avoid clashes), or use an "
            "NDK API instead",
        )
    return Violation(
        subject=name,
        message=f"needs {name}, which is neither an NDK library at API {setting.min_sdk} nor shipped {where}",
        hint=f"ship {name} in every ABI directory of the APK/AAR, or link it statically",
    )


def _symbols(facts: ElfFacts, setting: ApiSetting, abi: str) -> Iterator[Violation]:
    android = facts.android
    if android is None:
        return
    late: dict[tuple[int, str, str], list[str]] = {}
    for name, weak in android.imports:
        found = setting.table.symbol_level(abi, name, facts.needed)
        if found is not None and found[1] > setting.min_sdk and not weak:
            late.setdefault((found[1], found[0], found[2]), []).append(name)
    me = f'"{facts.soname}"' if facts.soname else "this library"
    for (level, library, node), names in sorted(late.items()):
        yield Violation(
            subject=f"API {level}",
            message=f'cannot locate symbol "{names[0]}" referenced by {me} on API {setting.min_sdk}-{level - 1}: '
            f"{short_list(names)} {'is' if len(names) == 1 else 'are'} in {library} ({node}) from API {level} on {abi}",
            hint=ANDROID_SYMBOL_FIX.format(level=level),
            symbols=tuple(names),
        )


def _built_for(facts: ElfFacts, setting: ApiSetting) -> Iterator[Violation]:
    built = facts.android.api_level if facts.android is not None else None
    if built is not None and built > setting.min_sdk:
        yield Violation(
            subject="built-for",
            message=f"built for API {built} (its .note.android.ident), above minSdk {setting.min_sdk}",
            hint=f"build with `--target=<arch>-linux-android{setting.min_sdk}` (ANDROID_PLATFORM / minSdk)",
            advisory=True,
        )


def api_level(value: int) -> int:
    if not OLDEST_API <= value <= NEWEST_API:
        raise ValueError(f"an Android API level from {OLDEST_API} to {NEWEST_API} (minSdk below 21: say 21)")
    return value


ApiLevel = Annotated[int, Checked(api_level, json_schema=keywords(minimum=OLDEST_API, maximum=NEWEST_API))]


def _compile(value: int, context: CompileContext) -> ApiSetting:
    del context
    return ApiSetting(value, load_table())


RULE = PolicyRule(id="android-api", doc=__doc__ or "", schema=ApiLevel, compile=_compile, check=check,
                  reads=(with_android,))  # fmt: skip
