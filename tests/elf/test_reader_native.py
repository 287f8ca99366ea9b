"""The reader on binaries built here with gcc and musl-gcc: facts known by construction."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from linkgate.elf.facts import Kind, Linkage, SymbolRef
from linkgate.elf.reader import read_elf
from tests.helpers.elf_oracle import needs_tree

Built = Callable[[str], Path]

DF_BIND_NOW = 0x8
DF_1_NOW, DF_1_PIE = 0x1, 0x08000000
GLIBC_LOADER = "/lib64/ld-linux-x86-64.so.2"
MUSL_LOADER = "/lib/ld-musl-x86_64.so.1"


def _host_glibc() -> tuple[int, ...]:
    version = os.confstr("CS_GNU_LIBC_VERSION") or "unknown 0"
    return tuple(int(part) for part in version.split()[1].split("."))


# gcc links against the machine's glibc: from 2.34 on, every executable needs
# __libc_start_main@GLIBC_2.34 (the build image of the seed scenario, Debian 12, has 2.36).
START_MAIN = "GLIBC_2.34" if _host_glibc() >= (2, 34) else "GLIBC_2.2.5"


def libc_needs(versions: dict[str, set[str]], executable: bool = True) -> dict[str, set[str]]:
    """libc.so.6's expected needs, plus __libc_start_main for an executable."""
    merged = {version: set(names) for version, names in versions.items()}
    if executable:
        merged.setdefault(START_MAIN, set()).add("__libc_start_main")
    return merged


