"""Ratios that machine drift does not bend: commands run in turn, round after round.

hyperfine runs all of one command's runs, then all of the next one's; on a shared VM whose speed
drifts by tens of percent within minutes, the ratio of two means then says as much about the
drift as about the commands. Here each round runs every command once, one after the other, and
the ratio to the first command is taken within each round; the median of those ratios is printed.

    python -m benchmarks.interleaved OUT.json ROUNDS NAME=COMMAND NAME=COMMAND ...

Exit status 1 (findings) is expected of a command, as with hyperfine -i.
"""

from __future__ import annotations

import json
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def measure(commands: dict[str, list[str]], rounds: int) -> dict[str, list[float]]:
    """Seconds per run of each command, `rounds` runs each, in turn; one unrecorded warm-up round first."""
    for command in commands.values():
        _seconds(command)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, command in commands.items():
            times[name].append(_seconds(command))
    return times


def summary(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Per command: median and minimum seconds, and the median of its per-round ratio to the first command."""
    base = next(iter(times.values()))
    return {
        name: {
            "median": statistics.median(runs),
            "min": min(runs),
            "ratio": statistics.median(run / reference for run, reference in zip(runs, base, strict=True)),
        }
        for name, runs in times.items()
    }


def main(arguments: list[str]) -> None:
    out, rounds, *specs = arguments
    commands = {name: shlex.split(command) for name, command in (spec.split("=", 1) for spec in specs)}
    result = summary(measure(commands, int(rounds)))
    Path(out).write_text(json.dumps(result, indent=2) + "\n")
    for name, figures in result.items():
        print(f"{name}: median {figures['median'] * 1000:.0f} ms, ratio {figures['ratio']:.2f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
