"""CI renderers (github, step summary, gitlab, sarif, junit): golden files and format invariants.

Renderers are pure functions of a Report, so these reports are built by hand (findings are plain
data; the ELF side is covered by the CLI tests on real binaries).

Regenerate the golden files after an intended output change, then review the diff:
    LINKGATE_UPDATE_GOLDEN=1 pytest tests/formats/test_ci_formats.py
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from linkgate import HOMEPAGE, __version__
from linkgate.core.findings import ArtifactResult, Finding, PolicyRef, Report, Severity
from linkgate.formats import FORMATS, format_name, github, github_summary, gitlab, junit, renderer, sarif
from linkgate.rules import ALL_RULES
from tests.helpers import REPO
from tests.helpers.annotations import ANNOTATION
from tests.helpers.report_checks import assert_valid_code_quality, assert_valid_junit, assert_valid_sarif

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
HINT = "build against the oldest glibc you support"
# One annotation per line: `::level key=value,...::message`, values and message escaped.


def _finding(rule: str, path: str, subject: str, message: str, **extra: Any) -> Finding:
    return Finding(rule=rule, path=path, severity=extra.pop("severity", Severity.ERROR), subject=subject,
                   message=message, **extra)  # fmt: skip


def failing_report() -> Report:
    """Every shape a renderer meets: errors, a warning, a note, a waiver, an unreadable file, a
    path and a message that need escaping, a passing artifact."""
    odd = "dist/we,ird: 100%.so"
    app = (
        _finding("max-glibc", "dist/app", "GLIBC_2.34", "needs GLIBC_2.34 (max 2.31) from libc.so.6: "
                 "__libc_start_main", hint=HINT, symbols=("__libc_start_main",)),
        _finding("max-glibc", "dist/app", "GLIBC_2.33", "needs GLIBC_2.33 (max 2.31) from libc.so.6: stat",
                 hint=HINT, symbols=("stat",)),
        _finding("max-versions", "dist/app", "GLIBCXX_3.4.30", "weakly needs GLIBCXX_3.4.30 (max 3.4.28)",
                 severity=Severity.WARNING),
    )  # fmt: skip
    plugin = (
        _finding("allowed-needed", "lib/plugin.so", "libcuda.so.1", "needs libcuda.so.1, not allowed",
                 waived_by="driver comes from the host"),
        _finding("interpreters", "lib/plugin.so", "none", "has no interpreter", severity=Severity.NOTE),
    )  # fmt: skip
    odd_findings = (_finding("forbid-upx", odd, "upx", "is UPX-packed | 100% sure\nsecond line", hint="unpack"),)
    broken = (_finding("elf-format", "dist/broken", "unreadable", "cannot be read as an ELF file: truncated"),)
    artifacts = (
        ArtifactResult("dist/app", app),
        ArtifactResult("lib/plugin.so", plugin),
        ArtifactResult(odd, odd_findings),
        ArtifactResult("dist/broken", broken),
        ArtifactResult("dist/ok"),
    )
    lines = {"max-glibc": 3, "max-versions": 4, "allowed-needed": 6, "forbid-upx": 7, "interpreters": 8}
    rules = ("elf-format", "max-glibc", "max-versions", "allowed-needed", "forbid-upx", "interpreters")
    return Report("linkgate.yml", artifacts, skipped=1, rules=rules, policy_ref=PolicyRef("linkgate.yml", lines))


def clean_report() -> Report:
    artifacts = (ArtifactResult("dist/app"), ArtifactResult("dist/lib/libx.so.1"))
    return Report("default", artifacts, skipped=2, rules=("elf-format", "max-glibc", "max-versions", "forbid-upx"))


REPORTS: dict[str, Callable[[], Report]] = {"failing": failing_report, "clean": clean_report}


def _sarif_golden(report: Report) -> str:
    """SARIF minus what changes with the rule catalogue (checked against it here instead)."""
    document = sarif.document(report)
    driver = document["runs"][0]["tool"]["driver"]
    assert driver["version"] == __version__
    assert [r["id"] for r in driver["rules"]] == [rule.id for rule in ALL_RULES]
    for metadata, rule in zip(driver["rules"], ALL_RULES, strict=True):
        assert metadata["fullDescription"]["text"] == rule.doc.strip()
        # helpUri: the rule's own module (its docstring is the rule's documentation) at this version's tag.
        prefix = f"{HOMEPAGE}/blob/v{__version__}/"
        assert metadata["helpUri"].startswith(prefix)
        module = REPO / metadata["helpUri"].removeprefix(prefix)
        assert ast.get_docstring(ast.parse(module.read_text())) == inspect.cleandoc(rule.doc)
    driver.update(version="VERSION", rules="<one entry per rule in linkgate.rules.ALL_RULES>")
    for result in document["runs"][0]["results"]:
        del result["ruleIndex"]
    return json.dumps(document, indent=2) + "\n"


GOLDEN_FORMATS: dict[str, Callable[[Report], str]] = {
    "github.txt": github.render,
    "summary.md": github_summary.render,
    "gitlab.json": gitlab.render,
    "sarif.json": _sarif_golden,
    "junit.xml": junit.render,
}


@pytest.mark.parametrize("case", sorted(REPORTS))
@pytest.mark.parametrize("name", sorted(GOLDEN_FORMATS))
def test_golden(case: str, name: str) -> None:
    rendered = GOLDEN_FORMATS[name](REPORTS[case]())
    golden = GOLDEN / case / name
    if os.environ.get("LINKGATE_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(rendered, encoding="utf-8")
    assert golden.is_file(), f"missing {golden}: run with LINKGATE_UPDATE_GOLDEN=1"
    assert rendered == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", sorted(REPORTS))
def test_documents_are_valid(case: str) -> None:
    report = REPORTS[case]()
    assert_valid_code_quality(json.loads(gitlab.render(report)))
    assert_valid_junit(junit.render(report))
    assert_valid_sarif(json.loads(sarif.render(report)))


@pytest.mark.parametrize("mapping", [github.LEVELS, gitlab.SEVERITIES, sarif.LEVELS], ids=["github", "gitlab", "sarif"])
def test_every_severity_is_mapped_once(mapping: dict[Severity, str]) -> None:
    assert set(mapping) == set(Severity)
    assert len(set(mapping.values())) == len(Severity)


def test_escaping_of_messages_and_properties() -> None:
    assert github.escape_data("100%\r\n::x") == "100%25%0D%0A::x"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    # Percent first: an existing escape sequence in the text must survive as text.
    assert github.escape_data("%0A") == "%250A"


def test_every_annotation_is_one_well_formed_line() -> None:
    output = github.render(failing_report())
    commands = [line for line in output.splitlines() if line.startswith("::") and "group::" not in line]
    assert commands
    for line in commands:
        assert ANNOTATION.match(line), line
    assert "::error file=linkgate.yml,line=7,title=forbid-upx%3A dist/we%2Cird%3A 100%25.so::" in output
    assert "::error file=dist/broken,title=elf-format%3A dist/broken::" in output  # no policy key: the file


def test_group_lines_cannot_inject_commands() -> None:
    report = Report("p", (ArtifactResult("x", (_finding("forbid-upx", "x", "upx", "a\n::error::fake"),)),))
    lines = github.render(report).splitlines()
    assert not any(line.startswith("::error::fake") for line in lines)


def test_annotations_keep_within_runner_limits_and_count_the_rest() -> None:
    findings = [_finding("max-glibc", f"bin/e{i:02}", "GLIBC_2.34", "x") for i in range(12)]
    findings += [_finding("max-glibc", f"bin/w{i:02}", "GLIBC_2.34", "x", severity=Severity.WARNING) for i in range(11)]
    findings += [_finding("max-glibc", f"bin/n{i:02}", "GLIBC_2.34", "x", severity=Severity.NOTE) for i in range(10)]
    report = Report("p", tuple(ArtifactResult(f.path, (f,)) for f in findings))
    lines = github.annotation_lines(report)
    levels = [line.split(" ", 1)[0].split("::")[1] for line in lines]
    assert levels.count("error") == 10
    assert levels.count("warning") == 10
    assert levels.count("notice") == 10  # nine notes and the overflow notice
    assert lines[:10] == [line for line in lines if line.startswith("::error")]  # most important first
    assert lines[-1].startswith("::notice title=linkgate::4 more finding(s) not annotated")


def test_code_quality_fingerprint_is_rule_path_subject() -> None:
    issues = json.loads(gitlab.render(failing_report()))
    assert {i["check_name"] for i in issues} == {
        "max-glibc",
        "max-versions",
        "interpreters",
        "forbid-upx",
        "elf-format",
    }
    same = _finding("max-glibc", "dist/app", "GLIBC_2.34", "other message, other hint")
    assert issues[0]["fingerprint"] == same.fingerprint


def test_junit_has_one_testcase_per_artifact_and_rule() -> None:
    report = failing_report()
    root = assert_valid_junit(junit.render(report))
    cases = root.findall("testsuite/testcase")
    assert len(cases) == len(report.artifacts) * len(report.rules)
    failed = {(c.get("classname"), c.get("name")) for c in cases if c.find("failure") is not None}
    assert failed == {("dist/app", "max-glibc"), ("dist/we,ird: 100%.so", "forbid-upx"), ("dist/broken", "elf-format")}


def test_sarif_waived_finding_is_suppressed_not_dropped() -> None:
    results = sarif.document(failing_report())["runs"][0]["results"]
    waived = [r for r in results if "suppressions" in r]
    assert [r["ruleId"] for r in waived] == ["allowed-needed"]
    assert waived[0]["suppressions"][0]["justification"] == "driver comes from the host"


def test_summary_caps_rows() -> None:
    artifacts = tuple(ArtifactResult(f"bin/{i:03}") for i in range(github_summary.MAX_ROWS + 5))
    text = github_summary.render(Report("p", artifacts))
    assert text.count("| ✅ pass |") == github_summary.MAX_ROWS
    assert "… and 5 more artifact(s)" in text


def test_every_format_name_loads_its_renderer_and_nothing_else_is_a_format() -> None:
    """FORMATS is the Literal FormatName; each loader imports the module of that name."""
    for name in FORMATS:
        assert renderer(name) is importlib.import_module(f"linkgate.formats.{name}").render
        assert format_name(name) == name
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        format_name("xml")
