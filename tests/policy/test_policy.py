"""Policy loading: presets, extends, overrides, waivers, and errors that name file, line and key."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from linkgate.policy.errors import PolicyError
from linkgate.policy.loader import load_policy
from linkgate.policy.locate import find_policy_file, preset_names
from linkgate.policy.model import Rules
from linkgate.rules.base import Configured


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_presets_required_by_the_issue_exist_and_load(tmp_path: Path) -> None:
    names = preset_names()
    for name in ("default", "manylinux2014", "manylinux_2_28", "static"):
        assert name in names
        policy = load_policy(name, tmp_path)
        assert policy.name == name
        assert policy.rule_ids(), name


def test_default_preset_forbids_upx_and_limits_glibc(tmp_path: Path) -> None:
    rules = load_policy("default", tmp_path).values
    assert rules["forbid-upx"] is True
    assert rules["max-glibc"] == "2.28"


@pytest.mark.parametrize("written", ["2.30", '"2.30"', "'2.30'"])
def test_unquoted_version_keeps_trailing_zero(tmp_path: Path, written: str) -> None:
    policy = write(tmp_path / "p.yml", f"rules:\n  max-glibc: {written}\n")
    assert load_policy(str(policy), tmp_path).values["max-glibc"] == "2.30"


def test_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    policy = write(tmp_path / "p.yml", "rules:\n  max-glibc: '2.31'\n  max-glibcc: '2.17'\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(policy), tmp_path)
    assert caught.value.line == 3
    assert caught.value.key == "rules.max-glibcc"
    assert str(policy) in str(caught.value)
    assert "unknown key" in str(caught.value)


def test_bad_value_names_its_line(tmp_path: Path) -> None:
    text = "# comment\nrules:\n  linkage: sometimes\n"
    with pytest.raises(PolicyError) as caught:
        load_policy(str(write(tmp_path / "p.yml", text)), tmp_path)
    assert (caught.value.line, caught.value.key) == (3, "rules.linkage")


def test_bad_version_in_max_versions_points_at_the_namespace(tmp_path: Path) -> None:
    text = "rules:\n  max-versions:\n    GLIBCXX: '3.4.x'\n"
    with pytest.raises(PolicyError) as caught:
        load_policy(str(write(tmp_path / "p.yml", text)), tmp_path)
    assert (caught.value.line, caught.value.key) == (3, "rules.max-versions.GLIBCXX")
    assert "3.4.x" in str(caught.value)


def test_duplicate_key_is_an_error_with_line(tmp_path: Path) -> None:
    text = "rules:\n  max-glibc: '2.31'\n  max-glibc: '2.17'\n"
    with pytest.raises(PolicyError) as caught:
        load_policy(str(write(tmp_path / "p.yml", text)), tmp_path)
    assert caught.value.line == 3
    assert "duplicate key" in str(caught.value)


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(str(write(tmp_path / "p.yml", "rules: [\n  a\n")), tmp_path)
    assert caught.value.line is not None
    assert "invalid YAML" in str(caught.value)


def test_unknown_preset_lists_known_ones(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="manylinux2014"):
        load_policy("no-such-preset", tmp_path)


def test_extends_preset_and_child_wins(tmp_path: Path) -> None:
    text = "extends: manylinux2014\nrules:\n  max-glibc: '2.28'\n"
    rules = load_policy(str(write(tmp_path / "p.yml", text)), tmp_path).values
    assert rules["max-glibc"] == "2.28"
    assert rules["target"] == "manylinux_2_17"


def test_extends_relative_path_and_cycle(tmp_path: Path) -> None:
    write(tmp_path / "base.yml", "rules:\n  linkage: static\n")
    child = write(tmp_path / "child.yml", "extends: ./base.yml\nrules:\n  forbid-upx: false\n")
    rules = load_policy(str(child), tmp_path).values
    assert (rules["linkage"], rules["forbid-upx"]) == ("static", False)
    write(tmp_path / "a.yml", "extends: ./b.yml\n")
    write(tmp_path / "b.yml", "extends: ./a.yml\n")
    with pytest.raises(PolicyError, match="extends"):
        load_policy(str(tmp_path / "a.yml"), tmp_path)


def test_overrides_apply_by_path_glob(tmp_path: Path) -> None:
    text = "rules:\n  max-glibc: '2.31'\noverrides:\n  - paths: ['bin/legacy-*']\n    rules: {max-glibc: '2.17'}\n"
    policy = load_policy(str(write(tmp_path / "p.yml", text)), tmp_path)
    limits = {path: next(c.setting for c in policy.rules_for(path)
                         if isinstance(c, Configured) and c.rule.id == "max-glibc")
              for path in ("dist/bin/legacy-tool", "dist/bin/tool")}  # fmt: skip
    assert limits["dist/bin/legacy-tool"].maxima == {"GLIBC": (2, 17)}
    assert limits["dist/bin/tool"].maxima == {"GLIBC": (2, 31)}


def test_waiver_fields_are_validated(tmp_path: Path) -> None:
    text = "waivers:\n  - {rule: allowed-needed, subject: libcuda.so.1, reason: host driver, expires: 2027-06-30}\n"
    policy = load_policy(str(write(tmp_path / "p.yml", text)), tmp_path)
    assert policy.waivers[0].expires == datetime.date(2027, 6, 30)
    bad = write(tmp_path / "bad.yml", "waivers:\n  - {rule: allowed-needed}\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(bad), tmp_path)
    assert caught.value.key == "waivers.0.reason"
    assert caught.value.line == 2


def test_policy_file_found_upward(tmp_path: Path) -> None:
    write(tmp_path / ".linkgate.yml", "rules:\n  linkage: static\n")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert find_policy_file(nested) == str(tmp_path / ".linkgate.yml")
    assert load_policy(None, nested).values["linkage"] == "static"


def test_no_policy_file_means_default_preset(tmp_path: Path) -> None:
    if find_policy_file(tmp_path) is not None:
        pytest.skip("a linkgate.yml above the temp directory")
    assert load_policy(None, tmp_path).name == "default"


def test_float_from_a_non_yaml_source_is_refused() -> None:
    with pytest.raises(ValidationError, match="quoted string"):
        Rules.model_validate({"max-glibc": 2.3})


def test_unknown_rule_in_waiver_or_severity_is_refused(tmp_path: Path) -> None:
    bad = write(tmp_path / "p.yml", "severity:\n  max-glibcc: warning\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(bad), tmp_path)
    assert caught.value.line == 2
    assert "unknown rule" in str(caught.value)


def test_elf_format_cannot_be_lowered(tmp_path: Path) -> None:
    """An unreadable artifact (or unlistable directory) must fail: its severity is not the policy's to lower."""
    bad = write(tmp_path / "p.yml", "severity:\n  max-glibc: warning\n  elf-format: warning\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(bad), tmp_path)
    assert caught.value.key == "severity"
    assert "elf-format is always an error" in str(caught.value)
