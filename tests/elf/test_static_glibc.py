"""static-glibc: real `gcc -static` builds that use NSS, iconv, dlopen or none of them, stripped and not.

Each use is checked against a program that doesn't use it (the plain build has
glibc's dlopen and charset loader linked in too, as every static glibc >= 2.34
program does), so a detector that answered from their mere presence would fail.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from linkgate.elf.facts import StaticGlibc
from linkgate.elf.reader import read_elf
from linkgate.elf.static_glibc import with_static_glibc
from linkgate.elf.upx_budget import MAX_DECODED
from tests.conftest import require_tool, run_linkgate
from tests.helpers import binaries, go_builds
from tests.helpers.upx_tools import available, packed, packer

SOURCES = {
    "nss": "#include <netdb.h>\nint main(int c, char **v) { struct addrinfo *r;\n"
    '  return getaddrinfo(c > 1 ? v[1] : "localhost", 0, 0, &r); }\n',
    "pwd": '#include <pwd.h>\nint main(int c, char **v) { return getpwnam(c > 1 ? v[1] : "root") == 0; }\n',
    "iconv": '#include <iconv.h>\nint main(void) { return iconv_open("UTF-16", "UTF-8") == (iconv_t)-1; }\n',
    "dlopen": "#include <dlfcn.h>\n"
    'int main(int c, char **v) { return dlopen(c > 1 ? v[1] : "libz.so.1", RTLD_NOW) == 0; }\n',
    "plain": '#include <stdio.h>\nint main(int c, char **v) { printf("%d %s\\n", c, v[0]); return 0; }\n',
}


@pytest.fixture(scope="module")
def static(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each source built with `gcc -static`, `musl-gcc -static` and `gcc` (dynamic), plus stripped copies."""
    for tool in ("gcc", "musl-gcc"):
        require_tool(tool)
    directory = tmp_path_factory.mktemp("static-glibc")
    paths: dict[str, Path] = {}
    for name, source in SOURCES.items():
        src = directory / f"{name}.c"
        src.write_text(source)
        for variant, command in (("", ("gcc", "-static")), ("musl-", ("musl-gcc", "-static")), ("dyn-", ("gcc",))):
            out = directory / f"{variant}{name}"
            subprocess.run([*command, "-O2", "-o", str(out), str(src)], check=True, capture_output=True)
            paths[out.name] = out
        stripped = directory / f"{name}.stripped"
        stripped.write_bytes(binaries.strip_to_segments(paths[name].read_bytes()))
        paths[stripped.name] = stripped
    return paths


def fact(path: Path) -> StaticGlibc | None:
    return with_static_glibc(path, read_elf(path)).static_glibc


def test_nss_is_found_with_and_without_symbols(static: dict[str, Path]) -> None:
    for name, function in (("nss", "getaddrinfo"), ("pwd", "getpwnam")):
        found = fact(static[name])
        assert found is not None and found.glibc and found.nss, name
        assert function in found.nss_functions
        stripped = fact(static[f"{name}.stripped"])
        assert stripped == StaticGlibc(glibc=True, nss=True), name
    for name in ("iconv", "dlopen", "plain", "plain.stripped"):
        found = fact(static[name])
        assert found is not None and found.glibc and not found.nss, name


def test_iconv_and_dlopen_calls_from_symbols(static: dict[str, Path]) -> None:
    assert fact(static["iconv"]) == StaticGlibc(glibc=True, iconv=True, dlopen=False)
    assert fact(static["dlopen"]) == StaticGlibc(glibc=True, iconv=False, dlopen=True)
    # glibc links dlopen into this one too: only a call to it counts.
    assert fact(static["plain"]) == StaticGlibc(glibc=True, iconv=False, dlopen=False)
    # Stripped, nothing in the file tells.
    assert fact(static["dlopen.stripped"]) == StaticGlibc(glibc=True, iconv=None, dlopen=None)


def test_musl_and_dynamic_programs_are_not_static_glibc(static: dict[str, Path]) -> None:
    for name in SOURCES:
        assert fact(static[f"musl-{name}"]) == StaticGlibc(glibc=False), name
        assert fact(static[f"dyn-{name}"]) is None, name


