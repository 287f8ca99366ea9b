"""Turn the hyperfine JSON and memory readings of run.sh into the Markdown table for the README."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _means(path: Path) -> dict[str, tuple[float, float]]:
    results = json.loads(path.read_text())["results"]
    return {r["command"]: (r["mean"], r["stddev"] or 0.0) for r in results}


def main(out: Path, files: str) -> None:
    trees = {**_means(out / "trees.json"), **_means(out / "peer.json")}
    one = _means(out / "one.json")
    scanelf = trees["scanelf"][0]
    print(f"| {files} ELF files (/usr/lib/x86_64-linux-gnu + /usr/bin) | mean ± sd | vs scanelf |")
    print("|---|---|---|")
    for name, (mean, sd) in trees.items():
        print(f"| {name} | {mean * 1000:.0f} ± {sd * 1000:.0f} ms | {mean / scanelf:.1f}x |")
    interleaved = json.loads((out / "interleaved.json").read_text())
    print()
    print("Interleaved (each round runs all three in turn; median of the per-round ratios):")
    print()
    print("| command | median | vs scanelf |")
    print("|---|---|---|")
    for name, figures in interleaved.items():
        print(f"| {name} | {figures['median'] * 1000:.0f} ms | {figures['ratio']:.2f}x |")
    base = one["python -c pass"][0]
    single = one["linkgate check (1 binary)"][0]
    print()
    print(
        f"One binary: {single * 1000:.0f} ms, {(single - base) * 1000:.0f} ms above `python -c pass` "
        f"({base * 1000:.0f} ms)."
    )
    print()
    print("| input | peak RSS |")
    print("|---|---|")
    for line in (out / "memory.txt").read_text().splitlines():
        tree, rss = line.rsplit(" ", 1)
        print(f"| `{tree}` | {int(rss) / 1024:.0f} MiB |")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
