"""Real ELF binaries for the reader's tests: built at test time, cached, never mocked.

Every binary comes from a recipe (a command line over sources in tests/fixtures/src).
A recipe's output is cached in the build directory next to a stamp holding the
recipe's key (command, environment, source contents): it is rebuilt only when it is
missing or its recipe changed. Derived files (section headers removed, truncated,
corrupted) are made by the small byte-level functions at the end of this module.
"""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import REPO

SRC = REPO / "tests" / "fixtures" / "src"
COMMITTED = REPO / "tests" / "fixtures" / "bin"

# The zig cross matrix: binary name -> target triple, the glibc version pinned so the
# version needs are known by construction (zig's oldest glibc for ppc64le is 2.19).
ZIG_TARGETS: dict[str, str] = {
    "zig-x86_64-glibc2.17": "x86_64-linux-gnu.2.17",
    "zig-x86_64-glibc2.28": "x86_64-linux-gnu.2.28",
    "zig-x86_64-glibc2.34": "x86_64-linux-gnu.2.34",
    "zig-aarch64": "aarch64-linux-gnu.2.34",
    "zig-arm": "arm-linux-gnueabihf.2.28",
    "zig-i386": "x86-linux-gnu.2.34",
    "zig-riscv64": "riscv64-linux-gnu.2.27",
    "zig-ppc64le": "powerpc64le-linux-gnu.2.19",
    "zig-s390x": "s390x-linux-gnu.2.17",
    "zig-mips": "mips-linux-gnueabihf.2.17",
}


@dataclass(frozen=True)
class Recipe:
    """How to build one binary: argv with `{out}` and `{build}` placeholders."""

    name: str
    tool: str
    argv: tuple[str, ...]
    inputs: tuple[Path, ...]
    env: tuple[tuple[str, str], ...] = ()
    cwd: Path | None = None

    def key(self) -> str:
        digest = hashlib.sha256(repr((self.argv, self.env, self.cwd)).encode())
        for path in self.inputs:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()


def _gcc(name: str, source: str, *flags: str, tool: str = "gcc") -> Recipe:
    return Recipe(name, tool, (tool, "-O2", *flags, "-o", "{out}", str(SRC / source)), (SRC / source,))


def _zig(name: str, target: str) -> Recipe:
    # x86_64 runs here, so it builds the program whose versions track the pinned glibc.
    source = SRC / ("pinned.c" if target.startswith("x86_64") else "hello.c")
    argv = (sys.executable, "-m", "ziglang", "cc", "-target", target, "-O2", "-o", "{out}")
    return Recipe(name, "ziglang", (*argv, str(source)), (source,))


def _go(name: str, package: str, *args: str, env: tuple[tuple[str, str], ...]) -> Recipe:
    directory = SRC / "go" / package
    inputs = tuple(sorted(directory.iterdir()))
    go_env = (
        ("GOFLAGS", "-buildvcs=false"),
        ("GOCACHE", "{build}/go-cache"),
        ("GOPATH", "{build}/go-path"),
        ("GOPROXY", "off"),
        *env,
    )
    argv = ("go", "build", "-trimpath", *args, "-o", "{out}", ".")
    return Recipe(name, "go", argv, inputs, go_env, cwd=directory)


_LIBDEMO = Recipe(
    "libdemo.so.1",
    "gcc",
    (
        "gcc", "-O2", "-shared", "-fPIC", "-Wl,-soname,libdemo.so.1",
        f"-Wl,--version-script={SRC / 'libdemo.map'}", "-o", "{out}", str(SRC / "libdemo.c"),
    ),
    (SRC / "libdemo.c", SRC / "libdemo.map"),
)  # fmt: skip


def _uselib(name: str, *flags: str) -> Recipe:
    argv = ("gcc", "-O2", *flags, "-o", "{out}", str(SRC / "uselib.c"), "{build}/libdemo.so.1")
    # Built after libdemo.so.1 in the same group; its sources are inputs so a change rebuilds both.
    return Recipe(name, "gcc", argv, (SRC / "uselib.c", *_LIBDEMO.inputs))


_MUSL_GO_LDFLAGS = '-linkmode external -extldflags "-static"'

RECIPES: dict[str, dict[str, Recipe]] = {
    "gcc": {
        r.name: r
        for r in (
            _gcc("gcc-pie", "hello.c", "-fPIE", "-pie"),
            _gcc("gcc-nopie", "hello.c", "-fno-pie", "-no-pie"),
            _gcc("gcc-static", "hello.c", "-static"),
            _gcc("gcc-static-pie", "hello.c", "-fPIE", "-static-pie"),
            _gcc("gcc-execstack", "hello.c", "-Wl,-z,execstack"),
            _gcc("gcc-weak-now", "weak.c", "-Wl,-z,now"),
            _LIBDEMO,
            _uselib("gcc-rpath", "-Wl,--disable-new-dtags,-rpath,/opt/x"),
            _uselib("gcc-runpath", "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib"),
        )
    },
    "musl": {
        r.name: r
        for r in (
            _gcc("musl-dynamic", "hello.c", tool="musl-gcc"),
            _gcc("musl-static", "hello.c", "-static", tool="musl-gcc"),
        )
    },
    "zig": {name: _zig(name, target) for name, target in ZIG_TARGETS.items()},
    "go": {
        r.name: r
        for r in (
            _go("go-cgo", "cgo", env=(("CGO_ENABLED", "1"),)),
            _go("go-pure", "pure", env=(("CGO_ENABLED", "0"),)),
            _go(
                "go-cgo-musl-static", "cgo", "-tags", "musl", "-ldflags", _MUSL_GO_LDFLAGS,
                env=(("CGO_ENABLED", "1"), ("CC", "musl-gcc")),
            ),
        )
    },
}  # fmt: skip

