"""Every rule that judges a requirement names the fix in the build's own language, with the
versions of the target in question: one table (rules/remedies.py FIXES) for target,
max-glibc, max-versions and static-glibc.

Real binaries: Rust (rustc, built here; told by the rustc string in `.comment`, checked
against `readelf -p .comment`), Go 1.19 (cgo, and cgo only for the standard library's net),
C (gcc, and zig for aarch64). The Go fixes the hints name are built and must then pass.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from linkgate.elf.reader import read_elf
from linkgate.rules.remedies import FIXES, GO_MUSL, GO_NETGO, GO_NO_CGO, Goal, Problem, Toolchain, fix, toolchain
from scripts.debian_roots import DebianRoot
from tests.conftest import run_linkgate
from tests.helpers import binaries, go_builds, require_module, require_tool, rust_builds
from tests.rules.test_target_loader import loader_verdict
from tests.rules.test_target_loader import roots as _roots  # noqa: F401 - its fixture, as `_roots`

RUST_TARGET = "x86_64-unknown-linux-gnu"
RUST_MUSL = "x86_64-unknown-linux-musl"


@pytest.fixture(scope="module")
def rust(build_dir: Path) -> dict[str, Path]:
    return rust_builds.build_all(build_dir / "rust")


def findings(binary: Path, *policy: str, tmp_path: Path | None = None, rules: str = "") -> list[dict[str, Any]]:
    """The findings of `check` on `binary`, under a preset (`debian-11`) or the policy text `rules`."""
    if rules:
        assert tmp_path is not None
        (tmp_path / "linkgate.yml").write_text(f"rules:\n{rules}")
        policy = (str(tmp_path / "linkgate.yml"),)
    result = run_linkgate("check", "--policy", *policy, "--format", "json", str(binary))
    assert result.returncode in (0, 1), result.stderr
    found: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
    return found


def hints(found: list[dict[str, Any]], rule: str) -> list[str]:
    return [f["hint"] for f in found if f["rule"] == rule]


def test_rust_is_told_by_the_rustc_string_readelf_shows(rust: dict[str, Path], gcc_binaries: dict[str, Path]) -> None:
    require_tool("readelf")
    for name, path in rust.items():
        shown = subprocess.run(["readelf", "-p", ".comment", str(path)], capture_output=True, text=True, check=True)
        facts = read_elf(path)
        assert facts.comment is not None
        assert all(line in shown.stdout for line in facts.comment), name
        assert any(line.startswith("rustc version") for line in facts.comment), name
        assert toolchain(facts) is Toolchain.RUST
    c = read_elf(gcc_binaries["gcc-pie"])
    assert c.comment and any(line.startswith("GCC: ") for line in c.comment)
    assert toolchain(c) is Toolchain.C


@pytest.mark.parametrize(("target", "glibc"), [("debian-11", "2.31"), ("ubuntu-18.04", "2.27"), ("rhel-8", "2.28")])
def test_target_fix_for_rust_uses_the_targets_glibc(rust: dict[str, Path], target: str, glibc: str) -> None:
    found = hints(findings(rust["rust-hello"], target), "target")
    assert found, "a Rust program built on this machine needs a newer glibc than the target's"
    for hint in found:
        assert hint.startswith("Rust ")
        assert f"`cargo zigbuild --release --target {RUST_TARGET}.{glibc}`" in hint
        assert f"`cargo build --release --target {RUST_MUSL}`" in hint


def test_max_glibc_and_max_versions_for_rust(rust: dict[str, Path], tmp_path: Path) -> None:
    glibc = hints(findings(rust["rust-hello"], tmp_path=tmp_path, rules='  max-glibc: "2.28"\n'), "max-glibc")
    assert glibc and all(f"--target {RUST_TARGET}.2.28`" in h for h in glibc)
    versions = findings(rust["rust-hello"], tmp_path=tmp_path, rules='  max-versions: {GLIBC: "2.17"}\n')
    assert hints(versions, "max-versions") and all(".2.17`" in h for h in hints(versions, "max-versions"))


def test_static_glibc_fix_for_rust(rust: dict[str, Path], tmp_path: Path) -> None:
    found = findings(rust["rust-nss-static"], tmp_path=tmp_path, rules="  static-glibc: true\n")
    nss = [f for f in found if f["subject"] == "nss"]
    assert nss, "a +crt-static Rust program that resolves names uses glibc's NSS"
    assert "`-C target-feature=+crt-static`" in nss[0]["hint"]
    assert f"`cargo build --release --target {RUST_MUSL}`" in nss[0]["hint"]


def test_target_fix_for_go_names_netgo_musl_and_zig_at_the_targets_glibc(go119: dict[str, Path]) -> None:
    kafka = hints(findings(go119["go119-kafka-cgo"], "debian-11"), "target")
    assert kafka
    for hint in kafka:
        assert hint.startswith("Go 1.19")
        assert f"`{GO_MUSL}`" in hint and f"`{GO_NO_CGO}`" in hint
        assert '`CC="zig cc -target x86_64-linux-gnu.2.31" go build`' in hint
        assert GO_NETGO not in hint  # a module calls C: the tags do not remove it
    net = hints(findings(go119["go119-netcgo"], "ubuntu-18.04"), "target")
    assert net
    for hint in net:
        assert "only the standard library calls C: net" in hint
        assert hint.index(GO_NETGO) < hint.index(GO_NO_CGO) < hint.index(GO_MUSL)
        assert '`CC="zig cc -target x86_64-linux-gnu.2.27" go build`' in hint


@pytest.fixture(scope="module")
def go_fixed(go119: dict[str, Path], build_dir: Path) -> dict[str, Path]:
    """The cgo Go 1.19 builds, and the same programs built as the debian-11 hint says."""
    require_module("ziglang")
    zig_cc = f"{sys.executable} -m ziglang cc -target x86_64-linux-gnu.2.31"
    recipes = [
        go_builds.go_recipe("go119-netcgo-netgo", "netcgo", "-tags", "netgo,osusergo", env=(("CGO_ENABLED", "1"),)),
        go_builds.go_recipe("go119-kafka-zig231", "kafka-app", env=(("CGO_ENABLED", "1"), ("CC", zig_cc))),
    ]
    return {**go119, **{recipe.name: binaries.build(recipe, build_dir / "go") for recipe in recipes}}


@pytest.fixture(scope="module")
def debian_11(request: pytest.FixtureRequest) -> Path:
    """Debian 11's root with /proc mounted (the roots fixture of tests/rules/test_target_loader.py)."""
    built: dict[str, DebianRoot] = request.getfixturevalue("_roots")
    return built["11"].path


