"""Config discovery as ruff, yamllint and mypy users expect it, and help when a key is mistyped.

- linkgate.yml, linkgate.yaml, .linkgate.yml or .linkgate.yaml, from the working directory upward;
  two of them in one directory are an error (which one is meant?);
- a pyproject.toml with a [tool.linkgate] table (the same keys as linkgate.yml), when no policy
  file is beside it; a pyproject.toml without the table is passed over;
- `unknown key (did you mean max-glibc?)`;
- `linkgate schema profile`: the JSON Schema of target profiles, which every shipped profile meets.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from linkgate.policy.locate import presets_dir
from linkgate.policy.targets import profiles_dir
from tests.conftest import run_linkgate
from tests.helpers import REPO, require_tool

HERMETIC = {"LINKGATE_NO_CACHE": "1"}
STRICT = 'rules:\n  max-glibc: "2.17"\n'  # gcc-pie needs GLIBC_2.34: fails
LOOSE = 'rules:\n  max-glibc: "2.99"\n'


@pytest.fixture
def project(tmp_path: Path, gcc_binaries: dict[str, Path]) -> Path:
    (tmp_path / "sub" / "dist").mkdir(parents=True)
    shutil.copy2(gcc_binaries["gcc-pie"], tmp_path / "sub" / "dist" / "app")
    return tmp_path


def check(cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_linkgate("check", "dist", cwd=cwd, env=HERMETIC)


@pytest.mark.parametrize("name", ["linkgate.yml", "linkgate.yaml", ".linkgate.yml", ".linkgate.yaml"])
def test_each_policy_file_name_is_found_upward(project: Path, name: str) -> None:
    (project / name).write_text(STRICT)
    result = check(project / "sub")
    assert result.returncode == 1, result.stderr
    assert f"break policy {name}" in result.stderr or f"break policy {project / name}" in result.stderr
    assert "max 2.17" in result.stdout


def test_two_policy_files_in_one_directory_cannot_evaluate(project: Path) -> None:
    (project / "linkgate.yml").write_text(STRICT)
    (project / "linkgate.yaml").write_text(LOOSE)
    result = check(project / "sub")
    assert result.returncode == 2
    assert "linkgate.yml and linkgate.yaml are both policies here: keep one" in result.stderr


PYPROJECT = """\
[project]
name = "demo"

[tool.ruff]
line-length = 100

[tool.linkgate]
extends = "default"

[tool.linkgate.rules]
max-glibc = "2.17"

[[tool.linkgate.waivers]]
rule = "max-glibc"
paths = ["dist/other"]
reason = "not shipped"
"""


def test_pyproject_tool_linkgate_is_a_policy(project: Path) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT)
    result = check(project / "sub")
    assert result.returncode == 1, result.stderr
    assert "needs GLIBC_2.34 (max 2.17)" in result.stdout
    assert "pyproject.toml" in result.stderr


def test_a_policy_file_beside_pyproject_wins(project: Path) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "linkgate.yml").write_text(LOOSE)
    assert check(project / "sub").returncode == 0


def test_a_pyproject_without_the_table_is_passed_over(project: Path) -> None:
    (project / "linkgate.yml").write_text(STRICT)
    (project / "sub" / "pyproject.toml").write_text('[project]\nname = "demo"\n[tool.ruff]\nline-length = 1\n')
    result = check(project / "sub")
    assert result.returncode == 1 and "max 2.17" in result.stdout


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[tool.linkgate.rules]\nmax-glbc = "2.17"\n', "pyproject.toml:2: rules.max-glbc: unknown key (did you mean "),
        ("[tool.linkgate.rules]\nmax-glibc = 2.30\n", 'rules.max-glibc: 2.3 is a TOML number: write versions as'),
        ("[tool.linkgate\nrules = 1\n", "pyproject.toml:1: (file): invalid TOML"),
    ],
)  # fmt: skip
def test_pyproject_mistakes_name_file_line_and_key(project: Path, table: str, message: str) -> None:
    (project / "pyproject.toml").write_text(table)
    result = check(project / "sub")
    assert result.returncode == 2
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ('rules:\n  max-glbc: "2.28"\n', ":2: rules.max-glbc: unknown key (did you mean max-glibc?)"),
        ('rule:\n  max-glibc: "2.28"\n', ":1: rule: unknown key (did you mean rules?)"),
        ("rules:\n  hardening: {pei: true}\n", "rules.hardening.pei: Input should be 'pie'"),
        ("rules:\n  linkage: statc\n", "(did you mean static?)"),
        ("rules:\n  zzzz: 1\n", ":2: rules.zzzz: unknown key (known: allowed-needed, allowed-tokens, "),
    ],
)
def test_a_typo_gets_a_suggestion(project: Path, policy: str, message: str) -> None:
    (project / "linkgate.yml").write_text(policy)
    result = check(project / "sub")
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def profile_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = run_linkgate("schema", "profile")
    assert result.returncode == 0, result.stderr
    path = tmp_path_factory.mktemp("schema") / "linkgate-profile.schema.json"
    path.write_text(result.stdout)
    return path


def test_every_shipped_profile_meets_the_profile_schema(profile_schema: Path) -> None:
    tool = require_tool("check-jsonschema")
    profiles = sorted(p for p in profiles_dir(presets_dir()).glob("*.yml") if p.name != "aliases.yml")
    assert len(profiles) > 20
    result = subprocess.run([tool, "--schemafile", str(profile_schema), *map(str, profiles)], capture_output=True,
                            text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_profile_schema_refuses_a_typo(profile_schema: Path, tmp_path: Path) -> None:
    tool = require_tool("check-jsonschema")
    shipped = yaml.safe_load((profiles_dir(presets_dir()) / "debian-12.yml").read_text())
    shipped["interpreter"] = shipped.pop("interpreters")
    typo = tmp_path / "host.yml"
    typo.write_text(yaml.safe_dump(shipped))
    result = subprocess.run([tool, "--schemafile", str(profile_schema), str(typo)], capture_output=True, text=True,
                            check=False)  # fmt: skip
    assert result.returncode == 1 and "interpreter" in result.stdout


def test_the_committed_profile_schema_is_current(profile_schema: Path) -> None:
    committed = REPO / "examples" / "linkgate-profile.schema.json"
    assert json.loads(committed.read_text()) == json.loads(profile_schema.read_text()), (
        "regenerate it: python -m linkgate schema profile > examples/linkgate-profile.schema.json"
    )
