"""Every ELF file under /usr/lib/x86_64-linux-gnu and /usr/bin against pyelftools.

NEEDED and the version needs (library -> versions, in file order) must be equal
for every file; for every 10th file the symbols behind each need must be too.
A Debian-like host has ~1,400 such files; the whole check takes ~10 s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from linkgate.elf.image import ElfFormatError
from linkgate.elf.reader import read_elf
from tests.helpers.binaries import elf_files
from tests.helpers.elf_oracle import pyelftools_facts, reader_symbols

ROOTS = [Path("/usr/lib/x86_64-linux-gnu"), Path("/usr/bin")]
SYMBOL_SAMPLE_EVERY = 10
# A distro's library directory and /usr/bin hold far more than this; fewer means the
# walk (or the host) is broken and an empty comparison would pass vacuously.
MINIMUM_FILES = 200


@dataclass
class Tally:
    compared: int = 0
    symbols_compared: int = 0
    with_needs: int = 0
    unreadable: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)


def compare(path: Path, with_symbols: bool, tally: Tally) -> None:
    try:
        facts = read_elf(path, want_symbols=None if with_symbols else frozenset())
    except ElfFormatError as error:
        tally.unreadable.append(f"{path}: {error}")
        return
    oracle = pyelftools_facts(path, with_symbols=with_symbols)
    tally.compared += 1
    tally.with_needs += bool(facts.version_needs)
    if facts.needed != oracle.needed:
        tally.mismatches.append(f"{path}: NEEDED {facts.needed} != {oracle.needed}")
    if facts.needs_by_library() != oracle.needs:
        tally.mismatches.append(f"{path}: version needs {facts.needs_by_library()} != {oracle.needs}")
    if with_symbols:
        tally.symbols_compared += 1
        if reader_symbols(facts) != oracle.symbols:
            tally.mismatches.append(f"{path}: symbols per version differ")


@pytest.mark.slow
def test_host_files_agree_with_pyelftools(capsys: pytest.CaptureFixture[str]) -> None:
    files = elf_files(root for root in ROOTS if root.is_dir())
    if len(files) < MINIMUM_FILES:
        pytest.skip(f"only {len(files)} ELF files under {[str(r) for r in ROOTS]}: not a Debian-like x86_64 host")
    started = time.monotonic()
    tally = Tally()
    for position, path in enumerate(files):
        compare(path, position % SYMBOL_SAMPLE_EVERY == 0, tally)
    elapsed = time.monotonic() - started
    with capsys.disabled():  # the count compared belongs in the run's output
        print(
            f"\nhost cross-check: {tally.compared} ELF files compared with pyelftools "
            f"({tally.with_needs} with version needs), symbols compared for {tally.symbols_compared}, "
            f"{len(tally.unreadable)} unreadable, {elapsed:.1f} s"
        )
    assert tally.mismatches == []
    # Files on a working system are all well formed: the loader runs them.
    assert tally.unreadable == []
    assert tally.compared == len(files)
    assert tally.with_needs > MINIMUM_FILES // 2
    assert elapsed < 60
