"""Length-prefixed pickles over pipes: what a forked process and its parent say to each other.

Only ever between a process and the one it forked (linkgate.check.workers, linkgate.archives.helper):
what is unpickled was pickled by the same code.
"""

from __future__ import annotations

import mmap
import os
import pickle
import struct
from typing import Any

# A message: its length, then its pickle.
_LENGTH = struct.Struct("<Q")
_READ_AT_MOST = 1 << 20


def send(descriptor: int, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    _write_all(descriptor, memoryview(_LENGTH.pack(len(data)) + data))


def send_raw(descriptor: int, data: bytes | mmap.mmap) -> None:
    """`data` as one message without pickling it (read with receive_raw): a large block is not copied again."""
    _write_all(descriptor, memoryview(_LENGTH.pack(len(data))))
    _write_all(descriptor, memoryview(data))


def _write_all(descriptor: int, view: memoryview) -> None:
    while view:
        view = view[os.write(descriptor, view) :]


def receive(descriptor: int) -> Any:
    """The next message; EOFError when the other end is gone."""
    return pickle.loads(receive_raw(descriptor))  # noqa: S301 - from our own forked process


def receive_raw(descriptor: int) -> bytes:
    """The next message's bytes as they were sent (send_raw's data, or the pickle receive unpickles);
    EOFError when the other end is gone."""
    (length,) = _LENGTH.unpack(_read_exactly(descriptor, _LENGTH.size))
    return _read_exactly(descriptor, length)


def _read_exactly(descriptor: int, size: int) -> bytes:
    parts = []
    while size:
        data = os.read(descriptor, min(size, _READ_AT_MOST))
        if not data:
            raise EOFError
        parts.append(data)
        size -= len(data)
    return b"".join(parts)
