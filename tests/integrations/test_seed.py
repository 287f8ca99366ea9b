"""The seed scenario end to end: a cgo Go program built here needs GLIBC_2.34 and must be stopped;
its fixes (musl static, pure Go) must pass. Real `go build`, real CLI process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_linkgate
from tests.helpers import require_tool
from tests.helpers.binaries import build_group


@pytest.fixture(scope="module")
def go_binaries(build_dir: Path) -> dict[str, Path]:
    for tool in ("go", "gcc", "musl-gcc"):
        require_tool(tool)
    return build_group("go", build_dir)


@pytest.fixture
def policy(tmp_path: Path) -> str:
    path = tmp_path / "linkgate.yml"
    path.write_text('rules:\n  max-glibc: "2.31"\n')
    return str(path)


def test_cgo_binary_fails_naming_glibc_2_34_and_its_symbols(go_binaries: dict[str, Path], policy: str) -> None:
    result = run_linkgate("check", "--policy", policy, "--format", "json", str(go_binaries["go-cgo"]))
    assert result.returncode == 1, result.stderr
    findings = {f["subject"]: f for f in json.loads(result.stdout)["findings"]}
    assert "GLIBC_2.34" in findings
    symbols = findings["GLIBC_2.34"]["symbols"]
    assert "__libc_start_main" in symbols
    assert any(name.startswith("pthread_") for name in symbols)
    assert "GLIBC_2.34 (max 2.31)" in findings["GLIBC_2.34"]["message"]


@pytest.mark.parametrize("name", ["go-cgo-musl-static", "go-pure"])
def test_the_fixes_pass(go_binaries: dict[str, Path], policy: str, name: str) -> None:
    result = run_linkgate("check", "--policy", policy, str(go_binaries[name]))
    assert result.returncode == 0, result.stdout + result.stderr
    inspected = json.loads(run_linkgate("inspect", "--format", "json", str(go_binaries[name])).stdout)[0]
    assert inspected["linkage"] == "static"
    assert inspected["needed"] == []