@pytest.mark.parametrize(("name", "subject"), [("nss", "nss"), ("nss.stripped", "nss"), ("pwd", "nss"),
                                               ("iconv", "iconv"), ("dlopen", "dlopen")])  # fmt: skip
def test_default_preset_fails_runtime_loads(static: dict[str, Path], name: str, subject: str) -> None:
    result = run_linkgate("check", "--policy", "default", "--format", "json", str(static[name]))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f'"subject": "{subject}"' in result.stdout
    assert "musl-gcc -static" in result.stdout
    text = run_linkgate("check", "--policy", "static", str(static[name]))
    assert text.returncode == 1 and "static glibc program" in text.stdout


def test_clean_programs_pass(static: dict[str, Path], tmp_path: Path) -> None:
    paths = [str(static[n]) for n in ("plain", "musl-nss", "musl-dlopen", "dyn-nss", "dyn-dlopen")]
    policy = tmp_path / "policy.yml"
    policy.write_text("rules:\n  static-glibc: true\n")
    result = run_linkgate("check", "--policy", str(policy), *paths)
    assert result.returncode == 0, result.stdout
    assert "static-glibc" not in result.stdout


def test_undeterminable_use_is_a_note_not_a_pass_or_failure(static: dict[str, Path]) -> None:
    result = run_linkgate("check", "--policy", "default", str(static["plain.stripped"]))
    assert result.returncode == 0, result.stdout
    assert "note: [static-glibc]" in result.stdout and "cannot be determined" in result.stdout


def test_go_program_gets_the_netgo_fix(build_dir: Path) -> None:
    """Go's net package with cgo, linked statically against glibc: glibc's NSS is inside."""
    for tool in ("go", "gcc"):
        require_tool(tool)
    static_flags = ("-ldflags", "-linkmode external -extldflags -static")
    recipe = go_builds.go_recipe("sg-netcgo-static", "netcgo", *static_flags, env=(("CGO_ENABLED", "1"),))
    program = binaries.build(recipe, build_dir / "static-glibc")
    assert fact(program) is not None
    result = run_linkgate("check", "--policy", "static", str(program))
    assert result.returncode == 1, result.stdout
    assert "uses NSS" in result.stdout and "-tags netgo,osusergo" in result.stdout


def test_a_packed_static_program_too_large_to_scan_is_unknown_not_unreadable(build_dir: Path, tmp_path: Path) -> None:
    """UPX on a static Go program is common; scanning its payload for glibc's NSS would decode
    all of it, past linkgate's decode budget. That makes static-glibc unknown (a note), not the
    whole file unreadable: the loader's view was read within the budget."""
    go = require_tool("go")
    source = tmp_path / "server.go"
    source.write_text(_SERVER)
    program = tmp_path / "server"
    env = {**os.environ, "CGO_ENABLED": "0", "GOCACHE": str(build_dir / "go-cache"), "GO111MODULE": "off"}
    subprocess.run([go, "build", "-o", str(program), str(source)], check=True, env=env, cwd=tmp_path)
    assert program.stat().st_size > MAX_DECODED
    tool = available(lambda: packer("upx-4.2.4"))
    path = available(lambda: packed(tool, "nrv2b", program))
    result = run_linkgate("check", "--policy", "default", "--format", "json", str(path))
    assert result.returncode == 1, result.stderr
    findings = {f["rule"]: f for f in json.loads(result.stdout)["findings"]}
    assert "elf-format" not in findings
    assert "forbid-upx" in findings
    assert findings["static-glibc"]["severity"] == "note"
    assert "too large to scan" in findings["static-glibc"]["message"]


# A static pure-Go program of several MiB (net/http and crypto/tls): larger than the decode budget.
_SERVER = """package main

import (
	"crypto/tls"
	"fmt"
	"net/http"
)

func main() {
	server := &http.Server{Addr: ":0", TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
	fmt.Println(server.Addr)
}
"""
