"""`linkgate diff OLD NEW` on real builds: the same program built two ways, compared as a user feels it.

Go with cgo on and off, musl static against glibc dynamic, packed with a real UPX against not,
C pinned with zig to glibc 2.17 against 2.34, and directory trees. Real binaries, real CLI process.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from linkgate.diff.catalogue import DIFF_RULES
from linkgate.elf.reader import parse_elf
from tests.conftest import run_linkgate
from tests.helpers.build_trees import tree
from tests.helpers.report_checks import assert_valid_code_quality, assert_valid_junit, assert_valid_sarif
from tests.helpers.upx_tools import Packer, PackerUnavailableError, available
from tests.helpers.upx_tools import packer as get_packer

Built = Callable[[str], Path]
HERMETIC = {"LINKGATE_NO_CACHE": "1"}


def diff(*args: str, cwd: Path, output: str = "json") -> subprocess.CompletedProcess[str]:
    return run_linkgate("diff", "--format", output, *args, cwd=cwd, env=HERMETIC)


def findings(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert result.returncode in (0, 1), result.stderr
    found: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
    return found


def by_rule(result: subprocess.CompletedProcess[str], rule: str) -> list[dict[str, Any]]:
    return [f for f in findings(result) if f["rule"] == rule]


def failing(result: subprocess.CompletedProcess[str]) -> set[tuple[str, str]]:
    """(rule, subject) of every finding that fails the run."""
    return {(f["rule"], f["subject"]) for f in findings(result) if f["fails"]}


def policy(tmp_path: Path, text: str) -> str:
    path = tmp_path / "diff-policy.yml"
    path.write_text(text)
    return str(path)


@pytest.fixture(scope="module")
def upx424() -> Packer:
    found: Packer = available(lambda: get_packer("upx-4.2.4"))
    return found


def pack(packer: Packer, source: Path, out: Path) -> Path:
    """`source` packed with UPX's default method (no cache: the input is whatever was just built)."""
    result = packer.run("-q", "-o", str(out), str(source))
    if result.returncode != 0:
        available(lambda: (_ for _ in ()).throw(PackerUnavailableError(f"{packer.name}: {result.stderr[-500:]}")))
    return out


