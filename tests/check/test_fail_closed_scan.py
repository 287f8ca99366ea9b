"""What was not checked must not pass: lost workers, unlistable directories, special files, empty runs.

Real files throughout: copies of /usr/bin binaries, os.mkfifo, real sockets and directories.
Every run has a timeout, because the failures guarded against here used to be hangs.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from linkgate.check.discover import Candidate, discover
from linkgate.check.scan import PARALLEL_THRESHOLD, NotElfError, read_candidate
from linkgate.check.workers import _LARGEST, _WINDOW_PER_WORKER, ordered_map
from linkgate.elf.image import ElfFormatError
from linkgate.elf.layouts import ELF_MAGIC
from tests.helpers import REPO, require_tool, unavailable

# Passes /usr/bin/true and friends on this image; a target policy also runs the shipped-library pre-pass.
PASSING_POLICY = "debian-12"
TIMEOUT = 120
NOBODY = 65534


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """`python -m linkgate ARGS` in a real process; a hang fails the test instead of stalling it."""
    base = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITLAB_CI")}
    full = {**base, "PYTHONPATH": str(REPO), **(env or {})}
    command = [*prefix, sys.executable, "-m", "linkgate", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=full, check=False, timeout=TIMEOUT)


def real_elf_files(count: int) -> list[Path]:
    """The `count` smallest regular ELF files in /usr/bin (small: quick to copy and to check)."""
    found = []
    for path in Path("/usr/bin").iterdir():
        if path.is_symlink() or not path.is_file():
            continue
        with path.open("rb") as handle:
            if handle.read(4) == ELF_MAGIC:
                found.append((path.stat().st_size, path.name, path))
    assert len(found) >= count, f"need {count} ELF files in /usr/bin, found {len(found)}"
    return [path for _, _, path in sorted(found)[:count]]


@pytest.fixture(scope="module")
def big_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """More ELF files than PARALLEL_THRESHOLD: the run uses the worker pool."""
    tree = tmp_path_factory.mktemp("big") / "dist"
    tree.mkdir()
    for source in real_elf_files(PARALLEL_THRESHOLD + 40):
        shutil.copy2(source, tree / source.name)
    return tree


def require_workers() -> None:
    if (os.cpu_count() or 1) < 2:
        message = "the worker pool needs at least 2 CPUs"
        unavailable(message)


# --- a lost worker ---------------------------------------------------------------------------


@pytest.mark.parametrize("position", [0, 137, -1])
def test_a_killed_worker_ends_the_run_with_exit_2_naming_its_file(big_tree: Path, position: int) -> None:
    require_workers()
    victim = sorted(big_tree.iterdir())[position]
    # tests/helpers/kill_on.py: linkgate whose worker SIGKILLs itself on `victim`, as the OOM killer would.
    killing = (sys.executable, "-m", "tests.helpers.kill_on", victim.name)
    result = subprocess.run([*killing, "linkgate", "check", "--policy", "default", "--format", "json", str(big_tree)],
                            capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            check=False, timeout=TIMEOUT)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert f"a worker process was lost (killed by SIGKILL) while checking {victim};" in result.stderr
    assert result.stdout == ""  # no partial report that could be read as a verdict


def test_the_pool_keeps_order(big_tree: Path) -> None:
    require_workers()
    result = run("check", "--policy", "default", "--format", "json", str(big_tree))
    assert result.returncode == 1, result.stderr  # /usr/bin binaries need a newer glibc than the default's
    report = json.loads(result.stdout)
    assert report["artifacts"] == len(list(big_tree.iterdir()))
    # Error findings come in artifact order: the order the pool answered in must be the tree's.
    failing = list(dict.fromkeys(f["path"] for f in report["findings"] if f["severity"] == "error"))
    assert len(failing) > PARALLEL_THRESHOLD // 2
    assert failing == [str(p) for p in sorted(big_tree.iterdir()) if str(p) in failing]


def test_pool_results_equal_the_serial_ones_in_candidate_order() -> None:
    require_workers()
    items = list(range(1000))
    # Later items finish sooner, so answers arrive out of order and must be put back in order.
    assert list(ordered_map(_slow_for_small, items, processes=3, chunk=7)) == [i * i for i in items]


def _slow_for_small(number: int) -> int:
    if number % 97 == 0:
        os.sched_yield()
        sum(range(20000 - number * 10))
    return number * number


def test_an_exception_in_a_worker_is_raised_in_the_parent() -> None:
    require_workers()
    with pytest.raises(ZeroDivisionError):
        list(ordered_map(_fails_on_500, list(range(1000)), processes=2, chunk=16))


def _fails_on_500(number: int) -> float:
    return 1 / (number - 500)


def test_work_handed_out_is_bounded_while_the_consumer_waits() -> None:
    """Memory stays flat in the number of items: workers do not run far ahead of the consumer."""
    require_workers()
    items = list(range(100_000))
    started = multiprocessing.get_context("fork").RawArray("b", len(items))  # one flag per item

    def mark(number: int) -> int:
        started[number] = 1
        return number

    results = ordered_map(mark, items, processes=2, chunk=16)
    assert next(results) == 0
    time.sleep(1.0)  # time for the workers to run ahead, if they could
    results.close()
    # At most _WINDOW_PER_WORKER chunks per worker, each of at most _LARGEST items, are handed out
    # ahead of the oldest unanswered one: a bound that does not grow with the 100,000 items.
    assert 16 <= sum(started) <= _WINDOW_PER_WORKER * 2 * _LARGEST < len(items) // 10


# --- unreadable directories and files ----------------------------------------------------------


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temporary directory the unprivileged user can traverse (pytest's own is root-only)."""
    path = Path(tempfile.mkdtemp(prefix="linkgate-fc-"))
    path.chmod(0o755)
    yield path
    for directory, subdirectories, _ in os.walk(path):
        for name in subdirectories:  # before the walk enters them: a non-root run unlocks what it locked
            os.chmod(os.path.join(directory, name), 0o700)
    shutil.rmtree(path)


