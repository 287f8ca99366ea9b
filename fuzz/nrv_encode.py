"""A minimal NRV2B/2D/2E *encoder* for crafted streams (specs: docs/fuzzing.md).

It writes exactly what linkgate's decoders read: literals and matches the
caller chooses, then the end marker. No compression search: tests and the
fuzzer use it to build streams no real packer would write (one match of a
gigabyte, thousands of two-byte matches far back) and to keep crafted UPX
blocks structurally valid after a size or method mutation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# b_method -> (variant, bytes per bit-buffer word), as UPX numbers them.
VARIANTS = {2: ("b", 4), 3: ("b", 1), 5: ("d", 4), 6: ("d", 1), 8: ("e", 4), 9: ("e", 1)}
_END_CODE = 0xFFFFFFFF


@dataclass(frozen=True)
class Literal:
    byte: int


@dataclass(frozen=True)
class Match:
    """Copy `length` (>= 2) bytes from `offset` bytes back; offset 0 reuses the last offset."""

    offset: int
    length: int


Token = Literal | Match


class _BitWriter:
    """MSB-first bits in little-endian words reserved at the cursor, bytes appended in between."""

    def __init__(self, width: int) -> None:
        self.out = bytearray()
        self.width = width
        self.word_at = -1
        self.used = width * 8

    def bit(self, value: int) -> None:
        if self.used == self.width * 8:
            self.word_at = len(self.out)
            self.out += bytes(self.width)
            self.used = 0
        self.used += 1
        if value:
            shift = self.width * 8 - self.used
            word = int.from_bytes(self.out[self.word_at : self.word_at + self.width], "little") | (1 << shift)
            self.out[self.word_at : self.word_at + self.width] = word.to_bytes(self.width, "little")

    def byte(self, value: int) -> None:
        self.out.append(value & 0xFF)

    def gamma(self, value: int) -> None:
        """v = 2v + bit until the stop bit, starting at 1 (value >= 2)."""
        bits = bin(value)[3:]
        for index, digit in enumerate(bits):
            self.bit(int(digit))
            self.bit(1 if index == len(bits) - 1 else 0)

    def gamma_de(self, value: int) -> None:
        """2D/2E's offset code: v = 2v + a; stop?; v = 2(v-1) + c (value >= 2), unwound from the end."""
        chain: list[tuple[int, int | None]] = []  # per iteration (a, c or None when it stops)
        a_last, state = value & 1, value >> 1
        chain.append((a_last, None))
        while state != 1:
            c, t = state & 1, (state >> 1) + 1
            a, state = t & 1, t >> 1
            chain.append((a, c))
        for data_bit, then in reversed(chain):
            self.bit(data_bit)
            if then is None:
                self.bit(1)
            else:
                self.bit(0)
                self.bit(then)


def encode(method: int, tokens: Iterable[Token]) -> bytes:
    """The NRV stream of `tokens` followed by the end marker, for b_method `method`."""
    variant, width = VARIANTS[method]
    writer = _BitWriter(width)
    last = 1
    for token in tokens:
        if isinstance(token, Literal):
            writer.bit(1)
            writer.byte(token.byte)
            continue
        writer.bit(0)
        offset = last if token.offset == 0 else token.offset
        _match(writer, variant, offset, token.length, reuse=token.offset in (0, last))
        last = offset
    writer.bit(0)
    _end(writer, variant)
    return bytes(writer.out)


def _match(writer: _BitWriter, variant: str, offset: int, length: int, reuse: bool) -> None:
    far = offset > (0xD00 if variant == "b" else 0x500)
    code = length - 1 - far
    if code < 1:
        raise ValueError(f"match of {length} bytes is too short at offset {offset}")
    if variant == "b":
        _offset_b(writer, offset, reuse)
        _length_b(writer, code)
        return
    low = _first_length_bit(variant, code)
    _offset_de(writer, offset, low, reuse)
    if variant == "d":
        _rest_length_d(writer, code)
    else:
        _rest_length_e(writer, code)


def _offset_b(writer: _BitWriter, offset: int, reuse: bool) -> None:
    if reuse:
        writer.gamma(2)
        return
    code = offset - 1
    writer.gamma((code >> 8) + 3)
    writer.byte(code & 0xFF)


def _length_b(writer: _BitWriter, code: int) -> None:
    if code <= 3:
        writer.bit(code >> 1)
        writer.bit(code & 1)
    else:
        writer.bit(0)
        writer.bit(0)
        writer.gamma(code - 2)


def _first_length_bit(variant: str, code: int) -> int:
    if variant == "d":
        return code >> 1 if code <= 3 else 0
    return 1 if code <= 2 else 0


def _offset_de(writer: _BitWriter, offset: int, low: int, reuse: bool) -> None:
    if reuse:
        writer.gamma_de(2)
        writer.bit(low)
        return
    code = (offset - 1) * 2 + (1 - low)
    writer.gamma_de((code >> 8) + 3)
    writer.byte(code & 0xFF)


def _rest_length_d(writer: _BitWriter, code: int) -> None:
    if code <= 3:
        writer.bit(code & 1)
    else:
        writer.bit(0)
        writer.gamma(code - 2)


def _rest_length_e(writer: _BitWriter, code: int) -> None:
    if code <= 2:
        writer.bit(code - 1)
    elif code <= 4:
        writer.bit(1)
        writer.bit(code - 3)
    else:
        writer.bit(0)
        writer.gamma(code - 3)


def _end(writer: _BitWriter, variant: str) -> None:
    """The end marker: an offset code whose value is 0xffffffff."""
    high = (_END_CODE >> 8) + 3
    if variant == "b":
        writer.gamma(high)
    else:
        writer.gamma_de(high)
    writer.byte(_END_CODE & 0xFF)
