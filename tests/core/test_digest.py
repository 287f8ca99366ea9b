"""SHA-256 without hashlib (linkgate.core.digest): the same digests (tests/core/test_startup.py: no hashlib)."""

from __future__ import annotations

import hashlib
import importlib
from types import ModuleType

import pytest

from linkgate.core import digest

SAMPLES = [b"", b"abc", b"max-glibc\x1f/usr/bin/ls\x1fGLIBC_2.34", bytes(range(256)) * 1000]


@pytest.mark.parametrize("data", SAMPLES, ids=["empty", "abc", "fingerprint-key", "256k"])
def test_digests_are_hashlibs(data: bytes) -> None:
    assert digest.sha256_hex(data) == hashlib.sha256(data).hexdigest()


def test_without_cpythons_module_it_falls_back_to_hashlib(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def without_sha_modules(name: str, package: str | None = None) -> ModuleType:
        if name in ("_sha2", "_sha256"):
            raise ImportError(name)
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", without_sha_modules)
    constructor = digest._sha256_constructor()
    assert constructor is hashlib.sha256
    assert constructor(b"abc").hexdigest() == hashlib.sha256(b"abc").hexdigest()
