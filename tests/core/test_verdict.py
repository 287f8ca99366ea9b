"""One verdict: the exit code and every output format agree, with and without --strict.

The case that used to disagree: a policy that lowers max-glibc to a warning, checked with
--strict against a real binary that breaks the limit. The run fails (exit 1), so JSON, JUnit, the
step summary and the text summary must all say so; without --strict all of them say it passed.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import run_linkgate

# /usr/bin/ls on any current glibc system needs GLIBC_2.3+ versions far above 2.2.5.
POLICY = 'extends: default\nrules:\n  max-glibc: "2.2.5"\nseverity:\n  max-glibc: warning\n'


def _outputs(tmp_path: Path, strict: bool) -> tuple[int, dict[str, str]]:
    policy = tmp_path / "linkgate.yml"
    policy.write_text(POLICY)
    files = {name: tmp_path / name for name in ("j.xml", "s.sarif", "g.json", "summary.md")}
    args = ["check", "--policy", str(policy), "--format", "json", "--junit", str(files["j.xml"])]
    args += ["--sarif", str(files["s.sarif"]), "--gitlab-report", str(files["g.json"]), "/usr/bin/ls"]
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(files["summary.md"])}
    result = run_linkgate(*args, *(["--strict"] if strict else []), env=env, cwd=tmp_path)
    outputs = {name: path.read_text() for name, path in files.items()}
    text = run_linkgate(*args[:3], "--format", "text", "/usr/bin/ls", *(["--strict"] if strict else []), cwd=tmp_path)
    assert text.returncode == result.returncode, text.stderr
    return result.returncode, {**outputs, "json": result.stdout, "text-summary": text.stderr}


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
def test_every_output_agrees_with_the_exit_code(tmp_path: Path, strict: bool) -> None:
    code, out = _outputs(tmp_path, strict)
    assert code == (1 if strict else 0), out["text-summary"]
    failed = code == 1

    document = json.loads(out["json"])
    assert document["passed"] is not failed
    assert document["failed_artifacts"] == (1 if failed else 0)
    assert all(f["fails"] is failed for f in document["findings"] if f["rule"] == "max-glibc")
    assert any(f["severity"] == "warning" for f in document["findings"])

    suite = ET.fromstring(out["j.xml"])  # noqa: S314 - our own output
    assert (int(suite.attrib["failures"]) > 0) is failed
    assert ("❌ failed: 1 of 1 artifact(s)" in out["summary.md"]) is failed
    assert ("passed: 1 artifact(s)" in out["summary.md"]) is not failed
    assert out["text-summary"].startswith("linkgate: failed:" if failed else "linkgate: passed:")

    # SARIF and Code Quality carry severities, not a verdict: the finding is a warning in both modes.
    sarif = json.loads(out["s.sarif"])
    assert {r["level"] for r in sarif["runs"][0]["results"]} == {"warning"}
    assert {i["severity"] for i in json.loads(out["g.json"])} == {"minor"}
