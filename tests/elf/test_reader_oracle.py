"""Every built and committed binary, cross-checked against pyelftools and readelf.

Both oracles read section headers (.dynamic, .gnu.version_r, .dynsym,
.gnu.version); the reader reads only what the loader reads. They must agree.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from linkgate.elf.facts import ElfFacts
from linkgate.elf.reader import read_elf
from tests.helpers import binaries, require_tool
from tests.helpers.elf_oracle import pyelftools_facts, readelf_facts, reader_symbols

Built = Callable[[str], Path]

COMMITTED = ["hello-gcc", "hello-mips"]


def assert_agrees_with_pyelftools(path: Path) -> ElfFacts:
    facts = read_elf(path)
    oracle = pyelftools_facts(path)
    assert facts.interpreter == oracle.interpreter
    assert facts.needed == oracle.needed
    assert facts.soname == oracle.soname
    assert (facts.rpath, facts.runpath) == (oracle.rpath, oracle.runpath)
    assert facts.needs_by_library() == oracle.needs
    assert {(n.library, n.version) for n in facts.version_needs if n.weak} == oracle.weak_needs
    assert facts.version_defs == oracle.version_defs
    assert reader_symbols(facts) == oracle.symbols
    return facts


def assert_agrees_with_readelf(path: Path, facts: ElfFacts) -> None:
    require_tool("readelf")
    oracle = readelf_facts(path)
    assert list(facts.needed) == oracle.needed
    assert facts.soname == oracle.soname
    assert (facts.rpath, facts.runpath) == (oracle.rpath, oracle.runpath)
    assert facts.needs_by_library() == oracle.needs


@pytest.mark.parametrize("name", binaries.all_names())
def test_built_binary_agrees_with_oracles(built: Built, name: str) -> None:
    path = built(name)
    facts = assert_agrees_with_pyelftools(path)
    assert_agrees_with_readelf(path, facts)


@pytest.mark.parametrize("name", COMMITTED)
def test_committed_binary_agrees_with_oracles(name: str) -> None:
    path = binaries.committed(name)
    facts = assert_agrees_with_pyelftools(path)
    assert_agrees_with_readelf(path, facts)


def test_oracles_see_the_dynamic_binaries_needs(built: Built) -> None:
    """Guard against a vacuous comparison: the oracles do find needs and symbols."""
    oracle = pyelftools_facts(built("go-cgo"))
    assert oracle.symbols is not None
    assert ("pthread_create", False) in oracle.symbols[("libc.so.6", "GLIBC_2.34")]
    assert "GLIBC_2.34" in readelf_facts(built("go-cgo")).needs["libc.so.6"]
