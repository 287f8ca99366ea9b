"""`python -m fuzz`: structure-aware fuzzing of the reader, UPX see-through, Go build info
and policy loading (docs/fuzzing.md). Exit 1 when any target found an unexpected
exception or a hang, 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from fuzz import seeds
from fuzz.runner import Budget, Stats, run_in_child
from fuzz.targets import TARGETS

DEFAULT_OUT = seeds.REPO / ".fuzz-out"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--target", action="append", choices=sorted(TARGETS), help="fuzz this target (repeatable)")
    which.add_argument("--all", action="store_true", help="fuzz every target")
    parser.add_argument("--seconds", type=float, help="time budget, split evenly across the targets")
    parser.add_argument("--inputs", type=int, help="input budget, split evenly across the targets")
    parser.add_argument("--seed", type=int, default=0, help="random seed: same seed, seeds and budget -> same inputs")
    parser.add_argument("--seed-path", type=Path, action="append", default=[], help="more seed files or directories")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="reproducers and stats (git-ignored)")
    parser.add_argument("--hang", type=float, default=2.0, help="seconds after which one input counts as a hang")
    parser.add_argument("--memory", type=int, default=2048, help="address-space limit per target, MiB")
    parser.add_argument(
        "--oracle-every",
        type=int,
        default=0,
        metavar="N",
        help="archive targets: unpack every Nth input with the real tool too and compare (0: never)",
    )
    parser.add_argument("--replay", type=Path, help="run one saved input through the target (traceback shown)")
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if args.replay is None and args.seconds is None and args.inputs is None:
        parser.error("give --seconds or --inputs (or --replay FILE)")
    if args.replay is not None and (args.all or len(args.target) != 1):
        parser.error("--replay takes exactly one --target")
    return args


def replay(name: str, path: Path) -> int:
    """Run one reproducer in this process: 0 for a documented outcome, else the traceback propagates.
    An archive target's input also goes to its oracle: 1 when the real tool disagrees."""
    target = TARGETS[name]
    with tempfile.TemporaryDirectory(prefix="fuzz-replay-") as work:
        try:
            target.run(path.read_bytes(), Path(work))
        except target.expected as error:
            print(f"{name}: documented outcome {type(error).__name__}: {error}")
            return 0
        different = None if target.oracle is None else target.oracle(path.read_bytes(), Path(work))
    if different is not None:
        print(f"{name}: no error; the oracle disagrees: {different}")
        return 1
    print(f"{name}: no error")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse_args(parser, sys.argv[1:] if argv is None else argv)
    if args.replay is not None:
        return replay(args.target[0], args.replay)
    names = sorted(TARGETS) if args.all else args.target
    by_kind = seeds.load([*seeds.default_paths(), *args.seed_path])
    unseeded = [f"{n} (needs a {' or '.join(TARGETS[n].kinds)} file)" for n in names if not _pool(n, by_kind)]
    if unseeded:
        parser.error(f"no seeds for {', '.join(unseeded)}: give such files or directories with --seed-path")
    share = len(names)
    budget = Budget(
        inputs=None if args.inputs is None else max(1, args.inputs // share),
        seconds=None if args.seconds is None else args.seconds / share,
        hang_seconds=args.hang,
        memory_mib=args.memory,
        oracle_every=args.oracle_every,
    )
    results: list[Stats] = []
    for name in names:
        target = TARGETS[name]
        pool = _pool(name, by_kind)
        results.append(run_in_child(target, pool, budget, args.seed, args.out))
        _report(results[-1], len(pool))
    (args.out / "summary.json").write_text(json.dumps([asdict(s) for s in results], indent=2))
    return 1 if any(s.unexpected or s.hangs or s.disagreements for s in results) else 0


def _pool(name: str, by_kind: dict[str, list[bytes]]) -> list[bytes]:
    return [data for kind in TARGETS[name].kinds for data in by_kind[kind]]


def _report(stats: Stats, seed_count: int) -> None:
    print(
        f"{stats.target:8} inputs {stats.inputs:8d} ({seed_count} seeds, {stats.elapsed:6.1f} s)"
        f"  unexpected {stats.unexpected}  hangs {stats.hangs}"
        + (f"  oracle {stats.oracle_checks} disagreed {stats.disagreements}" if stats.oracle_checks else "")
        + f"  slowest {stats.slowest_seconds:.3f} s  peak {stats.peak_rss_mib:.0f} MiB"
    )
    for signature, reproducer in stats.signatures.items():
        print(f"    {signature}: {reproducer}")


if __name__ == "__main__":
    sys.exit(main())
