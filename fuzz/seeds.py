"""Seed files: committed fixtures and presets, crafted UPX containers, and whatever
real binaries the caller adds (the test suite builds gcc, Go and UPX-packed ones)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from fuzz import crafted
from linkgate.elf.image import ElfFormatError
from linkgate.elf.layouts import ELF_MAGIC
from linkgate.elf.reader import parse_elf

REPO = Path(__file__).resolve().parent.parent
# Larger seeds make every input slow to read; the structures fuzzed sit near the start anyway.
MAX_SEED = 4 << 20
KINDS = ("elf", "upx", "go", "yaml", "zip", "tar", "image")


def default_paths() -> list[Path]:
    """What every run starts from: the committed ELF fixtures and the policy presets."""
    fixtures = sorted((REPO / "tests" / "fixtures" / "bin").glob("*"))
    presets = sorted((REPO / "policies").glob("*.yml")) + sorted((REPO / "policies" / "profiles").glob("*.yml"))
    return [p for p in fixtures + presets if p.is_file()]


def crafted_upx() -> list[bytes]:
    """Small UPX containers the reader accepts, around NRV streams of each variant;
    the 512 MiB ones are bombs within UPX's own limits (cheap only if decoding is bounded)."""
    seeds = []
    for method in (2, 5, 8):
        stream = crafted.bomb_stream(method, 64 << 10)
        seeds.append(crafted.upx_program(stream, 64 << 10, method))
        seeds.append(crafted.upx_library(stream, 64 << 10, method))
        seeds.append(crafted.upx_program(crafted.slow_stream(method, 4096), 4096, method, interp_at=2048))
        bomb = crafted.bomb_stream(method, 512 << 20)
        seeds += [crafted.upx_program(bomb, 512 << 20, method), crafted.upx_library(bomb, 512 << 20, method)]
    return seeds


def classify(data: bytes, name: str) -> str | None:
    """elf, upx, go, yaml, zip, tar or image; None for a file no target uses."""
    if name.endswith((".yml", ".yaml")):
        return "yaml"
    if not data.startswith(ELF_MAGIC):
        return _archive_kind(data, name)
    try:
        facts = parse_elf(data)
    except ElfFormatError:
        return "elf"
    if facts.upx is not None:
        return "upx"
    return "go" if facts.go is not None else "elf"


def _archive_kind(data: bytes, name: str) -> str | None:
    """Uncompressed archives only: mutating compressed bytes exercises zlib, not linkgate."""
    if data.startswith(b"PK\x03\x04"):
        return "zip"
    if data.startswith(b"!<arch>\n"):
        return "tar"  # a .deb: its ar headers and (built with -Znone) its tar headers
    if data[257:262] != b"ustar" or not name.endswith(".tar"):
        return None
    return "image" if b"oci-layout" in data or b"manifest.json" in data[: 1 << 16] else "tar"


def load(paths: Iterable[Path]) -> dict[str, list[bytes]]:
    """Seeds by kind, from `paths` (files, or directories searched recursively) plus the crafted ones."""
    by_kind: dict[str, list[bytes]] = {kind: [] for kind in KINDS}
    by_kind["upx"] = crafted_upx()
    for path in _files(paths):
        data = path.read_bytes()
        kind = classify(data, path.name)
        if kind is not None:
            by_kind[kind].append(data)
    return by_kind


def _files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        found += [p for p in candidates if p.stat().st_size <= MAX_SEED]
    return found
