"""The reader on Go programs: the seed's cgo binary, its two fixes (pure Go, cgo + musl static)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from linkgate.elf.facts import Kind, Linkage
from linkgate.elf.reader import read_elf
from tests.helpers.elf_oracle import needs_tree

Built = Callable[[str], Path]

CGO_OUTPUT = "pid known: true squares: [0 1 4 9 16 25 36 49]\n"


def run(path: Path) -> str:
    return subprocess.run([str(path)], capture_output=True, text=True, check=True, timeout=30).stdout


def test_cgo_against_glibc_needs_2_34_through_pthread(built: Built) -> None:
    path = built("go-cgo")
    facts = read_elf(path)
    assert (facts.kind, facts.linkage) == (Kind.EXECUTABLE, Linkage.DYNAMIC)
    assert facts.interpreter == "/lib64/ld-linux-x86-64.so.2"
    assert facts.needed == ("libc.so.6",)
    assert facts.libc == "glibc"
    libc = needs_tree(facts)["libc.so.6"]
    # libpthread moved into libc in glibc 2.34: the runtime's thread creation and
    # the C entry point are what make a cgo binary built on Debian 12 need 2.34.
    assert {"__libc_start_main", "pthread_create", "pthread_detach", "pthread_attr_getstacksize"} <= libc["GLIBC_2.34"]
    assert all(name == "__libc_start_main" or name.startswith("pthread_") for name in libc["GLIBC_2.34"])
    assert libc["GLIBC_2.32"] == {"pthread_sigmask"}
    assert {"malloc", "free", "getpid", "pthread_mutex_lock"} <= libc["GLIBC_2.2.5"]
    assert facts.go is not None and facts.go.cgo_enabled is True
    assert run(path) == CGO_OUTPUT


def test_pure_go_is_static_without_needs(built: Built) -> None:
    path = built("go-pure")
    facts = read_elf(path)
    assert (facts.kind, facts.linkage) == (Kind.EXECUTABLE, Linkage.STATIC)
    assert (facts.interpreter, facts.needed, facts.version_needs, facts.libc) == (None, (), (), None)
    assert facts.go is not None and facts.go.cgo_enabled is False
    assert run(path) == "sum: 10\n"


def test_cgo_with_musl_linked_statically(built: Built) -> None:
    path = built("go-cgo-musl-static")
    facts = read_elf(path)
    assert (facts.kind, facts.linkage) == (Kind.EXECUTABLE, Linkage.STATIC)
    assert (facts.interpreter, facts.needed, facts.version_needs) == (None, (), ())
    assert facts.go is not None and facts.go.cgo_enabled is True
    assert facts.go.setting("-tags") == "musl"
    assert run(path) == CGO_OUTPUT
