"""Go build info from real Go binaries, checked against Go's own reader (`go version -m`).

Go 1.19 writes the 1.18+ inline format, Debian 11's Go 1.15 the older pointer
format; both build natively and for 386 (32-bit LE), mips (32-bit BE) and ppc64
(64-bit BE). `go version -m` (Go 1.19's debug/buildinfo) reads both formats, so
it is the oracle for every binary.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile

from linkgate.core.records import replace
from linkgate.elf.facts import GoBuildInfo, GoModule
from linkgate.elf.gobuild import MAGIC, WINDOW, go_unquote, parse_build_info, with_cgo_packages
from linkgate.elf.image import Image
from linkgate.elf.reader import read_elf
from scripts import debian_roots
from tests.conftest import run_linkgate
from tests.helpers import binaries, go_builds, require_tool, unavailable

KAFKA = "github.com/confluentinc/confluent-kafka-go/v2"


@pytest.fixture(scope="module")
def go115(build_dir: Path) -> dict[str, Path]:
    for tool in ("go", "gcc", "musl-gcc", "apt-get", "dpkg"):
        require_tool(tool)
    try:
        root = go_builds.go115_root()
    except debian_roots.RootUnavailable as error:
        message = f"Go 1.15 from Debian 11 is not available: {error}"
        unavailable(message)
    built = go_builds.build_all(build_dir / "go", root)
    return {name: path for name, path in built.items() if name.startswith("go115-")}


@dataclass
class Oracle:
    """What `go version -m` prints, split without linkgate's parser."""

    version: str
    path: str = ""
    main: GoModule | None = None
    deps: list[GoModule] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)


def go_version_m(path: Path, go: Path | None = None) -> Oracle:
    """`go version -m`: the machine's Go, or the toolchain at `go` (its GOROOT is two levels up)."""
    command = ["go" if go is None else str(go), "version", "-m", str(path)]
    env = None if go is None else {**os.environ, "GOROOT": str(go.parent.parent), "GOTOOLCHAIN": "local"}
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    first, *rows = out.splitlines()
    oracle = Oracle(first.split(": ", 1)[1])
    for row in rows:
        word, *columns = row.lstrip("\t").split("\t")
        if word == "path":
            oracle.path = columns[0]
        elif word in ("mod", "dep"):
            module = GoModule(columns[0], columns[1], columns[2] if len(columns) > 2 else "")
            if word == "mod":
                oracle.main = module
            else:
                oracle.deps.append(module)
        elif word == "=>":
            replaced = GoModule(columns[0], columns[1], columns[2] if len(columns) > 2 else "")
            oracle.deps[-1] = GoModule(oracle.deps[-1].path, oracle.deps[-1].version, replace=replaced)
        elif word == "build":
            key, _, value = columns[0].partition("=")
            # Go quotes values with spaces or quotes (strconv.Quote); for ASCII that is JSON's syntax.
            oracle.settings[key] = json.loads(value) if value.startswith('"') else value
    return oracle


def assert_matches_go(path: Path, toolchain: Path | None = None) -> GoBuildInfo:
    go = read_elf(path).go
    oracle = go_version_m(path, toolchain)
    assert go is not None
    assert (go.version, go.path, go.main) == (oracle.version, oracle.path, oracle.main)
    assert list(go.deps) == oracle.deps
    assert dict(go.settings) == oracle.settings
    return go


def header_bytes(path: Path) -> tuple[int, int]:
    """(pointer size, flags) of the build-info header, found by plain search (independent of the reader)."""
    data = path.read_bytes()
    at = data.find(MAGIC)
    while at % 16:
        at = data.find(MAGIC, at + 1)
    return data[at + 14], data[at + 15]


INLINE = ["go119-kafka-cgo", "go119-kafka-pure", "go119-kafka-musl", "go119-kafka-cgo-nobuildid", "go119-netcgo"] + [
    f"go119-tiny-{arch}" for arch in go_builds.CROSS
]
POINTER = ["go115-kafka-cgo", "go115-tiny-pie"] + [f"go115-tiny-{arch}" for arch in go_builds.CROSS]
# GOARCH -> (pointer size, big-endian flag) the header must declare.
TARGETS = {"amd64": (8, 0), "386": (4, 0), "mips": (4, 1), "ppc64": (8, 1)}


@pytest.mark.parametrize("name", INLINE)
def test_inline_format_matches_go(go119: dict[str, Path], name: str) -> None:
    go = assert_matches_go(go119[name])
    assert go.version.startswith("go1.19")
    assert go.layout == "inline"
    assert go.goamd64 == ("v1" if go.setting("GOARCH") == "amd64" else None)