@pytest.mark.parametrize("name", ["go119-netcgo-netgo", "go119-kafka-zig231"])
def test_the_go_fixes_the_target_hint_names_pass_the_target(go_fixed: dict[str, Path], name: str) -> None:
    """Built as the hint says, the programs pass debian-11: the fix is real, not just text."""
    result = run_linkgate("check", "--policy", "debian-11", str(go_fixed[name]))
    assert result.returncode == 0, result.stdout
    assert read_elf(go_fixed["go119-kafka-zig231"]).version_needs  # still glibc, only older


@pytest.mark.parametrize(
    ("name", "runs"), [("go119-kafka-cgo", False), ("go119-kafka-zig231", True), ("go119-netcgo-netgo", True)]
)
def test_debian_11s_loader_agrees(
    debian_11: Path, go_fixed: dict[str, Path], tmp_path: Path, name: str, runs: bool
) -> None:
    """The oracle: Debian 11's own loader, in its root (chroot), refuses the cgo build and runs the two
    fixes the hint names, as `check --policy debian-11` says."""
    (tmp_path / "bin").mkdir()
    shutil.copy(go_fixed[name], tmp_path / "bin" / "prog")
    assert loader_verdict(debian_11, f"fix-{name}", tmp_path).runs is runs
    assert (run_linkgate("check", "--policy", "debian-11", str(go_fixed[name])).returncode == 0) is runs


def test_target_fix_for_c_uses_the_machine_and_glibc(gcc_binaries: dict[str, Path], build_dir: Path) -> None:
    found = hints(findings(gcc_binaries["gcc-pie"], "debian-11"), "target")
    assert found == [
        "build in an image whose glibc is <= 2.31 (Debian 11, Ubuntu 20.04), "
        "or `zig cc -target x86_64-linux-gnu.2.31`, or link statically against musl (`musl-gcc -static`)"
    ]
    require_module("ziglang")
    aarch64 = binaries.build(binaries.RECIPES["zig"]["zig-aarch64"], build_dir / "reader")  # glibc 2.34
    found = hints(findings(aarch64, "ubuntu-20.04"), "target")  # Debian's captured profiles are x86_64 only
    assert found and all("`zig cc -target aarch64-linux-gnu.2.31`" in hint for hint in found)


@pytest.mark.parametrize("problem", list(Problem))
def test_every_problem_has_a_fix_for_every_toolchain_with_the_goals_versions(
    problem: Problem, rust: dict[str, Path], go119: dict[str, Path], gcc_binaries: dict[str, Path]
) -> None:
    """The table is complete, and a fix that names a glibc names the goal's, not the build's."""
    assert set(FIXES[problem]) == set(Toolchain)
    builds = {
        Toolchain.RUST: rust["rust-hello"],
        Toolchain.GO: go119["go119-kafka-cgo"],
        Toolchain.C: gcc_binaries["gcc-pie"],
    }
    for expected, path in builds.items():
        facts = read_elf(path)
        assert toolchain(facts) is expected
        text = fix(problem, facts, Goal("aarch64", (2, 19), "GLIBCXX"))
        assert text
        if problem is Problem.GLIBC:
            assert "2.19" in text and "aarch64" in text


def test_missing_interpreter_fix_is_the_static_build_of_the_toolchain(
    rust: dict[str, Path], go119: dict[str, Path]
) -> None:
    """A glibc program on Alpine: no such loader there; the fix makes it static in its own language."""
    rust_hint = hints(findings(rust["rust-hello"], "alpine"), "target")
    assert len(rust_hint) == 1 and f"`cargo build --release --target {RUST_MUSL}`" in rust_hint[0]
    go_hint = hints(findings(go119["go119-kafka-cgo"], "alpine"), "target")
    assert len(go_hint) == 1 and f"`{GO_MUSL}`" in go_hint[0]
