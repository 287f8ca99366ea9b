"""The fuzz loop for one target, run in a forked child so that its peak memory
is its own and a runaway input cannot take the caller down with it.

Every input is timed under an interval timer: past `hang_seconds` it is
stopped and counted as a hang. The child also runs under an address-space
limit, so an allocation bomb shows up as MemoryError (an unexpected exception)
rather than as the machine's OOM killer. Unexpected exceptions and hangs are
saved as reproducers; the slowest input is saved too.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import signal
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType

from fuzz.targets import Target


class HangError(Exception):
    """The input ran past the per-input time limit."""


@dataclass
class Stats:
    target: str
    inputs: int = 0
    expected_errors: int = 0
    unexpected: int = 0
    hangs: int = 0
    # Inputs also unpacked by the real tool (the target's oracle), and how many it disagreed on.
    oracle_checks: int = 0
    disagreements: int = 0
    slowest_seconds: float = 0.0
    slowest_input: str = ""
    peak_rss_mib: float = 0.0
    elapsed: float = 0.0
    # "ExceptionType at file:line" -> first reproducer saved for it
    signatures: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Budget:
    inputs: int | None
    seconds: float | None
    hang_seconds: float = 2.0
    memory_mib: int = 2048
    # Every Nth input also goes to the target's oracle (0: never).
    oracle_every: int = 0


def run_in_child(target: Target, seeds: list[bytes], budget: Budget, seed: int, out: Path) -> Stats:
    """Fuzz `target` in a forked child; its Stats come back through a file."""
    out.mkdir(parents=True, exist_ok=True)
    result = out / f"{target.name}.stats.json"
    result.unlink(missing_ok=True)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            limit = budget.memory_mib << 20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            stats = fuzz(target, seeds, budget, seed, out)
            result.write_text(json.dumps(asdict(stats)))
        except BaseException:
            traceback.print_exc()
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    if not result.exists():
        return Stats(target.name, unexpected=1, signatures={f"fuzz child died (wait status {status})": ""})
    return Stats(**json.loads(result.read_text()))


def fuzz(target: Target, seeds: list[bytes], budget: Budget, seed: int, out: Path) -> Stats:
    """Mutate seeds and run them until the budget is spent (in this process)."""
    if not seeds:
        raise ValueError(f"no seeds for target {target.name} (kinds {', '.join(target.kinds)})")
    rng = random.Random(f"{seed}/{target.name}")  # noqa: S311 - reproducible inputs, nothing secret
    stats = Stats(target.name)
    slowest = b""
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, _expire)
    # SIGTERM ends a long run after the current input, its figures still written (docs/fuzzing.md).
    stopping = signal.signal(signal.SIGTERM, _stop)
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{target.name}-") as work:
        session = _Session(target, Path(work), out, budget.hang_seconds, stats)
        try:
            while not _spent(budget, stats, started):
                data = _mutant(target, seeds, rng)
                seconds = session.one(data)
                if target.oracle is not None and budget.oracle_every and stats.inputs % budget.oracle_every == 0:
                    session.compare(data)
                if seconds > stats.slowest_seconds:
                    stats.slowest_seconds, slowest = seconds, data
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            signal.signal(signal.SIGTERM, stopping)
    stats.elapsed = time.monotonic() - started
    stats.slowest_input = str(_save(out / target.name, "slowest", slowest, "")) if slowest else ""
    stats.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return stats


_STOP: list[bool] = []


def _stop(_signum: int, _frame: FrameType | None) -> None:
    _STOP.append(True)


def _spent(budget: Budget, stats: Stats, started: float) -> bool:
    if _STOP:
        return True
    if budget.inputs is not None and stats.inputs >= budget.inputs:
        return True
    return budget.seconds is not None and time.monotonic() - started >= budget.seconds


def _mutant(target: Target, seeds: list[bytes], rng: random.Random) -> bytes:
    buf = bytearray(rng.choice(seeds))
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        rng.choice(target.mutators)(buf, rng)
    return bytes(buf)


def _expire(_signum: int, _frame: FrameType | None) -> None:
    raise HangError


@dataclass
class _Session:
    """One target's run: where it writes, its limits and its running counts."""

    target: Target
    work: Path
    out: Path
    hang_seconds: float
    stats: Stats

    def one(self, data: bytes) -> float:
        """Run one input; count and save what is not a documented outcome. Returns its wall time."""
        self.stats.inputs += 1
        start = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, self.hang_seconds)
        try:
            self.target.run(data, self.work)
        except self.target.expected:
            self.stats.expected_errors += 1
        except HangError:
            self.stats.hangs += 1
            self.record("hang", data, f"HangError: more than {self.hang_seconds} s")
        except Exception as error:
            self.stats.unexpected += 1
            self.record("crash", data, _signature(error), traceback.format_exc())
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        return time.perf_counter() - start

    def compare(self, data: bytes) -> None:
        """The real tool on the same input (no time limit: the tools are slower than linkgate)."""
        assert self.target.oracle is not None
        self.stats.oracle_checks += 1
        try:
            different = self.target.oracle(data, self.work)
        except Exception as error:
            self.stats.unexpected += 1
            self.record("crash", data, _signature(error), traceback.format_exc())
            return
        if different is not None:
            self.stats.disagreements += 1
            self.record("disagreement", data, f"oracle: {different}")

    def record(self, kind: str, data: bytes, signature: str, detail: str = "") -> None:
        """Save the first reproducer of each signature (exception type and where it was raised)."""
        if signature not in self.stats.signatures:
            note = f"{signature}\n\n{detail}"
            self.stats.signatures[signature] = str(_save(self.out / self.target.name, kind, data, note))


def _signature(error: Exception) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(error).__name__} at {where}"


def _save(directory: Path, kind: str, data: bytes, note: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{kind}-{hashlib.sha256(data).hexdigest()[:16]}.bin"
    path.write_bytes(data)
    if note:
        path.with_suffix(".txt").write_text(note)
    return path
