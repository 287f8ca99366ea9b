"""What the Go build-info probe adds to reading a tree: `python -m benchmarks.gobuild_probe DIR...`.

Times read_build_info alone (on files already mapped) against the whole
loader's-view read_elf, best of several runs, single process.
"""

from __future__ import annotations

import contextlib
import mmap
import sys
import time
from collections.abc import Callable

from benchmarks.trees import elf_paths
from linkgate.elf.gobuild import read_build_info
from linkgate.elf.image import AddressMap, ElfFormatError, Image, Segment
from linkgate.elf.reader import read_elf


def mapped(paths: list[str]) -> list[tuple[Image, tuple[Segment, ...], AddressMap]]:
    images = []
    for path in paths:
        with open(path, "rb") as handle:
            try:
                data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
                image = Image(data)
                segments = image.segments(image.header())
            except (ValueError, ElfFormatError):
                continue
        images.append((image, segments, AddressMap(segments)))
    return images


def best(run: Callable[[], object], repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def read_all(paths: list[str]) -> None:
    for path in paths:
        with contextlib.suppress(OSError, ElfFormatError):
            read_elf(path, frozenset())


def main(roots: list[str]) -> int:
    paths = elf_paths(roots)
    images = mapped(paths)
    go = sum(read_build_info(*item) is not None for item in images)
    probe = best(lambda: [read_build_info(*item) for item in images])
    whole = best(lambda: read_all(paths))
    print(f"{len(images)} ELF files ({go} Go): Go build-info probe {probe * 1000:.1f} ms "
          f"({probe / len(images) * 1e6:.1f} us/file); whole read_elf {whole * 1000:.0f} ms "
          f"({probe / whole:.1%} of it)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["/usr/lib/x86_64-linux-gnu", "/usr/bin"]))
