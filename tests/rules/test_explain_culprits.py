"""The culprit table is checked against the libraries themselves, not taken on trust.

Every entry must be a default (`@@`) version definition of the real library:
glibc 2.36 and libstdc++ on this machine (Debian 12), and Debian 13's glibc 2.41
(from its own packages) for versions newer than the machine's. pyelftools reads
the version tables: an oracle independent of linkgate's reader.
"""

from __future__ import annotations

import platform
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile

from linkgate.elf.facts import split_version_token
from linkgate.rules.culprits import CULPRITS, Culprit, causes, rank
from scripts import debian_roots
from tests.helpers import unavailable

HOST_LIBS = Path("/usr/lib/x86_64-linux-gnu")
VERSYM_HIDDEN = 0x8000

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64", reason="the table's facts are x86_64 glibc's")


@cache
def default_definitions(library: Path) -> frozenset[tuple[str, str]]:
    """(symbol, version) of every default-version definition in the library's dynamic symbols."""
    with library.open("rb") as handle:
        elf = ELFFile(handle)
        names = {entry["vd_ndx"]: next(aux).name for entry, aux in _section(elf, ".gnu.version_d").iter_versions()}
        versym = _section(elf, ".gnu.version")
        found = set()
        for index, symbol in enumerate(_section(elf, ".dynsym").iter_symbols()):
            ndx = versym.get_symbol(index)["ndx"]
            if symbol["st_shndx"] == "SHN_UNDEF" or isinstance(ndx, str) or ndx & VERSYM_HIDDEN:
                continue
            found.add((symbol.name, names[ndx]))
    return frozenset(found)


def _section(elf: ELFFile, name: str) -> Any:
    section = elf.get_section_by_name(name)
    assert section is not None, name
    return section


def newest_glibc(library: Path) -> tuple[int, ...]:
    versions = [split_version_token(v) for _, v in default_definitions(library)]
    return max(parsed[1] for parsed in versions if parsed and parsed[0] == "GLIBC")


@cache
def debian13_libs() -> Path:
    try:
        return debian_roots.debian_root("13").path / "usr" / "lib" / "x86_64-linux-gnu"
    except debian_roots.RootUnavailable as error:
        unavailable(f"Debian 13 packages are not available: {error}")


def library_for(culprit: Culprit) -> Path:
    """The machine's library when it is new enough, else Debian 13's."""
    host = HOST_LIBS / culprit.library
    parsed = split_version_token(culprit.version)
    assert parsed is not None
    if parsed[0] != "GLIBC" or parsed[1] <= newest_glibc(HOST_LIBS / "libc.so.6"):
        return host
    return debian13_libs() / culprit.library


@pytest.mark.parametrize("culprit", CULPRITS, ids=lambda c: f"{c.version}:{c.patterns[0]}")
def test_culprit_is_a_real_version_definition(culprit: Culprit) -> None:
    definitions = default_definitions(library_for(culprit))
    at_version = {name for name, version in definitions if version == culprit.version}
    for pattern in culprit.patterns:
        if "*" in pattern:
            assert any(culprit.matches(culprit.version, name) == pattern for name in at_version), pattern
        else:
            assert pattern in at_version, f"{pattern}@@{culprit.version} not in {culprit.library}"


def test_causes_and_ranking() -> None:
    symbols = ["free", "pthread_join", "__libc_start_main", "pthread_create", "dlopen"]
    assert causes("GLIBC_2.34", symbols) == [
        "__libc_start_main = every executable linked against glibc >= 2.34",
        "pthread_* = libpthread merged into libc in 2.34",
        "dlopen = libdl merged into libc in 2.34",
    ]
    ordered = sorted(symbols, key=lambda name: rank("GLIBC_2.34", name))
    assert ordered == ["__libc_start_main", "pthread_join", "pthread_create", "dlopen", "free"]
    # A symbol explains a version only at the version it was moved or added in.
    assert causes("GLIBC_2.2.5", ["pthread_create", "stat"]) == []
