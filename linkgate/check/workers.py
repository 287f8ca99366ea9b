"""A fork pool that keeps results in order and notices a worker that dies.

multiprocessing.Pool waits forever for a result when a worker is killed (the
OOM killer sends SIGKILL). Here each worker has its own pair of pipes and the
end of its result pipe is watched, so a lost worker ends the run; each worker
also writes the index of the item it starts into its own shared slot, so the
error can name the item it was on.

Built on os.fork, pipes and select.poll rather than multiprocessing: importing
multiprocessing (sockets, subprocess, tempfile, ctypes for shared arrays) cost
start-up time before the first worker could start, on every tree a run checks
(ruff's banned-api refuses it under linkgate/).

Workers are forked after the items exist: they read items from their copy of
the list, and only chunk bounds and results cross the pipes, as length-prefixed
pickles. Chunks shrink as the work runs out (guided self-scheduling): large ones
first keep the messages, and the parent's share of the CPU, few; small ones last
leave no worker long alone at the end.
"""

from __future__ import annotations

import contextlib
import gc
import mmap
import os
import select
import signal
import struct
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, Generic, NoReturn, TypeVar

from linkgate.core.messages import receive, send
from linkgate.core.records import record

Item = TypeVar("Item")
Result = TypeVar("Result")

# Chunks queued per worker: the next one waits in its pipe while it works on the current one.
_DEPTH = 2
# Each chunk is at most 1/(_GUIDED_PARTS * workers) of the items not yet handed out, and at
# most _LARGEST items: the window below then bounds the results held back whatever the count.
_GUIDED_PARTS = 4
_LARGEST = 128
# How far ahead of the oldest unfinished chunk work is handed out: bounds the
# results held back for ordering, whatever the number of items, yet lets the
# other workers go on while one reads a slow file (a large Go binary).
_WINDOW_PER_WORKER = 16
_NOT_STARTED = -1
# A progress slot: the index of the item a worker is on.
_SLOT = struct.Struct("<q")


class WorkerLostError(Exception):
    """A worker process ended without being asked to; `index` is the item it was on, if any."""

    def __init__(self, index: int | None, how: str) -> None:
        super().__init__(f"worker process lost ({how})")
        self.index = index
        self.how = how


class _Raised:
    """An exception raised by the function in a worker, sent back to be raised in the parent."""

    def __init__(self, error: Exception) -> None:
        self.error = error


@record
class _Work(Generic[Item, Result]):
    """What every worker inherits through fork."""

    function: Callable[[Item], Result]
    items: Sequence[Item]
    progress: mmap.mmap  # the item index each worker slot is on


class _Worker:
    def __init__(self, slot: int, pid: int, tasks: int, results: int) -> None:
        self.slot = slot
        self.pid = pid
        self.tasks = tasks  # write end: chunk bounds to the worker
        self.results = results  # read end: answers from the worker; end of file when it is gone
        self.chunks: deque[int] = deque()  # chunk numbers sent and not answered, oldest first
        self.status: int | None = None  # its wait status, once reaped

    def close(self) -> None:
        for descriptor in (self.tasks, self.results):
            with contextlib.suppress(OSError):
                os.close(descriptor)

    def reap(self) -> int:
        if self.status is None:
            self.status = os.waitpid(self.pid, 0)[1]
        return self.status


def ordered_map(
    function: Callable[[Item], Result], items: Sequence[Item], processes: int, chunk: int, uneven: int = 0
) -> Generator[Result, None, None]:
    """function(item) for every item, in item order, computed in `processes` forked workers.

    The first `uneven` items (archives, sorted largest first) go out in chunks of `chunk`; the
    rest, of similar cost each, in chunks of a shrinking share of what is left, `chunk` the smallest.
    Raises WorkerLostError when a worker dies; an exception raised by `function` is re-raised here.
    """
    # Anonymous shared memory: every forked worker writes its own slot, the parent reads them.
    progress = mmap.mmap(-1, _SLOT.size * processes)
    for slot in range(processes):
        _SLOT.pack_into(progress, _SLOT.size * slot, _NOT_STARTED)
    workers: list[_Worker] = []
    finished = False
    # Objects made so far are shared copy-on-write with every worker; a collection in a worker
    # would write to each one's header and copy nearly every page. Frozen, the collector skips them.
    gc.freeze()
    work = _Work(function, items, progress)
    try:
        for slot in range(processes):
            workers.append(_start(slot, work, workers))
        bounds = chunk_bounds(len(items), processes, chunk, uneven)
        yield from _Schedule(workers, bounds, progress).results()
        for worker in workers:
            # Every answer is in: a worker that died idle since then has lost nothing.
            with contextlib.suppress(OSError):
                send(worker.tasks, None)
        finished = True
    finally:
        _stop(workers, finished)
        gc.unfreeze()
        progress.close()


