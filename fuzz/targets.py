"""What the fuzzer calls, which seeds each target mutates, and which exceptions are the
documented outcome for bad input (anything else is a finding of the fuzzer)."""

from __future__ import annotations

import mmap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fuzz import archive_mutate, archive_targets, mutate
from linkgate.elf import gobuild, upx
from linkgate.elf.image import AddressMap, ElfFormatError, Image
from linkgate.elf.layouts import PT_LOAD
from linkgate.elf.reader import parse_elf, read_elf
from linkgate.policy.errors import PolicyError
from linkgate.policy.loader import load_policy

Runner = Callable[[bytes, Path], None]
# On a sample of inputs: how the real tool's result differs from linkgate's, None when they agree.
Oracle = Callable[[bytes, Path], str | None]


@dataclass(frozen=True)
class Target:
    name: str
    kinds: tuple[str, ...]  # seed kinds it mutates: elf, upx, go, yaml
    mutators: tuple[mutate.Mutator, ...]
    expected: tuple[type[Exception], ...]
    run: Runner
    oracle: Oracle | None = None


def _reader(data: bytes, work: Path) -> None:
    """The artifact path of `linkgate check`: a file on disk, mapped read-only."""
    path = work / "artifact"
    path.write_bytes(data)
    read_elf(path)


def _upx(data: bytes, work: Path) -> None:
    """See-through as the reader does it, then every original PT_LOAD through the payload view."""
    del work
    parse_elf(data)
    payload = upx.open_payload(data)
    if payload is None:
        return
    original = Image(payload)
    for segment in original.segments(original.header()):
        if segment.p_type == PT_LOAD and segment.p_filesz:
            original.read(segment.p_offset, min(segment.p_filesz, 1 << 16))


def _gobuild(data: bytes, work: Path) -> None:
    """Through a mapped file, as the reader does: mmap and bytes differ on hostile offsets."""
    path = work / "artifact"
    path.write_bytes(data)
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        image = Image(mapped)
        segments = image.segments(image.header())
        gobuild.read_build_info(image, segments, AddressMap(segments))
        gobuild.cgo_packages(image, segments)


def _policy(data: bytes, work: Path) -> None:
    path = work / "linkgate.yml"
    path.write_bytes(data)
    load_policy(str(path), work)


TARGETS = {
    target.name: target
    for target in (
        Target("reader", ("elf", "upx", "go"), mutate.ELF + mutate.ELF + mutate.GENERIC, (ElfFormatError,), _reader),
        Target("upx", ("upx",), mutate.UPX + mutate.UPX + mutate.GENERIC, (ElfFormatError,), _upx),
        Target("gobuild", ("go",), mutate.GO + mutate.GO + mutate.ELF + mutate.GENERIC, (ElfFormatError,), _gobuild),
        Target("policy", ("yaml",), mutate.YAML, (PolicyError,), _policy),
        # Archives: every problem is a finding, so no exception at all is a documented outcome.
        Target("zip", ("zip",), archive_mutate.ZIP_ALL, (), archive_targets.run, archive_targets.disagreement),
        Target("tar", ("tar",), archive_mutate.TAR_ALL, (), archive_targets.run, archive_targets.disagreement),
        Target("image", ("image",), archive_mutate.IMAGE_ALL, (), archive_targets.run, archive_targets.disagreement),
    )
}