@pytest.mark.parametrize("name", POINTER)
def test_pointer_format_matches_go(go115: dict[str, Path], name: str) -> None:
    go = assert_matches_go(go115[name])
    assert go.version.startswith("go1.15")
    assert go.settings == ()  # Go < 1.18 records no build settings
    assert go.cgo_enabled is None
    assert go.layout == "pointers"
    # No GOAMD64 before Go 1.18: its x86-64 code is baseline (v1).
    assert go.goamd64 == (None if name.endswith(go_builds.CROSS) else "v1")


@pytest.mark.parametrize("arch", ["amd64", *go_builds.CROSS])
def test_both_formats_cover_both_byte_orders_and_pointer_sizes(
    go119: dict[str, Path], go115: dict[str, Path], arch: str
) -> None:
    """The binaries really are what the format tests claim: this is the coverage matrix."""
    native = {"go119": "go119-kafka-cgo", "go115": "go115-kafka-cgo"}
    files = {**go119, **go115}
    pointer_size, big_endian = TARGETS[arch]
    for toolchain, inline_flag in (("go119", 2), ("go115", 0)):
        name = native[toolchain] if arch == "amd64" else f"{toolchain}-tiny-{arch}"
        assert header_bytes(files[name]) == (pointer_size, big_endian | inline_flag), name
        facts = read_elf(files[name])
        assert facts.byte_order == ("big" if big_endian else "little")


def test_cgo_build_records_the_kafka_dependency_and_cgo(go119: dict[str, Path]) -> None:
    go = read_elf(go119["go119-kafka-cgo"]).go
    assert go is not None
    assert go.path == "example.com/uploader"
    assert [(m.path, m.version) for m in go.deps] == [(KAFKA, "v2.3.0")]
    assert go.deps[0].replace == GoModule("../fake-kafka", "(devel)")
    assert go.cgo_enabled is True
    assert go.setting("GOOS") == "linux"
    assert go.setting("GOARCH") == "amd64"


def test_musl_static_build_shows_tags_and_ldflags_in_inspect_json(go119: dict[str, Path]) -> None:
    """Done-when: on the musl-static build, `inspect --format json` shows the Go version and -tags=musl."""
    toolchain = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=True)
    out = run_linkgate("inspect", "--format", "json", str(go119["go119-kafka-musl"]))
    item = json.loads(out.stdout)[0]
    assert item["linkage"] == "static"
    assert item["go"]["version"] == toolchain.stdout.strip()
    assert item["go"]["settings"]["-tags"] == "musl"
    assert item["go"]["settings"]["-ldflags"] == go_builds.MUSL_LDFLAGS
    assert item["go"]["cgo_enabled"] is True
    assert [m["path"] for m in item["go"]["modules"]] == [KAFKA]
    assert item["go"]["cgo_packages"] == [f"{KAFKA}/kafka"]
    assert any(line.startswith("GCC: ") for line in item["compiler"])
    text = run_linkgate("inspect", str(go119["go119-kafka-musl"])).stdout
    assert "-tags=musl" in text
    assert '-ldflags="-linkmode external -extldflags \\"-static\\""' in text


def test_not_go(gcc_binaries: dict[str, Path]) -> None:
    facts = read_elf(gcc_binaries["gcc-pie"])
    assert facts.go is None
    assert with_cgo_packages(gcc_binaries["gcc-pie"], facts) is facts
    item = json.loads(run_linkgate("inspect", "--format", "json", str(gcc_binaries["gcc-pie"])).stdout)[0]
    assert item["go"] is None


@pytest.mark.parametrize(
    ("name", "packages"),
    [
        ("go119-kafka-cgo", (f"{KAFKA}/kafka",)),
        ("go119-kafka-musl", (f"{KAFKA}/kafka",)),
        ("go119-kafka-pure", ()),
        # No `import "C"` in the program: the standard library's resolver calls C.
        ("go119-netcgo", ("net",)),
    ],
)
def test_cgo_packages_come_from_function_names(go119: dict[str, Path], name: str, packages: tuple[str, ...]) -> None:
    facts = with_cgo_packages(go119[name], read_elf(go119[name]))
    assert facts.go is not None
    assert facts.go.cgo_packages == packages


def test_cgo_packages_without_build_settings(go115: dict[str, Path]) -> None:
    """Go 1.15 records no CGO_ENABLED; the function names still show the cgo package."""
    facts = with_cgo_packages(go115["go115-kafka-cgo"], read_elf(go115["go115-kafka-cgo"]))
    assert facts.go is not None
    assert facts.go.cgo_packages == (f"{KAFKA}/kafka",)


