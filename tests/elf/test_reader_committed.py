"""The small binaries committed under tests/fixtures/bin (rebuilt by tests/fixtures/build.sh).

They need no toolchain, so these facts are checked on every machine.
"""

from __future__ import annotations

from linkgate.core.records import replace
from linkgate.elf.facts import Kind, Linkage, SymbolRef, VersionNeed
from linkgate.elf.reader import is_elf_file, parse_elf, read_elf
from tests.helpers import binaries

HELLO_GCC_NEEDS = (
    VersionNeed("libc.so.6", "GLIBC_2.2.5", symbols=(SymbolRef("puts"), SymbolRef("__cxa_finalize", weak=True))),
    VersionNeed("libc.so.6", "GLIBC_2.34", symbols=(SymbolRef("__libc_start_main"),)),
)


def test_hello_gcc() -> None:
    facts = read_elf(binaries.committed("hello-gcc"))
    assert (facts.elf_class, facts.byte_order, facts.machine) == (64, "little", "x86_64")
    assert (facts.kind, facts.linkage) == (Kind.PIE, Linkage.DYNAMIC)
    assert facts.interpreter == "/lib64/ld-linux-x86-64.so.2"
    assert facts.needed == ("libc.so.6",)
    assert (facts.soname, facts.rpath, facts.runpath) == (None, (), ())
    assert facts.libc == "glibc"
    assert not facts.executable_stack
    assert facts.has_section_headers
    assert facts.version_defs == ()
    assert sorted(facts.version_needs, key=lambda n: n.version) == list(HELLO_GCC_NEEDS)


def test_hello_gcc_without_section_headers() -> None:
    original = read_elf(binaries.committed("hello-gcc"))
    stripped = read_elf(binaries.committed("hello-gcc.nosections"))
    assert not stripped.has_section_headers
    # `.comment` (the compilers, which only choose a fix's wording) is a section: it goes with them.
    assert stripped == replace(original, has_section_headers=False, comment=())
    # The committed copy is what strip_section_headers makes of the original today.
    made = binaries.strip_section_headers(binaries.committed("hello-gcc").read_bytes())
    assert made == binaries.committed("hello-gcc.nosections").read_bytes()


def test_hello_mips_big_endian() -> None:
    facts = read_elf(binaries.committed("hello-mips"))
    assert (facts.elf_class, facts.byte_order, facts.machine) == (32, "big", "mips")
    assert (facts.kind, facts.linkage) == (Kind.EXECUTABLE, Linkage.DYNAMIC)
    assert facts.interpreter == "/lib/ld.so.1"
    assert facts.needed == ("libc.so.6",)
    needs = {n.version: {s.name for s in n.symbols} for n in facts.version_needs}
    assert needs == {"GLIBC_2.0": {"puts", "__libc_start_main"}}


def test_parse_from_bytes_equals_read_from_file() -> None:
    for name in ("hello-gcc", "hello-gcc.nosections", "hello-mips"):
        path = binaries.committed(name)
        assert is_elf_file(path)
        assert parse_elf(path.read_bytes()) == read_elf(path)


def test_symbol_selection_limits_the_join() -> None:
    path = binaries.committed("hello-gcc")
    facts = read_elf(path, want_symbols=frozenset({("libc.so.6", "GLIBC_2.34")}))
    by_version = {n.version: n.symbols for n in facts.version_needs}
    assert by_version == {"GLIBC_2.34": (SymbolRef("__libc_start_main"),), "GLIBC_2.2.5": ()}


def test_build_script_is_committed_with_the_fixtures() -> None:
    script = binaries.COMMITTED.parent / "build.sh"
    assert script.stat().st_mode & 0o111
    text = script.read_text()
    for name in ("hello-gcc", "hello-gcc.nosections", "hello-mips"):
        assert name in text
