"""Real UPX output (3.96 and 4.2.4 from Debian) read through: detection, version,
method and the payload's linkage, also with every UPX mark erased."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from linkgate.elf.facts import ElfFacts
from linkgate.elf.image import Image
from linkgate.elf.layouts import PT_LOAD
from linkgate.elf.reader import parse_elf, read_elf
from linkgate.elf.upx import open_payload
from tests.helpers.upx_tools import INPUTS, METHODS, SUITES, Packer, available, build_input, erase_marks
from tests.helpers.upx_tools import packed as pack
from tests.helpers.upx_tools import packer as get_packer

EXPLICIT_METHOD = {"lzma": "LZMA", "nrv2b": "NRV2B", "nrv2d": "NRV2D", "nrv2e": "NRV2E"}


def linkage(facts: ElfFacts) -> tuple[object, ...]:
    """Everything a rule can judge about how the program links."""
    return (
        facts.kind, facts.linkage, facts.interpreter, facts.needed, facts.soname, facts.rpath,
        facts.runpath, facts.version_needs, facts.version_defs, facts.libc, facts.machine,
    )  # fmt: skip


@pytest.fixture(scope="session", params=sorted(SUITES))
def upx(request: pytest.FixtureRequest) -> Packer:
    name: str = request.param
    packer: Packer = available(lambda: get_packer(name))
    return packer


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", INPUTS)
def test_packed_payload_has_the_original_linkage(upx: Packer, name: str, method: str) -> None:
    source: Path = available(lambda: build_input(name))
    packed: Path = available(lambda: pack(upx, method, source))
    original = read_elf(source)
    data = packed.read_bytes()
    for label, candidate in (("as packed", data), ("marks erased", erase_marks(data))):
        facts = parse_elf(candidate)
        assert facts.upx is not None, label
        assert (facts.upx.packed, facts.upx.tier, facts.upx.payload_read) == (True, 1, True), label
        assert facts.payload is not None, label
        assert linkage(facts.payload) == linkage(original), label
        if method in EXPLICIT_METHOD:
            assert facts.upx.method == EXPLICIT_METHOD[method], label
    assert parse_elf(data).upx.version == upx.version  # type: ignore[union-attr]
    assert b"UPX!" not in erase_marks(data)
    erased = parse_elf(erase_marks(data)).upx
    assert erased is not None
    assert erased.version == upx.version.split(".")[0] + ".x"
    assert "magic erased" in erased.evidence


def test_erased_cgo_binary_still_needs_new_glibc(upx: Packer) -> None:
    """The issue's acceptance case: the payload names GLIBC_2.34 and the symbols behind it."""
    source: Path = available(lambda: build_input("go-cgo"))
    data = erase_marks(available(lambda: pack(upx, "default", source)).read_bytes())
    facts = parse_elf(data)
    assert facts.linkage.value == "static"  # what `file` and ldd believe
    assert facts.payload is not None
    needs = {(n.library, n.version): n.symbols for n in facts.payload.version_needs}
    assert needs[("libc.so.6", "GLIBC_2.34")]
    assert facts.payload.interpreter == "/lib64/ld-linux-x86-64.so.2"


def test_erased_copy_still_runs(upx: Packer, tmp_path: Path) -> None:
    """Why marks prove nothing: the UPX runtime never reads them."""
    source: Path = available(lambda: build_input("gcc-pie"))
    erased = tmp_path / "erased"
    erased.write_bytes(erase_marks(available(lambda: pack(upx, "default", source)).read_bytes()))
    erased.chmod(0o755)
    expected = subprocess.run([str(source)], capture_output=True, check=True).stdout
    assert subprocess.run([str(erased)], capture_output=True, check=True).stdout == expected


@pytest.mark.parametrize("method", ["lzma", "nrv2e", "nrv2b", "nrv2d"])
def test_every_pt_load_decodes_byte_for_byte(upx: Packer, method: str) -> None:
    """The static binary's text block is filtered (0x49): the unfilter is exercised too."""
    source: Path = available(lambda: build_input("gcc-static"))
    payload = open_payload(available(lambda: pack(upx, method, source)).read_bytes())
    assert payload is not None
    original = source.read_bytes()
    image = Image(original)
    loads = [s for s in image.segments(image.header()) if s.p_type == PT_LOAD and s.p_filesz]
    assert len(loads) >= 2
    for segment in loads:
        end = segment.p_offset + segment.p_filesz
        assert payload[segment.p_offset : end] == original[segment.p_offset : end]
    assert payload[0:64] == original[0:64]


def test_unpacked_inputs_are_not_flagged() -> None:
    for name in INPUTS:
        source: Path = available(lambda name=name: build_input(name))  # type: ignore[misc]
        assert read_elf(source).upx is None