def chunk_bounds(count: int, processes: int, smallest: int, uneven: int = 0) -> list[tuple[int, int]]:
    """(start, stop) of each chunk of `count` items: `smallest` items each for the first `uneven`,
    then a share of what is left for `processes` workers, never below `smallest`."""
    bounds: list[tuple[int, int]] = []
    start = 0
    while start < count:
        # A quarter of each worker's share of the rest: the last chunks are `smallest`.
        share = 0 if start < uneven else min(_LARGEST, (count - start) // (_GUIDED_PARTS * processes))
        size = max(smallest, share, 1)
        if start < uneven:
            size = min(size, uneven - start)  # an uneven item never shares a chunk with the even ones
        bounds.append((start, min(count, start + size)))
        start += size
    return bounds


def _start(slot: int, work: _Work[Any, Any], started: list[_Worker]) -> _Worker:
    task_read, task_write = os.pipe()
    result_read, result_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: it never returns into the parent's code
        status = 1
        try:
            for other in started:  # the pipes of the workers forked before are the parent's alone
                other.close()
            os.close(task_write)
            os.close(result_read)
            _serve(slot, task_read, result_write, work)
            status = 0
        finally:
            os._exit(status)  # no parent's cleanup (atexit, buffered output) runs twice
    os.close(task_read)  # the worker's ends live in the worker only:
    os.close(result_write)  # its death then ends the parent's read with end of file
    return _Worker(slot, pid, task_write, result_read)


def _stop(workers: list[_Worker], finished: bool) -> None:
    """Finished: the workers were told to end and do. Otherwise (an error, Ctrl-C, the consumer stopped) kill them."""
    for worker in workers:
        if not finished and worker.status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGKILL)
        worker.close()
        with contextlib.suppress(ChildProcessError):
            worker.reap()


def _serve(slot: int, tasks: int, results: int, work: _Work[Any, Any]) -> None:
    """Worker loop: chunk bounds in, list of results out; None ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    while (bounds := receive(tasks)) is not None:
        answers = []
        for index in range(*bounds):
            _SLOT.pack_into(work.progress, _SLOT.size * slot, index)
            try:
                answers.append(work.function(work.items[index]))
            except Exception as error:  # re-raised in the parent, with its type
                send(results, _Raised(error))
                return
        send(results, answers)


class _Schedule(Generic[Result]):
    """Hands out chunks, collects answers, yields them in order; watches every worker's result pipe."""

    def __init__(self, workers: list[_Worker], bounds: list[tuple[int, int]], progress: mmap.mmap) -> None:
        self.workers = workers
        self.bounds = bounds
        self.progress = progress
        self.window = _WINDOW_PER_WORKER * len(workers)
        self.next_chunk = 0  # the next chunk to hand out
        self.next_result = 0  # the next chunk to yield
        self.answered: dict[int, list[Result]] = {}

    def results(self) -> Iterator[Result]:
        by_descriptor = {worker.results: worker for worker in self.workers}
        poller = select.poll()
        for descriptor in by_descriptor:
            poller.register(descriptor, select.POLLIN)  # hang-up and errors are always reported
        self._hand_out()
        while self.next_result < len(self.bounds):
            for descriptor, _event in poller.poll():
                self._receive(by_descriptor[descriptor])
            while self.next_result in self.answered:
                yield from self.answered.pop(self.next_result)
                self.next_result += 1
            self._hand_out()

    def _hand_out(self) -> None:
        for worker in self.workers:
            while len(worker.chunks) < _DEPTH and self.next_chunk < min(
                len(self.bounds), self.next_result + self.window
            ):
                try:
                    send(worker.tasks, self.bounds[self.next_chunk])
                except OSError:  # it ended: what it said last (maybe an exception) comes first
                    self._drain(worker)
                worker.chunks.append(self.next_chunk)
                self.next_chunk += 1

    def _receive(self, worker: _Worker) -> None:
        """One answer of `worker` (its pipe is readable); WorkerLostError at its end."""
        try:
            answer = receive(worker.results)
        except (EOFError, OSError):
            self._lost(worker)
        if isinstance(answer, _Raised):
            raise answer.error
        self.answered[worker.chunks.popleft()] = answer

    def _drain(self, worker: _Worker) -> NoReturn:
        """A worker that cannot be written to has ended: its answers first, then WorkerLostError."""
        while True:
            self._receive(worker)

    def _lost(self, worker: _Worker) -> NoReturn:
        status = worker.reap()
        code = os.waitstatus_to_exitcode(status)
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        raise WorkerLostError(self._item_on(worker), how)

    def _item_on(self, worker: _Worker) -> int | None:
        """The item the worker was on: its slot, unless it finished that chunk and had not started the next."""
        if not worker.chunks:
            return None
        first = self.bounds[worker.chunks[0]][0]
        started: int = _SLOT.unpack_from(self.progress, _SLOT.size * worker.slot)[0]
        return max(first, started)
