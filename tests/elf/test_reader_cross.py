"""The reader across architectures and pinned glibc versions: zig cc (PyPI ziglang) builds.

All binaries of the matrix are built in one session fixture (zig_binaries) so the
per-target libc stubs are compiled once and then come from zig's global cache.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from linkgate.elf.facts import Kind, Linkage, split_version_token
from linkgate.elf.reader import read_elf
from tests.helpers import require_tool
from tests.helpers.elf_oracle import needs_tree

Built = Callable[[str], Path]


@dataclass(frozen=True)
class Target:
    name: str
    machine: str
    elf_class: int
    byte_order: str
    interpreter: str
    readelf_machine: str
    # libc.so.6 version -> symbols: the architecture's glibc baseline carries puts and,
    # before 2.34, __libc_start_main; the pinned glibc decides the rest.
    needs: dict[str, set[str]]


TARGETS = [
    Target(
        "zig-aarch64", "aarch64", 64, "little", "/lib/ld-linux-aarch64.so.1", "AArch64",
        {"GLIBC_2.17": {"puts", "abort"}, "GLIBC_2.34": {"__libc_start_main"}},
    ),
    Target(
        "zig-arm", "arm", 32, "little", "/lib/ld-linux-armhf.so.3", "ARM",
        {"GLIBC_2.4": {"puts", "abort", "__libc_start_main"}},
    ),
    Target(
        "zig-i386", "i386", 32, "little", "/lib/ld-linux.so.2", "Intel 80386",
        {"GLIBC_2.0": {"puts"}, "GLIBC_2.34": {"__libc_start_main"}},
    ),
    Target(
        "zig-riscv64", "riscv64", 64, "little", "/lib/ld-linux-riscv64-lp64d.so.1", "RISC-V",
        {"GLIBC_2.27": {"puts", "__libc_start_main"}},
    ),
    Target(
        "zig-ppc64le", "ppc64le", 64, "little", "/lib64/ld64.so.2", "PowerPC64",
        {"GLIBC_2.17": {"puts", "__libc_start_main"}},
    ),
    Target(
        "zig-s390x", "s390x", 64, "big", "/lib/ld64.so.1", "IBM S/390",
        {"GLIBC_2.2": {"puts", "__libc_start_main"}},
    ),
    Target(
        "zig-mips", "mips", 32, "big", "/lib/ld.so.1", "MIPS R3000",
        {"GLIBC_2.0": {"puts", "__libc_start_main"}},
    ),
]  # fmt: skip


def readelf_header(path: Path) -> dict[str, str]:
    require_tool("readelf")
    output = subprocess.run(["readelf", "-hW", str(path)], capture_output=True, text=True, check=True).stdout
    fields = (line.split(":", 1) for line in output.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in fields}


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_cross_target(built: Built, target: Target) -> None:
    path = built(target.name)
    facts = read_elf(path)
    assert (facts.machine, facts.elf_class, facts.byte_order) == (
        target.machine, target.elf_class, target.byte_order,
    )  # fmt: skip
    assert (facts.kind, facts.linkage) == (Kind.EXECUTABLE, Linkage.DYNAMIC)
    assert facts.interpreter == target.interpreter
    assert facts.needed == ("libc.so.6",)
    assert facts.libc == "glibc"
    assert not facts.executable_stack
    assert needs_tree(facts) == {"libc.so.6": target.needs}
    # The toolchain really produced what the row says (the big-endian ones included).
    header = readelf_header(path)
    assert header["Data"] == f"2's complement, {target.byte_order} endian"
    assert header["Class"] == f"ELF{target.elf_class}"
    assert header["Machine"] == target.readelf_machine


def glibc_versions(facts_needs: dict[str, dict[str, set[str]]]) -> list[tuple[int, ...]]:
    versions = []
    for token in facts_needs.get("libc.so.6", {}):
        split = split_version_token(token)
        assert split is not None and split[0] == "GLIBC", token
        versions.append(split[1])
    return versions


PINNED_RUN_OUTPUT = "1 1 1\n"


def test_glibc_2_17_build_needs_nothing_newer(built: Built) -> None:
    path = built("zig-x86_64-glibc2.17")
    facts = read_elf(path)
    assert facts.machine == "x86_64"
    assert max(glibc_versions(needs_tree(facts))) <= (2, 17)
    assert needs_tree(facts) == {
        "libc.so.6": {
            "GLIBC_2.2.5": {"__libc_start_main", "fcntl", "printf", "__xstat64"},
            "GLIBC_2.14": {"memcpy"},
        }
    }
    assert subprocess.run([str(path)], capture_output=True, text=True, check=True).stdout == PINNED_RUN_OUTPUT


def test_glibc_2_28_build_needs_fcntl64(built: Built) -> None:
    facts = read_elf(built("zig-x86_64-glibc2.28"))
    assert max(glibc_versions(needs_tree(facts))) == (2, 28)
    assert needs_tree(facts)["libc.so.6"]["GLIBC_2.28"] == {"fcntl64"}
    assert "GLIBC_2.34" not in needs_tree(facts)["libc.so.6"]


def test_glibc_2_34_build_needs_libc_start_main(built: Built) -> None:
    path = built("zig-x86_64-glibc2.34")
    facts = read_elf(path)
    libc = needs_tree(facts)["libc.so.6"]
    assert max(glibc_versions(needs_tree(facts))) == (2, 34)
    assert libc["GLIBC_2.34"] == {"__libc_start_main"}
    assert libc["GLIBC_2.33"] == {"stat64"}
    assert libc["GLIBC_2.28"] == {"fcntl64"}
    assert subprocess.run([str(path)], capture_output=True, text=True, check=True).stdout == PINNED_RUN_OUTPUT
