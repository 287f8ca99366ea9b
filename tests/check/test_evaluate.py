"""Evaluation as a pure function: hand-built facts (plain data, no file) x a compiled policy.

The ELF side is covered by the reader tests on real binaries; here the question is only what
evaluation makes of given facts: severities, overrides, waivers on a given day, the verdict.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from linkgate.check.evaluate import RejectedVersions, evaluate
from linkgate.core.findings import DEFAULT_FAILING, STRICT_FAILING, ArtifactResult, Report, Severity
from linkgate.elf.facts import ElfFacts, Kind, Linkage, SymbolRef, VersionNeed
from linkgate.policy.compiled import CompiledPolicy
from linkgate.policy.loader import load_policy

TODAY = datetime.date(2027, 1, 15)


def facts(*needs: VersionNeed, needed: tuple[str, ...] = ("libc.so.6",)) -> ElfFacts:
    return ElfFacts(
        elf_class=2, byte_order="little", machine="x86_64", kind=Kind.PIE, linkage=Linkage.DYNAMIC,
        interpreter="/lib64/ld-linux-x86-64.so.2", needed=needed, version_needs=needs, libc="glibc",
    )  # fmt: skip


def need(version: str, weak: bool = False, *symbols: str) -> VersionNeed:
    return VersionNeed("libc.so.6", version, weak, tuple(SymbolRef(s) for s in symbols))


def policy(tmp_path: Path, text: str) -> CompiledPolicy:
    path = tmp_path / "linkgate.yml"
    path.write_text(text, encoding="utf-8")
    return load_policy(str(path), tmp_path)


def test_a_need_above_the_limit_is_an_error_naming_its_symbols(tmp_path: Path) -> None:
    compiled = policy(tmp_path, 'rules:\n  max-glibc: "2.31"\n')
    (finding,) = evaluate("app", facts(need("GLIBC_2.34", False, "dlopen")), compiled, TODAY)
    assert (finding.rule, finding.severity, finding.subject) == ("max-glibc", Severity.ERROR, "GLIBC_2.34")
    assert finding.symbols == ("dlopen",)
    assert evaluate("app", facts(need("GLIBC_2.31")), compiled, TODAY) == ()


def test_files_breaking_a_limit_through_other_needs_get_their_own_violation(tmp_path: Path) -> None:
    """Limits remember each (token, needs) violation: one only for exactly the same needs."""
    compiled = policy(tmp_path, 'rules:\n  max-glibc: "2.31"\n')
    first = evaluate("a", facts(need("GLIBC_2.34", False, "dlopen")), compiled, TODAY)
    other_symbol = evaluate("b", facts(need("GLIBC_2.34", False, "pthread_create")), compiled, TODAY)
    weak_need = evaluate("c", facts(need("GLIBC_2.34", True, "dlopen")), compiled, TODAY)
    again = evaluate("d", facts(need("GLIBC_2.34", False, "dlopen")), compiled, TODAY)
    assert [f.symbols for f in (*first, *other_symbol, *weak_need)] == [
        ("dlopen",),
        ("pthread_create",),
        ("dlopen (weak)",),
    ]
    assert weak_need[0].severity is Severity.WARNING and "weak version reference" in weak_need[0].message
    assert [(f.path, f.message, f.symbols) for f in again] == [("d", first[0].message, ("dlopen",))]


@pytest.mark.parametrize(
    ("configured", "expected"),
    [("", Severity.WARNING), ("severity:\n  max-glibc: warning\n", Severity.NOTE),
     ("severity:\n  max-glibc: note\n", Severity.NOTE)],
)  # fmt: skip
def test_a_weak_need_is_one_severity_lower(tmp_path: Path, configured: str, expected: Severity) -> None:
    compiled = policy(tmp_path, f'rules:\n  max-glibc: "2.31"\n{configured}')
    (finding,) = evaluate("app", facts(need("GLIBC_2.34", True)), compiled, TODAY)
    assert finding.severity is expected


def test_overrides_apply_in_file_order_to_matching_paths_only(tmp_path: Path) -> None:
    compiled = policy(
        tmp_path,
        'rules:\n  max-glibc: "2.17"\noverrides:\n'
        '  - paths: ["bin/*"]\n    rules: {max-glibc: "2.28"}\n'
        '  - paths: ["bin/new-*"]\n    rules: {max-glibc: "2.34"}\n',
    )
    needs = facts(need("GLIBC_2.28"), need("GLIBC_2.34"))
    assert [f.subject for f in evaluate("dist/lib/x.so", needs, compiled, TODAY)] == ["GLIBC_2.34", "GLIBC_2.28"]
    assert [f.subject for f in evaluate("dist/bin/tool", needs, compiled, TODAY)] == ["GLIBC_2.34"]
    assert evaluate("dist/bin/new-tool", needs, compiled, TODAY) == ()


def test_an_override_can_switch_a_rule_on_and_its_allowed_tokens_apply(tmp_path: Path) -> None:
    compiled = policy(
        tmp_path,
        "rules:\n  forbid-upx: true\noverrides:\n"
        '  - paths: ["legacy/*"]\n    rules: {max-glibc: "2.17", allowed-tokens: [GLIBC_PRIVATE]}\n',
    )
    needs = facts(need("GLIBC_PRIVATE"), need("GLIBC_2.18"))
    assert evaluate("new/app", needs, compiled, TODAY) == ()
    assert [f.subject for f in evaluate("legacy/app", needs, compiled, TODAY)] == ["GLIBC_2.18"]


@pytest.mark.parametrize(("today", "waived"), [(datetime.date(2027, 6, 30), True), (datetime.date(2027, 7, 1), False)])
def test_a_waiver_holds_until_its_expiry_date(tmp_path: Path, today: datetime.date, waived: bool) -> None:
    compiled = policy(
        tmp_path,
        "rules:\n  allowed-needed: [libc.so.6]\nwaivers:\n"
        "  - {rule: allowed-needed, paths: ['plugins/*'], subject: 'libcuda.so*', reason: host driver,"
        " expires: 2027-06-30}\n",
    )
    cuda = facts(needed=("libc.so.6", "libcuda.so.1"))
    (finding,) = evaluate("plugins/gpu.so", cuda, compiled, today)
    assert (finding.waived_by == "host driver") is waived
    assert ("waiver expired 2027-06-30" in finding.message) is not waived
    (elsewhere,) = evaluate("bin/app", cuda, compiled, today)
    assert elsewhere.waived_by is None


def test_the_report_decides_the_verdict_with_and_without_strict(tmp_path: Path) -> None:
    compiled = policy(tmp_path, 'rules:\n  max-glibc: "2.31"\n')
    warning = evaluate("app", facts(need("GLIBC_2.34", True)), compiled, TODAY)
    artifacts = (ArtifactResult("app", warning), ArtifactResult("ok"))
    lenient, strict = Report("p", artifacts, failing=DEFAULT_FAILING), Report("p", artifacts, failing=STRICT_FAILING)
    assert lenient.passed and lenient.failed_artifacts == 0
    assert not strict.passed and strict.failed_artifacts == 1
    assert strict.artifact_failed(artifacts[0]) and not strict.artifact_failed(artifacts[1])


def test_symbols_are_joined_only_for_needs_a_rule_rejects(tmp_path: Path) -> None:
    compiled = policy(tmp_path, 'rules:\n  max-glibc: "2.31"\n  max-versions: {GLIBCXX: "3.4.28"}\n')
    rejected = RejectedVersions(compiled, "app")
    assert ("libc.so.6", "GLIBC_2.34") in rejected
    assert ("libstdc++.so.6", "GLIBCXX_3.4.30") in rejected
    assert ("libc.so.6", "GLIBC_2.31") not in rejected
    assert ("libstdc++.so.6", "CXXABI_1.3.99") not in rejected
