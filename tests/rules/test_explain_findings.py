"""Findings explain themselves: which symbols, why they need the version, and the fix that fits
how the binary was built. Real binaries (Go with and without cgo, C, C++, UPX), real CLI process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from linkgate.rules.remedies import GO_MUSL, GO_NO_CGO, UPX_NOTE
from tests.conftest import run_linkgate
from tests.helpers import require_tool
from tests.helpers.binaries import SRC, Recipe, build
from tests.helpers.upx_tools import Packer, available, packer

KAFKA = "github.com/confluentinc/confluent-kafka-go/v2"


@pytest.fixture(scope="module")
def c_binaries(build_dir: Path) -> dict[str, Path]:
    require_tool("gcc")
    require_tool("g++")
    recipes = (
        Recipe("weak", "gcc", ("gcc", "-O2", "-o", "{out}", str(SRC / "explain_weak.c")), (SRC / "explain_weak.c",)),
        Recipe("cxx", "g++", ("g++", "-O2", "-o", "{out}", str(SRC / "explain_cxx.cpp")), (SRC / "explain_cxx.cpp",)),
    )
    return {recipe.name: build(recipe, build_dir / "explain") for recipe in recipes}


def policy(tmp_path: Path, rules: str) -> str:
    path = tmp_path / "linkgate.yml"
    path.write_text(f"rules:\n{rules}")
    return str(path)


def findings(policy_path: str, binary: Path) -> dict[str, dict[str, Any]]:
    result = run_linkgate("check", "--policy", policy_path, "--format", "json", str(binary))
    assert result.returncode in (0, 1), result.stderr
    return {f["subject"]: f for f in json.loads(result.stdout)["findings"]}


def test_seed_cgo_binary_names_symbols_cause_and_go_fix(go119: dict[str, Path], tmp_path: Path) -> None:
    """Done-when: max-glibc 2.31 on the cgo Go binary names __libc_start_main and the pthread
    symbols for GLIBC_2.34, recognises the cgo build and suggests musl static or CGO_ENABLED=0."""
    found = findings(policy(tmp_path, '  max-glibc: "2.31"\n'), go119["go119-kafka-cgo"])
    glibc_2_34 = found["GLIBC_2.34"]
    assert glibc_2_34["symbols"][0] == "__libc_start_main"
    assert {"pthread_create", "pthread_join"} <= set(glibc_2_34["symbols"])
    message = glibc_2_34["message"]
    assert message.startswith("needs GLIBC_2.34 (max 2.31) from libc.so.6: __libc_start_main, pthread_")
    assert "__libc_start_main = every executable linked against glibc >= 2.34" in message
    assert "pthread_* = libpthread merged into libc in 2.34" in message
    hint = glibc_2_34["hint"]
    assert hint.startswith("Go 1.19")
    assert "with cgo" in hint
    assert f"C calls in {KAFKA} v2.3.0" in hint
    assert f"`{GO_MUSL}`" in hint
    assert f"`{GO_NO_CGO}`" in hint
    assert f"needs a pure-Go replacement for {KAFKA}" in hint
    assert "pthread_* = moved from libpthread into libc in 2.32" in found["GLIBC_2.32"]["message"]


def test_seed_text_output(go119: dict[str, Path], tmp_path: Path) -> None:
    result = run_linkgate("check", "--policy", policy(tmp_path, '  max-glibc: "2.31"\n'), str(go119["go119-kafka-cgo"]))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if "GLIBC_2.34" in line)
    assert "__libc_start_main, pthread_" in lines[first]
    assert lines[first + 1].startswith("    fix: Go 1.19")
    assert "CC=musl-gcc go build -tags musl" in lines[first + 1]


def test_fixes_named_in_the_hint_pass(go119: dict[str, Path], tmp_path: Path) -> None:
    """The two builds the hint proposes do pass the same policy."""
    path = policy(tmp_path, '  max-glibc: "2.31"\n  linkage: static\n')
    for name in ("go119-kafka-musl", "go119-kafka-pure"):
        result = run_linkgate("check", "--policy", path, str(go119[name]))
        assert result.returncode == 0, result.stdout


def test_cgo_only_in_the_standard_library(go119: dict[str, Path], tmp_path: Path) -> None:
    """No `import "C"`: the resolver in net calls C, so CGO_ENABLED=0 is the simple fix."""
    found = findings(policy(tmp_path, '  max-glibc: "2.31"\n'), go119["go119-netcgo"])
    hint = found["GLIBC_2.34"]["hint"]
    assert "only the standard library calls C: net" in hint
    assert hint.index(GO_NO_CGO) < hint.index(GO_MUSL)


def test_linkage_static_gets_go_fix(go119: dict[str, Path], tmp_path: Path) -> None:
    found = findings(policy(tmp_path, "  linkage: static\n"), go119["go119-kafka-cgo"])
    assert f"`{GO_MUSL}`" in found["dynamic"]["hint"]


def test_c_binary_gets_image_zig_and_musl(gcc_binaries: dict[str, Path], tmp_path: Path) -> None:
    found = findings(policy(tmp_path, '  max-glibc: "2.17"\n  linkage: static\n'), gcc_binaries["gcc-pie"])
    hint = found["GLIBC_2.34"]["hint"]
    assert hint == (
        "build in an image whose glibc is <= 2.17 (manylinux2014, CentOS 7), "
        "or `zig cc -target x86_64-linux-gnu.2.17`, or link statically against musl (`musl-gcc -static`)"
    )
    assert "zig cc -target x86_64-linux-musl" in found["dynamic"]["hint"]
    found = findings(policy(tmp_path, '  max-glibc: "2.31"\n'), gcc_binaries["gcc-pie"])
    assert "(Debian 11, Ubuntu 20.04)" in found["GLIBC_2.34"]["hint"]


def test_strong_before_weak_and_new_api_causes(c_binaries: dict[str, Path], tmp_path: Path) -> None:
    found = findings(policy(tmp_path, '  max-glibc: "2.24"\n'), c_binaries["weak"])
    need = found["GLIBC_2.25"]
    assert need["symbols"] == ["getentropy", "getrandom (weak symbol; version still required)"]
    assert need["severity"] == "error"  # one strong reference: the loader requires the version
    weak = "getrandom (weak symbol; version still required)"
    assert f"getentropy, {weak} (why: getentropy, getrandom = new in glibc 2.25)" in need["message"]
    assert "reallocarray = new in glibc 2.26" in found["GLIBC_2.26"]["message"]


def test_only_weak_references(gcc_binaries: dict[str, Path], tmp_path: Path) -> None:
    found = findings(policy(tmp_path, '  max-glibc: "2.24"\n'), gcc_binaries["gcc-weak-now"])
    need = found["GLIBC_2.25"]
    assert need["symbols"] == ["getrandom (weak symbol; version still required)"]
    # GNU ld leaves VER_FLG_WEAK off this need (readelf -V: "Flags: none"), so the
    # loader still demands GLIBC_2.25 although the symbol itself is weak.
    assert need["severity"] == "error"
    assert "getrandom = new in glibc 2.25" in need["message"]


def test_cxx_runtime_causes_and_fix(c_binaries: dict[str, Path], tmp_path: Path) -> None:
    found = findings(policy(tmp_path, '  max-versions: {GLIBCXX: "3.4.19", CXXABI: "1.3.7"}\n'), c_binaries["cxx"])
    string_abi = found["GLIBCXX_3.4.21"]
    assert "_ZNSt7__cxx11* = the C++11 std::string/std::list ABI" in string_abi["message"]
    assert "-D_GLIBCXX_USE_CXX11_ABI=0" in string_abi["message"]
    assert "`-static-libstdc++ -static-libgcc`" in string_abi["hint"]
    assert "_ZdlPvm = C++14 sized operator delete" in found["CXXABI_1.3.9"]["message"]


def test_upx_payload_keeps_go_provenance_and_says_upx_changes_nothing(
    go119: dict[str, Path], build_dir: Path, tmp_path: Path
) -> None:
    upx: Packer = available(lambda: packer("upx-4.2.4"))
    packed = build_dir / "explain" / "go119-kafka-cgo.upx"
    packed.parent.mkdir(parents=True, exist_ok=True)
    packed.write_bytes(go119["go119-kafka-cgo"].read_bytes())
    packed.chmod(0o755)
    result = upx.run("-q", "-f", str(packed))
    assert result.returncode == 0, result.stderr
    found = findings(policy(tmp_path, '  max-glibc: "2.31"\n  forbid-upx: true\n'), packed)
    hint = found["GLIBC_2.34"]["hint"]
    assert hint.startswith(UPX_NOTE)
    assert f"C calls in {KAFKA} v2.3.0" in hint
    assert "__libc_start_main" in found["GLIBC_2.34"]["symbols"]
    assert "UPX does not make it static" in found["upx"]["hint"]
    item = json.loads(run_linkgate("inspect", "--format", "json", str(packed)).stdout)[0]
    assert item["go"]["version"].startswith("go1.19")
    assert item["go"]["cgo_packages"] == [f"{KAFKA}/kafka"]