def test_section_headers_are_not_needed(go119: dict[str, Path], build_dir: Path) -> None:
    """The loader's view finds the header even 64 KiB+ into the data, with no sections at all.

    The fixture's 100 kB of C data puts it there; Go 1.19's own reader then
    reports "not a Go executable" for the stripped file.
    """
    source = go119["go119-kafka-cgo"]
    data = source.read_bytes()
    segment = next(
        h for h in binaries.program_headers(data) if h.p_offset <= data.find(MAGIC) < h.p_offset + h.p_filesz
    )
    assert data.find(MAGIC) - segment.p_offset > WINDOW
    for transform in (binaries.strip_section_headers, binaries.strip_to_segments):
        stripped = binaries.derive(build_dir / "go", f"kafka-cgo-{transform.__name__}", source, transform)
        facts = read_elf(stripped)
        assert not facts.has_section_headers
        assert facts.go == read_elf(source).go
        assert with_cgo_packages(stripped, facts).go == with_cgo_packages(source, read_elf(source)).go


def test_without_go_note_the_section_name_leads_the_search(go119: dict[str, Path], build_dir: Path) -> None:
    """An empty -buildid leaves no Go note; the `.go.buildinfo` section name then justifies the
    full search. With neither (sections stripped too), a header past 64 KiB is not found:
    the one layout this reader does not cover (Go's own reader misses it as well)."""
    source = go119["go119-kafka-cgo-nobuildid"]
    with source.open("rb") as handle:
        segments: list[Any] = list(ELFFile(handle).iter_segments("PT_NOTE"))  # NoteSegment, untyped
        notes = [note["n_name"] for segment in segments for note in segment.iter_notes()]
    assert "GNU" in notes
    assert "Go" not in notes
    assert read_elf(source).go is not None
    stripped = binaries.derive(build_dir / "go", "kafka-cgo-nobuildid-stripped", source, binaries.strip_section_headers)
    assert read_elf(stripped).go is None


def test_damaged_header_falls_back_to_the_runtime_strings_never_to_not_go(
    go119: dict[str, Path], build_dir: Path
) -> None:
    """A corrupt header must not make the artifact unreadable, nor silently "not Go": the
    runtime's own strings still say how it was built; with those gone too, the layout is unknown."""
    source = go119["go119-kafka-cgo"]
    data = source.read_bytes()
    at = data.find(MAGIC)
    while at % 16:
        at = data.find(MAGIC, at + 1)
    whole = read_elf(source).go
    assert whole is not None and whole.layout == "inline"

    def corrupt(name: str, *edits: tuple[int, bytes]) -> Path:
        def edit(data: bytes) -> bytes:
            for offset, value in edits:
                data = data[:offset] + value + data[offset + len(value) :]
            return data

        return binaries.derive(build_dir / "go", f"kafka-cgo-corrupt-{name}", source, edit)

    overlong = corrupt("overlong", (at + 32, b"\xff" * 10))  # the version's uvarint length never ends
    huge = corrupt("huge", (at + 32, b"\xff\xff\xff\xff\x0f"))  # a 4 GiB string
    pointer = corrupt("pointer", (at + 15, b"\x00"))  # claims the pointer format: the "pointers" point nowhere
    for damaged in (overlong, huge, pointer):
        go = read_elf(damaged).go
        assert go is not None and go.layout == "runtime" and "build info header at" in go.problem
        assert replace(go, layout="inline", problem="") == whole
    assert read_elf(pointer).needed == read_elf(source).needed
    # The version text itself gone (every copy): nothing says which Go built it.
    version = whole.version.encode()
    copies = [match.start() for match in re.finditer(re.escape(version), data)]
    blank = corrupt("no-version", (at, b"\x00" * 16), *((i, b"xx") for i in copies))
    go = read_elf(blank).go
    assert go is not None and go.layout == "unknown" and not go.known
    assert go.problem.endswith("points at a Go version text; linked by Go: Go build-ID note")
    text = run_linkgate("inspect", str(blank)).stdout
    assert "go: Go build info: unknown layout (no `\\xff Go buildinf:` header, and no Go string header" in text


