"""The JSON report: the same document json.dumps would write, one finding per line."""

from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path

from linkgate.check.discover import discover
from linkgate.check.scan import PARALLEL_THRESHOLD, ScanOptions
from linkgate.commands.check import collect
from linkgate.core.findings import DEFAULT_FAILING, STRICT_FAILING, Report
from linkgate.formats.json import assemble, render
from linkgate.policy.loader import load_policy
from tests.conftest import run_linkgate


def test_an_empty_report_is_plain_json() -> None:
    text = render(Report(policy="p", artifacts=(), skipped=3, failing=DEFAULT_FAILING))
    assert json.loads(text) == {
        "policy": "p", "artifacts": 0, "skipped": 3, "passed": True, "failed_artifacts": 0, "findings": [],
    }  # fmt: skip


def test_each_finding_is_one_line_of_the_document(tmp_path: Path) -> None:
    """Real findings (the default preset on this machine's glibc 2.36 programs), read back whole and per line."""
    for name in ("ls", "true"):
        shutil.copy(f"/usr/bin/{name}", tmp_path / name)
    result = run_linkgate("check", "--policy", "default", "--format", "json", ".", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    rows = [line.strip().rstrip(",") for line in result.stdout.splitlines() if line.startswith('    {"rule"')]
    assert len(document["findings"]) >= 3
    assert [json.loads(row) for row in rows] == document["findings"]
    assert {f["path"] for f in document["findings"]} == {"ls", "true"}


def test_lines_written_while_the_workers_read_are_the_rendered_reports(tmp_path: Path) -> None:
    """commands.check.collect writes each artifact's lines as its result arrives; with --strict or without,
    the document around them is exactly what `render` makes of the finished report."""
    policy_file = tmp_path / "linkgate.yml"
    policy_file.write_text('rules: {max-glibc: "2.28"}\nseverity: {max-glibc: warning}\n')
    options = ScanOptions(load_policy(str(policy_file), tmp_path), datetime.date.today())
    candidates = discover(["/usr/bin"])
    assert len(candidates) >= PARALLEL_THRESHOLD  # the rows come from the worker pool
    verdicts = set()
    for failing in (DEFAULT_FAILING, STRICT_FAILING):
        rows: list[str] = []
        report = collect("p", candidates, options, failing, rows)
        assert len(rows) == sum(len(a.findings) for a in report.artifacts) >= 100
        assert assemble(report, rows) == render(report)
        verdicts.add(json.loads(assemble(report, rows))["passed"])
    assert verdicts == {True, False}  # the warnings fail only the strict run
