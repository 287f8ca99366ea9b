"""Partial target profiles: a library that RHEL's, Ubuntu's or Amazon Linux's version-level table
does not list is *unknown* there (a warning), never *missing* (an error); complete profiles (Debian's
captured ones, Alpine's base image, the manylinux whitelists) stay strict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linkgate.cli import main
from linkgate.core.site import NOWHERE
from linkgate.elf.reader import read_elf
from linkgate.policy.locate import presets_dir
from linkgate.policy.targets import load_shipped, profiles_dir
from linkgate.profiles.files import profile_yaml
from linkgate.rules.target import judge
from scripts.gen_version_profiles import alpine_profile, distro_profile
from scripts.version_tables import DISTROS
from tests.helpers import binaries, require_tool

PARTIAL_FAMILIES = ("rhel-", "ubuntu-", "amazonlinux-")


@pytest.fixture(scope="module")
def uses_libdemo(build_dir: Path) -> Path:
    """A real gcc program that NEEDs libdemo.so.1 (two symbol versions), checked without the library."""
    require_tool("gcc")
    out = build_dir / "reader"
    binaries.build(binaries.RECIPES["gcc"]["libdemo.so.1"], out)
    return binaries.build(binaries.RECIPES["gcc"]["gcc-rpath"], out)


def findings(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, object]]]:
    code = main(["check", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)["findings"]


def test_which_shipped_profiles_are_partial() -> None:
    shipped = load_shipped(presets_dir())
    partial = {name for name, profile in shipped.items() if not profile.complete}
    assert partial == {name for name in shipped if name.startswith(PARTIAL_FAMILIES)}
    assert len(partial) == len(DISTROS)
    assert shipped["debian-12"].complete and shipped["alpine"].complete and shipped["manylinux_2_28"].complete
    assert not shipped["ubuntu-24.04"].index().complete


def test_partial_profile_warns_that_it_cannot_tell(uses_libdemo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, found = findings(capsys, "--policy", "ubuntu-24.04", str(uses_libdemo))
    assert code == 0, found
    assert [(f["rule"], f["severity"], f["subject"]) for f in found] == [("target", "warning", "libdemo.so.1")]
    message = str(found[0]["message"])
    assert "unknown on ubuntu-24.04" in message and "cannot open" not in message
    assert "linkgate profile capture" in str(found[0]["hint"])
    # The library's own version needs (DEMO_1.0, DEMO_2.0) cannot be judged either: not reported.
    strict, _ = findings(capsys, "--strict", "--policy", "ubuntu-24.04", str(uses_libdemo))
    assert strict == 1, "a strict release gate refuses what it cannot decide"


def test_complete_profile_still_refuses_a_missing_library(
    uses_libdemo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, found = findings(capsys, "--policy", "debian-12", str(uses_libdemo))
    assert code == 1
    assert [(f["severity"], f["subject"]) for f in found] == [("error", "libdemo.so.1")]
    assert "cannot open shared object file" in str(found[0]["message"])
    code, found = findings(capsys, "--policy", "manylinux_2_34", str(uses_libdemo))
    assert code == 1 and [f["severity"] for f in found] == ["error"]


def test_known_missing_versions_still_fail_on_a_partial_profile(uses_libdemo: Path) -> None:
    """rhel-8 has glibc 2.28: the GLIBC_2.34 need is an error even though libdemo is only unknown."""
    profile = load_shipped(presets_dir())["rhel-8"].index()
    found = list(judge(read_elf(uses_libdemo), profile, NOWHERE))
    advisory = {v.subject: v.advisory for v in found}
    assert advisory["libdemo.so.1"] is True
    assert advisory["GLIBC_2.34"] is False


def test_inspect_says_unknown_not_missing(uses_libdemo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", "--format", "json", str(uses_libdemo)]) == 0
    compatibility = json.loads(capsys.readouterr().out)[0]["compatibility"]
    assert compatibility["ubuntu-24.04"] == {"runs": None, "missing": [], "unknown": ["libdemo.so.1"]}
    assert compatibility["debian-12"] == {"runs": False, "missing": ["libdemo.so.1"], "unknown": []}
    rhel8 = compatibility["rhel-8"]
    assert rhel8["runs"] is False and "GLIBC_2.34" in rhel8["missing"] and rhel8["unknown"] == ["libdemo.so.1"]
    assert main(["inspect", str(uses_libdemo)]) == 0
    text = capsys.readouterr().out
    assert "ubuntu-22.04…24.04 ? libdemo.so.1" in text
    assert "debian-12…13 ✗ libdemo.so.1" in text
    assert "✗ libdemo.so.1" not in text.split("ubuntu-")[1].split("alpine")[0]


def test_a_captured_profile_can_say_it_is_partial(
    tmp_path: Path, uses_libdemo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The flag is the profile file's, not the shipped names': a user's file may set it too."""
    debian = (profiles_dir(presets_dir()) / "debian-12.yml").read_text()
    for complete, severity in (("true", "error"), ("false", "warning")):
        (tmp_path / "host.yml").write_text(debian.replace("\nlibraries:", f"\ncomplete: {complete}\nlibraries:", 1))
        (tmp_path / "linkgate.yml").write_text("rules:\n  target: ./host.yml\n")
        _, found = findings(capsys, "--policy", str(tmp_path / "linkgate.yml"), str(uses_libdemo))
        assert [(f["severity"], f["subject"]) for f in found] == [(severity, "libdemo.so.1")]


def test_shipped_version_level_files_are_what_the_generator_writes() -> None:
    """Regenerated, not edited: the distribution tables and Alpine (manylinux needs auditwheel's data)."""
    for profile in [*(distro_profile(d) for d in DISTROS), alpine_profile()]:
        shipped = profiles_dir(presets_dir()) / f"{profile.name}.yml"
        header = "".join(shipped.read_text().splitlines(keepends=True)[:2])
        assert shipped.read_text() == profile_yaml(profile, header), profile.name
