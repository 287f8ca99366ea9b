"""Latency of seeing through UPX: full facts (detection + payload linkage) of
packed cgo Go programs, median of N runs with time.perf_counter.

Run from the repository root: `python -m benchmarks.upx_payload [runs]`.
The packers come from Debian's packages (tests/helpers/upx_tools.py); the figures go
to the README's performance note. Target: <= 20 ms for a ~2.6 MB packed Go
binary; the two programs below bracket that size.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from linkgate.elf.reader import read_elf
from tests.helpers.upx_tools import _GO_MAIN, GO_HTTP, SUITES, build_go_program, packed, packer

PROGRAMS = {"go-cgo-hello": _GO_MAIN, "go-cgo-http": GO_HTTP}
METHODS = ("default", "lzma")


def median_ms(path: Path, runs: int) -> float:
    """Median wall time of read_elf(path) in milliseconds (file cache warm)."""
    read_elf(path)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        facts = read_elf(path)
        samples.append(time.perf_counter() - start)
    if facts.payload is None or not facts.payload.needed:
        raise SystemExit(f"{path}: payload linkage was not read")
    return statistics.median(samples) * 1000


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    print(f"{'packer':10} {'method':8} {'program':14} {'packed MB':>9} {'median ms':>9}")
    for suite in sorted(SUITES):
        tool = packer(suite)
        for name, source in PROGRAMS.items():
            program = build_go_program(name, source)
            for method in METHODS:
                path = packed(tool, method, program)
                size = path.stat().st_size / 1e6
                print(f"{suite:10} {method:8} {name:14} {size:9.2f} {median_ms(path, runs):9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
