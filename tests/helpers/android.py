"""Android native libraries built at test time: Debian's clang and lld with `--target=<abi>-linux-android<api>`,
linked against stub bionic libraries made the way the NDK makes its own (one stub function per symbol the
API level offers on the ABI, each in its version node), from the API table that scripts/gen_android_profiles.py
generates out of bionic's map files. Built once per table, ABI and level under tests/.build/android.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from linkgate.profiles.android import load_table, table_file
from tests.helpers import BUILD_DIR, require_tool

ANDROID_DIR = BUILD_DIR / "android"
TRIPLES = {
    "arm64-v8a": "aarch64-linux-android",
    "armeabi-v7a": "armv7a-linux-androideabi",
    "x86": "i686-linux-android",
    "x86_64": "x86_64-linux-android",
}
STUBBED = ("libc.so", "libm.so", "libdl.so")


def target(abi: str, api: int) -> str:
    return f"--target={TRIPLES[abi]}{api}"


def ident_note(abi: str, api: int) -> str:
    """The NDK crtbegin's `.note.android.ident` (crtbrand.S): owner "Android", type 1, the API level."""
    kind = "%note" if abi.startswith("arm") else "@note"
    return (
        f'__asm__(".pushsection .note.android.ident,\\"a\\",{kind}\\n.balign 4\\n.long 8\\n.long 4\\n.long 1\\n'
        f'.asciz \\"Android\\"\\n.balign 4\\n.long {api}\\n.popsection\\n");\n'
    )


def stub_dir(abi: str, api: int) -> Path:
    """libc.so, libm.so, libdl.so as the NDK stubs of `api` on `abi` (built once)."""
    digest = hashlib.sha256(table_file().read_bytes()).hexdigest()[:12]
    directory = ANDROID_DIR / f"stubs-{digest}" / f"{abi}-{api}"
    if all((directory / name).is_file() for name in STUBBED):
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    for library in STUBBED:
        _build_stub(directory, library, abi, api)
    return directory


def _build_stub(directory: Path, library: str, abi: str, api: int) -> None:
    table = load_table()
    nodes: dict[str, list[str]] = {}
    for name, offers in table.symbols[abi].items():
        for owner, level, node in offers:
            if owner == library and level <= api:
                nodes.setdefault(node, []).append(name)
    stem = library.removesuffix(".so")
    source = directory / f"{stem}.c"
    source.write_text("".join(f"void {name}(void) {{}}\n" for names in nodes.values() for name in names))
    script = directory / f"{stem}.map"
    script.write_text("".join(f"{node} {{ global: {'; '.join(sorted(names))}; }};\n" for node, names in nodes.items()))
    link(directory / library, abi, api, [source], [f"-Wl,--version-script={script}", f"-Wl,-soname,{library}"])


def link(output: Path, abi: str, api: int, sources: list[Path], flags: list[str], *, executable: bool = False) -> Path:
    """A shared library (or a PIE) linked with Debian's clang and lld for the Android target; AssertionError
    on failure."""
    clang = require_tool("clang")
    require_tool("ld.lld")
    kind = ["-fPIE", "-pie", "-Wl,-e,main", "-Wl,--dynamic-linker=/system/bin/linker64"] if executable else [
        "-fPIC", "-shared"]  # fmt: skip
    command = [clang, target(abi, api), "-fuse-ld=lld", *kind, "-nostdlib", "-o", str(output),
               *map(str, sources), *flags]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return output


def build_library(
    directory: Path,
    abi: str,
    api: int,
    code: str,
    *,
    name: str = "libfoo.so",
    libs: tuple[str, ...] = ("c",),
    flags: tuple[str, ...] = (),
    page: int = 16384,
    note: bool = True,
    soname: bool = True,
    executable: bool = False,
) -> Path:
    """`code` linked into `directory/name` against the stubs of `api`, with the Android note and `page` alignment."""
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / (name + ".c")
    source.write_text((ident_note(abi, api) if note else "") + code)
    stubs = stub_dir(abi, api)
    options = [f"-L{stubs}", f"-L{directory}", *(f"-l{lib}" for lib in libs), f"-Wl,-z,max-page-size={page}"]
    options += [f"-Wl,-soname,{name}"] if soname and not executable else []
    return link(directory / name, abi, api, [source], [*options, *flags], executable=executable)


def readelf(*args: str) -> str:
    """binutils' readelf output (the oracle for what a built file holds)."""
    return subprocess.run([require_tool("readelf"), *args], capture_output=True, text=True, check=True).stdout


def load_aligns(path: Path) -> list[int]:
    """p_align of every LOAD line of `readelf -lW` (the oracle Google's check script uses)."""
    out = readelf("-lW", str(path))
    return [int(line.split()[-1], 16) for line in out.splitlines() if line.strip().startswith("LOAD")]
