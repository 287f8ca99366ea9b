"""Generate the musllinux profiles (musllinux_1_1, musllinux_1_2) and the symbol lists musl targets bind against.

The tags come from auditwheel's musllinux-policy.json (library whitelist and
architectures; auditwheel is pip-installed, without dependencies, into a
throw-away virtual environment, and its version is recorded in each profile).

musl binds every undefined symbol by name, so these profiles carry the names
each library exports (`symbols:`), read with linkgate's own reader from the
real libraries of this machine:
- musl's libc, which is also its loader: Debian's `musl` package
  (/lib/ld-musl-x86_64.so.1). Debian ships musl 1.2.3, the 1.2 series of
  Alpine 3.13+, and serves musllinux_1_2 as is.
- musllinux_1_1 (Alpine 3.12's musl 1.1.24) exports a subset: the same list
  without the functions musl added in 1.2 (MUSL_1_2_ONLY). Names that old
  musl has and 1.2.3 dropped do not exist: musl keeps its ABI.
- zlib: the machine's libz.so.1 (Debian's zlib1g); its exports are zlib's API,
  whichever C library built it.
The exported names do not depend on the architecture except for the 32-bit
time64 names, which are not listed here (only x86_64 is captured), so the
lists apply to every machine of the tag.

    python -m scripts.gen_musllinux_profiles   # from the repository root
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from linkgate.elf.exports import read_exports
from linkgate.elf.reader import read_elf
from linkgate.profiles.model import ANY_MACHINE, Libc, LibraryDefs, Profile, Provenance
from scripts.profile_output import write_alias_index, write_profile
from scripts.version_tables import MUSL_BUILTINS, MUSL_LOADERS

GENERATOR = "scripts/gen_musllinux_profiles.py"
MUSL_LIBC = "/lib/ld-musl-x86_64.so.1"
ZLIB = "/lib/x86_64-linux-gnu/libz.so.1"
AUDITWHEEL_MACHINES = {"i686": "i386", "armv7l": "arm"}
LOADERS = {**MUSL_LOADERS, "loongarch64": "/lib/ld-musl-loongarch64.so.1"}
# Functions musl 1.2.x added (1.2.2: _Fork, reallocarray; 1.2.3: qsort_r): absent from musl 1.1.
MUSL_1_2_ONLY = frozenset({"_Fork", "reallocarray", "qsort_r"})
# The libc entry every other built-in name points at.
LIBC_KEY = MUSL_BUILTINS[0]
# auditwheel's whitelist says `libc.so` and means musl's soname per architecture
# (policy/__init__.py, _fixup_musl_libc_soname): the name a wheel built on Alpine needs.
MUSL_SONAMES = {
    "x86_64": "libc.musl-x86_64.so.1", "i686": "libc.musl-x86.so.1", "aarch64": "libc.musl-aarch64.so.1",
    "s390x": "libc.musl-s390x.so.1", "ppc64le": "libc.musl-ppc64le.so.1", "armv7l": "libc.musl-armv7.so.1",
    "riscv64": "libc.musl-riscv64.so.1", "loongarch64": "libc.musl-loongarch64.so.1",
}  # fmt: skip


def package_version(package: str) -> str:
    """The installed Debian package's version (recorded as provenance)."""
    command = ["dpkg-query", "-W", "-f=${Version}", package]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def symbol_text(names: frozenset[str]) -> str:
    return " ".join(sorted(names))


def musl_exports() -> frozenset[str]:
    names = read_exports(MUSL_LIBC)
    if not names:
        raise SystemExit(f"{MUSL_LIBC}: no dynamic symbols (install Debian's musl package)")
    return names


