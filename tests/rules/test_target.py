"""Target profiles without a chroot: the CLI contract, policies naming targets, the
shipped profiles, capture on a small root, and the rule's judgement of real binaries."""

from __future__ import annotations

import json
import platform
import shutil
from pathlib import Path

import pytest

from linkgate.cli import main
from linkgate.core.site import NOWHERE
from linkgate.elf.reader import parse_elf, read_elf
from linkgate.policy.errors import PolicyError
from linkgate.policy.loader import load_policy
from linkgate.policy.locate import presets_dir
from linkgate.policy.targets import aliases, load_shipped, profiles_dir, shipped_names
from linkgate.profiles.capture import capture
from linkgate.profiles.files import read_profile
from linkgate.profiles.model import LibraryDefs, Profile
from linkgate.rules.target import judge
from tests.helpers import binaries, require, require_module, require_tool, unavailable, upx_tools
from tests.helpers.target_cases import assemble


def built(build_dir: Path, name: str) -> Path:
    group = binaries.group_of(name)
    tools = {"gcc": ("gcc",), "go": ("go", "gcc"), "zig": (), "musl": ("musl-gcc",)}[group]
    for tool in tools:
        require_tool(tool)
    if group == "zig":
        require_module("ziglang")
    if name == "gcc-runpath":
        binaries.build(binaries.RECIPES["gcc"]["libdemo.so.1"], build_dir / "reader")
    return binaries.build(binaries.RECIPES[group][name], build_dir / "reader")


def subjects(path: Path, profile: str) -> list[str]:
    shipped = load_shipped(presets_dir())
    facts = read_elf(path)
    return [v.subject for v in judge(facts.payload or facts, shipped[profile].index(), NOWHERE)]


# --- the CLI ------------------------------------------------------------------------------------


