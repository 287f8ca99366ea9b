"""How `check` reads a file: small ELF files whole, larger ones mapped (scan.READ_WHOLE).

Both ways must give exactly the facts of the mapped reader (`read_elf`), symbols included:
checked on the machine's own ELF files, each read both ways.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest

from linkgate.check import scan
from linkgate.check.discover import Candidate
from linkgate.elf.facts import ElfFacts
from linkgate.elf.image import ElfFormatError
from linkgate.elf.reader import read_elf
from tests.helpers.binaries import elf_files

ROOTS = [Path("/usr/bin"), Path("/usr/lib/x86_64-linux-gnu")]
# Each side of the limit must be well represented, or the comparison proves little.
AT_LEAST = 100


def _facts(read: Callable[[], ElfFacts]) -> ElfFacts | str:
    """Facts, or the error message of a file the reader refuses."""
    try:
        return read()
    except ElfFormatError as error:
        return f"ElfFormatError: {error}"


@pytest.fixture(scope="module")
def host_files() -> list[Path]:
    files = elf_files(root for root in ROOTS if root.is_dir())
    small = sum(1 for path in files if path.stat().st_size <= scan.READ_WHOLE)
    assert small >= AT_LEAST, f"only {small} ELF files of at most {scan.READ_WHOLE} bytes under {ROOTS}"
    assert len(files) - small >= AT_LEAST, f"only {len(files) - small} larger ELF files under {ROOTS}"
    return files


@pytest.mark.parametrize("read_whole", [scan.READ_WHOLE, 1 << 40, 0], ids=["as-shipped", "all-read", "all-mapped"])
def test_files_read_whole_or_mapped_give_the_mapped_readers_facts(
    host_files: list[Path], read_whole: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "READ_WHOLE", read_whole)
    differing = []
    for path in host_files:
        candidate = Candidate(str(path), str(path))
        got = _facts(lambda: scan.read_candidate(candidate))  # noqa: B023 - called at once
        expected = _facts(lambda: read_elf(path))  # noqa: B023 - called at once
        if got != expected:
            differing.append(str(path))
    assert not differing, f"{len(differing)} file(s) read differently: {differing[:5]}"


def test_a_small_file_is_read_whole_and_a_large_one_mapped(
    host_files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The limit decides the way: a map that fails shows which way each file went."""
    small = next(p for p in host_files if p.stat().st_size <= scan.READ_WHOLE)
    large = next(p for p in host_files if p.stat().st_size > scan.READ_WHOLE)

    def refuse(_descriptor: int) -> NoReturn:
        raise ElfFormatError("mapped")

    monkeypatch.setattr(scan, "_mapped", refuse)
    assert isinstance(scan.read_candidate(Candidate(str(small), str(small))), ElfFacts)
    with pytest.raises(ElfFormatError, match="mapped"):
        scan.read_candidate(Candidate(str(large), str(large)))
