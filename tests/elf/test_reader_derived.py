"""Binaries whose section headers are gone still give the same facts, and still run.

ld.so never reads section headers, so neither does the reader: removing the
table (or everything the loader does not map, like sstrip) changes nothing but
has_section_headers. A section-based reader (pyelftools, auditwheel) goes blind.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from linkgate.core.records import replace
from linkgate.elf.reader import read_elf
from tests.helpers import binaries
from tests.helpers.elf_oracle import pyelftools_facts

Built = Callable[[str], Path]

TRANSFORMS = {"nosections": binaries.strip_section_headers, "sstrip": binaries.strip_to_segments}
# Built binaries this machine runs by itself (x86_64, no library outside the system).
RUNNABLE = [
    "gcc-pie", "gcc-nopie", "gcc-static", "gcc-static-pie", "gcc-execstack", "musl-dynamic",
    "musl-static", "zig-x86_64-glibc2.17", "zig-x86_64-glibc2.34", "go-cgo", "go-pure",
    "go-cgo-musl-static",
]  # fmt: skip


def derived(built: Built, name: str, transform: str) -> Path:
    original = built(name)
    return binaries.derive(original.parent, f"{name}.{transform}", original, TRANSFORMS[transform])


def run(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(path)], capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
@pytest.mark.parametrize("name", binaries.all_names())
def test_same_facts_without_section_headers(built: Built, name: str, transform: str) -> None:
    original = read_elf(built(name))
    facts = read_elf(derived(built, name, transform))
    assert original.has_section_headers
    assert not facts.has_section_headers
    # `.comment` (the compilers, which only choose a fix's wording) is a section: it goes with them.
    assert facts == replace(original, has_section_headers=False, comment=())


@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
@pytest.mark.parametrize("name", RUNNABLE)
def test_section_less_copy_still_runs(built: Built, name: str, transform: str) -> None:
    expected = run(built(name))
    assert expected.returncode == 0
    result = run(derived(built, name, transform))
    assert (result.returncode, result.stdout) == (0, expected.stdout)


def test_section_based_reader_goes_blind(built: Built) -> None:
    """What auditwheel-style tools see on the section-less copy: nothing to check."""
    copy = derived(built, "go-cgo", "nosections")
    blind = pyelftools_facts(copy)
    assert (blind.needed, blind.needs) == ((), {})
    facts = read_elf(copy)
    assert "GLIBC_2.34" in facts.needs_by_library()["libc.so.6"]
    assert run(copy).returncode == 0


def test_strip_section_headers_zeroes_the_header_fields(built: Built) -> None:
    data = derived(built, "gcc-pie", "nosections").read_bytes()
    original = built("gcc-pie").read_bytes()
    # e_shoff (8 bytes at 0x28), e_shnum and e_shstrndx (0x3c, 0x3e) are zero; the
    # table, which was last in the file, is gone.
    assert data[0x28:0x30] == bytes(8)
    assert data[0x3C:0x40] == bytes(4)
    shoff = int.from_bytes(original[0x28:0x30], "little")
    assert len(data) == shoff
    assert data[0x40:shoff] == original[0x40:shoff]
