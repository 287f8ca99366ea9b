"""SARIF 2.1.0 for GitHub code scanning (upload-sarif): rule metadata from the rules' own docs.

No `region` on a binary artifact: upload-sarif would hash a "line" of it and warn. The identity of a
result is our fingerprint (rule + relative path + subject), so code scanning tracks it across runs.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any
from urllib.parse import quote

from linkgate import HOMEPAGE, __version__
from linkgate.core.findings import Finding, PolicyRef, Report, Severity
from linkgate.formats.catalogue import rules_of
from linkgate.rules.base import Rule

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS: dict[Severity, str] = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.NOTE: "note",
}

# BinSkim's ELF rules (id, name) and the linkgate rule and key that judge the same thing, so
# code scanning users who know BinSkim's results can map them: one taxonomy, related from the rules.
BINSKIM = "BinSkim"
BINSKIM_RULES: tuple[tuple[str, str, str, str], ...] = (
    ("BA3001", "EnablePositionIndependentExecutable", "hardening", "pie"),
    ("BA3002", "DoNotMarkStackAsExecutable", "hardening", "nx"),
    ("BA3003", "EnableStackProtector", "hardening", "canary"),
    ("BA3006", "EnableNonExecutableStack", "hardening", "nx"),
    ("BA3010", "EnableReadOnlyRelocations", "hardening", "relro"),
    ("BA3011", "EnableBindNow", "hardening", "bind_now"),
    ("BA3030", "UseGccCheckedFunctions", "hardening", "fortify"),
)


def render(report: Report) -> str:
    return json.dumps(document(report), indent=2) + "\n"


def document(report: Report) -> dict[str, Any]:
    rules = rules_of(report)
    driver = {"name": "linkgate", "version": __version__, "informationUri": HOMEPAGE,
              "rules": [rule_metadata(r) for r in rules]}  # fmt: skip
    index = {rule.id: position for position, rule in enumerate(rules)}
    results = [result(f, report.policy_ref, index) for a in report.artifacts for f in a.findings]
    run = {"tool": {"driver": driver}, "taxonomies": [binskim_taxonomy()], "results": results}
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def binskim_taxonomy() -> dict[str, Any]:
    """BinSkim's ELF rules as taxa, the targets of the rules' relationships."""
    taxa = [{"id": ba, "name": name, "shortDescription": {"text": f"{ba} {name}"}} for ba, name, _, _ in BINSKIM_RULES]
    return {"name": BINSKIM, "taxa": taxa}


def rule_metadata(rule: Rule) -> dict[str, Any]:
    """The rule module's docstring is its documentation: first line short, the whole text as help."""
    doc = rule.doc.strip()
    related = [(index, row) for index, row in enumerate(BINSKIM_RULES) if row[2] == rule.id]
    help_text = doc
    if related:
        pairs = ", ".join(f"{ba} {name} (`{key}`)" for _, (ba, name, _, key) in related)
        help_text = f"{doc}\n\nBinSkim equivalents: {pairs}."
    metadata: dict[str, Any] = {
        "id": rule.id,
        "shortDescription": {"text": rule.summary.removeprefix(f"{rule.id}: ")},
        "fullDescription": {"text": doc},
        "help": {"text": help_text, "markdown": help_text},
        "helpUri": help_uri(rule),
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
    }
    if related:
        metadata["relationships"] = [_related(index, row[0]) for index, row in related]
    return metadata


def help_uri(rule: Rule) -> str:
    """The rule's documentation (its module's docstring, as `linkgate explain` prints it) at this version's tag."""
    module = next(
        name
        for name, loaded in list(sys.modules.items())
        if name.startswith(("linkgate.rules.", "linkgate.diff.")) and getattr(loaded, "RULE", None) is rule
    )
    return f"{HOMEPAGE}/blob/v{__version__}/{module.replace('.', '/')}.py"


def _related(index: int, ba: str) -> dict[str, Any]:
    """A BinSkim rule this rule (through one of its keys) also judges."""
    target = {"id": ba, "index": index, "toolComponent": {"name": BINSKIM, "index": 0}}
    return {"target": target, "kinds": ["relevant"]}


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
    """A member of an archive (`dist/app.deb!usr/bin/app`) points at the archive file, which code scanning
    can find in the workspace; the member is its logical location."""
    archive, bang, member = path.partition("!")
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": artifact_uri(archive)}}}
    if bang:
        location["logicalLocations"] = [{"name": member, "fullyQualifiedName": path, "kind": "resource"}]
    return location


def _policy_location(path: str, line: int) -> dict[str, Any]:
    """The policy line the finding breaks; a text file, so a region is meaningful here."""
    physical = {"artifactLocation": {"uri": artifact_uri(path)}, "region": {"startLine": line}}
    return {"id": 0, "physicalLocation": physical, "message": {"text": "policy setting"}}


def artifact_uri(path: str) -> str:
    """Workspace-relative paths stay relative references; others become file: URIs."""
    if os.path.isabs(path):
        return "file://" + quote(path)
    return quote(path)
