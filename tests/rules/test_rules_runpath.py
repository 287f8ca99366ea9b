"""The runpath rule on programs linked with real -rpath values, as DT_RUNPATH and as DT_RPATH."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool, run_linkgate

SOURCE = "int main(void) { return 0; }\n"
# rpath as linked -> the subject of the finding, or None when it passes
CASES = {
    "$ORIGIN/../lib": None,
    "${ORIGIN}/lib": None,
    "/usr/lib/x86_64-linux-gnu": None,
    "/usr/local/lib": None,
    "/home/ci/build/lib": "/home/ci/build/lib",
    "/build/out/lib": "/build/out/lib",
    "/opt/buildroot/lib": "/opt/buildroot/lib",
    "/tmp/deps": "/tmp/deps",
    "/dev/shm": "/dev/shm",
    "lib": "lib",
    "$ORIGINAL/lib": "$ORIGINAL/lib",
    "/usr/lib/../../home/me": "/usr/lib/../../home/me",
}


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Each rpath linked as RUNPATH (new dtags) and as RPATH (old dtags)."""
    require_tool("gcc")
    directory = tmp_path_factory.mktemp("runpath")
    src = directory / "main.c"
    src.write_text(SOURCE)
    paths = {}
    for index, rpath in enumerate(CASES):
        for tags in ("enable", "disable"):
            out = directory / f"p{index}-{tags}"
            flags = [f"-Wl,-rpath,{rpath}", f"-Wl,--{tags}-new-dtags"]
            subprocess.run(["gcc", *flags, "-o", str(out), str(src)], check=True, capture_output=True)
            paths[rpath, tags] = out
    return paths


def policy(directory: Path, value: str) -> str:
    path = directory / "policy.yml"
    path.write_text(f"rules:\n  runpath: {value}\n", encoding="utf-8")
    return str(path)


def findings(path: Path, rules: str) -> tuple[int, list[dict[str, str]]]:
    result = run_linkgate("check", "--policy", rules, "--format", "json", str(path))
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)["findings"]


@pytest.mark.parametrize("tags", ["enable", "disable"])
@pytest.mark.parametrize("rpath", list(CASES))
def test_entries(programs: dict[tuple[str, str], Path], tmp_path: Path, rpath: str, tags: str) -> None:
    code, found = findings(programs[rpath, tags], policy(tmp_path, "true"))
    subject = CASES[rpath]
    if subject is None:
        assert (code, found) == (0, [])
        return
    assert code == 1
    assert [f["subject"] for f in found] == [subject]
    assert ("RUNPATH" if tags == "enable" else "RPATH") in found[0]["message"]
    assert "$ORIGIN" in found[0]["hint"] and "patchelf --set-rpath" in found[0]["hint"]


def test_world_writable_and_relative_say_why(programs: dict[tuple[str, str], Path], tmp_path: Path) -> None:
    rules = policy(tmp_path, "true")
    assert "world-writable" in findings(programs["/tmp/deps", "enable"], rules)[1][0]["message"]
    assert "working directory" in findings(programs["lib", "enable"], rules)[1][0]["message"]


def test_allow_list_adds_vendor_directories(programs: dict[tuple[str, str], Path], tmp_path: Path) -> None:
    program = programs["/opt/buildroot/lib", "enable"]
    assert findings(program, policy(tmp_path, '{allow: ["/opt/buildroot/*"]}')) == (0, [])
    # The system directories stay accepted; world-writable ones can't be allowed by accident of a glob.
    assert findings(programs["/usr/local/lib", "enable"], policy(tmp_path, '{allow: ["/opt/x"]}')) == (0, [])
    assert findings(programs["/tmp/deps", "enable"], policy(tmp_path, '{allow: ["/tmp/*"]}'))[0] == 1


def test_false_turns_it_off_and_bad_shapes_are_policy_errors(
    programs: dict[tuple[str, str], Path], tmp_path: Path
) -> None:
    program = programs["/home/ci/build/lib", "enable"]
    assert findings(program, policy(tmp_path, "false")) == (0, [])
    for bad in ("{allw: []}", "3"):
        result = run_linkgate("check", "--policy", policy(tmp_path, bad), str(program))
        assert result.returncode == 2 and "rules.runpath" in result.stderr
