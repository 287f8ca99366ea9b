"""The hardening rule on real builds, each flag on and off, and the hardened preset.

Each key is judged against the build that has the mitigation (exit 0) and the one
that lacks it (exit 1, the finding naming the key and the flag that fixes it).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from linkgate.policy.loader import load_policy
from linkgate.rules import fact_readers
from tests.conftest import require_tool, run_linkgate
from tests.helpers import binaries
from tests.helpers.hardening_builds import BASE, LIBRARY, PROGRAM, RWX
from tests.helpers.upx_tools import available, build_input, packer
from tests.helpers.upx_tools import packed as pack

CET_LIBRARY = ("-shared", "-fPIC", "-Wl,-soname,libcet.so", "-nostartfiles")
# name -> (source, flags on top of BASE)
BUILDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pie": (PROGRAM, ("-fPIE", "-pie")),
    "nopie": (PROGRAM, ("-fno-pie", "-no-pie")),
    "now": (PROGRAM, ("-Wl,-z,relro,-z,now",)),
    "lazy": (PROGRAM, ("-Wl,-z,relro,-z,lazy",)),
    "norelro": (PROGRAM, ("-Wl,-z,norelro,-z,lazy",)),
    "noexecstack": (PROGRAM, ("-Wl,-z,noexecstack",)),
    "execstack": (PROGRAM, ("-Wl,-z,execstack",)),
    "ssp": (PROGRAM, ("-fstack-protector-strong",)),
    "nossp": (PROGRAM, ("-fno-stack-protector",)),
    "fortify": (PROGRAM, ("-D_FORTIFY_SOURCE=2",)),
    "nofortify": (PROGRAM, ("-U_FORTIFY_SOURCE",)),
    "cet.so": (LIBRARY, (*CET_LIBRARY, "-fcf-protection=full")),
    "nocet.so": (LIBRARY, (*CET_LIBRARY, "-fcf-protection=branch")),
    "notextrel.so": (LIBRARY, ("-shared", "-fPIC")),
    "textrel.so": (LIBRARY, ("-shared", "-fno-PIC", "-mcmodel=large", "-Wl,-z,notext")),
    "norwx": (RWX.replace("awx", "ax"), ()),
    "rwx": (RWX, ()),
    "static": (PROGRAM, ("-static", "-fstack-protector-strong")),
    "weak": (PROGRAM, ("-no-pie", "-fno-stack-protector")),
}
# key, its policy value, the build that passes, the build that fails, what the fix names
KEYS = [
    ("pie", "true", "pie", "nopie", "-fPIE -pie"),
    ("relro", "full", "now", "lazy", "-Wl,-z,relro,-z,now"),
    ("relro", "partial", "lazy", "norelro", "-Wl,-z,relro,-z,now"),
    ("bind_now", "true", "now", "lazy", "-z,now"),
    ("nx", "true", "noexecstack", "execstack", "-Wl,-z,noexecstack"),
    ("canary", "true", "ssp", "nossp", "-fstack-protector-strong"),
    ("fortify", "true", "fortify", "nofortify", "-D_FORTIFY_SOURCE=3 -O2"),
    ("cet", "true", "cet.so", "nocet.so", "-fcf-protection"),
    ("textrel", "false", "notextrel.so", "textrel.so", "-fPIC"),
    ("rwx", "false", "norwx", "rwx", "writable and executable"),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    require_tool("gcc")
    directory = tmp_path_factory.mktemp("rules-hardening")
    paths = {}
    for name, (source, flags) in BUILDS.items():
        src = directory / f"{name}.c"
        src.write_text(source)
        out = directory / name
        subprocess.run(["gcc", *BASE, *flags, "-o", str(out), str(src)], check=True, capture_output=True)
        paths[name] = out
    return paths


def policy(directory: Path, body: str) -> str:
    path = directory / "policy.yml"
    path.write_text(f"rules:\n  hardening: {body}\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("case", KEYS, ids=[f"{k[0]}-{k[1]}" for k in KEYS])
def test_each_key_on_and_off(built: dict[str, Path], tmp_path: Path, case: tuple[str, str, str, str, str]) -> None:
    key, value, good, bad, fix = case
    rules = policy(tmp_path, f"{{{key}: {value}}}")
    passed = run_linkgate("check", "--policy", rules, str(built[good]))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    failed = run_linkgate("check", "--policy", rules, str(built[bad]))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f"error: [hardening] {key}: " in failed.stdout
    assert fix in failed.stdout


def test_each_failing_key_is_its_own_finding(built: dict[str, Path]) -> None:
    result = run_linkgate("check", "--policy", "hardened", "--format", "json", str(built["weak"]))
    assert result.returncode == 1
    subjects = {f["subject"] for f in json.loads(result.stdout)["findings"]}
    assert subjects == {"pie", "relro", "bind_now", "canary", "fortify"}


def test_false_and_absent_keys_are_not_judged(built: dict[str, Path], tmp_path: Path) -> None:
    rules = policy(tmp_path, "{pie: false, canary: false, textrel: true, rwx: true, relro: false}")
    assert run_linkgate("check", "--policy", rules, str(built["weak"]), str(built["rwx"])).returncode == 0


def test_shared_libraries_are_not_judged_for_pie(built: dict[str, Path], tmp_path: Path) -> None:
    result = run_linkgate("check", "--policy", policy(tmp_path, "{pie: true}"), str(built["notextrel.so"]))
    assert result.returncode == 0, result.stdout


def test_unknown_fact_is_a_note(built: dict[str, Path], tmp_path: Path) -> None:
    """A stripped static program: its canary can't be known, nor can any static program's fortify."""
    stripped = tmp_path / "static-stripped"
    stripped.write_bytes(binaries.strip_to_segments(built["static"].read_bytes()))
    rules = policy(tmp_path, "{canary: true, fortify: true}")
    result = run_linkgate("check", "--policy", rules, str(stripped))
    assert result.returncode == 0, result.stdout
    assert "note: [hardening] canary: cannot be determined" in result.stdout
    assert "note: [hardening] fortify: cannot be determined" in result.stdout
    # With its .symtab the canary is known (and present).
    assert "canary" not in run_linkgate("check", "--policy", rules, str(built["static"])).stdout


def debian_build(directory: Path) -> Path:
    """PROGRAM built with the flags Debian packages get (`hardening=+all`)."""
    require_tool("dpkg-buildflags")
    env = {**os.environ, "DEB_BUILD_MAINT_OPTIONS": "hardening=+all"}
    flags = [
        word
        for kind in ("CFLAGS", "CPPFLAGS", "LDFLAGS")
        for word in shlex.split(
            subprocess.run(
                ["dpkg-buildflags", "--get", kind], check=True, env=env, capture_output=True, text=True
            ).stdout
        )
    ]
    src = directory / "debian.c"
    src.write_text(PROGRAM)
    out = directory / "debian"
    subprocess.run(["gcc", *flags, "-o", str(out), str(src)], check=True, capture_output=True)
    return out


def test_hardened_preset(built: dict[str, Path], tmp_path: Path) -> None:
    debian = debian_build(tmp_path)
    passed = run_linkgate("check", "--policy", "hardened", str(debian))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    failed = run_linkgate("check", "--policy", "hardened", str(built["weak"]))
    assert failed.returncode == 1
    for text in ("pie: ", "canary: ", "-fPIE -pie", "-fstack-protector-strong"):
        assert text in failed.stdout


def test_go_program_gets_go_flags(go_binaries: dict[str, Path], tmp_path: Path) -> None:
    rules = policy(tmp_path, "{pie: true, relro: full, canary: true, fortify: true}")
    result = run_linkgate("check", "--policy", rules, str(go_binaries["go-pure"]))
    assert result.returncode == 1
    assert "go build -buildmode=pie" in result.stdout and "-linkmode=external" in result.stdout
    # A Go program without cgo has no C code to protect or fortify.
    assert "canary" not in result.stdout and "fortify" not in result.stdout


def test_facts_are_read_only_when_the_rule_is_configured(tmp_path: Path) -> None:
    """A broken DT_SYMTAB only matters to the hardening facts: without the rule, nothing reads it."""
    names = {
        p: [r.__name__ for r in fact_readers(load_policy(p, tmp_path).rules_for("a"))] for p in ("default", "hardened")
    }
    # The default preset's floor rules (max-isa, min-kernel) read a Go-linked file's build info up front.
    assert names == {"default": ["_with_static_glibc", "with_go_build_info"], "hardened": ["_with_hardening"]}
    require_tool("musl-gcc")
    src = tmp_path / "musl.c"
    src.write_text(PROGRAM)
    program = tmp_path / "musl"
    subprocess.run(["musl-gcc", "-O2", "-o", str(program), str(src)], check=True, capture_output=True)
    # musl has no symbol versions, so the reader never reads DT_SYMTAB: only hardening does.
    data = program.read_bytes()
    symtab = next(value for _, tag, value in binaries.dynamic_entries(data) if tag == DT_SYMTAB)
    broken = tmp_path / "broken"
    broken.write_bytes(binaries.with_dynamic_value(data, DT_SYMTAB, symtab + (1 << 40)))
    other = tmp_path / "other.yml"
    other.write_text("rules:\n  linkage: any\n", encoding="utf-8")
    assert run_linkgate("check", "--policy", str(other), str(broken)).returncode == 0
    failed = run_linkgate("check", "--policy", policy(tmp_path, "{pie: true}"), str(broken))
    assert failed.returncode == 1 and "[elf-format]" in failed.stdout, failed.stdout
    assert "Traceback" not in failed.stderr


DT_SYMTAB = 6


def test_unknown_key_is_a_policy_error(built: dict[str, Path], tmp_path: Path) -> None:
    result = run_linkgate("check", "--policy", policy(tmp_path, "{pei: true}"), str(built["pie"]))
    assert result.returncode == 2
    assert "rules.hardening" in result.stderr and "pie" in result.stderr


def test_packed_program_is_judged_by_its_payload(tmp_path: Path) -> None:
    source: Path = available(lambda: build_input("gcc-nopie"))
    packed: Path = available(lambda: pack(available(lambda: packer("upx-4.2.4")), "default", source))
    result = run_linkgate("check", "--policy", policy(tmp_path, "{pie: true, relro: partial}"), str(packed))
    assert result.returncode == 1
    # The payload is no PIE; the stub has no PT_GNU_RELRO, the payload has: only pie fails.
    assert "pie: " in result.stdout and "relro" not in result.stdout
