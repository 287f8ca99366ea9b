"""What a warm `check` imports: the one start-up test.

A warm run (the compiled policy cached) of `check` must import exactly the heavy modules listed in
ALLOWED and no other module of HEAVY, nor any module linkgate itself imports lazily (the targets of
its `# lazy: start-up` imports, read from the source, so a new lazy import is guarded the day it is
written). docs/architecture.md ("Where start-up time goes") says why each is left out.

The runs use `python -S`: an editable install's path finder imports pathlib itself, before
linkgate starts. `-X importtime` lists every module imported, cached or not.
"""

from __future__ import annotations

import ast
import bz2
import gzip
import hashlib
import json
import lzma
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, require_module

# Modules whose import costs a start measurably (or pulls in a chain that does).
HEAVY = frozenset({
    # stdlib
    "argparse", "asyncio", "bz2", "concurrent.futures", "ctypes", "dataclasses", "email", "gzip", "hashlib",
    "_hashlib", "importlib.metadata", "importlib.resources", "inspect", "ipaddress", "json", "lzma", "mmap",
    "multiprocessing", "pathlib", "pickle", "random", "selectors", "shutil", "socket", "subprocess", "tarfile",
    "tempfile", "textwrap", "threading", "tomllib", "urllib.parse", "uuid", "zipfile", "zlib",
    # third party
    "backports.zstd", "elftools", "pydantic", "pydantic_core", "yaml", "zstandard",
})  # fmt: skip

# What a warm check of ELF files may import: the command line, the cached policy, mapped files (over
# 64 KiB), and json (the JSON renderer, and the `schema` subcommand the parser registers).
ALLOWED = frozenset({"argparse", "pickle", "mmap", "json"})
assert ALLOWED <= HEAVY
# Compressed files of text are told from archives by inflating their first block.
PEEK = frozenset({"zlib", "lzma", "bz2"})

LAZY_MARK = "lazy: start-up"


def _targets(node: ast.Import | ast.ImportFrom) -> set[str]:
    """The modules an import statement loads (`from linkgate.formats import json` loads linkgate.formats.json)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    package = node.module or ""
    submodules = {f"{package}.{alias.name}" for alias in node.names if _is_module(f"{package}.{alias.name}")}
    return submodules or {package}


def _is_module(name: str) -> bool:
    path = REPO.joinpath(*name.split("."))
    return name.startswith("linkgate.") and (path.with_suffix(".py").is_file() or path.is_dir())


def lazy_imports() -> set[str]:
    """The modules linkgate imports only lazily: the targets of local imports marked `# lazy: start-up`
    under linkgate/ that no module of the package imports at its top level."""
    lazy: set[str] = set()
    eager: set[str] = set()
    for path in (REPO / "linkgate").rglob("*.py"):
        lines = path.read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        eager |= {m for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom) for m in _targets(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and LAZY_MARK in lines[node.lineno - 1]:
                lazy |= _targets(node)
    return lazy - eager


def warm_check(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `check ARGS` twice (the first fills the policy cache); the second's result and imports."""
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "linkgate", "check", "--policy", "default", "--jobs", "1", *args]
    cold = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert cold.returncode == 1, cold.stderr[-2000:]
    warm = subprocess.run([sys.executable, "-S", "-X", "importtime", *command[1:]], capture_output=True, text=True,
                          cwd=tmp_path, env=env, check=False)  # fmt: skip
    modules = {line.rsplit("|", 1)[-1].strip() for line in warm.stderr.splitlines() if line.startswith("import time:")}
    assert "linkgate.check.scan" in modules, warm.stderr[-2000:]  # the import log is there to be read
    return warm, modules


def test_the_lazy_markers_are_found() -> None:
    lazy = lazy_imports()
    assert {"linkgate.check.workers", "linkgate.policy.loader", "linkgate.check.archive_scan", "linkgate.rules.docs",
            "linkgate.check.target_matrix", "pydantic.json_schema", "hashlib"} <= lazy  # fmt: skip
    assert "linkgate.policy.cache" not in lazy  # imported lazily by one module, at the top by another


def test_a_warm_check_of_one_file_imports_exactly_the_allowed_heavy_modules(tmp_path: Path) -> None:
    warm, modules = warm_check(tmp_path, "--format", "json", "/usr/bin/ls")
    assert warm.returncode == 1, warm.stderr[-2000:]
    assert modules & HEAVY == ALLOWED
    assert not (lazy_imports() - PEEK - {"linkgate.formats.json"}) & modules
    assert "linkgate.formats.json" in modules  # asked for
    # What core.digest's SHA-256 (CPython's module, not hashlib) computed is hashlib's digest.
    for finding in json.loads(warm.stdout)["findings"]:
        key = "\x1f".join((finding["rule"], finding["path"], finding["subject"]))
        assert finding["fingerprint"] == hashlib.sha256(key.encode()).hexdigest()[:32]


def test_a_warm_check_of_a_tree_imports_no_archive_reader(tmp_path: Path) -> None:
    """Text, data and compressed text beside binaries are told from archives by their first bytes."""
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy("/usr/bin/true", tree / "true")
    shutil.copy("/usr/bin/ls", tree / "ls")
    (tree / "README").write_text("not an artifact\n")
    (tree / "data.bin").write_bytes(bytes(range(256)) * 4)
    text = b"plain text, compressed\n" * 100
    (tree / "notes.gz").write_bytes(gzip.compress(text))
    (tree / "notes.xz").write_bytes(lzma.compress(text))
    (tree / "notes.bz2").write_bytes(bz2.compress(text))
    warm, modules = warm_check(tmp_path, str(tree))
    assert "5 non-ELF file(s) skipped" in warm.stderr, warm.stderr[-2000:]
    assert modules & HEAVY == ALLOWED | PEEK
    assert "linkgate.archives.sniff" in modules
    assert not (lazy_imports() - PEEK) & modules


@pytest.mark.parametrize(
    "statement", ["import dataclasses", "from hashlib import sha256", "import multiprocessing.pool"]
)
def test_ruff_refuses_the_heavy_modules_in_the_package_only(statement: str) -> None:
    """pyproject's banned-api: refused under linkgate/, allowed to tests and tools."""
    require_module("ruff")

    def ruff(as_path: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "TID251", "--stdin-filename",
                   as_path, "-"]  # fmt: skip
        return subprocess.run(command, input=statement + "\n", capture_output=True, text=True, cwd=REPO, check=False)

    refused = ruff("linkgate/check/probe.py")
    assert refused.returncode == 1 and "TID251" in refused.stdout, refused.stdout + refused.stderr
    allowed = ruff("tests/probe.py")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
