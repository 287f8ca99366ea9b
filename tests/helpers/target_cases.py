"""The artifact sets the loader tests run: each a directory `bin/prog` (+ `lib/`), built from
recipes in tests/helpers/binaries.py and a few of its own (tests/fixtures/src/target)."""

from __future__ import annotations

import shutil
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elftools.elf.elffile import ELFFile

from tests.helpers import binaries, upx_tools

SRC = binaries.SRC
TARGET_SRC = SRC / "target"
VER_FLG_WEAK = 0x2


def _recipe(name: str, tool: str, *argv: str, inputs: tuple[Path, ...]) -> binaries.Recipe:
    return binaries.Recipe(name, tool, (tool, *argv), inputs)


def _zig(glibc: str) -> binaries.Recipe:
    argv = (sys.executable, "-m", "ziglang", "cc", "-target", f"x86_64-linux-gnu.{glibc}", "-O2", "-o", "{out}")
    return binaries.Recipe(f"zig-x86_64-glibc{glibc}", "ziglang", (*argv, str(SRC / "hello.c")), (SRC / "hello.c",))


_LIBDEMO = binaries.RECIPES["gcc"]["libdemo.so.1"]
_SHARED = ("-O2", "-shared", "-fPIC", "-Wl,-soname,libdemo.so.1")
OWN_RECIPES = {
    r.name: r
    for r in (
        _recipe("g++-hello", "g++", "-O2", "-o", "{out}", str(TARGET_SRC / "hello.cpp"),
                inputs=(TARGET_SRC / "hello.cpp",)),
        _zig("2.31"),
        _recipe("libdemo-v1.so.1", "gcc", *_SHARED, f"-Wl,--version-script={TARGET_SRC / 'libdemo_v1.map'}",
                "-o", "{out}", str(TARGET_SRC / "libdemo_v1.c"),
                inputs=(TARGET_SRC / "libdemo_v1.c", TARGET_SRC / "libdemo_v1.map")),
        _recipe("libdemo-unversioned.so.1", "gcc", *_SHARED, "-o", "{out}", str(SRC / "libdemo.c"),
                inputs=(SRC / "libdemo.c",)),
        _LIBDEMO,
        _recipe("weakdemo", "gcc", "-O2", "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib", "-o", "{out}",
                str(TARGET_SRC / "weakdemo.c"), "{build}/libdemo.so.1",
                inputs=(TARGET_SRC / "weakdemo.c", *_LIBDEMO.inputs)),
    )
}  # fmt: skip


UPX_PREFIX = "upx:"


@dataclass(frozen=True)
class Case:
    """`program` as bin/prog; `libraries` as lib/NAME (a `->` NAME is a symlink to the file before it)."""

    program: str
    libraries: tuple[tuple[str, str], ...] = ()
    weaken: str | None = None  # make this version need of the program VER_FLG_WEAK


CASES = {
    "gcc-c": Case("gcc-pie"),
    "gcc-c++": Case("g++-hello"),
    "go-cgo": Case("go-cgo"),
    "musl-dynamic": Case("musl-dynamic"),
    "gcc-static": Case("gcc-static"),
    "gcc-static-pie": Case("gcc-static-pie"),
    "zig-glibc-2.17": Case("zig-x86_64-glibc2.17"),
    "zig-glibc-2.28": Case("zig-x86_64-glibc2.28"),
    "zig-glibc-2.31": Case("zig-x86_64-glibc2.31"),
    "zig-glibc-2.34": Case("zig-x86_64-glibc2.34"),
    # RUNPATH $ORIGIN/../lib, the library behind its soname link as installers leave it.
    "shipped-lib": Case("gcc-runpath", (("libdemo.so.1.0.0", "libdemo.so.1"), ("libdemo.so.1", "->"))),
    "shipped-lib-missing": Case("gcc-runpath"),
    "shipped-lib-too-old": Case("gcc-runpath", (("libdemo.so.1", "libdemo-v1.so.1"),)),
    "shipped-lib-unversioned": Case("gcc-runpath", (("libdemo.so.1", "libdemo-unversioned.so.1"),)),
    "weak-version-need": Case("weakdemo", (("libdemo.so.1", "libdemo-v1.so.1"),), weaken="DEMO_2.0"),
    "strong-version-need": Case("weakdemo", (("libdemo.so.1", "libdemo-v1.so.1"),)),
    # The seed's trap: packed with UPX 4.2.4 and every UPX mark erased, it looks static.
    "upx-go-cgo": Case(UPX_PREFIX + "go-cgo"),
}

