"""Generate the version-level profiles: RHEL/Rocky, Ubuntu, Amazon Linux, Alpine, manylinux.

The distributions come from scripts/version_tables.py. The manylinux tags come
from auditwheel's manylinux-policy.json: auditwheel is pip-installed (without
dependencies, only its data is read) into a throw-away virtual environment at
generation time, and its version is recorded in each profile.

    python -m scripts.gen_version_profiles   # from the repository root
    python -m scripts.gen_version_profiles --distros   # only the release tables

The distribution tables know a few libraries of a whole release, so those
profiles say `complete: false` (an unlisted library is unknown, not missing);
Alpine's base image and the manylinux whitelists are complete lists.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from linkgate.elf.facts import split_version_token
from linkgate.profiles.model import ANY_MACHINE, Libc, LibraryDefs, Machine, Profile, Provenance
from scripts.gen_musllinux_profiles import musl_exports, musl_libraries, package_version
from scripts.profile_output import write_alias_index, write_profile
from scripts.version_tables import (
    DISTROS,
    GLIBC_LIBRARIES,
    GLIBC_LOADERS,
    MUSL_LOADERS,
    Distro,
    version_tuple,
)

GENERATOR = "scripts/gen_version_profiles.py"
TABLE_NOTE = "version level: newest version per namespace, from scripts/version_tables.py"
# auditwheel's architecture names -> linkgate's (Debian-style) machine names.
AUDITWHEEL_MACHINES = {"i686": "i386", "armv7l": "arm"}
# glibc's own libraries, as manylinux whitelists name them.
_GLIBC_SET = frozenset((*GLIBC_LIBRARIES, "libnsl.so.1", "libmvec.so.1"))
# Which library defines each symbol-version namespace of manylinux-policy.json.
NAMESPACE_LIBRARIES = {"GLIBCXX": "libstdc++.so.6", "CXXABI": "libstdc++.so.6", "GCC": "libgcc_s.so.1",
                       "ZLIB": "libz.so.1", "LIBATOMIC": "libatomic.so.1"}  # fmt: skip


def distro_profile(distro: Distro) -> Profile:
    glibc = LibraryDefs(max_versions={"GLIBC": distro.glibc}, versions=distro.glibc_tokens)
    names = [*GLIBC_LIBRARIES, *(["libnsl.so.1"] if distro.libnsl else [])]
    names += [GLIBC_LOADERS[m].rsplit("/", 1)[1] for m in distro.architectures]
    libraries = dict.fromkeys(sorted(names), glibc)
    cxx = {"GLIBCXX": distro.glibcxx, "CXXABI": distro.cxxabi}
    libraries["libstdc++.so.6"] = LibraryDefs(max_versions=cxx, versions=distro.cxxabi_tokens)
    libraries["libgcc_s.so.1"] = LibraryDefs(max_versions={"GCC": distro.gcc})
    libraries["libz.so.1"] = LibraryDefs(max_versions={"ZLIB": distro.zlib})
    return Profile(
        name=distro.name,
        description=f"{distro.description}: glibc {distro.glibc}, libstdc++, libgcc_s, zlib",
        aliases=distro.aliases,
        source=Provenance(generator=GENERATOR, note=TABLE_NOTE),
        libc=Libc(family="glibc", version=distro.glibc),
        architectures=distro.architectures,
        interpreters=tuple(GLIBC_LOADERS[m] for m in distro.architectures),
        # A few libraries of a whole distribution: any other is unknown there, not missing.
        complete=False,
        machine=distro_machine(distro),
        libraries={ANY_MACHINE: dict(sorted(libraries.items()))},
    )


def distro_machine(distro: Distro) -> Machine:
    """The kernel, CPU baseline and page sizes of a release (scripts/version_tables.py)."""
    x86 = [m for m in distro.architectures if m in ("x86_64", "i386")]
    return Machine.model_validate(
        {"kernel": distro.kernel, "isa": dict.fromkeys(x86, distro.isa), "page-sizes": distro.page_sizes()}
    )


def alpine_profile() -> Profile:
    """Complete: these are the libraries of the base image (a program needing more needs `apk add`).

    musl binds by name, so libc and zlib carry their exported symbols, captured like the
    musllinux profiles (scripts/gen_musllinux_profiles.py); OpenSSL's are not known."""
    libraries = musl_libraries(musl_exports(), zlib=True)
    libraries |= dict.fromkeys(("libcrypto.so.3", "libssl.so.3"), LibraryDefs())
    packages = {"musl": package_version("musl"), "zlib1g": package_version("zlib1g")}
    return Profile(
        name="alpine",
        description="Alpine Linux 3.17+ base image: musl 1.2 (its loader ignores symbol versions), zlib, OpenSSL 3",
        source=Provenance(
            generator=GENERATOR,
            packages=packages,
            note="musl's built-in names from its ldso/dynlink.c; exported symbols of Debian's musl and zlib1g",
        ),
        libc=Libc(family="musl", version="1.2"),
        architectures=tuple(MUSL_LOADERS),
        interpreters=tuple(MUSL_LOADERS.values()),
        libraries={ANY_MACHINE: libraries},
    )


