"""GitLab Code Quality report (`artifacts: reports: codequality:`): a JSON array of issues.

GitLab shows only the first issue per fingerprint, so it is the finding's own identity: rule +
artifact path (relative to CI_PROJECT_DIR, made so by the CLI) + subject; never a line or a time.
Waived findings are accepted, not issues, and are left out.
"""

from __future__ import annotations

import json
from typing import Any

from linkgate.core.findings import Finding, Report, Severity

SEVERITIES: dict[Severity, str] = {
    Severity.ERROR: "critical",
    Severity.WARNING: "minor",
    Severity.NOTE: "info",
}


def render(report: Report) -> str:
    return json.dumps([issue(f) for f in report.findings], indent=2) + "\n"


def issue(finding: Finding) -> dict[str, Any]:
    hint = f" (fix: {finding.hint})" if finding.hint else ""
    return {
        "description": f"{finding.path}: {finding.message}{hint}",
        "check_name": finding.rule,
        "fingerprint": finding.fingerprint,
        "severity": SEVERITIES[finding.severity],
        "location": {"path": finding.path, "lines": {"begin": 1}},
    }