def run(path: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([str(path)], capture_output=True, text=True, check=True, env=env, timeout=30)
    return result.stdout


@pytest.mark.parametrize("name", ["gcc-pie", "gcc-execstack"])
def test_gcc_dynamic_pie(built: Built, name: str) -> None:
    facts = read_elf(built(name))
    assert (facts.elf_class, facts.byte_order, facts.machine) == (64, "little", "x86_64")
    assert (facts.kind, facts.linkage) == (Kind.PIE, Linkage.DYNAMIC)
    assert facts.interpreter == GLIBC_LOADER
    assert facts.needed == ("libc.so.6",)
    assert (facts.soname, facts.rpath, facts.runpath) == (None, (), ())
    assert facts.flags_1 == DF_1_PIE
    assert facts.libc == "glibc"
    assert facts.executable_stack is (name == "gcc-execstack")
    assert facts.has_section_headers
    assert facts.upx is None
    assert facts.version_defs == ()
    assert needs_tree(facts) == {"libc.so.6": libc_needs({"GLIBC_2.2.5": {"puts", "__cxa_finalize"}})}
    # crtbeginS.o refers to __cxa_finalize weakly; puts is a strong reference.
    base = next(n for n in facts.version_needs if n.version == "GLIBC_2.2.5")
    assert set(base.symbols) == {SymbolRef("puts", weak=False), SymbolRef("__cxa_finalize", weak=True)}
    assert run(built(name)) == "hello from linkgate\n"


def test_gcc_non_pie_executable(built: Built) -> None:
    facts = read_elf(built("gcc-nopie"))
    assert (facts.kind, facts.linkage) == (Kind.EXECUTABLE, Linkage.DYNAMIC)
    assert facts.interpreter == GLIBC_LOADER
    assert facts.needed == ("libc.so.6",)
    assert facts.flags_1 == 0
    # It exports nothing, so its DT_GNU_HASH is empty and cannot count the undefined
    # symbols: they must still be attributed to their versions.
    assert needs_tree(facts) == {"libc.so.6": libc_needs({"GLIBC_2.2.5": {"puts"}})}
    assert run(built("gcc-nopie")) == "hello from linkgate\n"


def test_gcc_static(built: Built) -> None:
    facts = read_elf(built("gcc-static"))
    assert (facts.kind, facts.linkage) == (Kind.EXECUTABLE, Linkage.STATIC)
    assert facts.interpreter is None
    assert (facts.needed, facts.version_needs, facts.libc) == ((), (), None)
    assert not facts.executable_stack
    assert run(built("gcc-static")) == "hello from linkgate\n"


def test_gcc_static_pie(built: Built) -> None:
    facts = read_elf(built("gcc-static-pie"))
    # ET_DYN with PT_DYNAMIC for its own relocations, no PT_INTERP, no DT_NEEDED.
    assert (facts.kind, facts.linkage) == (Kind.PIE, Linkage.STATIC_PIE)
    assert facts.interpreter is None
    assert (facts.needed, facts.version_needs) == ((), ())
    assert facts.flags_1 & DF_1_PIE
    assert run(built("gcc-static-pie")) == "hello from linkgate\n"


def test_gcc_bind_now_and_weak_reference(built: Built) -> None:
    facts = read_elf(built("gcc-weak-now"))
    assert facts.flags == DF_BIND_NOW
    assert facts.flags_1 == DF_1_NOW | DF_1_PIE
    assert needs_tree(facts) == {
        "libc.so.6": libc_needs({"GLIBC_2.2.5": {"puts", "__cxa_finalize"}, "GLIBC_2.25": {"getrandom"}})
    }
    getrandom = next(n for n in facts.version_needs if n.version == "GLIBC_2.25")
    assert getrandom.symbols == (SymbolRef("getrandom", weak=True),)
    # GNU ld copies vna_flags from the library's version definition, and glibc's
    # GLIBC_2.25 is not weak: a weakly referenced symbol does not make the need weak.
    assert not getrandom.weak
    assert run(built("gcc-weak-now")) in {"zero\n", "random\n"}


def test_shared_library_with_soname_and_version_definitions(built: Built) -> None:
    facts = read_elf(built("libdemo.so.1"))
    assert (facts.kind, facts.linkage) == (Kind.SHARED_LIBRARY, Linkage.DYNAMIC)
    assert facts.soname == "libdemo.so.1"
    assert facts.interpreter is None
    assert facts.needed == ("libc.so.6",)
    assert facts.version_defs == ("DEMO_1.0", "DEMO_2.0")
    assert facts.flags_1 == 0
    assert needs_tree(facts) == {
        "libc.so.6": libc_needs({"GLIBC_2.2.5": {"getenv", "__cxa_finalize"}}, executable=False)
    }


DEMO_NEEDS = {"DEMO_1.0": {"demo_old"}, "DEMO_2.0": {"demo_new"}}


def test_rpath(built: Built) -> None:
    facts = read_elf(built("gcc-rpath"))
    assert facts.rpath == ("/opt/x",)
    assert facts.runpath == ()
    assert facts.needed == ("libdemo.so.1", "libc.so.6")
    assert needs_tree(facts) == {
        "libdemo.so.1": DEMO_NEEDS,
        "libc.so.6": libc_needs({"GLIBC_2.2.5": {"printf", "__cxa_finalize"}}),
    }


def test_runpath(built: Built) -> None:
    path = built("gcc-runpath")
    facts = read_elf(path)
    assert facts.runpath == ("$ORIGIN/../lib",)
    assert facts.rpath == ()
    assert facts.needed == ("libdemo.so.1", "libc.so.6")
    assert needs_tree(facts)["libdemo.so.1"] == DEMO_NEEDS
    # The needs are real: with the library found, both versions bind and it runs.
    library_dir = str(built("libdemo.so.1").parent)
    assert run(path, env={**os.environ, "LD_LIBRARY_PATH": library_dir}) == "3\n"


def test_musl_dynamic(built: Built) -> None:
    facts = read_elf(built("musl-dynamic"))
    assert (facts.kind, facts.linkage) == (Kind.PIE, Linkage.DYNAMIC)
    assert facts.interpreter == MUSL_LOADER
    assert facts.needed == ("libc.so",)
    assert facts.libc == "musl"
    # musl has no symbol versioning.
    assert (facts.version_needs, facts.version_defs) == ((), ())


def test_musl_static(built: Built) -> None:
    facts = read_elf(built("musl-static"))
    assert (facts.kind, facts.linkage) == (Kind.EXECUTABLE, Linkage.STATIC)
    assert (facts.interpreter, facts.needed, facts.version_needs) == (None, (), ())
    assert run(built("musl-static")) == "hello from linkgate\n"