@pytest.fixture(scope="module")
def packed_cgo(upx424: Packer, go_binaries: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pack(upx424, go_binaries["go-cgo"], tmp_path_factory.mktemp("upx") / "app")


# --- the done-when: the seed's two builds ----------------------------------------------------


def test_seed_musl_static_to_packed_glibc_cgo_fails_naming_linkage_floor_symbol_and_upx(
    go_binaries: dict[str, Path], packed_cgo: Path, tmp_path: Path
) -> None:
    tree(tmp_path / "old", {"app": go_binaries["go-cgo-musl-static"]})
    tree(tmp_path / "new", {"app": packed_cgo})
    result = diff("old", "new", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert {("diff-linkage", "linkage"), ("diff-floor", "GLIBC"), ("diff-upx", "upx")} <= failing(result)
    (linkage,) = by_rule(result, "diff-linkage")
    assert linkage["message"].startswith("static -> dynamic")
    (glibc,) = [f for f in by_rule(result, "diff-floor") if f["subject"] == "GLIBC"]
    assert "GLIBC floor none -> 2.34" in glibc["message"]
    assert "GLIBC_2.34" in glibc["message"]
    assert glibc["symbols"][0] == "__libc_start_main"  # the culprit that explains it comes first
    (upx,) = by_rule(result, "diff-upx")
    assert upx["message"].startswith("newly UPX-packed (UPX 4.2.4")
    # The cause, as the build info tells it: the musl tag was dropped.
    assert any(f["subject"] == "-tags" and "'musl' -> none" in f["message"] for f in by_rule(result, "diff-go"))
    # Most severe first: every failing finding before any note.
    fails = [f["fails"] for f in findings(result)]
    assert fails == sorted(fails, reverse=True)
    text = diff("old", "new", cwd=tmp_path, output="text")
    assert text.returncode == 1
    assert "__libc_start_main" in text.stdout
    assert "linkgate diff (policy default): worse: 1 of 1 ELF artifact(s)" in text.stderr


def test_identical_builds_exit_0_with_nothing_to_say(
    go_binaries: dict[str, Path], packed_cgo: Path, tmp_path: Path
) -> None:
    files = {"bin/app": packed_cgo, "bin/static": go_binaries["go-cgo-musl-static"]}
    tree(tmp_path / "old", files)
    tree(tmp_path / "new", files)
    result = diff("old", "new", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert findings(result) == []
    assert json.loads(result.stdout)["artifacts"] == 2


# --- Go: cgo on and off ----------------------------------------------------------------------


def test_cgo_newly_enabled_fails_and_names_the_fix(go119: dict[str, Path], tmp_path: Path) -> None:
    result = diff(str(go119["go119-kafka-pure"]), str(go119["go119-kafka-cgo"]), cwd=tmp_path)
    assert result.returncode == 1
    assert {("diff-go", "cgo"), ("diff-linkage", "linkage"), ("diff-floor", "GLIBC")} <= failing(result)
    (cgo,) = [f for f in by_rule(result, "diff-go") if f["subject"] == "cgo"]
    assert "CGO_ENABLED 0 -> 1" in cgo["message"]
    assert "CGO_ENABLED=0" in cgo["hint"]


def test_cgo_disabled_is_an_improvement_exit_0(go119: dict[str, Path], tmp_path: Path) -> None:
    result = diff(str(go119["go119-kafka-cgo"]), str(go119["go119-kafka-pure"]), cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert failing(result) == set()
    notes = {(f["rule"], f["subject"]) for f in findings(result)}
    assert {("diff-go", "cgo"), ("diff-linkage", "linkage"), ("diff-targets", "targets-gained")} <= notes


# --- musl static vs glibc dynamic ------------------------------------------------------------


def test_musl_static_to_glibc_dynamic_loses_targets(built: Built, tmp_path: Path) -> None:
    result = diff(str(built("musl-static")), str(built("gcc-pie")), cwd=tmp_path)
    assert result.returncode == 1
    assert {("diff-linkage", "linkage"), ("diff-needed", "libc.so.6"), ("diff-targets", "targets")} <= failing(result)
    (lost,) = by_rule(result, "diff-targets")
    # A static musl program runs on Alpine and on RHEL 7; a glibc 2.34 one on neither.
    assert lost["message"].startswith("ran on ")
    assert "rhel-7" in lost["message"]
    assert "lacks GLIBC_2.34" in lost["message"]


def test_musl_dynamic_to_glibc_dynamic_changes_interpreter_and_libc(built: Built, tmp_path: Path) -> None:
    result = diff(str(built("musl-dynamic")), str(built("gcc-pie")), cwd=tmp_path)
    assert result.returncode == 1
    assert {("diff-linkage", "interpreter"), ("diff-linkage", "libc")} <= failing(result)
    messages = {f["subject"]: f["message"] for f in by_rule(result, "diff-linkage")}
    assert messages["interpreter"] == "interpreter /lib/ld-musl-x86_64.so.1 -> /lib64/ld-linux-x86-64.so.2"
    assert messages["libc"].startswith("C library musl -> glibc")


# --- packed vs not ---------------------------------------------------------------------------


def test_newly_packed_same_program_fails_only_on_upx(
    go_binaries: dict[str, Path], packed_cgo: Path, tmp_path: Path
) -> None:
    result = diff(str(go_binaries["go-cgo"]), str(packed_cgo), cwd=tmp_path)
    assert result.returncode == 1
    assert failing(result) == {("diff-upx", "upx")}
    (upx,) = by_rule(result, "diff-upx")
    assert "its payload loads like the old build" in upx["message"]


def test_packed_with_another_payload_says_the_payload_changed(
    go_binaries: dict[str, Path], packed_cgo: Path, tmp_path: Path
) -> None:
    result = diff(str(go_binaries["go-pure"]), str(packed_cgo), cwd=tmp_path)
    (upx,) = by_rule(result, "diff-upx")
    assert "its payload changed too" in upx["message"]
    # Judged by the payload: the stub looks static, the program is dynamic.
    assert ("diff-linkage", "linkage") in failing(result)


def test_ignore_makes_a_change_a_note(go_binaries: dict[str, Path], packed_cgo: Path, tmp_path: Path) -> None:
    path = policy(tmp_path, "diff:\n  ignore: [upx-packed]\n")
    result = diff("--policy", path, str(go_binaries["go-cgo"]), str(packed_cgo), cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    (upx,) = by_rule(result, "diff-upx")
    assert upx["severity"] == "note"
    assert "[not failing: diff.ignore lists upx-packed]" in upx["message"]


def test_a_packed_file_whose_payload_cannot_be_read_fails_closed(packed_cgo: Path, tmp_path: Path) -> None:
    """Still packed, but the payload's proof is gone: its stub looks static, which must not read as a fix."""
    data = bytearray(packed_cgo.read_bytes())
    evidence = parse_elf(bytes(data)).upx
    assert evidence is not None and evidence.tier == 1
    l_info = int(evidence.evidence.split(" at ")[1].split()[0], 16)
    data[l_info + 12 : l_info + 64] = bytes(52)  # p_info and the first block header, as tests/rules/test_target.py
    broken = tmp_path / "app"
    broken.write_bytes(bytes(data))
    assert parse_elf(bytes(data)).payload is None
    result = diff(str(packed_cgo), str(broken), cwd=tmp_path)
    assert result.returncode == 1
    assert failing(result) == {("diff-upx", "payload")}
    assert by_rule(result, "diff-linkage") == []  # nothing compared against the stub


# --- C pinned to glibc 2.17 and 2.34 ---------------------------------------------------------


def test_zig_glibc_2_17_to_2_34_floor_rise_names_the_symbols(built: Built, tmp_path: Path) -> None:
    old, new = str(built("zig-x86_64-glibc2.17")), str(built("zig-x86_64-glibc2.34"))
    result = diff(old, new, cwd=tmp_path)
    assert result.returncode == 1
    (glibc,) = [f for f in by_rule(result, "diff-floor") if f["subject"] == "GLIBC"]
    # Pinned to 2.17, the old build's newest need is memcpy@GLIBC_2.14: that is its floor.
    assert glibc["message"].startswith("GLIBC floor 2.14 -> 2.34 (needs GLIBC_2.34 from libc.so.6): __libc_start_main")
    assert glibc["fails"]
    # Only symbols above the old floor raised it: memcpy@GLIBC_2.14, still needed, is not named.
    assert "memcpy" not in glibc["symbols"]
    assert {"__libc_start_main", "stat64", "fcntl64"} <= set(glibc["symbols"])
    (lost,) = by_rule(result, "diff-targets")
    assert "rhel-8" in lost["message"] and "rhel-9" not in lost["message"]


@pytest.mark.parametrize(("allowed", "code"), [("2.34", 0), ("2.28", 1)])
def test_allow_floor_lets_the_floor_rise_up_to_the_limit(built: Built, tmp_path: Path, allowed: str, code: int) -> None:
    text = f'diff:\n  allow-floor: {{GLIBC: "{allowed}"}}\n  ignore: [targets-lost]\n'
    old, new = str(built("zig-x86_64-glibc2.17")), str(built("zig-x86_64-glibc2.34"))
    result = diff("--policy", policy(tmp_path, text), old, new, cwd=tmp_path)
    assert result.returncode == code, result.stdout
    (glibc,) = [f for f in by_rule(result, "diff-floor") if f["subject"] == "GLIBC"]
    assert ("within diff.allow-floor 2.34" in glibc["message"]) == (code == 0)


def test_diff_targets_limits_the_profiles_judged(built: Built, tmp_path: Path) -> None:
    text = "diff:\n  targets: [rhel-9, debian-12]\n"
    old, new = str(built("zig-x86_64-glibc2.17")), str(built("zig-x86_64-glibc2.34"))
    result = diff("--policy", policy(tmp_path, text), old, new, cwd=tmp_path)
    assert by_rule(result, "diff-targets") == []  # both still run it


# --- directories, pairing, search paths ------------------------------------------------------


def test_directory_pairs_by_relative_path(built: Built, tmp_path: Path) -> None:
    tree(tmp_path / "old", {"bin/app": built("gcc-runpath"), "bin/gone": built("gcc-pie"), "README": Path(__file__)})
    tree(tmp_path / "new", {"bin/app": built("gcc-rpath"), "bin/extra": built("gcc-static")})
    result = diff("old", "new", cwd=tmp_path)
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["skipped"] == 1
    assert {("diff-search-path", "RPATH"), ("diff-search-path", "RUNPATH"), ("diff-artifacts", "removed")} <= failing(
        result
    )
    paths = {(f["rule"], f["subject"]): f["path"] for f in findings(result)}
    assert paths[("diff-artifacts", "removed")] == "old/bin/gone"
    assert paths[("diff-artifacts", "added")] == "new/bin/extra"
    assert paths[("diff-search-path", "RPATH")] == "new/bin/app"
    messages = {f["subject"]: f["message"] for f in by_rule(result, "diff-search-path")}
    assert messages == {"RPATH": "RPATH none -> /opt/x", "RUNPATH": "RUNPATH $ORIGIN/../lib -> none"}


def test_pair_compares_a_renamed_binary(built: Built, tmp_path: Path) -> None:
    tree(tmp_path / "old", {"bin/app-1.0": built("zig-x86_64-glibc2.17")})
    tree(tmp_path / "new", {"bin/app-1.1": built("zig-x86_64-glibc2.34")})
    unpaired = diff("old", "new", cwd=tmp_path)
    # Removed, and the new one judged against the old release: its floor and lost targets fail too.
    assert {rule for rule, _s in failing(unpaired)} == {"diff-artifacts", "diff-floor", "diff-targets"}
    paired = diff("--pair", "bin/app-1.0=bin/app-1.1", "old", "new", cwd=tmp_path)
    assert ("diff-floor", "GLIBC") in failing(paired)
    assert by_rule(paired, "diff-artifacts") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--pair", "bin/nope=bin/app", "old", "new"), "--pair: bin/nope is not an ELF file of OLD"),
        (("--pair", "bin/app", "old", "new"), "write OLD_PATH=NEW_PATH"),
        (("old", "missing"), "no such file or directory: missing"),
    ],
)
def test_what_cannot_be_compared_exits_2(built: Built, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    tree(tmp_path / "old", {"bin/app": built("gcc-pie")})
    tree(tmp_path / "new", {"bin/app": built("gcc-pie")})
    result = diff(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreadable_new_file_fails_closed(built: Built, tmp_path: Path) -> None:
    source = built("gcc-pie")
    tree(tmp_path / "old", {"app": source})
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "app").write_bytes(source.read_bytes()[:200])  # the ELF header, then nothing
    result = diff("old", "new", cwd=tmp_path)
    assert result.returncode == 1
    assert failing(result) == {("elf-format", "unreadable")}


def test_a_bad_diff_key_is_a_policy_error(built: Built, tmp_path: Path) -> None:
    path = policy(tmp_path, "diff:\n  ignore: [needed-add]\n")
    result = diff("--policy", path, str(built("gcc-pie")), str(built("gcc-pie")), cwd=tmp_path)
    assert result.returncode == 2
    assert "diff-policy.yml:2: diff.ignore.0: unknown change 'needed-add'" in result.stderr


# --- every format renders a diff -------------------------------------------------------------


def test_every_format_renders_the_diff(built: Built, tmp_path: Path) -> None:
    # Inside the working directory, so paths are workspace-relative as CI formats require.
    tree(tmp_path / "old", {"app": built("zig-x86_64-glibc2.17")})
    tree(tmp_path / "new", {"app": built("zig-x86_64-glibc2.34")})
    old, new = "old", "new"
    sarif = json.loads(diff(old, new, cwd=tmp_path, output="sarif").stdout)
    driver = sarif["runs"][0]["tool"]["driver"]
    assert [rule["id"] for rule in driver["rules"]] == ["elf-format", *(rule.id for rule in DIFF_RULES)]
    results = sarif["runs"][0]["results"]
    assert all(driver["rules"][r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    assert_valid_sarif(sarif)
    assert_valid_code_quality(json.loads(diff(old, new, cwd=tmp_path, output="gitlab").stdout))
    junit = diff(old, new, cwd=tmp_path, output="junit").stdout
    assert_valid_junit(junit)
    assert 'name="diff-floor"' in junit and "<failure" in junit
    github = diff(old, new, cwd=tmp_path, output="github").stdout
    assert "::error " in github and "GLIBC floor 2.14 -> 2.34" in github


def test_explain_documents_the_diff_rules() -> None:
    listing = run_linkgate("explain").stdout
    assert all(rule.id in listing for rule in DIFF_RULES)
    result = run_linkgate("explain", "diff-floor")
    assert result.returncode == 0
    assert "allow-floor" in result.stdout


def test_a_new_file_is_judged_with_the_release_as_a_whole(built: Built, tmp_path: Path) -> None:
    """Issue 21: a new glibc helper beside an unchanged static program was "nothing got worse"."""
    tree(tmp_path / "old", {"bin/app": built("musl-static")})
    tree(tmp_path / "new", {"bin/app": built("musl-static"), "bin/helper": built("gcc-pie")})
    result = diff("old", "new", cwd=tmp_path)
    assert result.returncode == 1, result.stdout
    assert {("diff-artifacts", "policy"), ("diff-floor", "GLIBC"), ("diff-targets", "targets")} <= failing(result)
    messages = {f["rule"]: f["message"] for f in findings(result) if f["fails"]}
    assert messages["diff-artifacts"].startswith("new file fails policy default: [max-glibc] needs GLIBC_2.")
    assert messages["diff-floor"].startswith("new file raises the release's GLIBC floor none -> 2.")
    assert "ran on debian-11" in messages["diff-targets"] and "this new file does not" in messages["diff-targets"]
    assert all(f["path"] == "new/bin/helper" for f in findings(result) if f["fails"])


def test_a_new_file_that_keeps_the_release_as_it_was_is_a_note(built: Built, tmp_path: Path) -> None:
    tree(tmp_path / "old", {"bin/app": built("gcc-pie")})
    tree(tmp_path / "new", {"bin/app": built("gcc-pie"), "bin/app-copy": built("gcc-pie")})
    allowing = policy(tmp_path, 'rules:\n  max-glibc: "2.99"\n')
    result = diff("--policy", allowing, "old", "new", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert [f["subject"] for f in findings(result)] == ["added"]


def test_what_a_new_file_does_to_the_release_can_be_tolerated(built: Built, tmp_path: Path) -> None:
    tree(tmp_path / "old", {"bin/app": built("musl-static")})
    tree(tmp_path / "new", {"bin/app": built("musl-static"), "bin/helper": built("gcc-pie")})
    text = 'rules:\n  max-glibc: "2.99"\ndiff:\n  allow-floor: {GLIBC: "2.99"}\n  ignore: [targets-lost]\n'
    result = diff("--policy", policy(tmp_path, text), "old", "new", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert failing(result) == set()
