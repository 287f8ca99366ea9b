"""Undo UPX's branch filters on a decompressed block (docs/upx.md, Decoding).

UPX rewrites relative branch targets as absolute, byte-swapped values before
compressing because they then repeat and compress better; reading code or
data bytes of the original needs the rewrite undone. A block is decoded on
demand, so the filter is undone incrementally too: `Unfilter.advance` visits
only bytes it has not visited, which keeps a series of growing reads linear
in the block's length instead of quadratic.
"""

from __future__ import annotations

import re

from linkgate.elf.upx_errors import UpxDecodeError

_X86_CALLS = frozenset({0x46, 0x49})
_ARM64_BRANCH = 0x52
# The x86 filter decides at position i from bytes i-1..i+4: a position needs 5 bytes after it.
X86_LOOKAHEAD = 5


def known_filters() -> frozenset[int]:
    """b_ftid values this module can undo (0 = no filter)."""
    return _X86_CALLS | {0, _ARM64_BRANCH}


def unfilter(data: bytes, ftid: int, cto8: int) -> bytes:
    """The whole block as it was before UPX's filter `ftid` with parameter `cto8`."""
    undo = Unfilter(bytearray(data), ftid, cto8)
    undo.advance(complete=True)
    return bytes(undo.output)


class Unfilter:
    """Undo a filter over a growing decoded block, in place in a copy of it.

    `raw` is the decoder's output buffer (it only grows); `output` the
    unfiltered bytes, of which the first `final` will not change again.
    """

    def __init__(self, raw: bytearray, ftid: int, cto8: int) -> None:
        if ftid not in known_filters():
            raise UpxDecodeError(f"unsupported UPX filter {ftid:#x}")
        self._raw = raw
        self._ftid, self._cto8 = ftid, cto8
        self.output = bytearray()
        self.final = 0
        self._scanned = 0  # first position not yet visited
        self._next_free = 0  # x86: a hit consumes the 4 operand bytes after it
        if ftid in _X86_CALLS:
            opcodes = rb"[\xe8\xe9]|(?<=\x0f)[\x80-\x8f]" if ftid == 0x49 else rb"[\xe8\xe9]"
            self._candidates = re.compile(rb"(?=(?:" + opcodes + rb")" + re.escape(bytes([cto8])) + rb")")

    def advance(self, complete: bool) -> None:
        """Take in what the decoder added to `raw`; `complete` when it holds the whole block."""
        size = len(self._raw)
        self.output += self._raw[len(self.output) : size]
        if self._ftid == 0:
            self.final = size
        elif self._ftid == _ARM64_BRANCH:
            self._arm64(size)
            self.final = size if complete else self._scanned
        else:
            self._x86(size)
            self.final = size if complete else max(0, size - X86_LOOKAHEAD + 1)

    def _x86(self, size: int) -> None:
        """CALL/JMP (and Jcc) targets: big-endian absolute with a marker byte -> little-endian relative.

        UPX visits positions below size-5. Only positions whose next byte is the
        marker can change, so a regex (in C) over the filtered bytes finds the
        candidates and Python visits just those, in order.
        """
        buf, cto = self.output, self._cto8 << 24
        end = size - X86_LOOKAHEAD
        next_free = self._next_free
        for found in self._candidates.finditer(self._raw, self._scanned, size):
            ic = found.start()
            if ic >= end:
                break
            # A hit consumes its 4 operand bytes; a Jcc right after a hit is not one.
            if ic < next_free or (ic == next_free and ic and buf[ic] not in (0xE8, 0xE9)):
                continue
            target = int.from_bytes(buf[ic + 1 : ic + 5], "big")
            buf[ic + 1 : ic + 5] = ((target - ic - 1 - cto) & 0xFFFFFFFF).to_bytes(4, "little")
            next_free = ic + 5
        self._next_free = next_free
        self._scanned = max(self._scanned, end)

    def _arm64(self, size: int) -> None:
        """B/BL: imm26 holds the absolute word index; make it relative again (words below size-4)."""
        buf, stop = self.output, size - 4
        if stop <= self._scanned:
            return
        for at in range(self._scanned, stop, 4):
            if buf[at + 3] & 0x7C == 0x14:
                word = int.from_bytes(buf[at : at + 4], "little")
                imm = (word - at // 4) & 0x3FFFFFF
                buf[at : at + 4] = ((word & ~0x3FFFFFF) | imm).to_bytes(4, "little")
        self._scanned += -(-(stop - self._scanned) // 4) * 4
