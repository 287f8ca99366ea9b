"""The reader sees what ld.so sees, or refuses the file: checked against the real loader.

Each case patches a copy of /usr/bin/true (or a gcc build) where the loader and a
file-based reader part ways: PT_DYNAMIC's p_offset/p_filesz (ld.so uses p_vaddr),
several PT_DYNAMIC (ld.so uses the last), DT_VERNEEDNUM and vn_cnt (ld.so walks the
next links), a repeated tag (ld.so keeps the last). Every patched file still runs;
linkgate must give the loader's answer or an elf-format finding, never a pass with
the libraries or versions hidden. `ld.so --list` on this machine (and the Debian 11
loader, which lacks GLIBC_2.34) is the ground truth.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from linkgate.elf.image import ElfFormatError
from linkgate.elf.reader import parse_elf, read_elf
from scripts.debian_roots import RootUnavailableError, debian_root
from tests.conftest import run_linkgate
from tests.helpers import binaries, require_tool, unavailable
from tests.helpers import loader_patch as lp

TRUE = Path("/usr/bin/true")
Patch = Callable[[bytes], bytes]
Built = Callable[[str], Path]
UNMAPPED = 0x7FFF0000


def _require_host_binaries() -> bytes:
    require_tool("gcc")  # a glibc x86_64 host: the loader below is the host's
    if not TRUE.is_file() or not lp.HOST_LOADER.is_file():
        message = f"needs {TRUE} and {lp.HOST_LOADER} (an x86_64 glibc host)"
        unavailable(message)
    return TRUE.read_bytes()


def _decoy(data: bytes, offset: int, vaddr: int, filesz: int = 0x1E0) -> bytes:
    """A PT_NOTE turned into a PT_DYNAMIC at (offset, vaddr), placed before the real one."""
    note, real = lp.index_of(data, lp.PT_NOTE), lp.index_of(data, lp.PT_DYNAMIC)
    for name, value in (("p_type", lp.PT_DYNAMIC), ("p_offset", offset), ("p_vaddr", vaddr),
                        ("p_filesz", filesz), ("p_memsz", filesz)):  # fmt: skip
        data = lp.phdr_put(data, note, name, value)
    return lp.swap_phdrs(data, note, real) if note > real else data


def _zeros(data: bytes) -> tuple[int, int]:
    return lp.mapped_zeros(data, 0x40)


def _vn_cnt(data: bytes, value: int) -> bytes:
    return lp.put_field(data, lp.verneed_offsets(data)[0], lp.VERNEED_FIELDS, "vn_cnt", value)


def _first_verneed_decoy(data: bytes) -> bytes:
    # DT_DEBUG precedes DT_VERNEED in GNU ld output: a DT_VERNEED in its place comes first.
    return lp.with_dynamic_tag(data, lp.DT_DEBUG, lp.DT_VERNEED, _zeros(data)[1])


# case -> (patch, what the refusal says)
CASES: dict[str, tuple[Patch, str]] = {
    "dynamic-filesz-4": (lambda d: lp.phdr_put(d, lp.index_of(d, lp.PT_DYNAMIC), "p_filesz", 4), "p_filesz"),
    "dynamic-offset-at-zeros": (
        lambda d: lp.phdr_put(d, lp.index_of(d, lp.PT_DYNAMIC), "p_offset", _zeros(d)[0]),
        "holds other bytes",
    ),
    "decoy-dynamic-unmapped-first": (lambda d: _decoy(d, _zeros(d)[0], UNMAPPED), "not in any loaded segment"),
    "decoy-dynamic-at-mapped-zeros-first": (lambda d: _decoy(d, *_zeros(d)), "different contents"),
    "verneednum-zero": (lambda d: binaries.with_dynamic_value(d, lp.DT_VERNEEDNUM, 0), "DT_VERNEEDNUM says 0 records"),
    "vn-cnt-zero": (lambda d: _vn_cnt(d, 0), "vn_cnt"),
    "decoy-verneed-tag-first": (_first_verneed_decoy, "appears twice"),
}


@dataclass(frozen=True)
class Crafted:
    path: Path
    original: Path


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Crafted]:
    data = _require_host_binaries()
    directory = tmp_path_factory.mktemp("loader-view")
    original = directory / "true"
    shutil.copyfile(TRUE, original)
    original.chmod(0o755)
    result = {}
    for name, (patch, _message) in CASES.items():
        path = directory / name
        path.write_bytes(patch(data))
        path.chmod(0o755)
        result[name] = Crafted(path, original)
    return result


@pytest.mark.parametrize("case", sorted(CASES))
def test_patched_copy_still_runs_and_loads_libc(crafted: dict[str, Crafted], case: str) -> None:
    """The bypass is real: the kernel and ld.so run the patched file and load libc.so.6."""
    path = crafted[case].path
    assert subprocess.run([str(path)], timeout=30, check=False).returncode == 0
    verdict = lp.loader_list(path)
    assert verdict.ran, verdict.output
    assert verdict.libraries == {"libc.so.6"}, verdict.output


@pytest.mark.parametrize("case", sorted(CASES))
def test_patched_copy_is_an_elf_format_finding(crafted: dict[str, Crafted], case: str) -> None:
    path = crafted[case].path
    with pytest.raises(ElfFormatError, match=CASES[case][1]):
        read_elf(path)
    result = run_linkgate("check", "--policy", "debian-11", "--format", "text", str(path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[elf-format]" in result.stdout
    inspected = run_linkgate("inspect", str(path))
    assert inspected.returncode != 0, inspected.stdout


@pytest.fixture(scope="module")
def debian11_loader() -> tuple[Path, Path]:
    """(ld.so, library directory) of a Debian 11 root: glibc 2.31, no GLIBC_2.34."""
    require_tool("apt-get")
    try:
        root = debian_root("11").path
    except RootUnavailableError as error:
        unavailable(str(error))
    libraries = root / "lib" / "x86_64-linux-gnu"
    return next(libraries.glob("ld-2.*.so")), libraries


@pytest.mark.parametrize("case", sorted(CASES))
def test_debian11_loader_names_the_version_linkgate_must_not_pass(
    crafted: dict[str, Crafted], debian11_loader: tuple[Path, Path], case: str
) -> None:
    """On Debian 11 every patched copy fails for GLIBC_2.34, as the original does;
    linkgate exits 1 for both (the original with the version, the copy as elf-format)."""
    loader, libraries = debian11_loader
    for path in (crafted[case].original, crafted[case].path):
        verdict = lp.loader_list(path, loader, libraries)
        assert ("libc.so.6", "GLIBC_2.34") in verdict.missing_versions, verdict.output
        assert run_linkgate("check", "--policy", "debian-11", str(path)).returncode == 1


def test_identical_duplicate_dynamic_is_read(crafted: dict[str, Crafted]) -> None:
    """Refusals are for disagreement only: a second PT_DYNAMIC showing the same array is fine."""
    data = crafted["vn-cnt-zero"].original.read_bytes()
    real = lp.index_of(data, lp.PT_DYNAMIC)
    copy = data
    for name in ("p_offset", "p_vaddr", "p_filesz", "p_memsz", "p_type"):
        copy = lp.phdr_put(copy, lp.index_of(data, lp.PT_NOTE), name, lp.phdr_get(data, real, name))
    assert parse_elf(copy).needed == parse_elf(data).needed == ("libc.so.6",)


# --- cost: a hostile table is refused quickly --------------------------------------------------

BIG = 16 << 20
BIG_AT = 0x10000000
SECONDS = 2.0


def _gnu_hash_over_zeros(data: bytes) -> bytes:
    big = lp.with_extra_load(data, bytes(BIG), BIG_AT)
    big = binaries.with_dynamic_value(big, lp.DT_GNU_HASH, BIG_AT)
    return binaries.with_dynamic_value(big, lp.DT_SYMTAB, BIG_AT)


def _dynamic_without_null(data: bytes) -> bytes:
    big = lp.with_extra_load(data, b"\x01" * BIG, BIG_AT)
    dynamic = lp.index_of(big, lp.PT_DYNAMIC)
    for name, value in (("p_offset", len(big) - BIG), ("p_vaddr", BIG_AT), ("p_filesz", BIG)):
        big = lp.phdr_put(big, dynamic, name, value)
    return big


def _relocations_over_zeros(data: bytes) -> bytes:
    # An empty GNU hash table (nbuckets 1, symoffset 1, one bloom word, bucket 0)
    # makes the reader count symbols from the relocations: 16 MiB of them.
    header = (1).to_bytes(4, "little") * 3 + (6).to_bytes(4, "little") + bytes(16)
    big = lp.with_extra_load(data, header + bytes(BIG), BIG_AT)
    big = binaries.with_dynamic_value(big, lp.DT_GNU_HASH, BIG_AT)
    big = binaries.with_dynamic_value(big, 7, BIG_AT + len(header))  # DT_RELA
    return binaries.with_dynamic_value(big, 8, BIG - BIG % 24)  # DT_RELASZ


COSTLY: dict[str, tuple[Patch, bool]] = {
    "gnu-hash-chain-over-16MiB-of-zeros": (_gnu_hash_over_zeros, True),
    "dynamic-array-without-DT_NULL-in-16MiB": (_dynamic_without_null, True),
    "relocations-counted-over-16MiB": (_relocations_over_zeros, False),
}


@pytest.mark.parametrize("case", sorted(COSTLY))
def test_hostile_tables_cost_little(case: str) -> None:
    patch, refused = COSTLY[case]
    data = patch(_require_host_binaries())
    started = time.monotonic()
    try:
        parse_elf(data)
        outcome = False
    except ElfFormatError:
        outcome = True
    assert time.monotonic() - started < SECONDS
    assert outcome is refused


# --- differential: seeded mutations against ld.so --list ----------------------------------------

VARIANTS = 60
SEED = 20261130
EDGE_TYPES = (lp.PT_NULL, lp.PT_LOAD, lp.PT_DYNAMIC, lp.PT_NOTE)


def _edges(value: int, rng: random.Random) -> int:
    return rng.choice((0, 1, 4, value + 8, value - 8, value + 0x1000, value * 2, 0xFFFF, rng.randrange(1 << 32)))


def _mutate_phdr(data: bytes, rng: random.Random) -> bytes:
    index = rng.choice([h.index for h in binaries.program_headers(data) if h.p_type in EDGE_TYPES])
    name = rng.choice(("p_type", "p_offset", "p_vaddr", "p_filesz", "p_memsz"))
    value = rng.choice(EDGE_TYPES) if name == "p_type" else _edges(lp.phdr_get(data, index, name), rng)
    return lp.phdr_put(data, index, name, max(0, value))


def _mutate_decoy(data: bytes, rng: random.Random) -> bytes:
    real = lp.index_of(data, lp.PT_DYNAMIC)
    places = [_zeros(data), (lp.phdr_get(data, real, "p_offset"), lp.phdr_get(data, real, "p_vaddr"))]
    offset, vaddr = rng.choice([*places, (_zeros(data)[0], UNMAPPED)])
    decoy = _decoy(data, offset, vaddr, rng.choice((0, 0x10, lp.phdr_get(data, real, "p_filesz"))))
    return decoy if rng.random() < 0.7 else lp.swap_phdrs(decoy, real, lp.index_of(decoy, lp.PT_DYNAMIC, -1))


def _mutate_dynamic(data: bytes, rng: random.Random) -> bytes:
    _at, tag, value = rng.choice(binaries.dynamic_entries(data))
    if rng.random() < 0.5:
        return binaries.with_dynamic_value(data, tag, max(0, _edges(value, rng)))
    tags = [t for _a, t, _v in binaries.dynamic_entries(data)] + [lp.DT_NULL, lp.DT_DEBUG]
    return lp.with_dynamic_tag(data, tag, rng.choice(tags))


def _mutate_verneed(data: bytes, rng: random.Random) -> bytes:
    entry, aux = lp.verneed_offsets(data)
    at, fields = rng.choice(((entry, lp.VERNEED_FIELDS), (aux, lp.VERNAUX_FIELDS)))
    name = rng.choice(sorted(fields))
    offset, fmt = fields[name]
    old = int.from_bytes(data[at + offset : at + offset + (2 if fmt == "<H" else 4)], "little")
    return lp.put_field(data, at, fields, name, max(0, _edges(old, rng)))


MUTATORS = (_mutate_phdr, _mutate_decoy, _mutate_dynamic, _mutate_verneed)


@dataclass
class Tally:
    agreed: int = 0
    refused: int = 0
    loader_failed: int = 0


def _compare(path: Path, tally: Tally) -> None:
    """linkgate gives the loader's NEEDED, or refuses; never hides what the loader misses."""
    verdict = lp.loader_list(path)
    try:
        facts = read_elf(path)
    except ElfFormatError:
        tally.refused += 1
        return
    needs = {(n.library, n.version) for n in facts.version_needs}
    assert verdict.missing_libraries <= set(facts.needed), verdict.output
    assert verdict.missing_versions <= needs, verdict.output
    if verdict.ran:
        assert set(facts.needed) == verdict.libraries, f"{path}: {facts.needed}\n{verdict.output}"
        tally.agreed += 1
    else:
        tally.loader_failed += 1


