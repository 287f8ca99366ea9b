"""SHA-256 without hashlib (linkgate.core.digest): the same digests; and what a warm check's start-up leaves out."""

from __future__ import annotations

import hashlib
import importlib
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from linkgate.core import digest
from tests.support import REPO
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


def test_a_warm_check_fingerprints_findings_without_importing_hashlib_or_pathlib(tmp_path: Path) -> None:
    """Run with -S: an editable install's path finder imports pathlib itself, before linkgate starts."""
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "linkgate", "check", "--policy", "default", "--format", "json", "/usr/bin/ls"]
    cold = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert cold.returncode == 1, cold.stderr[-2000:]  # fills the policy cache
    warm_env = {**env, "PYTHONPROFILEIMPORTTIME": "1"}
    warm = subprocess.run([sys.executable, "-S", *command[1:]], capture_output=True, text=True, cwd=tmp_path,
                          env=warm_env, check=False)  # fmt: skip
    assert warm.returncode == 1, warm.stderr[-2000:]
    modules = imported(warm)
    assert "linkgate.check.scan" in modules  # the import log is there to be read
    assert not {"hashlib", "_hashlib", "pathlib", "urllib.parse"} & modules
    findings = json.loads(warm.stdout)["findings"]
    assert findings
    for finding in findings:
        key = "\x1f".join((finding["rule"], finding["path"], finding["subject"]))
        assert finding["fingerprint"] == hashlib.sha256(key.encode()).hexdigest()[:32]
