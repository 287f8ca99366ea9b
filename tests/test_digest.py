"""SHA-256 without hashlib (linkgate.digest): the same digests, and no OpenSSL on a check's start-up."""

from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path
from types import ModuleType

import pytest

from linkgate import digest
from tests.conftest import run_linkgate
from tests.test_policy_cache import imported

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


def test_a_warm_check_fingerprints_findings_without_importing_hashlib(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPROFILEIMPORTTIME": "1"}
    args = ("check", "--policy", "default", "--format", "json", "/usr/bin/ls")
    run_linkgate(*args, cwd=tmp_path, env=env)  # fills the policy cache
    warm = run_linkgate(*args, cwd=tmp_path, env=env)
    assert warm.returncode == 1, warm.stderr[-2000:]
    assert "hashlib" not in imported(warm) and "_hashlib" not in imported(warm)
    findings = json.loads(warm.stdout)["findings"]
    assert findings
    for finding in findings:
        key = "\x1f".join((finding["rule"], finding["path"], finding["subject"]))
        assert finding["fingerprint"] == hashlib.sha256(key.encode()).hexdigest()[:32]