GROUP_TOOLS: dict[str, tuple[str, ...]] = {
    "gcc": ("gcc",),
    "musl": ("musl-gcc",),
    "zig": ("ziglang",),
    "go": ("go", "gcc", "musl-gcc"),
}


def group_of(name: str) -> str:
    """The recipe group ("gcc", "musl", "zig", "go") that builds `name`."""
    for group, recipes in RECIPES.items():
        if name in recipes:
            return group
    raise KeyError(name)


def build(recipe: Recipe, build_dir: Path) -> Path:
    """The recipe's output, built only when missing or when its recipe changed."""
    build_dir = build_dir.resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    out = build_dir / recipe.name
    stamp = build_dir / f"{recipe.name}.recipe"
    key = recipe.key()
    if out.exists() and stamp.exists() and stamp.read_text() == key:
        return out
    partial = build_dir / f"{recipe.name}.partial"

    def fill(value: str) -> str:
        return value.replace("{out}", str(partial)).replace("{build}", str(build_dir))

    env = {**os.environ, **{k: fill(v) for k, v in recipe.env}}
    result = subprocess.run(
        [fill(arg) for arg in recipe.argv],
        cwd=recipe.cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"building {recipe.name} failed ({result.returncode}):\n{result.stderr}")
    partial.replace(out)
    stamp.write_text(key)
    return out


def build_group(group: str, build_dir: Path) -> dict[str, Path]:
    """Every binary of one group, in order (a group's recipes may use earlier outputs)."""
    return {name: build(recipe, build_dir) for name, recipe in RECIPES[group].items()}


def all_names() -> list[str]:
    return [name for recipes in RECIPES.values() for name in recipes]


# --- derived files: byte-level edits of a real binary -------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Where the ELF header fields we edit live, for this file's class and byte order."""

    endian: str
    is64: bool

    @classmethod
    def of(cls, data: bytes) -> _Layout:
        if data[:4] != b"\x7fELF":
            raise ValueError("not an ELF file")
        return cls("<" if data[5] == 1 else ">", data[4] == 2)

    @property
    def word(self) -> str:
        return "Q" if self.is64 else "I"

    @property
    def shoff_at(self) -> int:
        return 0x28 if self.is64 else 0x20

    @property
    def phoff_at(self) -> int:
        return 0x20 if self.is64 else 0x1C

    @property
    def phnum_at(self) -> int:
        return 0x38 if self.is64 else 0x2C

    @property
    def shnum_at(self) -> int:
        return 0x3C if self.is64 else 0x30

    def get(self, data: bytes, fmt: str, offset: int) -> int:
        value: int = struct.unpack_from(self.endian + fmt, data, offset)[0]
        return value

    def put(self, data: bytearray, fmt: str, offset: int, value: int) -> None:
        struct.pack_into(self.endian + fmt, data, offset, value)


@dataclass(frozen=True)
class ProgramHeader:
    """One program header and where its fields sit in the file."""

    index: int
    at: int
    p_type: int
    p_offset: int
    p_vaddr: int
    p_filesz: int
    offset_at: int


def program_headers(data: bytes) -> list[ProgramHeader]:
    """The program headers of `data`, read independently of the code under test."""
    lay = _Layout.of(data)
    phoff = lay.get(data, lay.word, lay.phoff_at)
    phentsize = lay.get(data, "H", lay.phnum_at - 2)
    phnum = lay.get(data, "H", lay.phnum_at)
    headers = []
    for index in range(phnum):
        at = phoff + index * phentsize
        if lay.is64:
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(lay.endian + "IIQQQQ", data, at)
            offset_at = at + 8
        else:
            p_type, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(lay.endian + "IIIII", data, at)
            offset_at = at + 4
        headers.append(ProgramHeader(index, at, p_type, p_offset, p_vaddr, p_filesz, offset_at))
    return headers


PT_LOAD, PT_DYNAMIC = 1, 2


def dynamic_entries(data: bytes) -> list[tuple[int, int, int]]:
    """(file offset of the entry, d_tag, d_val) for PT_DYNAMIC up to DT_NULL."""
    lay = _Layout.of(data)
    segment = next(h for h in program_headers(data) if h.p_type == PT_DYNAMIC)
    fmt = lay.endian + ("qQ" if lay.is64 else "iI")
    size = struct.calcsize(fmt)
    entries = []
    for at in range(segment.p_offset, segment.p_offset + segment.p_filesz - size + 1, size):
        tag, value = struct.unpack_from(fmt, data, at)
        if tag == 0:
            break
        entries.append((at, tag, value))
    return entries