def musl_libraries(libc_symbols: frozenset[str], zlib: bool) -> dict[str, LibraryDefs]:
    """musl's built-in names (one library answering them all) and, when allowed, zlib."""
    libraries = {LIBC_KEY: LibraryDefs(symbols=symbol_text(libc_symbols))}
    libraries |= {name: LibraryDefs(same_as=LIBC_KEY) for name in MUSL_BUILTINS[1:]}
    if zlib:
        libraries["libz.so.1"] = LibraryDefs(symbols=symbol_text(zlib_exports()))
    return libraries


def tag_libraries(policy: dict[str, Any], libc_symbols: frozenset[str]) -> dict[str, LibraryDefs]:
    """The tag's whitelist as auditwheel reads it: musl's soname per architecture, and zlib.

    Stricter than Alpine (whose loader also answers libc.so, libc.so.6, libpthread.so.0...):
    the tag is auditwheel's definition, as the manylinux whitelists are."""
    sonames = sorted((MUSL_SONAMES[a] for a in policy["symbol_versions"]), key=lambda n: n != MUSL_SONAMES["x86_64"])
    libraries = {sonames[0]: LibraryDefs(symbols=symbol_text(libc_symbols))}
    libraries |= {name: LibraryDefs(same_as=sonames[0]) for name in sonames[1:]}
    if "libz.so.1" in policy["lib_whitelist"]:
        libraries["libz.so.1"] = LibraryDefs(symbols=symbol_text(zlib_exports()))
    return libraries


def zlib_exports() -> frozenset[str]:
    """zlib's API names; its version nodes (ZLIB_1.2.9...) are absolute symbols too, and no function."""
    names = read_exports(ZLIB) or frozenset()
    return names - frozenset(read_elf(ZLIB).version_defs)


def musllinux_profile(policy: dict[str, Any], auditwheel: str, libc_symbols: frozenset[str]) -> Profile:
    machines = sorted(AUDITWHEEL_MACHINES.get(a, a) for a in policy["symbol_versions"])
    release = policy["name"].removeprefix("musllinux_").replace("_", ".")
    symbols = libc_symbols - MUSL_1_2_ONLY if release == "1.1" else libc_symbols
    return Profile(
        name=policy["name"],
        description=f"{policy['name']} wheels: musl {release} (binds symbols by name, ignores versions) "
        "and the libraries the tag allows",
        source=Provenance(
            generator=GENERATOR,
            packages={"auditwheel": auditwheel, "musl": package_version("musl"), "zlib1g": package_version("zlib1g")},
            note="musllinux-policy.json of auditwheel (lib_whitelist with libc.so as musl's soname per "
            "architecture, architectures); exported symbols of Debian's musl (1.2.3 stands for musl 1.2; "
            "musl 1.1: without " + ", ".join(sorted(MUSL_1_2_ONLY)) + ") and zlib1g, read with linkgate's reader",
        ),
        libc=Libc(family="musl", version=release),
        architectures=tuple(machines),
        interpreters=tuple(LOADERS[m] for m in machines),
        libraries={ANY_MACHINE: tag_libraries(policy, symbols)},
    )


def auditwheel_musllinux() -> tuple[list[dict[str, Any]], str]:
    """musllinux-policy.json and the version of the auditwheel it came from (installed now)."""
    with tempfile.TemporaryDirectory() as scratch:
        venv = Path(scratch) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "auditwheel"]
        subprocess.run(pip, check=True)
        data = next(venv.glob("lib/python*/site-packages/auditwheel/policy/musllinux-policy.json"))
        info = next(venv.glob("lib/python*/site-packages/auditwheel-*.dist-info"))
        version = info.name.removeprefix("auditwheel-").removesuffix(".dist-info")
        return json.loads(data.read_text()), version


def main() -> int:
    policies, auditwheel = auditwheel_musllinux()
    libc_symbols = musl_exports()
    for policy in policies:
        if policy["name"].startswith("musllinux_"):
            print(f"wrote {write_profile(musllinux_profile(policy, auditwheel, libc_symbols), GENERATOR)}")
    write_alias_index()
    return 0


if __name__ == "__main__":
    sys.exit(main())