TOOLS = {
    "gcc-pie": ("gcc",), "g++-hello": ("g++",), "go-cgo": ("go", "gcc"), "musl-dynamic": ("musl-gcc",),
    "gcc-static": ("gcc",), "gcc-static-pie": ("gcc",), "gcc-runpath": ("gcc",), "weakdemo": ("gcc",),
}  # fmt: skip


def tools_for(case: Case) -> tuple[str, ...]:
    program = case.program.removeprefix(UPX_PREFIX)
    return TOOLS.get(program, ("ziglang",) if program.startswith("zig-") else ("gcc",))


def assemble(name: str, build_dir: Path, require: Callable[[str], None]) -> Path:
    """build_dir/cases/NAME with bin/prog and lib/, rebuilt from the (cached) binaries."""
    case = CASES[name]
    for tool in tools_for(case):
        require(tool)
    out = build_dir / "target" / "cases" / name
    shutil.rmtree(out, ignore_errors=True)
    (out / "bin").mkdir(parents=True)
    program = out / "bin" / "prog"
    if case.program.startswith(UPX_PREFIX):
        program.write_bytes(_packed(case.program.removeprefix(UPX_PREFIX)))
        program.chmod(0o755)
    else:
        shutil.copy2(_binary(case.program, build_dir), program)
    if case.weaken is not None:
        weaken_need(program, case.weaken)
    if case.libraries:
        (out / "lib").mkdir()
    for file_name, source in case.libraries:
        if source == "->":
            (out / "lib" / file_name).symlink_to(case.libraries[0][0])
        else:
            shutil.copy2(_binary(source, build_dir), out / "lib" / file_name)
    return out


def _binary(name: str, build_dir: Path) -> Path:
    """A recipe's output: ours under target/, tests/helpers/binaries.py's where its own tests keep them."""
    if name in OWN_RECIPES:
        if name == "weakdemo":
            binaries.build(_LIBDEMO, build_dir / "target")  # linked against it
        return binaries.build(OWN_RECIPES[name], build_dir / "target")
    if name == "gcc-runpath":
        binaries.build(_LIBDEMO, build_dir / "reader")
    return binaries.build(binaries.RECIPES[binaries.group_of(name)][name], build_dir / "reader")


def _packed(name: str) -> bytes:
    """tests/helpers/upx_tools.py's input `name`, packed by UPX 4.2.4, marks erased (PackerUnavailableError if not)."""
    packer = upx_tools.packer("upx-4.2.4")
    return upx_tools.erase_marks(upx_tools.packed(packer, "default", upx_tools.build_input(name)).read_bytes())


def weaken_need(path: Path, version: str) -> None:
    """Set VER_FLG_WEAK on the program's need of `version` (GNU ld 2.40 never sets it itself).

    The Elf64_Verneed/Vernaux walk is done here, on a test copy, with pyelftools
    locating the table, so that the product code stays the only reader under test.
    """
    data = bytearray(path.read_bytes())
    with path.open("rb") as handle:
        section = ELFFile(handle).get_section_by_name(".gnu.version_r")
        assert section is not None, f"{path} has no version needs"
        offset, count = section["sh_offset"], section["sh_info"]
    for _ in range(count):
        _version, aux_count, _file, aux, next_need = struct.unpack_from("<HHIII", data, offset)
        at = offset + aux
        for _ in range(aux_count):
            _hash, flags, _other, name, next_aux = struct.unpack_from("<IHHII", data, at)
            if _string(path, name) == version:
                struct.pack_into("<H", data, at + 4, flags | VER_FLG_WEAK)
            at += next_aux
        offset += next_need
    path.write_bytes(bytes(data))


def _string(path: Path, offset: int) -> str:
    with path.open("rb") as handle:
        strtab: Any = ELFFile(handle).get_section_by_name(".dynstr")
        return str(strtab.get_string(offset))
