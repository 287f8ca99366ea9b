"""Real UPX packers from Debian's packages, fetched once into tests/.build.

Two releases matter because their output differs: upx-ucl 3.96 (Debian 11,
bullseye) and 4.2.4 (Debian 13, trixie). Neither is on the build machine, and
4.2.4 needs a newer glibc than Debian 12 has, so each runs through the loader
and libraries of its own suite, extracted beside it with `dpkg -x`.

The apt sources for those suites are derived at run time from the machine's own
`/etc/apt/sources.list.d/debian.sources` (only `Suites:` changes), so no
registry host name is written anywhere in the repository.

It also builds the inputs the tests pack (gcc PIE / non-PIE / static / shared,
Go with cgo) and caches packed outputs, so a rerun packs nothing.

Run as a script to fetch both packers ahead of the tests:
`python -m tests.helpers.upx_tools` (prints the command prefix of each).
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts import debian_roots
from tests.helpers import REPO, unavailable

CACHE = REPO / "tests" / ".build" / "debian"
WORK = REPO / "tests" / ".build" / "upx"

# The runtime closure of upx-ucl in each suite (its Depends, and theirs).
# libc6 brings the loader that makes the packer independent of the host glibc.
_CLOSURE = ("upx-ucl", "libucl1", "zlib1g", "libc6", "libstdc++6", "libgcc-s1")


class PackerUnavailableError(RuntimeError):
    """A packer could not be fetched or does not run here."""


def available(make: Callable[[], Any]) -> Any:
    """The packer or input `make` returns; skip locally, fail under CI=true, when it cannot be had."""
    try:
        return make()
    except PackerUnavailableError as error:
        unavailable(str(error))


@dataclass(frozen=True)
class Packer:
    """One UPX release, runnable as `command + [args...]`."""

    name: str
    version: str
    command: tuple[str, ...]

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run the packer; its output is captured for error messages."""
        return subprocess.run([*self.command, *args], capture_output=True, text=True, timeout=timeout, check=False)


SUITES = {"upx-3.96": "bullseye", "upx-4.2.4": "trixie"}


def packer(name: str) -> Packer:
    """The packer `name` (a key of SUITES), fetched and extracted on first use."""
    suite = SUITES[name]
    try:
        root = debian_roots.fetch_packages(suite, _CLOSURE, CACHE / suite)
    except debian_roots.RootUnavailableError as error:
        raise PackerUnavailableError(str(error)) from error
    command = _command(root)
    version = _version(command)
    if version != name.removeprefix("upx-"):
        raise PackerUnavailableError(f"{suite} upx-ucl reports version {version}, expected {name}")
    return Packer(name, version, command)


def _command(root: Path) -> tuple[str, ...]:
    """Loader + library path + upx-ucl, all from the suite's root."""
    libdirs = [root / "lib" / "x86_64-linux-gnu", root / "usr" / "lib" / "x86_64-linux-gnu"]
    loaders = [d / "ld-linux-x86-64.so.2" for d in libdirs if (d / "ld-linux-x86-64.so.2").exists()]
    if not loaders:
        raise PackerUnavailableError(f"no ld-linux-x86-64.so.2 under {root}")
    library_path = ":".join(str(d) for d in libdirs if d.is_dir())
    return (str(loaders[0]), "--library-path", library_path, str(root / "usr" / "bin" / "upx-ucl"))


def _version(command: tuple[str, ...]) -> str:
    try:
        result = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PackerUnavailableError(f"upx-ucl does not run: {error}") from error
    match = re.search(r"^upx (\d+\.\d+(?:\.\d+)?)", result.stdout, re.M)
    if match is None:
        raise PackerUnavailableError(f"upx-ucl --version said: {result.stdout[:200]!r} {result.stderr[:500]!r}")
    return match.group(1)


# --- inputs -----------------------------------------------------------------------------------

INPUTS = ("gcc-pie", "gcc-nopie", "gcc-static", "gcc-shared", "go-cgo")
METHODS = ("default", "lzma", "nrv2b", "nrv2d", "nrv2e")

_MAIN_C = """#include <stdio.h>
#include <math.h>
#include <dlfcn.h>
extern const char linkgate_table[];
extern int (*linkgate_fns[])(int);
int main(int argc, char **argv) {
    (void)argv;
    /* dlopen pulls in GLIBC_2.34 (libdl merged into libc) for the payload to need. */
    printf("%.12s %d %f %d\\n", linkgate_table + argc, linkgate_fns[argc](argc), pow(argc, 2.5), dlopen != 0);
    return 0;
}
"""
_LIB_C = """#include <stdio.h>
#include <math.h>
extern const char linkgate_table[];
double linkgate_entry(double x) { puts(linkgate_table); return pow(x, 1.5); }
"""
_GO_MAIN = """package main

// #include <stdio.h>
// #include <math.h>
// #cgo LDFLAGS: -lm
// static double hi(double x) { printf("cgo\\n"); return pow(x, 2.5); }
import "C"
import "fmt"

func main() { fmt.Println(float64(C.hi(2))) }
"""


