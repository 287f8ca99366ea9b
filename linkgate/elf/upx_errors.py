"""What goes wrong reading a UPX container: both are elf-format problems of the file."""

from __future__ import annotations

from linkgate.elf.image import ElfFormatError


class UpxDecodeError(ElfFormatError):
    """A compressed UPX block is corrupt, truncated, or does not match its header."""


class UpxLimitError(UpxDecodeError):
    """A packed file declares or needs more than linkgate decodes; never swallowed as "payload not read"."""
