"""How much linkgate decodes for one UPX-packed file, and the error when a file wants more.

Two kinds of cap, both fail closed (the error is an ElfFormatError, so the
file gets an `elf-format` finding, never a pass and never a traceback):

- UPX's own limit: UPX refuses inputs over 768 MiB (UPX_RSIZE_MAX_MEM), so
  no packer writes a block or an original file larger than that. A container
  that declares more was not written by UPX.
- linkgate's budget: the decoders are pure Python, and a hostile stream picks
  their slowest path (short matches far back; docs/fuzzing.md has the
  measurements). MAX_DECODED bytes per file keeps the worst case near
  two seconds and a few megabytes of memory. The loader's view of a real
  program needs kilobytes; only best-effort lookups (Go build info past its
  usual place, cgo package names) read more, and they stop quietly at the cap.
"""

from __future__ import annotations

from linkgate.elf.upx_errors import UpxLimitError

UPX_MAX_SIZE = 768 << 20
MAX_DECODED = 2 << 20


def check_declared(what: str, size: int) -> None:
    """UpxLimitError when a declared size is beyond what UPX ever writes."""
    if size > UPX_MAX_SIZE:
        raise UpxLimitError(f"{what} declares {size} bytes; UPX never packs more than {UPX_MAX_SIZE >> 20} MiB")


class DecodeBudget:
    """Decoded bytes one file may still cost: every decoder charges before it produces."""

    def __init__(self, limit: int = MAX_DECODED) -> None:
        self.limit = limit
        self.spent = 0

    def charge(self, count: int) -> None:
        if count <= 0:
            return
        if self.spent + count > self.limit:
            raise UpxLimitError(
                f"the UPX payload needs more than {self.limit >> 20} MiB of decoding "
                "(linkgate's cap per file: a decompression bomb, or a payload too large to see through)"
            )
        self.spent += count
