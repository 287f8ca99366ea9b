"""`check` reads a file's Go build info only when some rule finds something in it.

Go facts explain findings (hints name a program's modules) or relax them (a Go program without
cgo has no C code to harden); a rule must never need them to find something, or deferring the
read would pass what it should fail. Every configurable rule, set strictly, is run over real Go
binaries both ways: deferred (as `check` runs) and with the build info read up front.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from linkgate.check import scan
from linkgate.check.discover import Candidate
from linkgate.elf.facts import ElfFacts
from linkgate.elf.image import Buffer
from linkgate.elf.reader import GoReader, SymbolSelection, parse_elf
from linkgate.policy.loader import load_policy
from linkgate.rules import POLICY_RULES

TODAY = datetime.date(2027, 1, 15)
# Strict settings of every configurable rule: a rule added to the catalogue must be added here.
SETTINGS: dict[str, tuple[str, ...]] = {
    "target": ("debian-11",),
    "max-glibc": ('"2.2.5"',),
    "max-versions": ('{GLIBCXX: "3.4", CXXABI: "1.3", GCC: "3.0"}',),
    "allowed-needed": ("[libnothing.so.0]",),
    "forbidden-needed": ("[libc.so.6, libpthread.so.0, libresolv.so.2]",),
    "forbid-upx": ("true",),
    "linkage": ("static", "dynamic"),
    "interpreters": ("[/nonexistent/ld.so]",),
    "architectures": ("[aarch64]",),
    "static-glibc": ("true",),
    "runpath": ("true", "{allow: []}"),
    "hardening": (
        "{pie: true, relro: full, bind_now: true, nx: true, canary: true, fortify: true, cet: true,"
        " textrel: false, rwx: false}",
    ),
    "max-isa": ("x86-64-baseline",),
    "min-kernel": ('"2.6.0"',),
    "page-size": ("65536",),
    "android-api": ("36",),
    "android-linker": ("36",),
    "android-page-size": ("65536",),
}
CASES = [(rule, setting) for rule, settings in SETTINGS.items() for setting in settings]


def _read_up_front(data: Buffer, want_symbols: SymbolSelection = None) -> tuple[ElfFacts, GoReader | None]:
    return parse_elf(data, want_symbols), None


def test_every_configurable_rule_is_covered() -> None:
    assert set(SETTINGS) == {rule.id for rule in POLICY_RULES}


@pytest.mark.parametrize(("rule", "setting"), CASES, ids=[f"{r}={s[:20]}" for r, s in CASES])
def test_deferring_go_build_info_changes_no_finding(
    go119: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rule: str, setting: str
) -> None:
    policy_file = tmp_path / "linkgate.yml"
    policy_file.write_text(f"rules:\n  {rule}: {setting}\n", encoding="utf-8")
    options = scan.ScanOptions(load_policy(str(policy_file), tmp_path), TODAY)
    candidates = [Candidate(name, str(path)) for name, path in sorted(go119.items())]
    deferred = list(scan.check_each(candidates, options))
    monkeypatch.setattr(scan, "parse_elf_deferring_go", _read_up_front)
    up_front = list(scan.check_each(candidates, options))
    assert deferred == up_front


def test_a_go_program_with_findings_gets_its_build_info(go119: dict[str, Path], tmp_path: Path) -> None:
    """The deferred read happens: a cgo program's max-glibc hint names the Go fix and its modules."""
    policy_file = tmp_path / "linkgate.yml"
    policy_file.write_text('rules:\n  max-glibc: "2.17"\n', encoding="utf-8")
    options = scan.ScanOptions(load_policy(str(policy_file), tmp_path), TODAY)
    path = go119["go119-kafka-cgo"]
    ((result,),) = scan.check_each([Candidate("app", str(path))], options)
    assert result.findings
    assert all(f.hint is not None and "CGO_ENABLED=0" in f.hint for f in result.findings), result.findings
