"""The CLI contract: exit codes, JSON shapes, bad input failing closed (real gcc binaries)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_linkgate
from tests.helpers import REPO, require_tool

HELLO = '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n'


def gcc(build_dir: Path, name: str, *flags: str) -> Path:
    require_tool("gcc")
    out = build_dir / "cli" / name
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        source = out.parent / "hello.c"
        source.write_text(HELLO)
        subprocess.run(["gcc", "-O1", *flags, "-o", str(out), str(source)], check=True)
    return out


@pytest.fixture(scope="module")
def dynamic_bin(build_dir: Path) -> Path:
    return gcc(build_dir, "hello-dynamic")


@pytest.fixture(scope="module")
def static_bin(build_dir: Path) -> Path:
    return gcc(build_dir, "hello-static", "-static")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_linkgate(*args, cwd=cwd)


def policy_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "policy.yml"
    path.write_text(text)
    return str(path)


def test_dynamic_binary_over_limit_exits_1_naming_version_and_symbol(tmp_path: Path, dynamic_bin: Path) -> None:
    result = run("check", "--policy", policy_file(tmp_path, 'rules:\n  max-glibc: "2.31"\n'), str(dynamic_bin))
    assert result.returncode == 1, result.stderr
    assert "GLIBC_2.34 (max 2.31)" in result.stdout
    assert "__libc_start_main" in result.stdout
    assert "fix:" in result.stdout


def test_within_limit_exits_0_quietly(tmp_path: Path, dynamic_bin: Path) -> None:
    result = run("check", "--policy", policy_file(tmp_path, 'rules:\n  max-glibc: "2.36"\n'), str(dynamic_bin))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "0 error(s)" in result.stderr


def test_static_preset(dynamic_bin: Path, static_bin: Path) -> None:
    assert run("check", "--policy", "static", str(static_bin)).returncode == 0
    failing = run("check", "--policy", "static", str(dynamic_bin))
    assert failing.returncode == 1
    assert "[linkage]" in failing.stdout


def test_json_findings_have_the_documented_keys(dynamic_bin: Path) -> None:
    result = run("check", "--format", "json", "--policy", "manylinux2014", str(dynamic_bin))
    assert result.returncode == 1
    document = json.loads(result.stdout)
    finding = document["findings"][0]
    for key in ("rule", "path", "severity", "subject", "message", "fingerprint"):
        assert key in finding
    # Paths are shown relative to the working directory (the CI workspace) when inside it.
    assert Path(finding["path"]).resolve() == dynamic_bin.resolve()
    assert {f["subject"] for f in document["findings"]} >= {"GLIBC_2.34"}
    fingerprints = [f["fingerprint"] for f in document["findings"]]
    assert len(fingerprints) == len(set(fingerprints))


def test_inspect_json_keys_and_values(dynamic_bin: Path, static_bin: Path) -> None:
    result = run("inspect", "--format", "json", str(dynamic_bin), str(static_bin))
    assert result.returncode == 0, result.stderr
    dynamic, static = json.loads(result.stdout)
    for key in ("path", "needed", "interpreter", "soname", "rpath", "runpath", "version_needs", "linkage", "machine"):
        assert key in dynamic
    assert dynamic["path"] == str(dynamic_bin)
    assert dynamic["needed"] == ["libc.so.6"]
    assert dynamic["interpreter"] == "/lib64/ld-linux-x86-64.so.2"
    assert "GLIBC_2.34" in dynamic["version_needs"]["libc.so.6"]
    assert dynamic["linkage"] == "dynamic"
    assert dynamic["machine"] == "x86_64"
    assert dynamic["upx"] is None
    assert static["linkage"] == "static"
    assert static["needed"] == []


def test_missing_path_exits_2(tmp_path: Path) -> None:
    result = run("check", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert "no such file" in result.stderr


def test_invalid_policy_exits_2_with_location(tmp_path: Path, dynamic_bin: Path) -> None:
    policy = policy_file(tmp_path, "rules:\n  max-glibc: 2.x\n")
    result = run("check", "--policy", policy, str(dynamic_bin))
    assert result.returncode == 2
    assert f"{policy}:2: rules.max-glibc" in result.stderr


@pytest.mark.parametrize("policy", ["default", "static"])  # a report that fails and one that passes
def test_a_report_that_cannot_be_written_fails_the_run(policy: str, dynamic_bin: Path) -> None:
    """The process ends without tearing the interpreter down (linkgate.cli.run): the report it could
    not deliver to stdout (here /dev/full, ENOSPC) must still end the run with exit 2, not a pass."""
    with open("/dev/full", "w") as full:
        command = [sys.executable, "-m", "linkgate", "check", "--policy", policy, "--format", "json", str(dynamic_bin)]
        result = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True, cwd=REPO, check=False)
    assert result.returncode == 2, result.stderr


def test_bad_arguments_exit_2() -> None:
    assert run("check").returncode == 2
    assert run("check", "--format", "xml", "x").returncode == 2


def test_directory_recursion_skips_and_counts_non_elf(tmp_path: Path, static_bin: Path) -> None:
    tree = tmp_path / "dist" / "bin"
    tree.mkdir(parents=True)
    (tree / "tool").write_bytes(static_bin.read_bytes())
    (tree / "README").write_text("not an ELF file")
    (tmp_path / "dist" / "empty").write_bytes(b"")
    result = run("check", "--policy", "static", str(tmp_path / "dist"))
    assert result.returncode == 0, result.stdout
    assert "1 ELF artifact(s)" in result.stderr
    assert "2 non-ELF file(s) skipped" in result.stderr


def test_truncated_elf_is_an_error_finding_not_a_traceback(tmp_path: Path, dynamic_bin: Path) -> None:
    data = dynamic_bin.read_bytes()
    for cut in (8, 63, 200, len(data) // 3):
        broken = tmp_path / f"cut-{cut}"
        broken.write_bytes(data[:cut])
        result = run("check", "--policy", "static", str(broken))
        assert result.returncode == 1, (cut, result.stderr)
        assert "[elf-format]" in result.stdout
        assert "Traceback" not in result.stderr


def test_artifact_is_opened_read_only(tmp_path: Path, dynamic_bin: Path) -> None:
    target = tmp_path / "ro"
    target.write_bytes(dynamic_bin.read_bytes())
    target.chmod(0o444)
    before = (target.read_bytes(), target.stat().st_mtime_ns)
    assert run("check", str(target)).returncode == 1
    assert run("inspect", str(target)).returncode == 0
    assert (target.read_bytes(), target.stat().st_mtime_ns) == before


def test_policy_found_upward_from_working_directory(tmp_path: Path, dynamic_bin: Path) -> None:
    (tmp_path / "linkgate.yml").write_text('rules:\n  max-glibc: "2.40"\n')
    work = tmp_path / "sub"
    work.mkdir()
    assert run("check", str(dynamic_bin), cwd=work).returncode == 0
    (tmp_path / "linkgate.yml").write_text('rules:\n  max-glibc: "2.17"\n')
    assert run("check", str(dynamic_bin), cwd=work).returncode == 1


def test_waiver_turns_error_into_pass(tmp_path: Path, dynamic_bin: Path) -> None:
    text = (
        'rules:\n  max-glibc: "2.31"\n'
        "waivers:\n  - {rule: max-glibc, subject: 'GLIBC_2.3*', reason: tracked in TICKET-1}\n"
    )
    result = run("check", "--policy", policy_file(tmp_path, text), str(dynamic_bin))
    assert result.returncode == 0, result.stdout
    assert "waived" in result.stderr


def test_expired_waiver_does_not_apply(tmp_path: Path, dynamic_bin: Path) -> None:
    text = 'rules:\n  max-glibc: "2.31"\nwaivers:\n  - {rule: max-glibc, reason: old, expires: 2020-01-01}\n'
    result = run("check", "--policy", policy_file(tmp_path, text), str(dynamic_bin))
    assert result.returncode == 1
    assert "waiver expired 2020-01-01" in result.stdout


def test_strict_fails_on_warnings(tmp_path: Path, dynamic_bin: Path) -> None:
    text = 'rules:\n  max-glibc: "2.31"\nseverity:\n  max-glibc: warning\n'
    policy = policy_file(tmp_path, text)
    assert run("check", "--policy", policy, str(dynamic_bin)).returncode == 0
    assert run("check", "--strict", "--policy", policy, str(dynamic_bin)).returncode == 1


def test_version_flag() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("linkgate ")


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (["--sarif", "/dev/full"], "/dev/full"),
        (["--junit", "/dev/full"], "/dev/full"),
        (["--gitlab-report", "{tmp}/missing/report.json"], "{tmp}/missing/report.json"),
        (["--write-baseline", "/dev/full"], "/dev/full"),
    ],
)
def test_a_report_that_cannot_be_written_cannot_evaluate(args: list[str], where: str, tmp_path: Path) -> None:
    """Issue 21: was `internal error: OSError`; a CI job must not lose its report silently either."""
    filled = [a.format(tmp=tmp_path) for a in args]
    result = run_linkgate("check", "--policy", "default", *filled, "/usr/bin/true", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"linkgate: cannot write the report to {where.format(tmp=tmp_path)}: " in result.stderr
    assert "internal error" not in result.stderr


@pytest.mark.parametrize("output", ["text", "json"])
def test_standard_output_that_cannot_be_written_cannot_evaluate(output: str, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "linkgate", "check", "--policy", "default", "--format", output, "/usr/bin/true"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            command, stdout=full, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path, check=False
        )
    assert result.returncode == 2, result.stderr
    assert "linkgate: cannot write the report to standard output: No space left on device" in result.stderr