def test_module_info_parsing_follows_go() -> None:
    """Quoting and replacement rules of runtime/debug.ParseBuildInfo, on the text Go writes."""
    text = "\n".join(
        [
            "path\texample.com/app",
            "mod\texample.com/app\t(devel)\t",
            "dep\tgolang.org/x/sys\tv0.5.0\th1:abc=",
            "dep\texample.com/old\tv1.0.0\t",
            "=>\texample.com/new\tv1.1.0\th1:def=",
            'build\t-ldflags="-X main.version=1.2 -extldflags \\"-static\\""',
            'build\t"weird key"=value',
            "build\t-tags=netgo,osusergo",
            "build\tbroken line without equals",
            "",
        ]
    )
    go = parse_build_info("go1.21.0", text)
    assert go.main == GoModule("example.com/app", "(devel)")
    assert go.deps == (
        GoModule("golang.org/x/sys", "v0.5.0", "h1:abc="),
        GoModule("example.com/old", "v1.0.0", "", GoModule("example.com/new", "v1.1.0", "h1:def=")),
    )
    assert go.setting("-ldflags") == '-X main.version=1.2 -extldflags "-static"'
    assert go.setting("weird key") == "value"
    assert go.setting("-tags") == "netgo,osusergo"
    assert len(go.settings) == 3


def test_go_unquote() -> None:
    assert go_unquote('"a\\tb\\x41\\101\\u00e9\\"q\\""') == 'a\tbAAé"q"'
    assert go_unquote("`raw \\n`") == "raw \\n"
    assert go_unquote("plain") == "plain"


def test_out_of_range_escape_skips_the_setting_not_the_run(
    go119: dict[str, Path], gcc_binaries: dict[str, Path], build_dir: Path, tmp_path: Path
) -> None:
    """An in-place edit of the module info (`\\UFFFFFFFF` names no character) once raised
    ValueError out of the parser: exit 2, "internal error", every other result lost."""
    source = go119["go119-kafka-cgo"]
    line = b"build\t-trimpath=true\n"
    bad = b'build\tt="\\UFFFFFFFF"\n'
    assert len(bad) == len(line) and line in source.read_bytes()
    corrupt = binaries.derive(build_dir / "go", "kafka-cgo-bad-escape-all", source, lambda d: d.replace(line, bad))
    go = read_elf(corrupt).go
    assert go is not None
    assert go.setting("t") is None and go.setting("-trimpath") is None
    assert go.setting("CGO_ENABLED") == "1"
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "corrupt").write_bytes(corrupt.read_bytes())
    (tree / "hello").write_bytes(gcc_binaries["gcc-pie"].read_bytes())
    result = run_linkgate("check", "--format", "json", str(tree))
    assert "internal error" not in result.stderr
    paths = {finding["path"] for finding in json.loads(result.stdout)["findings"]}
    assert any(path.endswith("corrupt") for path in paths) and any(path.endswith("hello") for path in paths)


def test_hostile_escapes_never_escape_as_other_exceptions() -> None:
    for escape in ("\\UFFFFFFFF", "\\U00110000", "\\uD800", "\\777", "\\x4", "\\", "\\q"):
        text = f'build\tk="{escape}"\nbuild\tok=1\n'
        assert parse_build_info("go1.21", text).setting("ok") == "1"


def test_offsets_past_two_to_the_63_do_not_escape_from_the_file_path(go119: dict[str, Path], build_dir: Path) -> None:
    """Found by the fuzzer: bytes.find clamps huge offsets but mmap.find raises
    OverflowError, so a 64-bit PT_NOTE or .shstrtab offset >= 2**63 crashed
    `read_elf` (which maps the file) once the header was not in Go's window."""
    source = go119["go119-kafka-cgo"]
    image = Image(source.read_bytes())
    header = image.header()
    note = next(
        header.e_phoff + index * header.e_phentsize
        for index, segment in enumerate(image.segments(header))
        if segment.p_type == 4
    )
    (shoff,) = image.unpack("Q", 0x28)
    (shstrndx,) = image.unpack("H", 0x3E)
    shstrtab_offset = shoff + shstrndx * 64 + 0x18

    def edit(data: bytes) -> bytes:
        out = bytearray(data.replace(MAGIC, b"\xff Go buildinF:"))  # not in the window: the full search runs
        out[note + 8 : note + 16] = (1 << 63 | 5).to_bytes(8, "little")
        out[shstrtab_offset : shstrtab_offset + 8] = (1 << 63 | 7).to_bytes(8, "little")
        return bytes(out)

    hostile = binaries.derive(build_dir / "go", "kafka-cgo-offsets-2p63", source, edit)
    facts = read_elf(hostile)
    # No header left; the Go note (in the other PT_NOTE) still marks the file: the runtime's strings.
    assert facts.go is not None and facts.go.layout == "runtime"
    assert facts.needed == read_elf(source).needed
