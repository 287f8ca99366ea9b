"""diff-hardening on real gcc builds: the same program built hardened and not, compared as a user feels it.

readelf is the oracle that each pair of builds really differs in the mitigation the diff names.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_linkgate
from tests.helpers import require_tool

PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A char array: -fstack-protector-strong guards it; strcpy into it is fortifiable. */
int main(int argc, char **argv) {
    char buffer[64];
    strcpy(buffer, argc > 1 ? argv[1] : "linkgate");
    printf("%s\n", buffer);
    return 0;
}
"""
LIBRARY = "int counter;\nint bump(void) { return ++counter; }\n"
# Debian's crt1.o carries no CET property and the linker ANDs it over every object: a library
# linked without start files shows the flag's effect.
CET_LIBRARY = ("-shared", "-fPIC", "-Wl,-soname,libcet.so", "-nostartfiles")
HARDENED = ("-fPIE", "-pie", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2", "-Wl,-z,relro,-z,now",
            "-Wl,-z,noexecstack")  # fmt: skip
WEAK = ("-fno-pie", "-no-pie", "-fno-stack-protector", "-U_FORTIFY_SOURCE", "-Wl,-z,norelro,-z,lazy",
        "-Wl,-z,execstack")  # fmt: skip
BUILDS = {
    "hardened": (PROGRAM, HARDENED),
    "weak": (PROGRAM, WEAK),
    "lazy": (PROGRAM, (*HARDENED[:-2], "-Wl,-z,relro,-z,lazy", "-Wl,-z,noexecstack")),
    "static": (PROGRAM, ("-static", "-fno-stack-protector", "-U_FORTIFY_SOURCE", "-Wl,-z,norelro")),
    "cet-full.so": (LIBRARY, (*CET_LIBRARY, "-fcf-protection=full")),
    "cet-return.so": (LIBRARY, (*CET_LIBRARY, "-fcf-protection=return")),
}
ALL_LOST = {"pie", "relro", "nx", "canary", "fortify"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    gcc = require_tool("gcc")
    directory = tmp_path_factory.mktemp("diff-hardening")
    paths = {}
    for name, (source, flags) in BUILDS.items():
        src = directory / f"{name}.c"
        src.write_text(source)
        paths[name] = directory / name
        command = [gcc, "-O2", "-fcf-protection=none", *flags, "-o", str(paths[name]), str(src)]
        subprocess.run(command, check=True, capture_output=True)
    return paths


def readelf(*args: str) -> str:
    return subprocess.run([require_tool("readelf"), "-W", *args], capture_output=True, text=True, check=True).stdout


def diff(tmp_path: Path, old: Path, new: Path, *policy: str) -> tuple[int, list[dict[str, Any]]]:
    args = ("--policy", *policy) if policy else ()
    result = run_linkgate("diff", "--format", "json", *args, str(old), str(new), cwd=tmp_path,
                          env={"LINKGATE_NO_CACHE": "1"})  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "diff-hardening"]


def test_the_builds_differ_as_readelf_says(built: dict[str, Path]) -> None:
    hardened, weak = str(built["hardened"]), str(built["weak"])
    assert "DYN" in readelf("-h", hardened) and "EXEC" in readelf("-h", weak)
    assert "GNU_RELRO" in readelf("-l", hardened) and "GNU_RELRO" not in readelf("-l", weak)
    assert "BIND_NOW" in readelf("-d", hardened) and "BIND_NOW" not in readelf("-d", str(built["lazy"]))
    assert "RWE" in next(line for line in readelf("-l", weak).splitlines() if "GNU_STACK" in line)
    assert "__stack_chk_fail" in readelf("--dyn-syms", hardened) and "__stack_chk_fail" not in readelf(
        "--dyn-syms", weak
    )
    assert "__strcpy_chk" in readelf("--dyn-syms", hardened) and "_chk" not in readelf("--dyn-syms", weak)
    assert "IBT, SHSTK" in readelf("-n", str(built["cet-full.so"]))
    assert "IBT" not in readelf("-n", str(built["cet-return.so"]))


def test_every_mitigation_lost_is_its_own_failing_finding(built: dict[str, Path], tmp_path: Path) -> None:
    code, found = diff(tmp_path, built["hardened"], built["weak"])
    assert code == 1
    assert {f["subject"] for f in found if f["fails"]} == ALL_LOST
    by_subject = {f["subject"]: f for f in found}
    assert "RELRO full -> none (no PT_GNU_RELRO)" in by_subject["relro"]["message"]
    assert "-fstack-protector-strong" in by_subject["canary"]["hint"]
    assert "-Wl,-z,noexecstack" in by_subject["nx"]["hint"]
    assert "strcpy" in by_subject["fortify"]["symbols"]


def test_mitigations_gained_are_notes(built: dict[str, Path], tmp_path: Path) -> None:
    code, found = diff(tmp_path, built["weak"], built["hardened"])
    assert code == 0
    assert {f["subject"] for f in found} == ALL_LOST
    assert not any(f["fails"] for f in found)


def test_lazy_binding_is_relro_full_to_partial(built: dict[str, Path], tmp_path: Path) -> None:
    code, found = diff(tmp_path, built["hardened"], built["lazy"])
    assert code == 1
    assert [(f["subject"], f["fails"]) for f in found] == [("relro", True)]
    assert found[0]["message"].startswith("RELRO full -> partial")
    assert "-z,now" in found[0]["hint"]


def test_cet_lost_names_what_went(built: dict[str, Path], tmp_path: Path) -> None:
    code, found = diff(tmp_path, built["cet-full.so"], built["cet-return.so"])
    assert code == 1
    assert [(f["subject"], f["message"]) for f in found] == [("cet", "lost CET IBT (no GNU property note marking it)")]


def test_relro_is_not_compared_for_a_static_program(built: dict[str, Path], tmp_path: Path) -> None:
    """Nothing relocates a static program at run time: RELRO has nothing to protect."""
    assert "GNU_RELRO" not in readelf("-l", str(built["static"]))
    code, found = diff(tmp_path, built["hardened"], built["static"])
    assert code == 1
    # Static glibc brings its own __stack_chk_fail (canary kept); fortify a static program cannot tell.
    assert {f["subject"] for f in found} == {"pie"}


def test_identical_builds_say_nothing(built: dict[str, Path], tmp_path: Path) -> None:
    assert diff(tmp_path, built["hardened"], built["hardened"]) == (0, [])


def test_ignore_hardening_lost_makes_the_losses_notes(built: dict[str, Path], tmp_path: Path) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text("diff:\n  ignore: [hardening-lost]\n")
    code, found = diff(tmp_path, built["hardened"], built["weak"], str(policy))
    assert code == 0
    assert {f["subject"] for f in found} == ALL_LOST and not any(f["fails"] for f in found)
    assert all("[not failing: diff.ignore lists hardening-lost]" in f["message"] for f in found)


def test_members_of_archives_are_compared_too(built: dict[str, Path], tmp_path: Path) -> None:
    tar = require_tool("tar")
    archives = []
    for side, name in (("old", "hardened"), ("new", "weak")):
        staging = tmp_path / side / "bin"
        staging.mkdir(parents=True)
        (staging / "app").write_bytes(built[name].read_bytes())
        archives.append(tmp_path / f"{side}.tar.gz")
        subprocess.run([tar, "-C", str(tmp_path / side), "-czf", str(archives[-1]), "bin"], check=True)
    code, found = diff(tmp_path, archives[0], archives[1])
    assert code == 1
    assert {f["subject"] for f in found if f["fails"]} == ALL_LOST
    assert all(f["path"].endswith("!bin/app") for f in found)
