"""UCL's NRV2B / NRV2D / NRV2E decompressors, as UPX uses them (docs/upx.md).

The input is hostile until proven otherwise: every read is checked against the
input length, every match against what has been written, and the output never
grows past the size the block header declares. Decoding is on demand and
bounded by what is asked for, not by what the stream declares: one match may
claim a gigabyte in a few bits, so a match that reaches past the requested
length is copied only that far and the rest is kept pending for a later,
longer request. What a caller may ask for is bounded by upx_budget.

Speed is the other bound: a hostile stream chooses the slowest path (short
matches far back), so the per-file decode cap is sized from that path's
measured speed (docs/fuzzing.md). That is why the decoder is one loop with
the bit reader written out inline at each use: a method call per bit made the
worst case about three times slower in CPython.
"""

from __future__ import annotations

from linkgate.elf.upx_errors import UpxDecodeError

_END_OF_STREAM = 0xFFFFFFFF
# The end marker is an offset whose high part decodes to 0xFFFFFF, so offset
# codes must be allowed to reach it even in a small block.
_OFFSET_CODE_CAP = 0x1000003
# b_method -> (variant, bytes per bit-buffer word); 3/6/9 are the 8-bit-buffer forms used on ARM32.
_B, _D, _E = 0, 1, 2
_VARIANTS = {2: (_B, 4), 3: (_B, 1), 5: (_D, 4), 6: (_D, 1), 8: (_E, 4), 9: (_E, 1)}
# A match this far back costs one more byte (UCL's M2_MAX_OFFSET for B, 0x500 for D and E).
_FAR = {_B: 0xD00, _D: 0x500, _E: 0x500}


def nrv_methods() -> frozenset[int]:
    """The b_method values this module decodes."""
    return frozenset(_VARIANTS)


def decompress_nrv(method: int, src: bytes, size: int, limit: int | None = None) -> bytes:
    """Decode `src` into exactly `size` bytes, or only the first `limit` of them.

    Raises UpxDecodeError for an unknown method, a truncated or corrupt
    stream, or one that does not decode to the declared size.
    """
    return NrvDecoder(method, src, size).prefix(size if limit is None else min(size, limit))


def _truncated() -> UpxDecodeError:
    return UpxDecodeError("NRV stream ends inside a bit buffer")


def _overrun() -> UpxDecodeError:
    return UpxDecodeError("NRV data overruns the declared size")


