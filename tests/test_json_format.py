"""The JSON report: the same document json.dumps would write, one finding per line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from linkgate.findings import DEFAULT_FAILING, Report
from linkgate.formats.json import render
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
