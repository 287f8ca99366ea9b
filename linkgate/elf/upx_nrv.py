"""UCL's NRV2B / NRV2D / NRV2E decompressors, as UPX uses them (specs/upx-elf.md).

The input is hostile until proven otherwise: every read is checked against the
input length, every match against what has been written, and the output never
grows past the size the block header declares. A caller that needs only the
start of a block passes `limit` and decoding stops there, which is what makes
reading a packed program's dynamic linkage cheap.

The bit reader is inlined into each decoder's loop on purpose: a method call
per bit would make decoding several times slower in CPython.
"""

from __future__ import annotations

from collections.abc import Callable

from linkgate.elf.image import ElfFormatError

_END_OF_STREAM = 0xFFFFFFFF
# The end marker is an offset whose high part decodes to 0xFFFFFF, so offset
# codes must be allowed to reach it even in a small block.
_OFFSET_CODE_CAP = 0x1000003


class UpxDecodeError(ElfFormatError):
    """A compressed UPX block is corrupt, truncated, or does not match its header."""


class _Bits:
    """MSB-first bits from little-endian words of `width` bytes, literals from the same cursor."""

    __slots__ = ("buffer", "count", "pos", "src", "width")

    def __init__(self, src: bytes, width: int) -> None:
        self.src = src
        self.width = width
        self.pos = 0
        self.buffer = 0
        self.count = 0

    def bit(self) -> int:
        if not self.count:
            end = self.pos + self.width
            if end > len(self.src):
                raise UpxDecodeError("NRV stream ends inside a bit buffer")
            self.buffer = int.from_bytes(self.src[self.pos : end], "little")
            self.pos = end
            self.count = self.width * 8
        self.count -= 1
        return (self.buffer >> self.count) & 1

    def byte(self) -> int:
        if self.pos >= len(self.src):
            raise UpxDecodeError("NRV stream ends inside a literal")
        value = self.src[self.pos]
        self.pos += 1
        return value

    def literals(self, out: bytearray, size: int) -> None:
        """Copy literal bytes while the flag bit is 1 (the hot loop, hence the local variables)."""
        src, pos, buffer, count, width = self.src, self.pos, self.buffer, self.count, self.width
        end = len(src)
        try:
            while True:
                if not count:
                    if pos + width > end:
                        raise UpxDecodeError("NRV stream ends inside a bit buffer")
                    buffer = int.from_bytes(src[pos : pos + width], "little")
                    pos += width
                    count = width * 8
                count -= 1
                if not (buffer >> count) & 1:
                    return
                if pos >= end:
                    raise UpxDecodeError("NRV stream ends inside a literal")
                out.append(src[pos])
                pos += 1
                if len(out) > size:
                    raise UpxDecodeError("NRV literals overrun the declared size")
        finally:
            self.pos, self.buffer, self.count = pos, buffer, count

    def gamma(self, cap: int) -> int:
        """Elias-gamma-like number: v = 2v + bit until the stop bit; bounded by `cap`."""
        value = 1
        while True:
            value = value * 2 + self.bit()
            if value > cap:
                raise UpxDecodeError("NRV length or offset exceeds the block size")
            if self.bit():
                return value


# One match decision for each variant: (bits, last_offset) -> (offset, length) or None at the end.
_Match = Callable[[_Bits, int, int], "tuple[int, int] | None"]


def _match_2b(bits: _Bits, last: int, cap: int) -> tuple[int, int] | None:
    offset = bits.gamma(_OFFSET_CODE_CAP)
    if offset == 2:
        offset = last
    else:
        offset = (offset - 3) * 256 + bits.byte()
        if offset == _END_OF_STREAM:
            return None
        offset += 1
    length = bits.bit() * 2 + bits.bit()
    if length == 0:
        length = bits.gamma(cap) + 2
    return offset, length + (offset > 0xD00)


