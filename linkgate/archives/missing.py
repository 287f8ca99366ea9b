"""What a run says when a decoder it needs cannot be imported: the archive is fine, the install is not.

A module of its own so that the archive-format rule, imported by every run, can tell this reason
apart (to give its own fix) without importing the archive readers.
"""

ZSTD_MISSING = "zstd-compressed data cannot be read: no zstd decoder is installed"
