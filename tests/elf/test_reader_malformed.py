"""Truncated, corrupt and mutated ELF files: ElfFormatError, never another exception.

The gate fails closed only if every malformed input surfaces as ElfFormatError
(a finding); any other exception would be an internal error, and a file that
parses although the loader could not map it would pass silently.
"""

from __future__ import annotations

import random
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

from linkgate.elf.facts import ElfFacts
from linkgate.elf.image import ElfFormatError
from linkgate.elf.reader import parse_elf, read_elf
from tests.helpers import binaries

Built = Callable[[str], Path]
Corruption = Callable[[bytes], bytes]

DT_NEEDED, DT_HASH, DT_STRTAB, DT_SYMENT = 1, 4, 5, 11
DT_GNU_HASH, DT_VERNEED, DT_VERSYM = 0x6FFFFEF5, 0x6FFFFFFE, 0x6FFFFFF0
DT_MIPS_SYMTABNO = 0x70000011
UNMAPPED = 0x7FFF0000


def _dynamic_offset(data: bytes) -> int:
    return next(h.p_offset for h in binaries.program_headers(data) if h.p_type == binaries.PT_DYNAMIC)


def _last_load_end(data: bytes) -> int:
    return max(h.p_offset + h.p_filesz for h in binaries.program_headers(data) if h.p_type == binaries.PT_LOAD)


TRUNCATIONS: dict[str, Callable[[bytes], int]] = {
    "magic-only": lambda _data: 3,
    "inside-elf-header": lambda _data: 20,
    "inside-program-headers": lambda _data: 0x40 + 10,
    "inside-dynamic": lambda data: _dynamic_offset(data) + 8,
    "half-of-mapped": lambda data: _last_load_end(data) // 2,
    "last-segment-cut": lambda data: _last_load_end(data) - 1,
}

CORRUPTIONS: dict[str, Corruption] = {
    "dynamic-offset-past-eof": lambda d: binaries.with_segment_offset(d, binaries.PT_DYNAMIC, len(d) + 0x1000),
    "needed-string-out-of-range": lambda d: binaries.with_dynamic_value(d, DT_NEEDED, 0x7FFFFFFF),
    "strtab-unmapped": lambda d: binaries.with_dynamic_value(d, DT_STRTAB, UNMAPPED),
    "verneed-unmapped": lambda d: binaries.with_dynamic_value(d, DT_VERNEED, UNMAPPED),
    "versym-unmapped": lambda d: binaries.with_dynamic_value(d, DT_VERSYM, UNMAPPED),
    "gnu-hash-unmapped": lambda d: binaries.with_dynamic_value(d, DT_GNU_HASH, UNMAPPED),
    "syment-too-small": lambda d: binaries.with_dynamic_value(d, DT_SYMENT, 1),
    "phnum-huge": lambda d: binaries.with_phnum(d, 0xFFFF),
    "phentsize-too-small": lambda d: d[:0x36] + b"\x08\x00" + d[0x38:],
    "bad-class": lambda d: d[:4] + b"\x07" + d[5:],
    "bad-byte-order": lambda d: d[:5] + b"\x09" + d[6:],
    "bad-magic": lambda d: b"\x7fELG" + d[4:],
}


TRUNCATED = [
    (name, cut)
    for name in ("gcc-pie", "gcc-static", "libdemo.so.1", "go-cgo", "zig-s390x")
    for cut in sorted(TRUNCATIONS)
    if not (name == "gcc-static" and cut == "inside-dynamic")  # no PT_DYNAMIC there
]


@pytest.mark.parametrize(("name", "cut"), TRUNCATED)
def test_truncated_copy_is_a_format_error(built: Built, name: str, cut: str) -> None:
    original = built(name)
    size = TRUNCATIONS[cut](original.read_bytes())
    copy = binaries.derive(original.parent, f"{name}.truncated-{cut}", original, lambda d: d[:size])
    with pytest.raises(ElfFormatError):
        read_elf(copy)


def test_empty_file_is_a_format_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(ElfFormatError, match="empty"):
        read_elf(empty)


