"""A shipped file the loader finds under a NEEDED name but will not map (issue 21, items 7 and 8),
and files that map nothing at all (item 12).

The program and every library are built with gcc at test time; the host's own glibc loader is the
oracle: the program is run, and linkgate's finding must name the loader's own error. Crafted bytes
only where no compiler makes the case (an OS ABI byte, program headers turned into PT_NULL).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from fuzz import crafted
from tests.conftest import run_linkgate
from tests.helpers import require_module, require_tool

FOO = "int foo(int x) { return x + 1; }\n"
PROGRAM = "int foo(int);\nint main(void) { return foo(-1); }\n"
# A program that also defines foo: shipped under the library's name.
FOO_PROGRAM = "int foo(int x) { return x + 1; }\nint main(void) { return 0; }\n"


def gcc(*args: str | Path) -> None:
    subprocess.run([require_tool("gcc"), *map(str, args)], check=True, capture_output=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The program, the real library, and what is shipped in its place."""
    work = tmp_path_factory.mktemp("loadable")
    (work / "foo.c").write_text(FOO)
    (work / "main.c").write_text(PROGRAM)
    (work / "prog.c").write_text(FOO_PROGRAM)
    made = {name: work / name for name in ("library", "app", "app-lib32", "pie", "exec", "x32", "i386")}
    gcc("-shared", "-fPIC", "-Wl,-soname,libfoo.so.1", "-o", made["library"], work / "foo.c")
    gcc("-o", made["app"], work / "main.c", made["library"], "-Wl,-rpath,$ORIGIN/../lib")
    gcc("-o", made["app-lib32"], work / "main.c", made["library"], "-Wl,-rpath,$ORIGIN/../lib32:$ORIGIN/../lib")
    gcc("-pie", "-fPIE", "-o", made["pie"], work / "prog.c")
    gcc("-no-pie", "-o", made["exec"], work / "prog.c")
    gcc("-mx32", "-shared", "-fPIC", "-nostdlib", "-Wl,-soname,libfoo.so.1", "-o", made["x32"], work / "foo.c")
    gcc("-m32", "-shared", "-fPIC", "-nostdlib", "-Wl,-soname,libfoo.so.1", "-o", made["i386"], work / "foo.c")
    made["osabi"] = work / "osabi"
    data = bytearray(made["library"].read_bytes())
    data[7] = 9  # ELFOSABI_FREEBSD
    made["osabi"].write_bytes(bytes(data))
    made["object"] = work / "foo.o"
    gcc("-c", "-fPIC", "-o", made["object"], work / "foo.c")
    # Files that are not ELF at all under the library's name: a linker script, a one-line text file
    # (pip writes a zip symlink as one), bytes of something else.
    texts = {"script": b"INPUT(-lfoo)\n", "short": b"libfoo.so.1.2\n", "garbage": b"PK\x03\x04" + bytes(96)}
    for name, content in texts.items():
        made[name] = work / name
        made[name].write_bytes(content)
    return made


def release(tmp_path: Path, built: dict[str, Path], shipped: str) -> Path:
    """bin/app with RUNPATH $ORIGIN/../lib, and `shipped` at lib/libfoo.so.1."""
    root = tmp_path / "release"
    (root / "bin").mkdir(parents=True)
    (root / "lib").mkdir()
    shutil.copy(built["app"], root / "bin/app")
    shutil.copy(built[shipped], root / "lib/libfoo.so.1")
    return root


def loader_error(root: Path) -> str:
    """What the host's glibc loader says when the program is started ("" when it runs)."""
    result = subprocess.run([root / "bin/app"], capture_output=True, text=True, check=False)
    return "" if result.returncode == 0 else result.stderr


REFUSED = {
    "pie": "cannot dynamically load position-independent executable",
    "exec": "cannot dynamically load executable",
    "x32": "wrong ELF class: ELFCLASS32",
    "i386": "wrong ELF class: ELFCLASS32",
    "osabi": "ELF file OS ABI invalid",
    "object": "only ET_DYN and ET_EXEC can be loaded",
    "script": "file too short",
    "short": "file too short",
    "garbage": "invalid ELF header",
}


