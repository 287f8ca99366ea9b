"""What the text output says: the wrapped `targets:` line, the list of known presets, and the
build images a max-glibc hint names."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from linkgate.cli import main
from linkgate.elf.reader import read_elf
from linkgate.formats.text_compat import compat_lines
from linkgate.policy.locate import presets_dir
from linkgate.policy.targets import aliases, load_shipped
from linkgate.rules.remedies import IMAGES, glibc_fix
from linkgate.rules.schema import parse_version

# --- the targets: line ----------------------------------------------------------------------------


def test_wrapped_targets_lines_end_with_an_entry_not_a_separator(capsys: pytest.CaptureFixture[str]) -> None:
    """`inspect` of a real dynamic program: every shipped profile, wrapped over several lines."""
    program = shutil.which("ls") or "/usr/bin/ls"
    assert main(["inspect", program]) == 0
    text = capsys.readouterr().out
    start = text.index("  targets: ")
    lines = text[start:].rstrip("\n").splitlines()
    assert len(lines) > 2, "the line is expected to wrap with every shipped profile shown"
    for line in lines:
        assert not line.rstrip().endswith("·"), line
        assert not line.strip().startswith("·"), line
        assert len(line) <= 120


def test_wrapping_keeps_every_entry_once() -> None:
    verdicts = {f"distro-{n}": {"runs": n % 2 == 0, "missing": [f"libfoo{n}.so.1"]} for n in range(30)}
    lines = compat_lines(verdicts)
    assert len(lines) > 1
    joined = " · ".join(line.strip().removeprefix("targets: ") for line in lines)
    entries = joined.split(" · ")
    assert [entry.split()[0] for entry in entries] == list(verdicts)
    assert all(not line.endswith("·") for line in lines)


# --- --policy with an unknown name ------------------------------------------------------------------


def test_unknown_preset_lists_each_known_name_once(capsys: pytest.CaptureFixture[str]) -> None:
    """manylinux_2_28 is a preset and a shipped profile: named once, in listing order."""
    assert main(["check", "--policy", "nosuch", "/usr/bin/true"]) == 2
    error = capsys.readouterr().err
    match = re.search(r"no such preset \(known: (.*)\)", error)
    assert match is not None, error
    known = match.group(1).split(", ")
    assert len(known) == len(set(known)), known
    assert known.count("manylinux_2_28") == 1
    assert known[:5] == ["default", "hardened", "manylinux2014", "manylinux_2_28", "static"]
    assert "debian-11" in known and "manylinux_2_34 … manylinux_2_41" in known
    assert "android-21 … android-36" in known  # a run of numbered names is one range


# --- build images in the max-glibc hint -------------------------------------------------------------

# Image names whose profile is not shipped under that name (no Debian 10 profile: its glibc is 2.28).
_NOT_SHIPPED = {"debian-10": "2.28"}


def _profile_name(image: str) -> str:
    """`Rocky 8` -> rocky-8, `Amazon Linux 2` -> amazonlinux-2, `manylinux2014` stays."""
    return image.lower().replace("amazon linux", "amazonlinux").replace(" ", "-")


def test_every_image_ships_the_glibc_the_table_says() -> None:
    """The image table agrees with the shipped target profiles (or their aliases)."""
    shipped = load_shipped(presets_dir())
    other_names = aliases(presets_dir())
    for glibc, names in IMAGES:
        for image in names.split(", "):
            name = _profile_name(image)
            if name in _NOT_SHIPPED:
                assert parse_version(_NOT_SHIPPED[name]) == glibc
                continue
            profile = shipped[other_names.get(name, name)]
            assert profile.libc is not None and profile.libc.version is not None, image
            assert parse_version(profile.libc.version) == glibc, image
    assert list(IMAGES) == sorted(IMAGES), "oldest first"


@pytest.mark.parametrize("limit", ["2.12", "2.17", "2.26", "2.28", "2.30", "2.33", "2.34", "2.38", "2.41", "2.45"])
def test_glibc_hint_names_the_newest_images_within_the_limit(limit: str) -> None:
    facts = read_elf(Path("/usr/bin/true"))
    hint = glibc_fix(facts, parse_version(limit))
    assert f"image whose glibc is <= {limit}" in hint
    fitting = [(glibc, names) for glibc, names in IMAGES if glibc <= parse_version(limit)]
    if not fitting:
        assert "<= 2.12," in hint  # no image named rather than one that is too new
        return
    newest_glibc, newest_names = fitting[-1]
    assert f"({newest_names})" in hint
    for glibc, names in IMAGES:
        if glibc != newest_glibc:
            assert f"({names})" not in hint, f"{names} (glibc {glibc}) named for a limit of {limit}"


def test_glibc_hint_for_2_30_is_not_a_2_31_image() -> None:
    hint = glibc_fix(read_elf(Path("/usr/bin/true")), (2, 30))
    assert "Debian 11" not in hint and "Ubuntu 20.04" not in hint
    assert "(manylinux_2_28, Debian 10, Rocky 8)" in hint
