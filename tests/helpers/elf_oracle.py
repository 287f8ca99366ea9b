"""Independent oracles for the reader: pyelftools (section headers) and readelf.

The reader under test never looks at section headers; these do, through code
that shares nothing with linkgate.elf. Agreement on real binaries is the check.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerDefSection, GNUVerNeedSection, GNUVerSymSection
from elftools.elf.sections import SymbolTableSection
from elftools.elf.segments import InterpSegment

from linkgate.elf.facts import ElfFacts

VER_FLG_BASE, VER_FLG_WEAK = 0x1, 0x2

# (library, version) -> {(symbol name, weak binding)}
SymbolsByNeed = dict[tuple[str, str], set[tuple[str, bool]]]


@dataclass
class OracleFacts:
    """What pyelftools says, in the shapes the comparisons need."""

    interpreter: str | None = None
    needed: tuple[str, ...] = ()
    soname: str | None = None
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    needs: dict[str, list[str]] = field(default_factory=dict)
    weak_needs: set[tuple[str, str]] = field(default_factory=set)
    version_defs: tuple[str, ...] = ()
    symbols: SymbolsByNeed | None = None


def pyelftools_facts(path: Path, with_symbols: bool = True) -> OracleFacts:
    """Facts from the section headers (.dynamic, .gnu.version_r/_d, .dynsym, .gnu.version)."""
    with path.open("rb") as handle:
        elf = ELFFile(handle)
        facts = OracleFacts(interpreter=_interpreter(elf))
        verneed: GNUVerNeedSection | None = None
        versym: GNUVerSymSection | None = None
        dynsym: SymbolTableSection | None = None
        for section in elf.iter_sections():
            if isinstance(section, DynamicSection):
                _read_dynamic(section, facts)
            elif isinstance(section, GNUVerNeedSection):
                verneed = section
            elif isinstance(section, GNUVerDefSection):
                facts.version_defs = _definitions(section)
            elif isinstance(section, GNUVerSymSection):
                versym = section
            elif isinstance(section, SymbolTableSection) and section["sh_type"] == "SHT_DYNSYM":
                dynsym = section
        index_to_need = _read_needs(verneed, facts) if verneed is not None else {}
        if with_symbols:
            facts.symbols = {need: set() for need in index_to_need.values()}
            if versym is not None and dynsym is not None:
                _read_symbols(dynsym, versym, index_to_need, facts.symbols)
        return facts


def _interpreter(elf: ELFFile) -> str | None:
    for segment in elf.iter_segments():
        if isinstance(segment, InterpSegment):
            return segment.get_interp_name()
    return None


def _read_dynamic(section: DynamicSection, facts: OracleFacts) -> None:
    needed = []
    for tag in section.iter_tags():
        # pyelftools sets the string of a string-valued tag as an attribute named after it.
        strings: dict[str, str] = vars(tag)
        kind = tag.entry.d_tag
        if kind == "DT_NEEDED":
            needed.append(strings["needed"])
        elif kind == "DT_SONAME":
            facts.soname = strings["soname"]
        elif kind == "DT_RPATH":
            facts.rpath = tuple(strings["rpath"].split(":"))
        elif kind == "DT_RUNPATH":
            facts.runpath = tuple(strings["runpath"].split(":"))
    facts.needed = tuple(needed)


def _read_needs(section: GNUVerNeedSection, facts: OracleFacts) -> dict[int, tuple[str, str]]:
    index_to_need: dict[int, tuple[str, str]] = {}
    for verneed, auxiliaries in section.iter_versions():
        library = str(verneed.name)
        for aux in auxiliaries:
            facts.needs.setdefault(library, []).append(aux.name)
            if aux["vna_flags"] & VER_FLG_WEAK:
                facts.weak_needs.add((library, aux.name))
            index_to_need[aux["vna_other"] & 0x7FFF] = (library, aux.name)
    return index_to_need


def _definitions(section: GNUVerDefSection) -> tuple[str, ...]:
    names = []
    for verdef, auxiliaries in section.iter_versions():
        if verdef["vd_flags"] & VER_FLG_BASE:
            continue
        first = next(iter(auxiliaries), None)
        if first is not None:
            names.append(first.name)
    return tuple(names)


def _read_symbols(
    dynsym: SymbolTableSection,
    versym: GNUVerSymSection,
    index_to_need: dict[int, tuple[str, str]],
    out: SymbolsByNeed,
) -> None:
    for position, symbol in enumerate(dynsym.iter_symbols()):
        if symbol["st_shndx"] != "SHN_UNDEF":
            continue
        index = versym.get_symbol(position)["ndx"]
        if not isinstance(index, int):  # VER_NDX_LOCAL / VER_NDX_GLOBAL: unversioned
            continue
        need = index_to_need.get(index & 0x7FFF)
        if need is not None:
            out[need].add((symbol.name, symbol["st_info"]["bind"] == "STB_WEAK"))


def reader_symbols(facts: ElfFacts) -> SymbolsByNeed:
    """The reader's symbols per need, in the oracle's shape."""
    result: SymbolsByNeed = {}
    for need in facts.version_needs:
        result.setdefault((need.library, need.version), set()).update((s.name, s.weak) for s in need.symbols)
    return result


# --- readelf -----------------------------------------------------------------------------

_DYNAMIC_LINE = re.compile(r"\((NEEDED|SONAME|RPATH|RUNPATH)\)\s+[^\[]*\[(.*)\]$")
_VERNEED_FILE = re.compile(r"^\s*(?:0x)?[0-9a-f]+: Version: \d+\s+File: (\S+)\s+Cnt: \d+$")
_VERNEED_AUX = re.compile(r"^\s*0x[0-9a-f]+:\s+Name: (\S+)\s+Flags: (\S+)\s+Version: \d+$")


@dataclass
class ReadelfFacts:
    needed: list[str] = field(default_factory=list)
    soname: str | None = None
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    needs: dict[str, list[str]] = field(default_factory=dict)


def readelf_facts(path: Path) -> ReadelfFacts:
    """NEEDED/SONAME/RPATH/RUNPATH (`readelf -dW`) and version needs (`readelf -VW`)."""
    facts = ReadelfFacts()
    dynamic = subprocess.run(["readelf", "-dW", str(path)], capture_output=True, text=True, check=True)
    for line in dynamic.stdout.splitlines():
        match = _DYNAMIC_LINE.search(line.strip())
        if match is None:
            continue
        tag, value = match.groups()
        if tag == "NEEDED":
            facts.needed.append(value)
        elif tag == "SONAME":
            facts.soname = value
        elif tag == "RPATH":
            facts.rpath = tuple(value.split(":"))
        else:
            facts.runpath = tuple(value.split(":"))
    versions = subprocess.run(["readelf", "-VW", str(path)], capture_output=True, text=True, check=True)
    library = None
    for line in versions.stdout.splitlines():
        if (file_match := _VERNEED_FILE.match(line)) is not None:
            library = file_match.group(1)
        elif (aux_match := _VERNEED_AUX.match(line)) is not None and library is not None:
            facts.needs.setdefault(library, []).append(aux_match.group(1))
        elif not line.strip() or line.startswith("Version"):
            library = None
    return facts


def needs_tree(facts: ElfFacts) -> dict[str, dict[str, set[str]]]:
    """library -> version -> names of the symbols the reader attributes to it."""
    tree: dict[str, dict[str, set[str]]] = {}
    for need in facts.version_needs:
        tree.setdefault(need.library, {}).setdefault(need.version, set()).update(s.name for s in need.symbols)
    return tree
