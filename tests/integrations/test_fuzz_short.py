"""A short, seeded run of `python -m fuzz` per target: any unexpected exception or
hang fails the suite (docs/fuzzing.md). Seeds are real binaries built at test time
(gcc through the committed fixtures, Go 1.19, UPX 3.96 and 4.2.4 packed files)
plus the fuzzer's own crafted UPX containers and the shipped policy presets; the
archive targets mutate real archives (tests/helpers/archive_seeds.py: zip, wheel,
tar, .deb, OCI and docker-save images) and unpack a sample with the real tool.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fuzz import archive_targets
from tests.helpers import BUILD_DIR, REPO, archive_seeds, require_tool
from tests.helpers.upx_tools import available, build_input, packed, packer
from tests.helpers.wheels import require_wheel

# Inputs per target: about 15 s each on the 2-core CI machine, ~60 s in all.
INPUTS = {"reader": 4000, "upx": 3000, "gobuild": 4000, "policy": 800, "zip": 3000, "tar": 2000, "image": 600}
# Archive targets: every Nth input also unpacked by pip/unzip/tar/dpkg-deb/umoci, which must agree.
ORACLE_EVERY = 100
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


@pytest.fixture(scope="module")
def archive_seed_paths() -> list[Path]:
    for tool in ("unzip", "tar", "dpkg-deb", "umoci"):
        require_tool(tool)
    # A real manylinux wheel too, as pip downloads it (cached by tests/helpers/wheels.py).
    return [*archive_seeds.build(BUILD_DIR / "archive-seeds"), require_wheel("MarkupSafe==3.0.2")]


@pytest.mark.parametrize("target", ["reader", "upx", "gobuild", "policy", "zip", "tar", "image"])
def test_short_fuzz_run_finds_nothing(target: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    archives = target in ("zip", "tar", "image")
    seed_paths: list[Path] = request.getfixturevalue("archive_seed_paths" if archives else "seed_paths")
    command = [sys.executable, "-m", "fuzz", "--target", target, "--inputs", str(INPUTS[target])]
    command += ["--seed", str(SEED), "--out", str(tmp_path)]
    command += ["--oracle-every", str(ORACLE_EVERY)] if archives else []
    for path in seed_paths:
        command += ["--seed-path", str(path)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=600, check=False)
    assert (tmp_path / "summary.json").exists(), result.stderr
    (stats,) = json.loads((tmp_path / "summary.json").read_text())
    assert stats["inputs"] == INPUTS[target]
    assert stats["unexpected"] == 0 and stats["hangs"] == 0, result.stdout
    assert stats["disagreements"] == 0, result.stdout
    assert stats["oracle_checks"] == (INPUTS[target] // ORACLE_EVERY if archives else 0)
    assert result.returncode == 0, result.stdout + result.stderr


def test_all_targets_without_their_seeds_is_a_usage_error(tmp_path: Path) -> None:
    """Issue 21: `--all` without a Go binary died with a traceback from the fuzzing child."""
    command = [sys.executable, "-m", "fuzz", "--all", "--inputs", "10", "--out", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=120, check=False)
    assert result.returncode == 2, result.stderr
    assert "usage: python -m fuzz" in result.stderr
    assert "no seeds for gobuild (needs a go file)" in result.stderr and "--seed-path" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "summary.json").exists()


def test_each_seed_archive_unpacks_to_what_linkgate_judged(archive_seed_paths: list[Path], tmp_path: Path) -> None:
    """The differential oracle on the unmutated archives: what pip, unzip, tar, dpkg-deb and umoci
    write is what linkgate judged, member for member (a docker-save tar has no umoci unpack)."""
    compared = []
    for seed in archive_seed_paths:
        work = tmp_path / seed.name
        work.mkdir()
        path, results = archive_targets.judge(seed.read_bytes(), work)
        installed = archive_targets.installed_elf_files(path, work / "unpacked")
        if installed is None:
            assert seed.name == "image-docker.tar", f"{archive_targets.tool_of(path)} refused {seed.name}"
            continue
        assert installed, seed.name
        assert installed == archive_targets.judged_members(results), seed.name
        compared.append(archive_targets.tool_of(path))
    assert sorted(set(compared)) == ["dpkg-deb", "pip", "tar", "umoci", "unzip"]
