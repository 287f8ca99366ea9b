"""Reading a policy, profile or baseline file: only a regular file, only up to a size limit.

A path such as /dev/zero or a FIFO would otherwise be read until memory runs
out, or block forever; so the type is checked before opening, the file is
opened non-blocking (a FIFO swapped in after the check cannot hang us) and the
type is checked again on the open descriptor.
"""

from __future__ import annotations

import io
import os
import stat

KIB = 1024
MIB = 1024 * KIB
# The shipped policies are under 1 KiB; a hand-written one has no reason to come near this.
POLICY_LIMIT = 1 * MIB
# Shipped profiles are under 16 KiB; one captured from a container is about 60 KiB (450
# libraries), from a large desktop some hundreds of KiB. 4 MiB (some 30,000 libraries) leaves
# wide room and bounds the parse to a few seconds and about 130 MB.
PROFILE_LIMIT = 4 * MIB
# A `check --format json` report used as --baseline: about 600 bytes per finding, so some
# 200,000 findings; a run with more needs fixing rather than a baseline.
BASELINE_LIMIT = 128 * MIB

_KINDS = (
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISDIR, "directory"),
)


def kind_name(mode: int) -> str:
    """What a file that is not regular is, for messages: FIFO, character device..."""
    return next((name for test, name in _KINDS if test(mode)), "special file")


class NotRegularFileError(OSError):
    """What was opened is not a regular file (swapped for a FIFO or device after discovery)."""


def open_regular(path: str) -> io.FileIO:
    """`path` opened read-only and unbuffered; NotRegularFileError unless it is a regular file."""
    return os.fdopen(regular_file(path)[0], "rb", buffering=0)


def regular_file(path: str) -> tuple[int, int]:
    """A read-only descriptor of `path` (the caller closes it) and the file's size then;
    NotRegularFileError unless it is a regular file.

    O_NONBLOCK because a file swapped for a FIFO after discovery would block a
    plain open forever; the descriptor's fstat, not another look at the path,
    decides what was opened. Regular files ignore O_NONBLOCK. A bare descriptor
    rather than a file object: a tree's thousands of files each pay for one.
    """
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFileError(f"not a regular file ({kind_name(info.st_mode)})")
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor, info.st_size


class SourceFileError(Exception):
    """The file cannot be used as a source; `line` is set when a position is known (bad UTF-8)."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.message, self.line = message, line


def check_source(path: str | os.PathLike[str], limit: int) -> None:
    """Raise SourceFileError unless `path` is a regular file of at most `limit` bytes."""
    try:
        info = os.stat(path)
    except OSError as error:
        raise SourceFileError(_os_message(error)) from None
    _check_info(info, limit)


def read_source(path: str | os.PathLike[str], limit: int) -> str:
    """The UTF-8 text of the regular file `path`, refused when larger than `limit` bytes."""
    check_source(path, limit)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise SourceFileError(_os_message(error)) from None
    with os.fdopen(descriptor, "rb") as handle:
        # Checked again on what was actually opened: the path may have been swapped.
        _check_info(os.fstat(descriptor), limit)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise SourceFileError(_too_large(limit))
    return _decode(data)


def _check_info(info: os.stat_result, limit: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise SourceFileError(f"not a regular file (a {kind_name(info.st_mode)}); only regular files are read")
    if info.st_size > limit:
        raise SourceFileError(_too_large(limit))


def _too_large(limit: int) -> str:
    return f"file larger than the {limit // KIB} KiB limit"


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SourceFileError(f"not UTF-8 text (byte {error.start})", line) from None


def _os_message(error: OSError) -> str:
    return f"cannot read: {error.strerror or error}"