def test_cgo_binary_fails_debian_11_naming_the_loaders_two_versions(
    build_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's acceptance: exactly what Debian 11's loader says, GLIBC_2.32 and GLIBC_2.34."""
    program = built(build_dir, "go-cgo")
    assert main(["check", "--policy", "debian-11", "--format", "json", str(program)]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert {f["rule"] for f in findings} == {"target"}
    assert {f["subject"] for f in findings} == {"GLIBC_2.32", "GLIBC_2.34"}
    by_subject = {f["subject"]: f for f in findings}
    assert "version 'GLIBC_2.34' not found in libc.so.6" in by_subject["GLIBC_2.34"]["message"]
    assert "__libc_start_main" in by_subject["GLIBC_2.34"]["symbols"]
    assert "pthread_sigmask" in by_subject["GLIBC_2.32"]["symbols"]


def test_profile_preset_is_only_the_target_rule(build_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--policy debian-12` means "runs on Debian 12": an executable stack or UPX is not its business."""
    policy = load_policy("debian-12", Path.cwd())
    assert policy.values == {"target": "debian-12"}
    assert main(["check", "--policy", "debian-12", str(built(build_dir, "gcc-execstack"))]) == 0
    capsys.readouterr()


def test_inspect_shows_a_verdict_per_shipped_profile(build_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    program = built(build_dir, "go-cgo")
    assert main(["inspect", "--format", "json", str(program)]) == 0
    compatibility = json.loads(capsys.readouterr().out)[0]["compatibility"]
    assert list(compatibility) == shipped_names(presets_dir())
    assert compatibility["debian-11"] == {"runs": False, "missing": ["GLIBC_2.34", "GLIBC_2.32"], "unknown": []}
    assert compatibility["debian-12"] == {"runs": True, "missing": [], "unknown": []}
    assert compatibility["alpine"] == {"runs": False, "missing": ["/lib64/ld-linux-x86-64.so.2"], "unknown": []}
    assert main(["inspect", str(program)]) == 0
    text = capsys.readouterr().out
    assert "targets: debian-11 ✗ GLIBC_2.34, GLIBC_2.32 · debian-12…13 ✓" in text
    assert "manylinux_2_34…2_41 ✓" in text


def test_profile_list_names_every_shipped_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == shipped_names(presets_dir())


def test_capture_writes_a_profile_the_policy_can_use(
    tmp_path: Path, build_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = small_root(tmp_path / "root", build_dir)
    out = tmp_path / "prod-host.yml"
    assert main(["profile", "capture", "--root", str(root), "-o", str(out), "--name", "prod"]) == 0
    assert read_profile(out).name == "prod"
    (tmp_path / "linkgate.yml").write_text("rules:\n  target: ./prod-host.yml\n")
    program = built(build_dir, "gcc-pie")
    assert main(["check", "--policy", str(tmp_path / "linkgate.yml"), str(program)]) == 0
    assert main(["profile", "capture", "--root", str(tmp_path / "missing")]) == 2
    capsys.readouterr()


# --- capture ------------------------------------------------------------------------------------


def small_root(root: Path, build_dir: Path) -> Path:
    """A root laid out like Debian 11: absolute symlinks, ld.so.conf with a relative include."""
    libdir = root / "lib" / "x86_64-linux-gnu"
    libdir.mkdir(parents=True)
    shutil.copy2("/lib/x86_64-linux-gnu/libc.so.6", libdir / "libc-2.99.so")
    (libdir / "libc.so.6").symlink_to("libc-2.99.so")
    shutil.copy2("/lib64/ld-linux-x86-64.so.2", libdir / "ld-2.99.so")
    (root / "lib64").mkdir()
    # Absolute *for the target*: resolving it on the host would read the host's file.
    (root / "lib64" / "ld-linux-x86-64.so.2").symlink_to("/lib/x86_64-linux-gnu/ld-2.99.so")
    (libdir / "ld-linux-x86-64.so.2").symlink_to("ld-2.99.so")
    (libdir / "libc.so").write_text("/* GNU ld script */\nGROUP ( libc.so.6 )\n")
    extra = root / "opt" / "vendor" / "lib"
    extra.mkdir(parents=True)
    shutil.copy2(built(build_dir, "libdemo.so.1"), extra / "libdemo.so.1")
    (root / "etc" / "ld.so.conf.d").mkdir(parents=True)
    (root / "etc" / "ld.so.conf").write_text("# comment\ninclude ld.so.conf.d/*.conf\n")
    (root / "etc" / "ld.so.conf.d" / "vendor.conf").write_text("/opt/vendor/lib\n")
    (root / "etc" / "os-release").write_text('ID=acme\nVERSION_ID="7"\nPRETTY_NAME="Acme 7"\n')
    return root


def test_capture_follows_the_root_not_the_host(tmp_path: Path, build_dir: Path) -> None:
    profile = capture(str(small_root(tmp_path / "root", build_dir)))
    assert (profile.name, profile.description) == ("acme-7", "Acme 7")
    assert profile.libc is not None and profile.libc.family == "glibc"
    assert profile.libc.version == platform.libc_ver()[1]  # the banner of the copied libc.so.6
    assert profile.interpreters == (
        "/lib/x86_64-linux-gnu/ld-2.99.so",
        "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        "/lib64/ld-linux-x86-64.so.2",
    )
    table = profile.libraries["x86_64"]
    # Under the name the loader looks up: the soname link, not libc-2.99.so; no linker script.
    assert set(table) == {"libc.so.6", "ld-linux-x86-64.so.2", "libdemo.so.1"}
    assert table["libdemo.so.1"] == LibraryDefs(path="/opt/vendor/lib/libdemo.so.1", versions=("DEMO_1.0", "DEMO_2.0"))
    assert "GLIBC_2.34" in table["libc.so.6"].versions


# --- policies naming targets -------------------------------------------------------------------


def test_target_path_is_relative_to_the_policy_file(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    profile = Profile(name="prod", libraries={"x86_64": {"libc.so.6": LibraryDefs(versions=("GLIBC_2.2.5",))}})
    (tmp_path / "conf" / "prod.yml").write_text(json.dumps(profile.model_dump(mode="json", by_alias=True)))
    (tmp_path / "conf" / "linkgate.yml").write_text(
        "rules:\n  target: prod.yml\noverrides:\n  - paths: ['legacy/*']\n    rules: {target: rhel-7}\n"
    )
    policy = load_policy("conf/linkgate.yml", tmp_path)
    assert set(policy.profiles) == {str(tmp_path / "conf" / "prod.yml"), "rhel-7"}
    assert policy.profiles["rhel-7"].libc_version == "2.17"


def test_unknown_target_names_the_shipped_ones(tmp_path: Path) -> None:
    (tmp_path / "linkgate.yml").write_text("rules:\n  target: debian-99\n")
    with pytest.raises(PolicyError, match=r"no such target profile \(shipped: debian-11, debian-12"):
        load_policy(str(tmp_path / "linkgate.yml"), tmp_path)


def test_broken_profile_error_points_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "p.yml").write_text("name: p\nlibraries:\n  any:\n    libc.so.6: {versoins: []}\n")
    (tmp_path / "linkgate.yml").write_text("rules:\n  target: p.yml\n")
    with pytest.raises(PolicyError, match=r"p\.yml:4: target: libraries\.any\.libc\.so\.6\.versoins: unknown key"):
        load_policy(str(tmp_path / "linkgate.yml"), tmp_path)


def test_aliases_and_policy_presets() -> None:
    rocky = load_policy("rocky-9", Path.cwd())
    assert (rocky.name, rocky.values["target"], set(rocky.profiles)) == ("rocky-9", "rhel-9", {"rhel-9"})
    assert load_policy("bullseye", Path.cwd()).values["target"] == "debian-11"
    # A policy preset of a profile's name (or alias) is that profile and nothing else: one definition.
    assert load_policy("manylinux_2_28", Path.cwd()).values == {"target": "manylinux_2_28"}
    assert load_policy("manylinux2014", Path.cwd()).values == {"target": "manylinux_2_17"}


# --- the shipped profiles -----------------------------------------------------------------------


def test_every_shipped_profile_loads_under_its_file_name() -> None:
    profiles = load_shipped(presets_dir())
    assert len(profiles) >= 30
    for name, profile in profiles.items():
        assert profile.name == name
        assert profile.source is not None
        assert profile.libc is not None
        assert profile.interpreters
    index = aliases(presets_dir())
    assert index == {alias: name for name, p in profiles.items() for alias in p.aliases}
    assert not set(index) & set(profiles)


@pytest.mark.parametrize(
    ("name", "glibc", "glibcxx", "cxxabi"),
    [("debian-11", "2.31", "GLIBCXX_3.4.28", "CXXABI_1.3.12"), ("debian-12", "2.36", "GLIBCXX_3.4.30", "CXXABI_1.3.13"),
     ("debian-13", "2.41", "GLIBCXX_3.4.33", "CXXABI_1.3.15")],
)  # fmt: skip
def test_debian_profiles_agree_with_the_spec_table(name: str, glibc: str, glibcxx: str, cxxabi: str) -> None:
    profile = read_profile(profiles_dir(presets_dir()) / f"{name}.yml")
    assert profile.libc is not None and profile.libc.version == glibc
    libstdcxx = profile.libraries["x86_64"]["libstdc++.so.6"].compiled()
    assert (libstdcxx.newest("GLIBCXX"), libstdcxx.newest("CXXABI")) == (glibcxx, cxxabi)
    assert profile.source is not None and profile.source.packages["libc6"].startswith(glibc)


def test_version_level_profile_compares_numerically() -> None:
    defs = LibraryDefs(max_versions={"GLIBC": "2.17"}, versions=("GLIBC_ABI_DT_RELR",)).compiled()
    assert defs.defines("GLIBC_2.9") and defs.defines("GLIBC_2.17") and defs.defines("GLIBC_ABI_DT_RELR")
    assert not defs.defines("GLIBC_2.18") and not defs.defines("GLIBC_PRIVATE")
    assert not defs.defines("GLIBCXX_3.4")


@pytest.mark.parametrize(
    ("binary", "profile", "expected"),
    [
        ("zig-x86_64-glibc2.28", "rhel-8", []),
        ("zig-x86_64-glibc2.34", "rhel-8", ["GLIBC_2.34", "GLIBC_2.33"]),
        ("zig-x86_64-glibc2.17", "manylinux2014", []),
        ("zig-x86_64-glibc2.17", "manylinux_2_12", ["GLIBC_2.14"]),
        ("zig-aarch64", "rhel-9", []),
        ("zig-aarch64", "debian-12", ["aarch64"]),
        ("go-cgo", "amazonlinux-2023", []),
        ("musl-dynamic", "alpine", []),
        ("gcc-pie", "alpine", ["/lib64/ld-linux-x86-64.so.2"]),
        ("gcc-static-pie", "manylinux_2_5", []),
    ],
)
def test_version_level_verdicts(build_dir: Path, binary: str, profile: str, expected: list[str]) -> None:
    name = aliases(presets_dir()).get(profile, profile)
    assert subjects(built(build_dir, binary), name) == expected


def test_packed_program_whose_payload_cannot_be_read_fails_closed(tmp_path: Path) -> None:
    """UPX allowed, but an undecodable payload cannot be judged: the verdict is a failure, not a pass."""

    try:
        packer = upx_tools.packer("upx-4.2.4")
        data = bytearray(upx_tools.packed(packer, "default", upx_tools.build_input("gcc-pie")).read_bytes())
    except upx_tools.PackerUnavailableError as error:
        unavailable(str(error))
    evidence = parse_elf(bytes(data)).upx
    assert evidence is not None and evidence.tier == 1
    l_info = int(evidence.evidence.split(" at ")[1].split()[0], 16)
    data[l_info + 12 : l_info + 64] = bytes(52)  # p_info and the first block header: no proof left
    packed = tmp_path / "packed"
    packed.write_bytes(bytes(data))
    facts = read_elf(packed)
    assert facts.upx is not None and facts.upx.packed and facts.payload is None
    assert subjects(packed, "debian-13") == ["upx"]


def test_a_shipped_library_is_named_as_the_artifact_names_it(
    build_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """RUNPATH $ORIGIN/../lib among the checked files: found there, judged by what it defines."""
    case = assemble("shipped-lib-too-old", build_dir, require)
    assert main(["check", "--policy", "debian-13", "--format", "json", str(case)]) == 1
    (finding,) = json.loads(capsys.readouterr().out)["findings"]
    assert finding["subject"] == "DEMO_2.0"
    assert "libdemo.so.1 (shipped $ORIGIN/../lib/libdemo.so.1, newest DEMO_1.0)" in finding["message"]
    assert finding["symbols"] == ["demo_new"]
    assert main(["check", "--policy", "debian-13", str(assemble("shipped-lib", build_dir, require))]) == 0
    capsys.readouterr()
