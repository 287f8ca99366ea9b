"""The decoders on real UPX blocks and on garbage: exact output, prefixes that
agree with full decodes, and UpxDecodeError (never another exception) for
corrupt streams."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from linkgate.elf.image import Image
from linkgate.elf.upx_blocks import Block, decode_block, read_block
from linkgate.elf.upx_errors import UpxDecodeError
from linkgate.elf.upx_filters import unfilter
from linkgate.elf.upx_lzma import decompress_lzma
from linkgate.elf.upx_nrv import decompress_nrv
from tests.helpers.upx_tools import available, build_input, packed, packer, seeded


def blocks_of(path: Path) -> tuple[Image, list[Block]]:
    """b_info #0 and the blocks after it, found from l_info right after the program headers."""
    image = Image(path.read_bytes())
    header = image.header()
    at = header.e_phoff + header.e_phnum * header.e_phentsize + 24
    blocks: list[Block] = []
    while len(blocks) < 5:
        block = read_block(image, at)
        blocks.append(block)
        at = block.end
    return image, blocks


# Every method once; the pure-Python decoders take ~1 s per MB, so not the full matrix.
DECODER_CASES = [("upx-3.96", "nrv2e"), ("upx-4.2.4", "nrv2b"), ("upx-4.2.4", "nrv2d"), ("upx-3.96", "lzma")]


@pytest.fixture(scope="module", params=DECODER_CASES)
def static_blocks(request: pytest.FixtureRequest) -> tuple[Image, list[Block]]:
    suite, method = request.param
    tool = available(lambda: packer(suite))
    path = available(lambda: packed(tool, method, build_input("gcc-static")))
    return blocks_of(path)


def test_prefixes_agree_with_full_decodes(static_blocks: tuple[Image, list[Block]]) -> None:
    image, blocks = static_blocks
    for block in blocks:
        full = decode_block(image, block)
        assert len(full) == block.sz_unc
        for cut in (1, 7, 100, 4096, block.sz_unc // 2):
            assert decode_block(image, block, cut) == full[:cut]


def test_truncated_and_bit_flipped_streams_raise_decode_errors(
    static_blocks: tuple[Image, list[Block]],
) -> None:
    image, blocks = static_blocks
    rng = seeded("decoder-flips")
    for block in [b for b in blocks if not b.stored and b.sz_unc < 200_000][:3]:
        src = image.read(block.at + 12, block.sz_cpr)
        for cut in (0, 1, 3, len(src) // 3, len(src) - 1):
            with pytest.raises(UpxDecodeError):
                _decode(block.method, src[:cut], block.sz_unc)
        for _ in range(20):
            mutated = bytearray(src)
            mutated[rng.randrange(len(src))] ^= 1 << rng.randrange(8)
            try:
                out = _decode(block.method, bytes(mutated), block.sz_unc)
            except UpxDecodeError:
                continue
            assert len(out) == block.sz_unc


def _decode(method: int, src: bytes, size: int) -> bytes:
    return decompress_lzma(src, size) if method == 14 else decompress_nrv(method, src, size)


@pytest.mark.parametrize("method", [2, 3, 5, 6, 8, 9, 14])
def test_random_garbage_never_escapes_as_another_exception(method: int) -> None:
    rng = seeded(f"garbage-{method}")
    for _ in range(300):
        src = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64)))
        size = rng.choice([0, 1, 16, 1000, 1 << 31])
        try:
            out = _decode(method, src, size)
        except UpxDecodeError:
            continue
        assert len(out) == size


def test_declared_sizes_bound_the_output() -> None:
    """A run of matches that would outgrow the declared size is an error, not a big buffer."""
    # NRV2B: literal 'a', then matches at offset 1 until the stream ends.
    with pytest.raises(UpxDecodeError):
        decompress_nrv(2, b"\xff" * 4 + b"a" * 64, 8)
    with pytest.raises(UpxDecodeError):
        decompress_nrv(99, b"", 1)


def _filter_x86(data: bytes, cto8: int) -> bytes:
    """UPX's forward CALL/JMP filter (ctok, id 0x46), for a round trip."""
    buf = bytearray(data)
    ic = 0
    while ic < len(buf) - 5:
        if buf[ic] in (0xE8, 0xE9):
            target = (struct.unpack_from("<I", buf, ic + 1)[0] + ic + 1) & 0xFFFFFFFF
            if target < len(buf):
                struct.pack_into(">I", buf, ic + 1, target + (cto8 << 24))
                ic += 4
        ic += 1
    return bytes(buf)


def test_x86_unfilter_inverts_the_filter() -> None:
    calls = b"".join(b"\x90\xe8" + struct.pack("<i", delta) for delta in (-6, 0, 16, 100, -40))
    data = calls * 20 + b"\x00" * 8
    filtered = _filter_x86(data, 0x2A)
    assert filtered != data
    assert unfilter(filtered, 0x46, 0x2A) == data


def test_arm64_unfilter_makes_branch_targets_relative_again() -> None:
    words = [0x94000000 | 5, 0xD503201F, 0x14000000 | 0x3FFFFFF, 0xD503201F, 0xD503201F]
    filtered = [(w & ~0x3FFFFFF) | ((w + i) & 0x3FFFFFF) if w >> 26 in (0x25, 0x05) else w
                for i, w in enumerate(words)]  # fmt: skip
    packed_words = struct.pack("<5I", *filtered)
    assert struct.unpack("<5I", unfilter(packed_words, 0x52, 0)) == tuple(words)


def test_unknown_filter_is_a_decode_error() -> None:
    with pytest.raises(UpxDecodeError):
        unfilter(b"\x00" * 16, 0x99, 0)
