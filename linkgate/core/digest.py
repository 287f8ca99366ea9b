"""SHA-256 hex digests (policy cache keys, finding fingerprints) without importing hashlib.

`import hashlib` loads OpenSSL's libcrypto at every start (docs/architecture.md, "Start-up
figures"; ruff's banned-api refuses it elsewhere under linkgate/). CPython's own SHA-256
module (`_sha2` from 3.12, `_sha256` before) gives the same digests; an interpreter without it falls back to hashlib.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Protocol


class _Hash(Protocol):
    def hexdigest(self) -> str: ...


def _sha256_constructor() -> Callable[[bytes], _Hash]:
    for module_name in ("_sha2", "_sha256"):
        try:
            constructor: Callable[[bytes], _Hash] = importlib.import_module(module_name).sha256
        except (ImportError, AttributeError):
            continue
        return constructor
    import hashlib  # noqa: PLC0415 - lazy: start-up

    return hashlib.sha256


_SHA256 = _sha256_constructor()


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of `data`, as 64 lowercase hex digits (hashlib.sha256(data).hexdigest())."""
    return _SHA256(data).hexdigest()


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


def hasher(algorithm: str) -> Hasher:
    """An incremental hash named as OCI digests name it (`sha256`, `sha512`); ValueError for another."""
    import hashlib  # noqa: PLC0415 - lazy: start-up

    return hashlib.new(algorithm)