def strip_section_headers(data: bytes) -> bytes:
    """The file without its section header table: e_shoff/e_shnum/e_shstrndx zeroed and
    the table cut off (GNU ld, gold, lld put it at the very end) or, where it is not
    last (Go's internal linker), overwritten with zeros. The loader never reads it, so
    the result still runs."""
    lay = _Layout.of(data)
    shoff = lay.get(data, lay.word, lay.shoff_at)
    shentsize = lay.get(data, "H", lay.shnum_at - 2)
    shnum = lay.get(data, "H", lay.shnum_at)
    if shoff == 0:
        return data
    end = shoff + shnum * shentsize
    out = bytearray(data[:shoff]) if end == len(data) else bytearray(data)
    out[shoff:end] = bytes(len(out[shoff:end]))
    lay.put(out, lay.word, lay.shoff_at, 0)
    lay.put(out, "H", lay.shnum_at, 0)
    lay.put(out, "H", lay.shnum_at + 2, 0)
    return bytes(out)


def strip_to_segments(data: bytes) -> bytes:
    """Like sstrip: section headers gone and every byte after the last segment's file
    extent dropped (.symtab, .strtab, .shstrtab, .comment...): only what ld.so maps."""
    stripped = strip_section_headers(data)
    end = max(h.p_offset + h.p_filesz for h in program_headers(stripped))
    return stripped[:end]


def with_segment_offset(data: bytes, p_type: int, offset: int) -> bytes:
    """The first segment of `p_type` pointed at file offset `offset`."""
    lay = _Layout.of(data)
    header = next(h for h in program_headers(data) if h.p_type == p_type)
    out = bytearray(data)
    lay.put(out, lay.word, header.offset_at, offset)
    return bytes(out)


def with_dynamic_value(data: bytes, tag: int, value: int) -> bytes:
    """The first dynamic entry with `tag` given the value `value`."""
    lay = _Layout.of(data)
    at = next(at for at, d_tag, _ in dynamic_entries(data) if d_tag == tag)
    out = bytearray(data)
    lay.put(out, lay.word, at + (8 if lay.is64 else 4), value)
    return bytes(out)


def with_phnum(data: bytes, phnum: int) -> bytes:
    lay = _Layout.of(data)
    out = bytearray(data)
    lay.put(out, "H", lay.phnum_at, phnum)
    return bytes(out)


def header_regions(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of the ELF header, the program header table and PT_DYNAMIC:
    where the loader reads first, so where a mutation matters most."""
    lay = _Layout.of(data)
    phoff = lay.get(data, lay.word, lay.phoff_at)
    phentsize = lay.get(data, "H", lay.phnum_at - 2)
    phnum = lay.get(data, "H", lay.phnum_at)
    regions = [(0, 0x40 if lay.is64 else 0x34), (phoff, phoff + phentsize * phnum)]
    regions += [(h.p_offset, h.p_offset + h.p_filesz) for h in program_headers(data) if h.p_type == PT_DYNAMIC]
    return regions


def derive(build_dir: Path, name: str, source: Path, transform: Callable[[bytes], bytes]) -> Path:
    """Write transform(source bytes) to build_dir/name (cheap, so always rewritten)."""
    out = build_dir / "derived" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(transform(source.read_bytes()))
    out.chmod(0o755)
    return out


def committed(name: str) -> Path:
    """A small binary committed under tests/fixtures/bin (rebuilt by tests/fixtures/build.sh)."""
    return COMMITTED / name


def elf_files(roots: Iterable[Path]) -> list[Path]:
    """Regular ELF files (no symlinks, each inode once) under `roots`, sorted."""
    seen: set[tuple[int, int]] = set()
    found = []
    for root in roots:
        for directory, _dirs, files in os.walk(root):
            for file_name in files:
                path = Path(directory) / file_name
                try:
                    info = path.lstat()
                    if not path.is_file() or path.is_symlink() or (info.st_dev, info.st_ino) in seen:
                        continue
                    with path.open("rb") as handle:
                        if handle.read(4) != b"\x7fELF":
                            continue
                except OSError:
                    continue
                seen.add((info.st_dev, info.st_ino))
                found.append(path)
    return sorted(found)


def main(argv: list[str]) -> int:
    """`python tests/helpers/binaries.py strip-sections|strip-to-segments SRC DST` for build.sh."""
    transforms = {"strip-sections": strip_section_headers, "strip-to-segments": strip_to_segments}
    if len(argv) != 3 or argv[0] not in transforms:
        print(f"usage: binaries.py {{{'|'.join(transforms)}}} SRC DST", file=sys.stderr)
        return 2
    source, target = Path(argv[1]), Path(argv[2])
    target.write_bytes(transforms[argv[0]](source.read_bytes()))
    target.chmod(0o755)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