def test_mutations_never_hide_what_the_loader_loads(
    built: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = {"true": TRUE, "libdemo.so.1": built("libdemo.so.1"), "gcc-rpath": built("gcc-rpath")}
    _require_host_binaries()
    rng = random.Random(SEED)  # noqa: S311 - reproducible damage, not cryptography
    tally = Tally()
    started = time.monotonic()
    for name, source in sources.items():
        data = source.read_bytes()
        for number in range(VARIANTS):
            path = tmp_path / f"{name}.{number}"
            path.write_bytes(MUTATORS[number % len(MUTATORS)](data, rng))
            path.chmod(0o755)
            _compare(path, tally)
    with capsys.disabled():  # the tally belongs in the run's output
        print(f"\nloader differential: {tally} in {time.monotonic() - started:.1f} s")
    # Both outcomes occur, or the comparison proved nothing.
    assert tally.agreed >= 20, tally
    assert tally.refused >= 20, tally
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("filesz", [0, 1, 0x1B])  # 0x1B cuts the NUL off "/lib64/ld-linux-x86-64.so.2"
def test_interpreter_the_kernel_refuses_is_a_format_error(tmp_path: Path, filesz: int) -> None:
    """The kernel reads PT_INTERP from the file and will not exec without its final NUL."""
    data = _require_host_binaries()
    path = tmp_path / "interp"
    path.write_bytes(lp.phdr_put(data, lp.index_of(data, 3), "p_filesz", filesz))  # PT_INTERP
    path.chmod(0o755)
    with pytest.raises(OSError, match="Exec format error"):
        subprocess.run([str(path)], timeout=30, check=False)
    with pytest.raises(ElfFormatError, match="PT_INTERP"):
        read_elf(path)