def manylinux_profile(policy: dict[str, Any], auditwheel: str) -> Profile:
    """One manylinux tag: its library whitelist, and per machine the newest version per namespace.

    Complete: the whitelist is the tag's definition; a library outside it must be bundled."""
    symbol_versions: dict[str, dict[str, list[str]]] = policy["symbol_versions"]
    machines = {AUDITWHEEL_MACHINES.get(a, a): versions for a, versions in symbol_versions.items()}
    glibc = policy["name"].removeprefix("manylinux_").replace("_", ".")
    libraries = {m: _manylinux_table(m, versions, policy["lib_whitelist"]) for m, versions in sorted(machines.items())}
    unversioned = {n: LibraryDefs() for n in policy["lib_whitelist"] if not _owned(n, libraries)}
    aliases = f" ({', '.join(policy['aliases'])})" if policy["aliases"] else ""
    return Profile(
        name=policy["name"],
        description=f"{policy['name']}{aliases} wheels: glibc {glibc} and the libraries the tag allows",
        aliases=tuple(policy["aliases"]),
        source=Provenance(
            generator=GENERATOR,
            packages={"auditwheel": auditwheel},
            note="manylinux-policy.json of auditwheel (lib_whitelist, symbol_versions); its symbol blacklist "
            "is not a loader fact and is left out",
        ),
        libc=Libc(family="glibc", version=glibc),
        architectures=tuple(sorted(machines)),
        interpreters=tuple(GLIBC_LOADERS[m] for m in sorted(machines)),
        libraries={**libraries, ANY_MACHINE: dict(sorted(unversioned.items()))},
    )


def _owned(name: str, tables: dict[str, dict[str, LibraryDefs]]) -> bool:
    return any(name in table for table in tables.values())


def _manylinux_table(machine: str, versions: dict[str, list[str]], whitelist: list[str]) -> dict[str, LibraryDefs]:
    glibc_names = [n for n in whitelist if n not in NAMESPACE_LIBRARIES.values() and n in _GLIBC_SET]
    glibc_names.append(GLIBC_LOADERS[machine].rsplit("/", 1)[1])
    owners = {name: ["GLIBC"] for name in glibc_names}
    for namespace, library in NAMESPACE_LIBRARIES.items():
        if library in whitelist:
            owners.setdefault(library, []).append(namespace)
    return {name: _defs(namespaces, versions) for name, namespaces in sorted(owners.items())}


def _defs(namespaces: list[str], versions: dict[str, list[str]]) -> LibraryDefs:
    """Newest numeric version per namespace; non-numeric ones (CXXABI_TM_1) by name."""
    maxima: dict[str, str] = {}
    tokens: list[str] = []
    for namespace in namespaces:
        numeric = [v for v in versions.get(namespace, []) if split_version_token(f"{namespace}_{v}")]
        tokens += [f"{namespace}_{v}" for v in versions.get(namespace, []) if v not in numeric]
        if numeric:
            maxima[namespace] = max(numeric, key=version_tuple)
    return LibraryDefs(max_versions=maxima, versions=tuple(tokens))


def auditwheel_policies() -> tuple[list[dict[str, Any]], str]:
    """manylinux-policy.json and the version of the auditwheel it came from (installed from PyPI now)."""
    with tempfile.TemporaryDirectory() as scratch:
        venv = Path(scratch) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "auditwheel"]
        subprocess.run(pip, check=True)
        data = next(venv.glob("lib/python*/site-packages/auditwheel/policy/manylinux-policy.json"))
        info = next(venv.glob("lib/python*/site-packages/auditwheel-*.dist-info"))
        version = info.name.removeprefix("auditwheel-").removesuffix(".dist-info")
        return json.loads(data.read_text()), version


def main() -> int:
    profiles = [distro_profile(d) for d in DISTROS]
    if sys.argv[1:] == ["--distros"]:  # only the release tables: no PyPI download, no musl capture
        _write(profiles)
        return 0
    profiles.append(alpine_profile())
    policies, auditwheel = auditwheel_policies()
    profiles += [manylinux_profile(p, auditwheel) for p in policies if p["name"].startswith("manylinux_")]
    _write(profiles)
    return 0


def _write(profiles: list[Profile]) -> None:
    for profile in profiles:
        print(f"wrote {write_profile(profile, GENERATOR)}")
    write_alias_index()


if __name__ == "__main__":
    sys.exit(main())
