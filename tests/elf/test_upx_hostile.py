"""Mutated packed files: seeded byte flips, zeroed ranges and truncations.

Each parse must end within its time limit with facts or ElfFormatError,
never hang or raise anything else; damage after b_info #0 must not hide the
packing (the gate fails closed on `forbid-upx` even when the payload is gone).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from random import Random
from types import FrameType

import pytest

from fuzz import crafted
from linkgate.elf.facts import ElfFacts
from linkgate.elf.image import ElfFormatError, Image
from linkgate.elf.reader import parse_elf
from linkgate.elf.upx_blocks import Block, BlockStream, decode_block, read_block
from linkgate.elf.upx_budget import MAX_DECODED, DecodeBudget
from linkgate.elf.upx_errors import UpxLimitError
from linkgate.elf.upx_filters import Unfilter, unfilter
from linkgate.elf.upx_nrv import decompress_nrv
from tests.conftest import run_linkgate
from tests.helpers import REPO
from tests.helpers.upx_tools import available, build_input, packed, packer, seeded

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
    """b_info #0 intact proves packing; a broken later block only loses the payload,
    unless it declares more than UPX ever packs: then the whole file is unreadable
    (UpxLimitError, an elf-format finding), which fails the gate just as closed."""
    tool = available(lambda: packer(suite))
    data = available(lambda: packed(tool, method, build_input(name))).read_bytes()
    image = Image(data)
    header = image.header()
    after_header_block = read_block(image, header.e_phoff + header.e_phnum * header.e_phentsize + 24).end
    rng = seeded(f"after/{suite}/{method}/{name}")
    for _round in range(40):
        buf = bytearray(data)
        for _ in range(rng.randrange(1, 9)):
            buf[rng.randrange(after_header_block + 12, min(len(buf), after_header_block + 4096))] ^= 0xFF
        try:
            with time_limit(SECONDS_PER_FILE):
                facts = parse_elf(bytes(buf))
        except UpxLimitError:
            continue
        assert facts.upx is not None
        assert (facts.upx.packed, facts.upx.tier) == (True, 1)


# --- decompression bombs: a few hundred bytes that declare gigabytes -------------------------

GIB = 1 << 30
# Generous for a loaded CI machine; an unbounded decoder needs ~4 s and 2 GB per bomb.
BOMB_CPU_SECONDS = 3.0
ADDRESS_SPACE = 1 << 30


def run_bounded(path: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """`linkgate check --format json PATH` with 1 GiB of address space; (result, child CPU seconds)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "linkgate", "check", "--format", "json", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, preexec_fn=limit, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return result, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def rules_of(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    return {finding["rule"]: finding["message"] for finding in json.loads(result.stdout)["findings"]}


@pytest.mark.parametrize("method", [2, 5, 8])
@pytest.mark.parametrize("kind", ["program", "library"])
def test_gigabyte_bombs_are_elf_format_findings(kind: str, method: int, tmp_path: Path) -> None:
    """One literal and one 1 GiB match in ~250-360 bytes: more than UPX ever packs."""
    stream = crafted.bomb_stream(method, GIB)
    data = crafted.upx_program(stream, GIB, method) if kind == "program" else crafted.upx_library(stream, GIB, method)
    assert len(data) < 400
    path = tmp_path / f"bomb-{kind}"
    path.write_bytes(data)
    result, cpu = run_bounded(path)
    assert result.returncode == 1
    assert "UPX never packs more than 768 MiB" in rules_of(result)["elf-format"]
    assert cpu < BOMB_CPU_SECONDS


@pytest.mark.parametrize("method", [2, 5, 8])
@pytest.mark.parametrize("kind", ["program", "library"])
def test_bombs_within_upx_limits_decode_only_what_is_read(kind: str, method: int, tmp_path: Path) -> None:
    """512 MiB declared, plausible for UPX: seen through in bounded memory and time."""
    size = 512 << 20
    stream = crafted.bomb_stream(method, size)
    data = crafted.upx_program(stream, size, method) if kind == "program" else crafted.upx_library(stream, size, method)
    path = tmp_path / f"bomb-{kind}"
    path.write_bytes(data)
    result, cpu = run_bounded(path)
    assert result.returncode == 1
    assert "elf-format" not in rules_of(result)
    assert "forbid-upx" in rules_of(result)
    assert cpu < BOMB_CPU_SECONDS


@pytest.mark.parametrize("method", [2, 5, 8])
def test_a_read_past_the_decode_budget_is_an_elf_format_finding(method: int, tmp_path: Path) -> None:
    """PT_INTERP 64 MiB into the payload: reaching it needs more than MAX_DECODED."""
    size = 128 << 20
    path = tmp_path / "deep-interp"
    path.write_bytes(crafted.upx_program(crafted.bomb_stream(method, size), size, method, interp_at=64 << 20))
    result, cpu = run_bounded(path)
    assert result.returncode == 1
    assert f"more than {MAX_DECODED >> 20} MiB of decoding" in rules_of(result)["elf-format"]
    assert cpu < BOMB_CPU_SECONDS


@pytest.mark.parametrize("method", [2, 5, 8])
def test_the_slowest_stream_the_budget_allows_stays_fast(method: int) -> None:
    """The cap is sized from this case: two-byte matches only, read to the budget's end."""
    size = MAX_DECODED - 4096
    data = crafted.upx_program(crafted.slow_stream(method, size), size, method, interp_at=size - 64)
    start = time.process_time()
    facts = parse_elf(data)
    elapsed = time.process_time() - start
    assert facts.payload is not None
    assert facts.payload.interpreter is not None
    assert elapsed < 2.0


def test_a_real_library_with_a_bomb_for_its_first_block(tmp_path: Path) -> None:
    """UPX 3.96's library layout: b_info #0 holds code and proves packing by decoding.
    Its stream swapped for a 700 MiB bomb, the file is still proven, in bounded memory."""
    tool = available(lambda: packer("upx-3.96"))
    data = bytearray(available(lambda: packed(tool, "nrv2b", build_input("gcc-shared"))).read_bytes())
    image = Image(bytes(data))
    at = next(s.p_offset for s in image.segments(image.header()) if s.p_type == 1 and s.p_flags & 1 and s.p_offset)
    block = read_block(image, at + 24)
    stream = crafted.bomb_stream(block.method, 700 << 20)
    data[block.at : block.at + 4] = (700 << 20).to_bytes(4, "little")
    data[block.at + 12 : block.at + 12 + len(stream)] = stream
    path = tmp_path / "libbomb.so"
    path.write_bytes(bytes(data))
    result, cpu = run_bounded(path)
    assert result.returncode == 1
    assert "UPX-packed" in rules_of(result)["forbid-upx"]
    assert cpu < BOMB_CPU_SECONDS


def test_growing_reads_of_a_filtered_block_match_one_full_decode() -> None:
    """The unfilter runs incrementally: small reads at increasing offsets (what the
    version reader does) must see exactly the bytes of one full decode."""
    tool = available(lambda: packer("upx-4.2.4"))
    image = Image(available(lambda: packed(tool, "nrv2e", build_input("gcc-static"))).read_bytes())
    header = image.header()
    at = header.e_phoff + header.e_phnum * header.e_phentsize + 24
    blocks: list[Block] = []
    while len(blocks) < 5:
        blocks.append(read_block(image, at))
        at = blocks[-1].end
    filtered = [b for b in blocks if b.ftid and not b.stored]
    assert filtered, "the static binary's text block is filtered (0x49)"
    rng = seeded("growing-reads")
    for block in filtered:
        full = decode_block(image, block)
        stream = BlockStream(image, block, DecodeBudget(block.sz_unc + 64))
        position = 0
        while position < block.sz_unc:
            step = rng.choice((1, 3, 5, 17, 4096, 40000))
            assert stream.read(position, position + step) == full[position : position + step]
            position += step


def test_arm64_unfilter_in_pieces_matches_the_whole() -> None:
    rng = seeded("arm64-pieces")
    data = bytes(rng.randrange(256) if i % 4 != 3 else rng.choice((0x14, 0x94, 0x97, 0x00)) for i in range(4099))
    whole = unfilter(data, 0x52, 0)
    raw = bytearray()
    pieces = Unfilter(raw, 0x52, 0)
    for start in range(0, len(data), 37):
        raw += data[start : start + 37]
        pieces.advance(complete=len(raw) == len(data))
        assert pieces.output[: pieces.final] == whole[: pieces.final]
    assert bytes(pieces.output) == whole


def test_x86_unfilter_in_pieces_never_serves_a_byte_that_changes_later() -> None:
    """`final` must stop short of bytes a later call-site can still rewrite."""
    tool = available(lambda: packer("upx-4.2.4"))
    image = Image(available(lambda: packed(tool, "nrv2b", build_input("gcc-static"))).read_bytes())
    header = image.header()
    at = header.e_phoff + header.e_phnum * header.e_phentsize + 24
    while not (block := read_block(image, at)).ftid:
        at = block.end
    raw_block = decompress_nrv(block.method, image.read(block.at + 12, block.sz_cpr), block.sz_unc)[:100_000]
    whole = unfilter(raw_block, block.ftid, block.cto8)
    raw = bytearray()
    pieces = Unfilter(raw, block.ftid, block.cto8)
    for start in range(0, len(raw_block), 3):
        raw += raw_block[start : start + 3]
        pieces.advance(complete=len(raw) == len(raw_block))
        assert pieces.output[: pieces.final] == whole[: pieces.final]
    assert bytes(pieces.output) == whole


def test_an_unread_payload_fails_even_when_upx_is_allowed(tmp_path: Path) -> None:
    """With forbid-upx off, a packed program whose payload cannot be decoded must not be judged
    by its UPX stub (which needs nothing) and pass: the rules that judge the program say they
    cannot, as an elf-format error."""
    tool = available(lambda: packer("upx-4.2.4"))
    data = available(lambda: packed(tool, "nrv2b", build_input("gcc-pie"))).read_bytes()
    image = Image(data)
    header = image.header()
    after_header_block = read_block(image, header.e_phoff + header.e_phnum * header.e_phentsize + 24).end
    rng = seeded("unread-payload")
    for _round in range(200):
        buf = bytearray(data)
        for _ in range(rng.randrange(1, 9)):
            buf[rng.randrange(after_header_block + 12, min(len(buf), after_header_block + 4096))] ^= 0xFF
        try:
            facts = parse_elf(bytes(buf))
        except UpxLimitError:
            continue
        if facts.upx is not None and facts.upx.packed and facts.payload is None:
            break
    else:
        pytest.fail("no damage left the payload unread")
    path = tmp_path / "damaged"
    path.write_bytes(bytes(buf))
    policy = tmp_path / "p.yml"
    policy.write_text('rules:\n  max-glibc: "2.17"\n  forbid-upx: false\n')
    result = run_linkgate("check", "--policy", str(policy), "--format", "json", str(path))
    assert result.returncode == 1, result.stdout + result.stderr
    (finding,) = json.loads(result.stdout)["findings"]
    assert (finding["rule"], finding["subject"]) == ("elf-format", "upx-payload")
    assert "max-glibc cannot judge it" in finding["message"]
