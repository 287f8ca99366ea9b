"""Undo UPX's branch filters on a decompressed block (specs/upx-elf.md, Filters).

UPX rewrites relative branch targets as absolute, byte-swapped values before
compressing because they then repeat and compress better; reading code or
data bytes of the original needs the rewrite undone. Both loops walk the block
once, so their cost is bounded by its length.
"""

from __future__ import annotations

import re

from linkgate.elf.upx_nrv import UpxDecodeError

_X86_CALLS = frozenset({0x46, 0x49})
_ARM64_BRANCH = 0x52


def known_filters() -> frozenset[int]:
    """b_ftid values this module can undo (0 = no filter)."""
    return _X86_CALLS | {0, _ARM64_BRANCH}


def unfilter(data: bytes, ftid: int, cto8: int) -> bytes:
    """The block as it was before UPX's filter `ftid` with parameter `cto8`."""
    if ftid == 0:
        return data
    if ftid in _X86_CALLS:
        return _unfilter_x86(bytearray(data), cto8, with_jcc=ftid == 0x49)
    if ftid == _ARM64_BRANCH:
        return _unfilter_arm64(bytearray(data))
    raise UpxDecodeError(f"unsupported UPX filter {ftid:#x}")


def _unfilter_x86(buf: bytearray, cto8: int, with_jcc: bool) -> bytes:
    """CALL/JMP (and Jcc) targets: big-endian absolute with a marker byte -> little-endian relative.

    Only positions whose next byte is the marker can change, so a regex (in C)
    finds the candidates and Python visits just those, in order.
    """
    cto = cto8 << 24
    marker = re.escape(bytes([cto8]))
    opcodes = rb"[\xe8\xe9]|(?<=\x0f)[\x80-\x8f]" if with_jcc else rb"[\xe8\xe9]"
    candidates = re.compile(rb"(?=(?:" + opcodes + rb")" + marker + rb")")
    next_free = 0
    end = len(buf) - 5
    for found in candidates.finditer(bytes(buf)):
        ic = found.start()
        if ic >= end:
            break
        # A hit consumes its 4 operand bytes; a Jcc right after a hit is not one.
        if ic < next_free or (ic == next_free and ic and buf[ic] not in (0xE8, 0xE9)):
            continue
        target = int.from_bytes(buf[ic + 1 : ic + 5], "big")
        buf[ic + 1 : ic + 5] = ((target - ic - 1 - cto) & 0xFFFFFFFF).to_bytes(4, "little")
        next_free = ic + 5
    return bytes(buf)


def _unfilter_arm64(buf: bytearray) -> bytes:
    """B/BL: imm26 holds the absolute word index; make it relative again."""
    for at in range(0, len(buf) - 4, 4):
        if buf[at + 3] & 0x7C == 0x14:
            word = int.from_bytes(buf[at : at + 4], "little")
            imm = (word - at // 4) & 0x3FFFFFF
            buf[at : at + 4] = ((word & ~0x3FFFFFF) | imm).to_bytes(4, "little")
    return bytes(buf)
