"""Hardening facts of real binaries built at test time, each flag on and off.

Every fact is checked against the build that turns it on and the one that
turns it off, so a reader that always answered the same would fail. Copies
without section headers must give the same facts: they come from the
loader's view (program headers, PT_DYNAMIC, dynamic symbols, notes).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from linkgate.elf.facts import Cet, Hardening
from linkgate.elf.hardening import read_hardening, with_hardening
from linkgate.elf.image import ElfFormatError, Image
from linkgate.elf.reader import read_elf
from tests.conftest import run_linkgate
from tests.helpers import binaries
from tests.helpers.hardening_builds import BUILDS, build_variants
from tests.helpers.upx_tools import available, build_input, packer
from tests.helpers.upx_tools import packed as pack

# A section that is writable and executable: ld gives it a RWX PT_LOAD.

# Everything off unless a build turns it on; -O2 everywhere (fortify needs it).


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_variants(tmp_path_factory.mktemp("hardening"))


def hardening_of(path: Path) -> Hardening:
    found = with_hardening(path, read_elf(path)).hardening
    assert found is not None
    return found


def test_pie(built: dict[str, Path]) -> None:
    assert hardening_of(built["pie"]).pie is True
    assert hardening_of(built["nopie"]).pie is False
    # A library is position-independent but no executable: not a PIE.
    assert hardening_of(built["notextrel.so"]).pie is False


def test_relro_and_bind_now(built: dict[str, Path]) -> None:
    now, lazy, none = (hardening_of(built[n]) for n in ("relro-now", "relro-lazy", "norelro"))
    assert (now.relro, now.bind_now) == ("full", True)
    assert (lazy.relro, lazy.bind_now) == ("partial", False)
    assert (none.relro, none.bind_now) == ("none", False)


DT_FLAGS, DT_FLAGS_1, DT_BIND_NOW = 30, 0x6FFFFFFB, 24
DF_BIND_NOW, DF_1_NOW = 0x8, 0x1


@pytest.mark.parametrize("spelling", ["DT_BIND_NOW", "DF_BIND_NOW", "DF_1_NOW"])
def test_each_spelling_of_bind_now_counts(built: dict[str, Path], tmp_path: Path, spelling: str) -> None:
    """GNU ld writes both flags; older linkers the DT_BIND_NOW tag. Each alone is immediate binding."""
    data = built["relro-now"].read_bytes()
    entries = {tag: value for _, tag, value in binaries.dynamic_entries(data)}
    assert entries[DT_FLAGS] & DF_BIND_NOW and entries[DT_FLAGS_1] & DF_1_NOW
    data = binaries.with_dynamic_value(data, DT_FLAGS, entries[DT_FLAGS] & ~DF_BIND_NOW)
    data = binaries.with_dynamic_value(data, DT_FLAGS_1, entries[DT_FLAGS_1] & ~DF_1_NOW)
    cleared = tmp_path / "cleared"
    cleared.write_bytes(data)
    assert (hardening_of(cleared).bind_now, hardening_of(cleared).relro) == (False, "partial")
    if spelling == "DF_BIND_NOW":
        data = binaries.with_dynamic_value(data, DT_FLAGS, entries[DT_FLAGS])
    elif spelling == "DF_1_NOW":
        data = binaries.with_dynamic_value(data, DT_FLAGS_1, entries[DT_FLAGS_1])
    else:  # retag the (now empty) DT_FLAGS entry as DT_BIND_NOW
        data = _retag(data, DT_FLAGS, DT_BIND_NOW)
    patched = tmp_path / spelling
    patched.write_bytes(data)
    assert (hardening_of(patched).bind_now, hardening_of(patched).relro) == (True, "full")


def _retag(data: bytes, old: int, new: int) -> bytes:
    at = next(at for at, tag, _ in binaries.dynamic_entries(data) if tag == old)
    out = bytearray(data)
    struct.pack_into("<q", out, at, new)
    return bytes(out)


PT_NULL, PT_GNU_STACK, PT_GNU_PROPERTY = 0, 0x6474E551, 0x6474E553


def _retype_segment(data: bytes, p_type: int, new: int) -> bytes:
    header = next(h for h in binaries.program_headers(data) if h.p_type == p_type)
    out = bytearray(data)
    struct.pack_into("<I", out, header.at, new)
    return bytes(out)


def test_nx(built: dict[str, Path], tmp_path: Path) -> None:
    assert hardening_of(built["noexecstack"]).nx is True
    assert hardening_of(built["execstack"]).nx is False
    # Without PT_GNU_STACK the x86 kernel makes the stack executable.
    missing = tmp_path / "no-gnu-stack"
    missing.write_bytes(_retype_segment(built["noexecstack"].read_bytes(), PT_GNU_STACK, PT_NULL))
    assert hardening_of(missing).nx is False


def test_rwx_segments(built: dict[str, Path]) -> None:
    rwx = hardening_of(built["rwx"]).rwx_segments
    assert len(rwx) == 1
    loads = [h for h in binaries.program_headers(built["rwx"].read_bytes()) if h.index == rwx[0].index]
    assert loads[0].p_type == 1 and loads[0].p_vaddr == rwx[0].vaddr
    assert hardening_of(built["pie"]).rwx_segments == ()


def test_textrel(built: dict[str, Path]) -> None:
    assert hardening_of(built["textrel.so"]).textrel is True
    assert hardening_of(built["notextrel.so"]).textrel is False


def test_canary(built: dict[str, Path]) -> None:
    assert hardening_of(built["ssp"]).canary is True
    assert hardening_of(built["nossp"]).canary is False
    assert hardening_of(built["musl-ssp"]).canary is True
    assert hardening_of(built["musl-nossp"]).canary is False


def test_fortify(built: dict[str, Path]) -> None:
    fortified, plain = hardening_of(built["fortify"]), hardening_of(built["nofortify"])
    # strcpy into a 64-byte array and printf become __strcpy_chk and __printf_chk.
    assert fortified.fortified is True
    assert fortified.fortified_count is not None and fortified.fortified_count >= 2
    assert "strcpy" not in fortified.unfortified
    assert (plain.fortified, plain.fortified_count) == (False, 0)
    assert plain.fortifiable_count is not None and plain.fortifiable_count >= 2
    assert {"strcpy", "printf"} <= set(plain.unfortified)
    # musl has no checking variants: asking for them fortifies nothing.
    assert hardening_of(built["musl-ssp"]).fortified is False


def test_cet_from_the_property_note(built: dict[str, Path], tmp_path: Path) -> None:
    assert hardening_of(built["cet-full.so"]).cet == Cet(ibt=True, shstk=True)
    assert hardening_of(built["cet-branch.so"]).cet == Cet(ibt=True, shstk=False)
    assert hardening_of(built["cet-return.so"]).cet == Cet(ibt=False, shstk=True)
    assert hardening_of(built["cet-none.so"]).cet == Cet(ibt=False, shstk=False)
    # Without PT_GNU_PROPERTY the note is still found through PT_NOTE, as the kernel would.
    notes_only = tmp_path / "notes-only.so"
    notes_only.write_bytes(_retype_segment(built["cet-full.so"].read_bytes(), PT_GNU_PROPERTY, PT_NULL))
    assert PT_GNU_PROPERTY not in {h.p_type for h in binaries.program_headers(notes_only.read_bytes())}
    assert hardening_of(notes_only).cet == Cet(ibt=True, shstk=True)


def test_stack_clash(built: dict[str, Path]) -> None:
    assert hardening_of(built["clash"]).stack_clash is True
    # Not finding a probe is not proof of its absence: small frames need none.
    assert hardening_of(built["noclash"]).stack_clash is None


def test_static_programs(built: dict[str, Path], tmp_path: Path) -> None:
    """No dynamic symbols: the canary comes from .symtab, and without it is unknown."""
    for name in ("static", "musl-static"):
        found = hardening_of(built[name])
        assert found.canary is True, name
        assert (found.fortified, found.fortified_count, found.fortifiable_count) == (None, None, None), name
        stripped = tmp_path / name
        stripped.write_bytes(binaries.strip_to_segments(built[name].read_bytes()))
        assert hardening_of(stripped).canary is None, name


def test_go_program(go_binaries: dict[str, Path]) -> None:
    pure = hardening_of(go_binaries["go-pure"])
    assert (pure.pie, pure.relro, pure.nx, pure.canary, pure.fortified) == (False, "none", True, False, None)
    cgo = hardening_of(go_binaries["go-cgo"])
    # Linked by the system linker against glibc: its imports are read like any C program's.
    assert cgo.fortifiable_count is not None and cgo.canary is not None


@pytest.mark.parametrize("name", ["gcc-pie", "gcc-nopie"])
def test_packed_program_is_judged_by_its_payload(name: str) -> None:
    source: Path = available(lambda: build_input(name))
    packed: Path = available(lambda: pack(available(lambda: packer("upx-4.2.4")), "default", source))
    original = hardening_of(source)
    assert original.relro != "none" and original.fortifiable_count
    # The stub alone has no PT_GNU_RELRO and no dynamic symbols: judged by it, all would be "none".
    facts = read_elf(packed)
    assert facts.payload is not None and facts.hardening is None
    stub = read_hardening(Image(packed.read_bytes()), facts.kind, facts.linkage)
    assert (stub.relro, stub.fortifiable_count) == ("none", None)
    seen = with_hardening(packed, facts)
    assert seen.payload is not None and seen.payload.hardening == original


SECTIONLESS = [n for n in BUILDS if not n.endswith("static")]


@pytest.mark.parametrize("name", SECTIONLESS)
def test_sectionless_copy_has_the_same_facts(built: dict[str, Path], tmp_path: Path, name: str) -> None:
    data = built[name].read_bytes()
    copy = tmp_path / name
    copy.write_bytes(binaries.strip_section_headers(data))
    assert struct.unpack_from("<QHHH", copy.read_bytes(), 0x28)[0] == 0
    assert read_elf(copy).has_section_headers is False
    assert hardening_of(copy) == hardening_of(built[name])


def _broken_symtab(built: dict[str, Path], tmp_path: Path) -> Path:
    """musl has no symbol versions, so the reader never reads DT_SYMTAB: only hardening does."""
    data = built["musl-ssp"].read_bytes()
    symtab = next(value for _, tag, value in binaries.dynamic_entries(data) if tag == DT_SYMTAB)
    broken = tmp_path / "broken"
    broken.write_bytes(binaries.with_dynamic_value(data, DT_SYMTAB, symtab + (1 << 40)))
    return broken


DT_SYMTAB = 6


def test_unmapped_symbol_table_is_an_error_not_a_guess(built: dict[str, Path], tmp_path: Path) -> None:
    broken = _broken_symtab(built, tmp_path)
    facts = read_elf(broken)
    with pytest.raises(ElfFormatError, match=r"not in any loaded segment|past the end of DT_SYMTAB"):
        with_hardening(broken, facts)


def test_inspect_shows_hardening(built: dict[str, Path]) -> None:
    result = run_linkgate("inspect", "--format", "json", str(built["relro-now"]), str(built["fortify"]))
    assert result.returncode == 0, result.stderr
    now, fortify = (item["hardening"] for item in json.loads(result.stdout))
    assert (now["relro"], now["bind_now"], now["pie"], now["nx"]) == ("full", True, True, True)
    assert now["cet"] == {"ibt": False, "shstk": False}
    assert fortify["fortified"] is True and fortify["fortified_count"] >= 2
    text = run_linkgate("inspect", str(built["relro-now"]), str(built["fortify"])).stdout
    assert "  hardening: PIE, full RELRO, NX, no canary, not fortified 0/" in text
    assert "  hardening: PIE, partial RELRO, NX, no canary, fortified " in text


def test_inspect_reports_a_broken_symbol_table(built: dict[str, Path], tmp_path: Path) -> None:
    result = run_linkgate("inspect", str(_broken_symtab(built, tmp_path)))
    assert result.returncode != 0
    assert "error: hardening: " in result.stdout
    assert "Traceback" not in result.stderr
