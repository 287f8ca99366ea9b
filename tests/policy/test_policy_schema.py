"""`linkgate schema`: the JSON Schema of linkgate.yml accepts what the loader accepts and refuses
what it refuses, the shipped presets and examples pass it, and `check` never pays for it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from linkgate.commands.schema import policy_schema
from linkgate.policy.errors import PolicyError
from linkgate.policy.loader import load_policy
from tests.conftest import run_linkgate
from tests.helpers import REPO, require_tool

PRESETS = sorted((REPO / "policies").glob("*.yml"))
EXAMPLE_POLICIES = [REPO / "examples" / "linkgate.yml"]
COMMITTED_SCHEMA = REPO / "examples" / "linkgate.schema.json"


@pytest.fixture(scope="module")
def schema_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `linkgate schema` prints, from a real process."""
    result = run_linkgate("schema")
    assert result.returncode == 0, result.stderr
    path = tmp_path_factory.mktemp("schema") / "linkgate.schema.json"
    path.write_text(result.stdout)
    return path


def check_jsonschema(schema: Path, *files: Path) -> dict[str, list[str]]:
    """check-jsonschema's errors per file name (parse errors included)."""
    tool = require_tool("check-jsonschema")
    command = [tool, "-o", "json", "--schemafile", str(schema), *map(str, files)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    report = json.loads(result.stdout)
    errors: dict[str, list[str]] = {str(f): [] for f in files}
    for error in [*report.get("errors", []), *report.get("parse_errors", [])]:
        errors[error["filename"]].append(f"{error.get('path', '')}: {error['message']}")
    assert (result.returncode == 0) == (not any(errors.values())), result.stdout + result.stderr
    return errors


def test_schema_is_a_valid_json_schema(schema_file: Path) -> None:
    schema = json.loads(schema_file.read_text())
    assert schema["$schema"].endswith("/draft/2020-12/schema")
    jsonschema.Draft202012Validator.check_schema(schema)
    rules = schema["$defs"]["Rules"]["properties"]
    assert rules["max-glibc"]["anyOf"][0]["pattern"] == r"^\d+(\.\d+)*$"
    assert rules["max-glibc"]["anyOf"][0]["maxLength"] == 32
    assert rules["max-versions"]["anyOf"][0]["propertyNames"]["pattern"].startswith("^[A-Za-z]")
    assert rules["target"]["anyOf"][0]["minLength"] == 1
    assert "debian-11" in rules["target"]["examples"]
    assert rules["max-glibc"]["description"].startswith("the newest GLIBC_x.y")
    assert "max-glibc" in schema["$defs"]["Waiver"]["properties"]["rule"]["enum"]


def test_every_preset_and_example_passes(schema_file: Path) -> None:
    files = [*PRESETS, *EXAMPLE_POLICIES]
    assert len(PRESETS) >= 4
    assert check_jsonschema(schema_file, *files) == {str(f): [] for f in files}
    for example in EXAMPLE_POLICIES:
        load_policy(str(example), REPO)  # and the loader agrees


def test_the_readme_policy_passes(schema_file: Path, tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text()
    block = re.search(r"```yaml\n(# linkgate\.yml\n.*?)```", readme, re.DOTALL)
    assert block is not None
    policy = tmp_path / "linkgate.yml"
    policy.write_text(block.group(1))
    assert check_jsonschema(schema_file, policy) == {str(policy): []}


def test_a_misspelt_rule_is_rejected_naming_the_key(schema_file: Path, tmp_path: Path) -> None:
    typo = tmp_path / "typo.yml"
    typo.write_text('rules:\n  max-glibcc: "2.28"\n')
    errors = check_jsonschema(schema_file, typo)[str(typo)]
    assert len(errors) == 1
    assert "'max-glibcc' was unexpected" in errors[0]
    assert errors[0].startswith("$.rules")


def test_the_committed_copy_is_what_linkgate_schema_prints(schema_file: Path) -> None:
    """examples/linkgate.schema.json (the example's editor hookup) is regenerated, never edited."""
    assert COMMITTED_SCHEMA.read_text() == schema_file.read_text(), (
        "regenerate it: python -m linkgate schema > examples/linkgate.schema.json"
    )


# Documents the loader and the schema must judge alike: (YAML, accepted?).
AGREEMENT = [
    ('rules: {max-glibc: "2.31"}', True),
    ("rules: {max-glibc: 2.30}", True),  # YAML's number, read as written
    ("rules: {max-glibc: 2}", True),
    ('rules: {max-glibc: "2.x"}', False),
    ('rules: {max-glibc: "v2.31"}', False),
    ("rules: {max-glibc: true}", False),
    ('rules: {max-versions: {GLIBCXX: "3.4.28", ZLIB: 1.2}}', True),
    ('rules: {max-versions: {"GLIBC XX": "3.4"}}', False),
    ('rules: {max-versions: {GLIBCXX: "3.4-rc"}}', False),
    ("rules: {linkage: static}", True),
    ("rules: {linkage: sometimes}", False),
    ("rules: {forbid-upx: maybe}", False),
    ("rules: {target: debian-11}", True),
    ('rules: {target: ""}', False),
    ("rules: {allowed-needed: libc.so.6}", False),
    ("overrides: [{paths: ['bin/*'], rules: {max-glibc: '2.17'}}]", True),
    ("overrides: [{paths: [], rules: {}}]", False),
    ("overrides: [{paths: ['x'], rulez: {}}]", False),
    ("waivers: [{rule: max-glibc, reason: known, expires: 2027-06-30}]", True),
    ("waivers: [{rule: max-glibcc, reason: known}]", False),
    ("waivers: [{rule: max-glibc, reason: ''}]", False),
    ("waivers: [{rule: max-glibc}]", False),
    ("waivers: [{rule: max-glibc, reason: r, expires: someday}]", False),
    ("severity: {architectures: warning}", True),
    ("severity: {architectures: fatal}", False),
    ("severity: {max-glibcc: warning}", False),
    ("description: x\nextends: default", True),
    ("rule: {}", False),
]


def _loader_accepts(path: Path) -> bool:
    try:
        load_policy(str(path), path.parent)
    except PolicyError:
        return False
    return True


def test_schema_and_loader_agree(schema_file: Path, tmp_path: Path) -> None:
    files = []
    for number, (text, _accepted) in enumerate(AGREEMENT):
        path = tmp_path / f"case{number}.yml"
        path.write_text(text + "\n")
        files.append(path)
    errors = check_jsonschema(schema_file, *files)
    for path, (text, accepted) in zip(files, AGREEMENT, strict=True):
        assert _loader_accepts(path) is accepted, f"loader: {text}"
        assert (not errors[str(path)]) is accepted, f"schema: {text}: {errors[str(path)]}"


def test_in_process_schema_equals_the_command(schema_file: Path) -> None:
    generated: dict[str, Any] = policy_schema()
    assert json.loads(schema_file.read_text()) == generated