def test_cut_right_after_the_last_segment_still_parses(built: Built) -> None:
    """Only what the loader maps counts: the section-header-free end of a file may go."""
    data = built("gcc-pie").read_bytes()
    assert parse_elf(data[: _last_load_end(data)]).needed == ("libc.so.6",)


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_corrupt_copy_is_a_format_error(built: Built, corruption: str) -> None:
    original = built("gcc-pie")
    copy = binaries.derive(original.parent, f"gcc-pie.corrupt-{corruption}", original, CORRUPTIONS[corruption])
    with pytest.raises(ElfFormatError):
        read_elf(copy)


def test_corrupt_mips_symbol_count_is_a_format_error(built: Built) -> None:
    """MIPS counts its dynamic symbols with DT_MIPS_SYMTABNO; an absurd count is refused."""
    data = built("zig-mips").read_bytes()
    with pytest.raises(ElfFormatError):
        parse_elf(binaries.with_dynamic_value(data, DT_MIPS_SYMTABNO, 0x7FFFFFFF))


def test_sysv_hash_is_read_only_without_gnu_hash(built: Built) -> None:
    """glibc's _dl_setup_hash ignores DT_HASH when DT_GNU_HASH exists, and so does the reader:
    a bad DT_HASH then changes nothing, while a bad DT_GNU_HASH is a format error."""
    data = built("zig-s390x").read_bytes()
    assert parse_elf(binaries.with_dynamic_value(data, DT_HASH, UNMAPPED)) == parse_elf(data)
    with pytest.raises(ElfFormatError):
        parse_elf(binaries.with_dynamic_value(data, DT_GNU_HASH, UNMAPPED))


# --- mutation: random damage where the loader reads ------------------------------------------

MUTATIONS = 200
SEED = 20250101


def _damage_bytes(data: bytes, rng: random.Random) -> bytes:
    """Flip a bit or overwrite a byte at 1-4 offsets in one region the loader reads."""
    damaged = bytearray(data)
    start, end = rng.choice(binaries.header_regions(data))
    for _ in range(rng.choice((1, 1, 2, 4))):
        offset = rng.randrange(start, end)
        damaged[offset] = rng.randrange(256) if rng.random() < 0.5 else damaged[offset] ^ (1 << rng.randrange(8))
    return bytes(damaged)


def _damage_dynamic_value(data: bytes, rng: random.Random) -> bytes:
    """Give one dynamic entry a value from the edges: zero, tiny, unaligned, huge."""
    _at, tag, value = rng.choice(binaries.dynamic_entries(data))
    choices = (0, 1, 7, value + 1, value - 1, value * 2, 0xFFFF, 0x7FFFFFFF, rng.randrange(1 << 32))
    return binaries.with_dynamic_value(data, tag, max(0, rng.choice(choices)))


def mutate_and_parse(data: bytes, seed: int) -> tuple[int, int]:
    """Damage `data` MUTATIONS times, seeded: bytes of the ELF header, the program
    header table and PT_DYNAMIC, or the values of dynamic entries. Every result must
    parse or raise ElfFormatError. Returns (parsed, refused)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible damage, not cryptography
    parsed = refused = 0
    for trial in range(MUTATIONS):
        damaged = _damage_bytes(data, rng) if trial % 2 else _damage_dynamic_value(data, rng)
        try:
            facts = parse_elf(damaged)
        except ElfFormatError:
            refused += 1
            continue
        except Exception:  # the point of the test: anything else is a reader bug
            pytest.fail(f"trial {trial} (seed {seed}) raised:\n{traceback.format_exc()}")
        assert isinstance(facts, ElfFacts)
        parsed += 1
    return parsed, refused


def test_mutations_of_committed_binary() -> None:
    data = binaries.committed("hello-gcc").read_bytes()
    started = time.monotonic()
    parsed, refused = mutate_and_parse(data, SEED)
    assert parsed + refused == MUTATIONS
    # Both outcomes occur: damage in padding is harmless, damage in offsets is not.
    assert parsed > 0
    assert refused > 0
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("name", ["libdemo.so.1", "gcc-nopie", "zig-mips", "zig-s390x", "zig-arm", "go-cgo"])
def test_mutations_of_built_binaries(built: Built, name: str) -> None:
    started = time.monotonic()
    parsed, refused = mutate_and_parse(built(name).read_bytes(), SEED)
    assert parsed + refused == MUTATIONS
    assert time.monotonic() - started < 10
