"""JUnit XML (`artifacts: reports: junit:`): one testcase per (artifact, rule), a pass/fail grid.

A finding that fails the run (the report decides: errors, and warnings under --strict) is a
<failure>; the others do not, so their testcase passes and carries them in <system-out>.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from linkgate.core.findings import ArtifactResult, Finding, Report
from linkgate.formats.catalogue import order
from linkgate.formats.text import finding_lines


def render(report: Report) -> str:
    cases = [testcase(report, a, rule) for a in report.artifacts for rule in rules_of(a, report.rules)]
    counts = _counts(cases)
    root = ET.Element("testsuites", {"name": f"linkgate policy {report.policy}", **counts})
    ET.SubElement(root, "testsuite", {"name": "linkgate", **counts}).extend(cases)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def rules_of(artifact: ArtifactResult, evaluated: tuple[str, ...]) -> list[str]:
    """The evaluated rules plus any an override switched on for this artifact, in catalogue order."""
    rules = set(evaluated) | {f.rule for f in artifact.findings}
    known = order()
    return sorted(rules, key=lambda rule: (known.get(rule, len(known)), rule))


def testcase(report: Report, artifact: ArtifactResult, rule: str) -> ET.Element:
    case = ET.Element("testcase", classname=artifact.path, name=rule, file=artifact.path)
    findings = [f for f in artifact.findings if f.rule == rule]
    failing = [f for f in findings if report.fails(f)]
    if failing:
        failure = ET.SubElement(case, "failure", message=failing[0].message, type=rule)
        failure.text = _details(failing)
    others = [f for f in findings if f not in failing]
    if others:
        ET.SubElement(case, "system-out").text = _details(others)
    return case


def _details(findings: list[Finding]) -> str:
    return "\n".join(line for finding in findings for line in finding_lines(finding))


def _counts(cases: list[ET.Element]) -> dict[str, str]:
    failures = sum(1 for case in cases if case.find("failure") is not None)
    return {"tests": str(len(cases)), "failures": str(failures), "errors": "0", "skipped": "0"}
