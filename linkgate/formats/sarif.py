"""SARIF 2.1.0 for GitHub code scanning (upload-sarif): rule metadata from the rules' own docs.

No `region` on a binary artifact: upload-sarif would hash a "line" of it and warn. The identity of a
result is our fingerprint (rule + relative path + subject), so code scanning tracks it across runs.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

from linkgate import __version__
from linkgate.findings import Finding, PolicyRef, Report, Severity
from linkgate.formats.catalogue import rules_of
from linkgate.rules.base import Rule

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS: dict[Severity, str] = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.NOTE: "note",
}


def render(report: Report) -> str:
    return json.dumps(document(report), indent=2) + "\n"


def document(report: Report) -> dict[str, Any]:
    rules = rules_of(report)
    driver = {"name": "linkgate", "version": __version__, "rules": [rule_metadata(r) for r in rules]}
    index = {rule.id: position for position, rule in enumerate(rules)}
    results = [result(f, report.policy_ref, index) for a in report.artifacts for f in a.findings]
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [{"tool": {"driver": driver}, "results": results}]}


def rule_metadata(rule: Rule) -> dict[str, Any]:
    """The rule module's docstring is its documentation: first line short, the whole text as help."""
    doc = rule.doc.strip()
    return {
        "id": rule.id,
        "shortDescription": {"text": rule.summary.removeprefix(f"{rule.id}: ")},
        "fullDescription": {"text": doc},
        "help": {"text": doc, "markdown": doc},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
    }


def result(finding: Finding, policy: PolicyRef | None, rule_index: dict[str, int]) -> dict[str, Any]:
    text = finding.message + (f"\nFix: {finding.hint}" if finding.hint else "")
    entry: dict[str, Any] = {
        "ruleId": finding.rule,
        "level": LEVELS[finding.severity],
        "message": {"text": text},
        "locations": [_location(finding.path)],
        "partialFingerprints": {"primaryLocationLineHash": finding.fingerprint},
        "properties": {"subject": finding.subject, "symbols": list(finding.symbols)},
    }
    if finding.rule in rule_index:
        entry["ruleIndex"] = rule_index[finding.rule]
    line = policy.line_of(finding.rule) if policy else None
    if policy is not None and line is not None:
        entry["relatedLocations"] = [_policy_location(policy.path, line)]
    if finding.waived_by is not None:
        entry["suppressions"] = [{"kind": "external", "justification": finding.waived_by}]
    if finding.baseline is not None:
        entry["baselineState"] = finding.baseline.value
    return entry


def _location(path: str) -> dict[str, Any]:
    return {"physicalLocation": {"artifactLocation": {"uri": artifact_uri(path)}}}


def _policy_location(path: str, line: int) -> dict[str, Any]:
    """The policy line the finding breaks; a text file, so a region is meaningful here."""
    physical = {"artifactLocation": {"uri": artifact_uri(path)}, "region": {"startLine": line}}
    return {"id": 0, "physicalLocation": physical, "message": {"text": "policy setting"}}


def artifact_uri(path: str) -> str:
    """Workspace-relative paths stay relative references; others become file: URIs."""
    if os.path.isabs(path):
        return "file://" + quote(path)
    return quote(path)