def as_unprivileged() -> tuple[str, ...]:
    """Root reads everything whatever the mode: as root, run linkgate as `nobody` so a 000 mode denies."""
    if os.geteuid() != 0:
        return ()
    return (require_tool("setpriv"), f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")


def test_an_unlistable_directory_is_an_error_finding(shared_tmp: Path) -> None:
    dist = shared_tmp / "dist"
    (dist / "locked").mkdir(parents=True)
    shutil.copy2("/usr/bin/true", dist / "app")
    shutil.copy2("/usr/bin/true", dist / "locked" / "hidden")
    (dist / "locked").chmod(0)
    dist.chmod(0o755)
    result = run(
        "check", "--policy", PASSING_POLICY, "--format", "json", str(dist), cwd=shared_tmp, prefix=as_unprivileged()
    )
    assert result.returncode == 1, result.stdout + result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [(f["rule"], f["path"], f["severity"]) for f in findings] == [("elf-format", "dist/locked", "error")]
    assert "directory cannot be listed" in findings[0]["message"]
    assert "Permission denied" in findings[0]["message"]


def test_an_unreadable_file_in_a_tree_is_an_error_finding(shared_tmp: Path) -> None:
    dist = shared_tmp / "dist"
    dist.mkdir()
    shutil.copy2("/usr/bin/true", dist / "app")
    shutil.copy2("/usr/bin/true", dist / "secret")
    (dist / "secret").chmod(0)
    result = run(
        "check", "--policy", PASSING_POLICY, "--format", "json", str(dist), cwd=shared_tmp, prefix=as_unprivileged()
    )
    assert result.returncode == 1, result.stdout + result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [(f["rule"], f["path"]) for f in findings] == [("elf-format", "dist/secret")]
    assert "Permission denied" in findings[0]["message"]


def test_a_readable_tree_passes_as_the_unprivileged_user(shared_tmp: Path) -> None:
    """The control for the two tests above: their exit 1 comes from the locked entry alone."""
    dist = shared_tmp / "dist"
    dist.mkdir()
    shutil.copy2("/usr/bin/true", dist / "app")
    result = run("check", "--policy", PASSING_POLICY, str(dist), cwd=shared_tmp, prefix=as_unprivileged())
    assert result.returncode == 0, result.stdout + result.stderr


# --- special files -----------------------------------------------------------------------------


def test_a_fifo_named_on_the_command_line_exits_2_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "artifact"
    os.mkfifo(fifo)
    result = run("check", "--policy", PASSING_POLICY, str(fifo))
    assert result.returncode == 2
    assert f"never read: {fifo} (FIFO)" in result.stderr


def test_a_device_named_on_the_command_line_exits_2() -> None:
    result = run("check", "--policy", PASSING_POLICY, "/dev/null")
    assert result.returncode == 2
    assert "/dev/null (character device)" in result.stderr


def test_special_files_in_a_tree_are_skipped_and_counted_never_opened(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    shutil.copy2("/usr/bin/true", dist / "app")
    os.mkfifo(dist / "libpipe.so.1")  # a .so name: the shipped-library pre-pass must not open it either
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(dist / "control.sock"))
        result = run("check", "--policy", PASSING_POLICY, "--format", "json", str(dist))
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["artifacts"] == 1
    assert report["skipped"] == 2


def test_discovery_marks_special_entries_in_tree_order(tmp_path: Path) -> None:
    shutil.copy2("/usr/bin/true", tmp_path / "a")
    os.mkfifo(tmp_path / "b")
    (tmp_path / "c").mkdir()
    shutil.copy2("/usr/bin/true", tmp_path / "c" / "d")
    (tmp_path / "e").symlink_to("a")
    found = [(Path(c.fs_path).name, c.special) for c in discover([str(tmp_path)])]
    assert found == [("a", None), ("b", "FIFO"), ("d", None)]


def test_a_file_swapped_for_a_fifo_after_discovery_is_not_read(tmp_path: Path) -> None:
    """Discovery saw a regular file; at read time it is a FIFO: an error, not a blocked open."""
    fifo = tmp_path / "app"
    os.mkfifo(fifo)
    with deadline(10), pytest.raises(ElfFormatError, match=r"not a regular file \(FIFO\)"):
        read_candidate(Candidate(str(fifo), str(fifo)))


def test_marked_candidates_are_never_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with deadline(10), pytest.raises(NotElfError):
        read_candidate(Candidate(str(fifo), str(fifo), special="FIFO"))
    with pytest.raises(ElfFormatError, match="cannot be listed"):
        read_candidate(Candidate(str(tmp_path), str(tmp_path), unreadable="directory cannot be listed"))


class deadline:  # noqa: N801 - used as a statement: `with deadline(10):`
    """Fail instead of hanging: SIGALRM interrupts a blocked open() and raises in this thread."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds

    def __enter__(self) -> None:
        signal.signal(signal.SIGALRM, self._expired)
        signal.alarm(self.seconds)

    def __exit__(self, *exc: object) -> None:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)

    @staticmethod
    def _expired(_signum: int, _frame: FrameType | None) -> None:
        raise TimeoutError("blocked: a special file was opened for reading")


# --- runs that checked nothing ------------------------------------------------------------------


def test_an_empty_directory_exits_2(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    result = run("check", "--policy", PASSING_POLICY, str(tmp_path / "dist"))
    assert result.returncode == 2
    assert f"no ELF artifacts found in {tmp_path / 'dist'}" in result.stderr


def test_only_non_elf_files_exit_2_and_allow_empty_passes(tmp_path: Path) -> None:
    wheel = tmp_path / "app-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("app/__init__.py", "")
    readme = tmp_path / "README"
    readme.write_text("not ELF")
    refused = run("check", "--policy", PASSING_POLICY, str(wheel), str(readme))
    assert refused.returncode == 2
    assert f"no ELF artifacts found in {wheel} {readme}" in refused.stderr
    allowed = run("check", "--allow-empty", "--policy", PASSING_POLICY, "--format", "json", str(wheel), str(readme))
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["skipped"] == 2


def test_an_unreadable_file_is_checked_not_empty(shared_tmp: Path) -> None:
    """A file that cannot be opened is not "no ELF": it fails as a finding even without other files."""
    secret = shared_tmp / "secret"
    shutil.copy2("/usr/bin/true", secret)
    secret.chmod(stat.S_IWUSR)
    result = run("check", "--policy", PASSING_POLICY, str(secret), cwd=shared_tmp, prefix=as_unprivileged())
    assert result.returncode == 1, result.stdout + result.stderr
