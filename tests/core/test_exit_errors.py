"""Every error that ends a run with exit 2 is a CannotEvaluateError carrying its own prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkgate.check.discover import MissingPathError, SpecialPathError
from linkgate.check.pairing import PairingError
from linkgate.commands.check import BaselineError
from linkgate.core.exitcodes import CannotEvaluateError, ExitCode
from linkgate.policy.errors import PolicyError
from linkgate.profiles.errors import ProfileError
from tests.conftest import run_linkgate

PREFIXES: dict[type[CannotEvaluateError], str] = {
    CannotEvaluateError: "",
    SpecialPathError: "",
    PairingError: "",
    MissingPathError: "no such file or directory: ",
    PolicyError: "policy error: ",
    ProfileError: "policy error: ",
    BaselineError: "baseline error: ",
}


def _all_subclasses(cls: type[CannotEvaluateError]) -> set[type[CannotEvaluateError]]:
    return {cls} | {sub for direct in cls.__subclasses__() for sub in _all_subclasses(direct)}


def test_each_exit_2_error_carries_its_prefix() -> None:
    assert _all_subclasses(CannotEvaluateError) == set(PREFIXES)
    assert {kind: kind.prefix for kind in PREFIXES} == PREFIXES


@pytest.mark.parametrize(
    ("args", "printed"),
    [
        (("check", "no-such-file"), "linkgate: no such file or directory: no-such-file\n"),
        (("check", "--policy", "bad.yml", "/usr/bin/true"), "linkgate: policy error: bad.yml:1: rules: "),
        (("check", "--baseline", "missing.json", "/usr/bin/true"), "linkgate: baseline error: missing.json: "),
        (("diff", "--pair", "nonsense", "/usr/bin/true", "/usr/bin/true"), "linkgate: --pair 'nonsense': "),
        (("check", "--policy", "default", "empty"), "linkgate: no ELF artifacts found in empty"),
    ],
    ids=["missing-path", "policy", "baseline", "pairing", "cannot-evaluate"],
)
def test_the_cli_prints_the_prefix_and_exits_2(tmp_path: Path, args: tuple[str, ...], printed: str) -> None:
    (tmp_path / "bad.yml").write_text("rules: 3\n")
    (tmp_path / "empty").mkdir()
    result = run_linkgate(*args, cwd=tmp_path, env={"LINKGATE_NO_CACHE": "1"})
    assert result.returncode == ExitCode.CANNOT_EVALUATE
    assert result.stderr.replace(f"{tmp_path}/", "").startswith(printed), result.stderr
    assert "internal error" not in result.stderr and result.stdout == ""