# A larger cgo program for the benchmark: net/http and TLS make a ~6.7 MB
# binary that UPX packs to ~2-4 MB depending on the method.
GO_HTTP = """package main

// #include <stdio.h>
// static void hi(void) { printf("cgo\\n"); }
import "C"

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
)

func main() {
	C.hi()
	_ = &tls.Config{}
	out, _ := json.Marshal(map[string]string{"linkgate": "upx"})
	fmt.Println(string(out))
	if len(os.Args) > 1 {
		_, _ = http.Get(os.Args[1])
	}
}
"""


def build_go_program(name: str, program: str) -> Path:
    """A Go program built once under tests/.build, keyed by its source."""
    digest = hashlib.sha256(program.encode()).hexdigest()[:12]
    out = WORK / "inputs" / digest / name
    with debian_roots.locked(WORK / "inputs.lock"):
        if not out.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            _build_go(out, program)
    return out


def _bulk_c() -> str:
    """Code and text enough for UPX 3.96, which refuses tiny inputs as 'not compressible'."""
    words = ["alpha", "beta", "gamma", "delta", "version", "symbol", "library", "loader"]
    # Varied but deterministic text: compressible, and the same on every machine.
    table = " ".join(words[(i * i + 3 * i) % 7] for i in range(6000))
    functions = [
        f"int linkgate_f{i}(int x) {{ int y = x * {i + 3}; for (int k = 0; k < {i % 7 + 2}; k++)"
        f" y = (y << 1) ^ (x + k * {i}); return y + {i}; }}"
        for i in range(400)
    ]
    pointers = ", ".join(f"linkgate_f{i}" for i in range(400))
    return "\n".join([f'const char linkgate_table[] = "{table}";', *functions,
                      f"int (*linkgate_fns[])(int) = {{{pointers}}};", ""])  # fmt: skip


_GCC_FLAGS = {
    "gcc-pie": ["-pie", "-fPIE"],
    "gcc-nopie": ["-no-pie", "-fno-PIE"],
    "gcc-static": ["-static"],
    "gcc-shared": ["-shared", "-fPIC", "-Wl,-soname,liblinkgate.so.1", "-Wl,-rpath,/opt/linkgate/lib"],
}


def build_input(name: str) -> Path:
    """The unpacked input `name` (one of INPUTS), built once."""
    out = WORK / "inputs" / _sources_digest() / name
    with debian_roots.locked(WORK / "inputs.lock"):
        if not out.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            if name == "go-cgo":
                _build_go(out, _GO_MAIN)
            else:
                _build_gcc(name, out)
    return out


def _sources_digest() -> str:
    """Inputs are cached under a digest of their sources, so editing them rebuilds."""
    text = "\0".join([_MAIN_C, _LIB_C, _GO_MAIN, _bulk_c(), repr(sorted(_GCC_FLAGS.items()))])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _build_gcc(name: str, out: Path) -> None:
    src = out.parent / "src"
    src.mkdir(exist_ok=True)
    (src / "bulk.c").write_text(_bulk_c())
    main = src / ("lib.c" if name == "gcc-shared" else "main.c")
    main.write_text(_LIB_C if name == "gcc-shared" else _MAIN_C)
    command = ["gcc", "-O1", *_GCC_FLAGS[name], "-o", str(out), str(main), str(src / "bulk.c"), "-lm"]
    _run_build(command, src)


def _build_go(out: Path, program: str) -> None:
    """`go build` of a main importing "C": linked externally against glibc."""
    src = out.parent / f"{out.name}-src"
    src.mkdir(exist_ok=True)
    (src / "go.mod").write_text("module example.com/linkgate\n\ngo 1.19\n")
    (src / "main.go").write_text(program)
    env = {**os.environ, "CGO_ENABLED": "1", "GOFLAGS": "-mod=mod"}
    env.setdefault("GOCACHE", str(WORK / "go-cache"))
    _run_build(["go", "build", "-o", str(out), "."], src, env)


def _run_build(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    if shutil.which(command[0]) is None:
        raise PackerUnavailableError(f"{command[0]} is not installed")
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        raise PackerUnavailableError(f"{' '.join(command)} failed: {result.stderr[-2000:]}")


def packed(tool: Packer, method: str, source: Path) -> Path:
    """`source` packed by `tool` with `method` (one of METHODS), cached by name."""
    out = WORK / "packed" / tool.name / method / source.parent.name / source.name
    with debian_roots.locked(WORK / "packed.lock"):
        if not out.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            options = [] if method == "default" else [f"--{method}"]
            partial = out.with_name(out.name + ".tmp")
            partial.unlink(missing_ok=True)
            result = tool.run("-q", *options, "-o", str(partial), str(source))
            if result.returncode != 0:
                raise PackerUnavailableError(f"{tool.name} {method} {source.name}: {result.stderr[-1000:]}")
            partial.rename(out)
    return out


def seeded(seed: str) -> random.Random:
    """A reproducible generator for mutation tests: the seed names the case."""
    return random.Random(seed)  # noqa: S311 - reproducible test data, nothing secret


def erase_marks(data: bytes) -> bytes:
    """A copy with every "UPX!", "$Info" and "$Id" overwritten (the runtime reads none of them)."""
    result = data
    for mark in (b"UPX!", b"$Info", b"$Id"):
        result = result.replace(mark, b"\x00" * len(mark))
    return result


def main() -> int:
    """Fetch both packers; print how each is run."""
    status = 0
    for name in SUITES:
        try:
            print(name, " ".join(packer(name).command))
        except PackerUnavailableError as error:
            print(f"{name}: {error}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main())
