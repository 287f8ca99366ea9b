"""Mutated packed files: seeded byte flips, zeroed ranges and truncations.

Each parse must end within its time limit with facts or ElfFormatError,
never hang or raise anything else; damage after b_info #0 must not hide the
packing (the gate fails closed on `forbid-upx` even when the payload is gone).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from random import Random
from types import FrameType

import pytest

from linkgate.elf.facts import ElfFacts
from linkgate.elf.image import ElfFormatError, Image
from linkgate.elf.reader import parse_elf
from linkgate.elf.upx_blocks import read_block
from tests.upx_tools import available, build_input, packed, packer, seeded

SECONDS_PER_FILE = 10
ROUNDS = 120
TARGETS = [
    ("upx-4.2.4", "nrv2b", "gcc-pie"), ("upx-4.2.4", "lzma", "gcc-nopie"),
    ("upx-4.2.4", "nrv2e", "gcc-shared"), ("upx-4.2.4", "nrv2d", "go-cgo"),
    ("upx-3.96", "nrv2e", "gcc-pie"), ("upx-3.96", "nrv2d", "gcc-static"),
    ("upx-3.96", "lzma", "gcc-shared"), ("upx-3.96", "nrv2b", "go-cgo"),
]  # fmt: skip


class ParseTimeoutError(Exception):
    """The parse ran past its time limit: a hang as far as a CI gate is concerned."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise ParseTimeoutError

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def parse_or_error(data: bytes, label: str) -> ElfFacts | None:
    try:
        with time_limit(SECONDS_PER_FILE):
            return parse_elf(data)
    except ElfFormatError:
        return None
    except ParseTimeoutError:
        pytest.fail(f"{label}: parse took more than {SECONDS_PER_FILE} s")


def mutations(data: bytes, rng: Random, hot: tuple[int, int]) -> Iterator[tuple[str, bytes]]:
    """Flips anywhere, flips where the UPX structures and first blocks are, zeroed runs, truncations."""
    for round_ in range(ROUNDS):
        buf = bytearray(data)
        kind = round_ % 4
        if kind == 0:
            for _ in range(rng.randrange(1, 9)):
                buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        elif kind == 1:
            for _ in range(rng.randrange(1, 5)):
                buf[rng.randrange(*hot)] = rng.randrange(256)
        elif kind == 2:
            start = rng.randrange(hot[0], hot[1])
            buf[start : start + rng.randrange(1, 64)] = bytes(min(63, len(buf) - start))[: rng.randrange(1, 64)]
        else:
            del buf[rng.randrange(len(buf)) :]
        yield f"round {round_} kind {kind}", bytes(buf)


def structure_span(data: bytes) -> tuple[int, int]:
    """From l_info to a few KB past it: where a flip changes what the decoders see."""
    image = Image(data)
    header = image.header()
    start = header.e_phoff + header.e_phnum * header.e_phentsize
    return start, min(len(data), start + 8192)


@pytest.mark.parametrize(("suite", "method", "name"), TARGETS)
def test_mutated_packed_files_give_facts_or_format_errors(suite: str, method: str, name: str) -> None:
    tool = available(lambda: packer(suite))
    path: Path = available(lambda: packed(tool, method, build_input(name)))
    data = path.read_bytes()
    rng = seeded(f"{suite}/{method}/{name}")
    outcomes = {"facts": 0, "error": 0}
    for label, mutated in mutations(data, rng, structure_span(data)):
        facts = parse_or_error(mutated, f"{path} {label}")
        outcomes["facts" if facts else "error"] += 1
    assert outcomes["facts"] > 0


@pytest.mark.parametrize(("suite", "method", "name"), [t for t in TARGETS if t[2] != "gcc-shared"])
def test_damage_after_the_header_block_keeps_the_file_flagged(suite: str, method: str, name: str) -> None:
    """b_info #0 intact proves packing; a broken later block only loses the payload."""
    tool = available(lambda: packer(suite))
    data = available(lambda: packed(tool, method, build_input(name))).read_bytes()
    image = Image(data)
    header = image.header()
    after_header_block = read_block(image, header.e_phoff + header.e_phnum * header.e_phentsize + 24).end
    rng = seeded(f"after/{suite}/{method}/{name}")
    for round_ in range(40):
        buf = bytearray(data)
        for _ in range(rng.randrange(1, 9)):
            buf[rng.randrange(after_header_block + 12, min(len(buf), after_header_block + 4096))] ^= 0xFF
        facts = parse_or_error(bytes(buf), f"round {round_}")
        assert facts is not None
        assert facts.upx is not None
        assert (facts.upx.packed, facts.upx.tier) == (True, 1)