def _offset_de(bits: _Bits, last: int) -> tuple[int, int] | None:
    """D and E share the offset coding: returns (offset, low length bit), None at the end."""
    offset = 1
    while True:
        offset = offset * 2 + bits.bit()
        if bits.bit():
            break
        offset = (offset - 1) * 2 + bits.bit()
        if offset > _OFFSET_CODE_CAP:
            raise UpxDecodeError("NRV offset exceeds the block size")
    if offset == 2:
        return last, bits.bit()
    offset = (offset - 3) * 256 + bits.byte()
    if offset == _END_OF_STREAM:
        return None
    return (offset >> 1) + 1, (~offset) & 1


def _match_2d(bits: _Bits, last: int, cap: int) -> tuple[int, int] | None:
    decoded = _offset_de(bits, last)
    if decoded is None:
        return None
    offset, length = decoded
    length = length * 2 + bits.bit()
    if length == 0:
        length = bits.gamma(cap) + 2
    return offset, length + (offset > 0x500)


def _match_2e(bits: _Bits, last: int, cap: int) -> tuple[int, int] | None:
    decoded = _offset_de(bits, last)
    if decoded is None:
        return None
    offset, length = decoded
    if length:
        length = 1 + bits.bit()
    elif bits.bit():
        length = 3 + bits.bit()
    else:
        length = bits.gamma(cap) + 3
    return offset, length + (offset > 0x500)


_VARIANTS: dict[int, tuple[_Match, int]] = {
    2: (_match_2b, 4), 3: (_match_2b, 1),
    5: (_match_2d, 4), 6: (_match_2d, 1),
    8: (_match_2e, 4), 9: (_match_2e, 1),
}  # fmt: skip


def nrv_methods() -> frozenset[int]:
    """The b_method values this module decodes."""
    return frozenset(_VARIANTS)


def decompress_nrv(method: int, src: bytes, size: int, limit: int | None = None) -> bytes:
    """Decode `src` into exactly `size` bytes, or only the first `limit` of them.

    Raises UpxDecodeError for an unknown method, a truncated or corrupt
    stream, or one that does not decode to the declared size.
    """
    return NrvDecoder(method, src, size).prefix(size if limit is None else min(size, limit))


class NrvDecoder:
    """A block decoded on demand: `prefix(n)` decodes only as far as n, and a
    later, longer request continues where the last one stopped."""

    def __init__(self, method: int, src: bytes, size: int) -> None:
        if method not in _VARIANTS:
            raise UpxDecodeError(f"not an NRV method: {method}")
        self._match, width = _VARIANTS[method]
        self._bits = _Bits(src, width)
        self._size = size
        self._out = bytearray()
        self._last = 1
        self._ended = False

    def prefix(self, length: int) -> bytes:
        """The first `length` bytes of the block (length <= the declared size).

        Asking for the whole block also checks that the end marker follows it.
        """
        wanted = length + 1 if length >= self._size else length
        if len(self._out) < wanted and not self._ended:
            self._ended = self._run(wanted)
        if len(self._out) < length:
            raise UpxDecodeError(f"NRV block ends after {len(self._out)} bytes, header says {self._size}")
        return bytes(self._out[:length])

    def _run(self, want: int) -> bool:
        """Decode until `want` bytes exist; True when the end marker was reached."""
        bits, out, size, match = self._bits, self._out, self._size, self._match
        while len(out) < want:
            bits.literals(out, size)
            decoded = match(bits, self._last, size)
            if decoded is None:
                return True
            self._last, length = decoded
            _copy(out, self._last, length + 1, size)
        return False


def _copy(out: bytearray, offset: int, length: int, size: int) -> None:
    """Append `length` bytes starting `offset` back; overlapping copies repeat the pattern."""
    if offset > len(out):
        raise UpxDecodeError(f"NRV match reaches {offset} bytes back, only {len(out)} written")
    if len(out) + length > size:
        raise UpxDecodeError("NRV match overruns the declared size")
    start = len(out) - offset
    if offset >= length:
        out += out[start : start + length]
    else:
        pattern = out[start:]
        out += (pattern * (length // offset + 1))[:length]