@pytest.mark.parametrize("shipped", sorted(REFUSED))
def test_a_shipped_file_the_loader_refuses_fails_with_its_error(
    shipped: str, built: dict[str, Path], tmp_path: Path
) -> None:
    root = release(tmp_path, built, shipped)
    assert REFUSED[shipped] in loader_error(root)
    result = run_linkgate("check", "--policy", "debian-12", str(root), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"app: error: [target] libfoo.so.1: {REFUSED[shipped]}" in result.stdout


@pytest.mark.parametrize("shipped", ["pie", "exec", "x32"])
def test_the_same_release_as_a_tarball_fails_the_same_way(shipped: str, built: dict[str, Path], tmp_path: Path) -> None:
    root = release(tmp_path, built, shipped)
    archive = tmp_path / "release.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="release")
    result = run_linkgate("check", "--policy", "debian-12", str(archive), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"release/bin/app: error: [target] libfoo.so.1: {REFUSED[shipped]}" in result.stdout


def test_the_real_library_loads_and_passes(built: dict[str, Path], tmp_path: Path) -> None:
    root = release(tmp_path, built, "library")
    assert loader_error(root) == ""
    result = run_linkgate("check", "--policy", "debian-12", str(root), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_x32_library_beside_the_real_one_is_passed_over(built: dict[str, Path], tmp_path: Path) -> None:
    """glibc passes over a file of the other class and searches on: the library further on is used."""
    root = release(tmp_path, built, "library")
    shutil.copy(built["app-lib32"], root / "bin/app")
    (root / "lib32").mkdir()
    shutil.copy(built["x32"], root / "lib32/libfoo.so.1")
    assert loader_error(root) == ""
    result = run_linkgate("check", "--policy", "debian-12", str(root / "bin"), str(root / "lib"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def no_load(data: bytes) -> bytes:
    """`data` with every PT_LOAD program header turned into PT_NULL (ELF64 little-endian)."""
    out = bytearray(data)
    phoff, phentsize, phnum = int.from_bytes(out[32:40], "little"), out[54], out[56]
    for index in range(phnum):
        at = phoff + index * phentsize
        if out[at : at + 4] == b"\x01\x00\x00\x00":
            out[at : at + 4] = bytes(4)
    return bytes(out)


NO_LOAD: dict[str, Callable[[dict[str, Path]], bytes]] = {
    # A real ELF header, six PT_NULL program headers, zeros (as the issue reproduced it).
    "crafted": lambda _built: crafted.elf_header(2, 6) + bytes(6 * 56) + bytes(4096),
    "gcc-program": lambda built: no_load(built["app"].read_bytes()),
    "gcc-library": lambda built: no_load(built["library"].read_bytes()),
}


@pytest.mark.parametrize("case", sorted(NO_LOAD))
@pytest.mark.parametrize("policy", ["default", "static", "debian-12"])
def test_a_file_that_maps_nothing_is_an_elf_format_error(
    case: str, policy: str, built: dict[str, Path], tmp_path: Path
) -> None:
    artifact = tmp_path / "artifact"
    artifact.write_bytes(NO_LOAD[case](built))
    artifact.chmod(0o755)
    if case != "gcc-library":  # the kernel's verdict: nothing is mapped at e_entry
        ran = subprocess.run([artifact], capture_output=True, check=False)
        assert ran.returncode != 0
    result = run_linkgate("check", "--policy", policy, str(artifact), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[elf-format]" in result.stdout and "no PT_LOAD segment" in result.stdout


def test_a_upx_payload_that_maps_nothing_is_an_elf_format_error(tmp_path: Path) -> None:
    artifact = tmp_path / "packed"
    artifact.write_bytes(crafted.upx_program(crafted.slow_stream(2, 4096), 4096, 2, original_type=0))
    result = run_linkgate("check", "--policy", "default", str(artifact), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[elf-format]" in result.stdout and "UPX-packed program has no PT_LOAD segment" in result.stdout


def test_a_big_endian_library_fails_the_load(built: dict[str, Path], tmp_path: Path) -> None:
    """A real ppc64 (big-endian) library where an x86_64 program looks for libfoo.so.1. Upstream
    glibc fails on the byte order ("ELF file data encoding not little-endian"); Debian's and
    Ubuntu's glibc pass over a file whose e_machine is not the host's and then find nothing. Either
    way the program does not start; linkgate reports upstream's error (docs/targets.md)."""
    require_module("ziglang")
    library = tmp_path / "ppc64.so"
    (tmp_path / "foo.c").write_text(FOO)
    command = [sys.executable, "-m", "ziglang", "cc", "-target", "powerpc64-linux-musl", "-shared", "-fPIC",
               "-nostdlib", "-Wl,-soname,libfoo.so.1", "-o", str(library), str(tmp_path / "foo.c")]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    built = {**built, "ppc64": library}
    root = release(tmp_path, built, "ppc64")
    assert "libfoo.so.1" in loader_error(root)
    result = run_linkgate("check", "--policy", "debian-12", str(root), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "app: error: [target] libfoo.so.1: ELF file data encoding not little-endian" in result.stdout
