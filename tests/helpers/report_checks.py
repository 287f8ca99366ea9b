"""Validators for the CI report files, shared by the renderer, CLI, action and GitLab tests.

SARIF is checked against the real SARIF 2.1.0 schema (shipped in the npm package
@microsoft/sarif-multitool-linux); GitLab Code Quality and JUnit have no schema of their own
here, so their structure is checked field by field against what GitLab reads.
"""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from tests.helpers import require_tool, unavailable

SARIF_PACKAGE = "@microsoft/sarif-multitool-linux"
CODE_QUALITY_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


@cache
def _npm_root() -> Path:
    npm = require_tool("npm")
    return Path(subprocess.run([npm, "root", "-g"], capture_output=True, text=True, check=True).stdout.strip())


def sarif_tool_dir() -> Path:
    """The npm package's directory; LINKGATE_SARIF_TOOL_DIR overrides the global install."""
    directory = Path(os.environ.get("LINKGATE_SARIF_TOOL_DIR") or _npm_root() / SARIF_PACKAGE)
    if not (directory / "sarif-2.1.0.json").is_file():
        message = f"npm package {SARIF_PACKAGE} is not installed (see .ci/install-ci-tools.sh)"
        unavailable(message)
    return directory


def assert_valid_sarif(document: dict[str, Any]) -> None:
    schema = json.loads((sarif_tool_dir() / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    run = document["runs"][0]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert "region" not in result["locations"][0]["physicalLocation"]  # binaries have no lines
    fingerprints = [r["partialFingerprints"]["primaryLocationLineHash"] for r in run["results"]]
    assert len(fingerprints) == len(set(fingerprints))


def multitool_errors(sarif_file: Path, tmp_path: Path) -> list[str]:
    """Errors of Microsoft's validator with the GitHub rules; it exits 0 even on errors, so read its log."""
    tool = sarif_tool_dir() / "Sarif.Multitool"
    log = tmp_path / "multitool.sarif"
    command = [str(tool), "validate", "--rule-kind", "Sarif;Gh", "--log", "ForceOverwrite", "-o", str(log)]
    subprocess.run([*command, str(sarif_file)], capture_output=True, text=True, check=True, timeout=300)
    results = json.loads(log.read_text(encoding="utf-8"))["runs"][0].get("results", [])
    return [f"{r['ruleId']}: {r['message']}" for r in results if r.get("level") == "error"]


def assert_valid_code_quality(issues: Any) -> None:
    assert isinstance(issues, list)
    for issue in issues:
        assert set(issue) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert isinstance(issue["description"], str) and issue["description"]
        assert issue["severity"] in CODE_QUALITY_SEVERITIES
        location = issue["location"]
        assert not os.path.isabs(location["path"]), "paths must be relative to CI_PROJECT_DIR"
        assert isinstance(location["lines"]["begin"], int)
    fingerprints = [issue["fingerprint"] for issue in issues]
    assert len(fingerprints) == len(set(fingerprints)), "GitLab shows one issue per fingerprint"


def assert_valid_junit(text: str) -> ET.Element:
    """The shape GitLab's test report parser reads; returns the root for further checks."""
    root = ET.fromstring(text)  # noqa: S314 - linkgate's own output, not untrusted input
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert suites
    for suite in suites:
        cases = suite.findall("testcase")
        assert suite.get("name")
        assert int(suite.get("tests", "-1")) == len(cases)
        assert int(suite.get("failures", "-1")) == sum(1 for c in cases if c.find("failure") is not None)
        for case in cases:
            assert case.get("classname") and case.get("name") and case.get("file")
            failure = case.find("failure")
            if failure is not None:
                assert failure.get("message")
    return root