class NrvDecoder:
    """A block decoded on demand: `extend(n)` decodes exactly as far as n, and
    a later, longer request continues where the last one stopped."""

    def __init__(self, method: int, src: bytes, size: int) -> None:
        if method not in _VARIANTS:
            raise UpxDecodeError(f"not an NRV method: {method}")
        self._variant, self._width = _VARIANTS[method]
        self._src = src
        self._size = size
        self.output = bytearray()
        # Bit reader state, the last match offset, and the part of a match not yet copied.
        self._pos = self._buffer = self._count = 0
        self._last = 1
        self._pending = 0
        self._ended = False

    def prefix(self, length: int) -> bytes:
        """A copy of the first `length` bytes (see `extend`)."""
        self.extend(length)
        return bytes(self.output[:length])

    def extend(self, length: int) -> None:
        """Make `output` hold at least `length` bytes (length <= the declared size), and no more.

        Asking for the whole block also checks that the end marker follows it.
        """
        wanted = length + 1 if length >= self._size else length
        if len(self.output) < wanted and not self._ended:
            self._resume(wanted)
        if len(self.output) < wanted and not self._ended:
            self._ended = self._run(wanted)
        if len(self.output) < length:
            raise UpxDecodeError(f"NRV block ends after {len(self.output)} bytes, header says {self._size}")

    def _resume(self, wanted: int) -> None:
        """Continue the match the last request stopped inside."""
        take = min(self._pending, wanted - len(self.output))
        if take > 0:
            _copy(self.output, self._last, take)
            self._pending -= take

    def _run(self, want: int) -> bool:  # noqa: PLR0912, PLR0915 - one loop on purpose (module docstring)
        """Decode until `want` bytes exist; True when the end marker was reached."""
        src, end, width, size, out = self._src, len(self._src), self._width, self._size, self.output
        variant, far, bits = self._variant, _FAR[self._variant], self._width * 8
        pos, buffer, count, last = self._pos, self._buffer, self._count, self._last
        have = len(out)
        try:
            while have < want:
                if not count:
                    if pos + width > end:
                        raise _truncated()
                    buffer, count = int.from_bytes(src[pos : pos + width], "little"), bits
                    pos += width
                count -= 1
                if (buffer >> count) & 1:  # a literal byte
                    if pos >= end:
                        raise UpxDecodeError("NRV stream ends inside a literal")
                    if have >= size:
                        raise _overrun()
                    out.append(src[pos])
                    pos += 1
                    have += 1
                    continue
                # A match: the offset code first (B: gamma; D and E: gamma interleaved with a length bit).
                code = 1
                while True:
                    if not count:
                        if pos + width > end:
                            raise _truncated()
                        buffer, count = int.from_bytes(src[pos : pos + width], "little"), bits
                        pos += width
                    count -= 1
                    code = code * 2 + ((buffer >> count) & 1)
                    if not count:
                        if pos + width > end:
                            raise _truncated()
                        buffer, count = int.from_bytes(src[pos : pos + width], "little"), bits
                        pos += width
                    count -= 1
                    if (buffer >> count) & 1:
                        break
                    if variant != _B:
                        if not count:
                            if pos + width > end:
                                raise _truncated()
                            buffer, count = int.from_bytes(src[pos : pos + width], "little"), bits
                            pos += width
                        count -= 1
                        code = (code - 1) * 2 + ((buffer >> count) & 1)
                    if code > _OFFSET_CODE_CAP:
                        raise UpxDecodeError("NRV offset exceeds the block size")
                low = -1  # D and E: the first length bit, carried by the offset code
                if code == 2:
                    offset = last
                    if variant != _B:
                        if not count:
                            if pos + width > end:
                                raise _truncated()
                            buffer, count = int.from_bytes(src[pos : pos + width], "little"), bits
                            pos += width
                        count -= 1
                        low = (buffer >> count) & 1
                else:
                    if pos >= end:
                        raise UpxDecodeError("NRV stream ends inside an offset")
                    code = (code - 3) * 256 + src[pos]
                    pos += 1
                    if code == _END_OF_STREAM:
                        return True
                    if variant == _B:
                        offset = code + 1
                    else:
                        offset, low = (code >> 1) + 1, (~code) & 1
                # The length: two bits (B), one more bit (D), or E's 1-2 / 3-4 / longer split; else gamma.
                length = 0
                extra = 2
                if variant == _B:
                    for _ in range(2):
                        if not count:
                            if pos + width > end:
                                raise _truncated()
                            buffer, count = int.from_bytes(src[pos : pos + width], "little"), bits
                            pos += width
                        count -= 1
                        length = length * 2 + ((buffer >> count) & 1)
                elif variant == _D or low:
                    if not count:
                        if pos + width > end:
                            raise _truncated()
                        buffer, count = int.from_bytes(src[pos : pos + width], "little"), bits
                        pos += width
                    count -= 1
                    length = low * 2 + ((buffer >> count) & 1) if variant == _D else 1 + ((buffer >> count) & 1)
                else:  # E without the low bit: one bit says 3-4, else a gamma length
                    if not count:
                        if pos + width > end:
                            raise _truncated()
                        buffer, count = int.from_bytes(src[pos : pos + width], "little"), bits
                        pos += width
                    count -= 1
                    extra = 3
                    if (buffer >> count) & 1:
                        if not count:
                            if pos + width > end:
                                raise _truncated()
                            buffer, count = int.from_bytes(src[pos : pos + width], "little"), bits
                            pos += width
                        count -= 1
                        length = 3 + ((buffer >> count) & 1)
                if length == 0:
                    length = 1
                    while True:
                        if not count:
                            if pos + width > end:
                                raise _truncated()
                            buffer, count = int.from_bytes(src[pos : pos + width], "little"), bits
                            pos += width
                        count -= 1
                        length = length * 2 + ((buffer >> count) & 1)
                        if length > size:
                            raise UpxDecodeError("NRV length exceeds the block size")
                        if not count:
                            if pos + width > end:
                                raise _truncated()
                            buffer, count = int.from_bytes(src[pos : pos + width], "little"), bits
                            pos += width
                        count -= 1
                        if (buffer >> count) & 1:
                            break
                    length += extra
                length += 1 + (offset > far)
                last = offset
                if offset > have:
                    raise UpxDecodeError(f"NRV match reaches {offset} bytes back, only {have} written")
                if have + length > size:
                    raise _overrun()
                # Copy only as far as asked; the rest waits in `_pending` for a longer request.
                take = min(length, want - have)
                _copy(out, offset, take)
                have += take
                if take < length:
                    self._pending = length - take
                    return False
            return False
        finally:
            self._pos, self._buffer, self._count, self._last = pos, buffer, count, last


def _copy(out: bytearray, offset: int, length: int) -> None:
    """Append `length` bytes starting `offset` back; overlapping copies repeat the pattern."""
    start = len(out) - offset
    if offset >= length:
        out += out[start : start + length]
    else:
        pattern = out[start:]
        out += (pattern * (length // offset + 1))[:length]
