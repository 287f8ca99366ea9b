"""The peer: an auditwheel-style reader built on pyelftools, over the same trees.

Like auditwheel's elfutils (elf_find_versioned_symbols, elf_read_dt_needed) it
reads sections by name: NEEDED from .dynamic, version needs from
.gnu.version_r, and which symbol carries which version from .dynsym x
.gnu.version. Prints one summary line so the work cannot be optimised away.
"""

from __future__ import annotations

import sys

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection, GNUVerSymSection
from elftools.elf.sections import SymbolTableSection

from benchmarks.trees import regular_files


def read_one(path: str) -> int:
    """Number of facts found (needed + versioned symbols), 0 for unreadable files."""
    with open(path, "rb") as handle:
        if handle.read(4) != b"\x7fELF":
            return -1
        handle.seek(0)
        try:
            elf = ELFFile(handle)
            return len(_needed(elf)) + len(_versioned_symbols(elf))
        except ELFError:
            return 0


def _needed(elf: ELFFile) -> list[str]:
    section = elf.get_section_by_name(".dynamic")
    if not isinstance(section, DynamicSection):
        return []
    return [str(tag.needed) for tag in section.iter_tags("DT_NEEDED")]  # type: ignore[attr-defined]


def _versioned_symbols(elf: ELFFile) -> list[tuple[str, str]]:
    versym = elf.get_section_by_name(".gnu.version")
    dynsym = elf.get_section_by_name(".dynsym")
    verneed = elf.get_section_by_name(".gnu.version_r")
    if not (
        isinstance(versym, GNUVerSymSection)
        and isinstance(dynsym, SymbolTableSection)
        and isinstance(verneed, GNUVerNeedSection)
    ):
        return []
    names = {aux.entry.vna_other: aux.name for _v, auxs in verneed.iter_versions() for aux in auxs}
    result = []
    for index, symbol in enumerate(dynsym.iter_symbols()):
        version = versym.get_symbol(index).entry.ndx
        if isinstance(version, int) and version in names and symbol.entry.st_shndx == "SHN_UNDEF":
            result.append((symbol.name, names[version]))
    return result


def walk(roots: list[str]) -> tuple[int, int]:
    files = facts = 0
    for path in regular_files(roots):
        found = read_one(path)
        if found >= 0:
            files += 1
            facts += found
    return files, facts


if __name__ == "__main__":
    count, total = walk(sys.argv[1:])
    print(f"pyelftools reader: {count} ELF files, {total} facts")
