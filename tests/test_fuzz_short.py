"""A short, seeded run of `python -m fuzz` per target: any unexpected exception or
hang fails the suite (docs/fuzzing.md). Seeds are real binaries built at test time
(gcc through the committed fixtures, Go 1.19, UPX 3.96 and 4.2.4 packed files)
plus the fuzzer's own crafted UPX containers and the shipped policy presets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO
from tests.upx_tools import available, build_input, packed, packer

# Inputs per target: about 15 s each on the 2-core CI machine, ~60 s in all.
INPUTS = {"reader": 4000, "upx": 3000, "gobuild": 4000, "policy": 800}
SEED = 20240601


@pytest.fixture(scope="module")
def seed_paths(go119: dict[str, Path]) -> list[Path]:
    upx424, upx396 = available(lambda: packer("upx-4.2.4")), available(lambda: packer("upx-3.96"))
    packed_files = [
        available(lambda: packed(upx424, "nrv2b", build_input("gcc-pie"))),
        available(lambda: packed(upx424, "lzma", build_input("gcc-nopie"))),
        available(lambda: packed(upx424, "nrv2e", build_input("gcc-shared"))),
        available(lambda: packed(upx396, "nrv2d", build_input("gcc-static"))),
        available(lambda: packed(upx396, "default", build_input("go-cgo"))),
    ]
    return [go119["go119-tiny-386"], go119["go119-kafka-cgo"], *packed_files]


@pytest.mark.parametrize("target", ["reader", "upx", "gobuild", "policy"])
def test_short_fuzz_run_finds_nothing(target: str, seed_paths: list[Path], tmp_path: Path) -> None:
    command = [sys.executable, "-m", "fuzz", "--target", target, "--inputs", str(INPUTS[target])]
    command += ["--seed", str(SEED), "--out", str(tmp_path)]
    for path in seed_paths:
        command += ["--seed-path", str(path)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=600, check=False)
    assert (tmp_path / "summary.json").exists(), result.stderr
    (stats,) = json.loads((tmp_path / "summary.json").read_text())
    assert stats["inputs"] == INPUTS[target]
    assert stats["unexpected"] == 0 and stats["hangs"] == 0, result.stdout
    assert result.returncode == 0, result.stdout + result.stderr
