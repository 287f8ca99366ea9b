"""A fork pool that keeps results in order and notices a worker that dies.

multiprocessing.Pool waits forever for a result when a worker is killed (the
OOM killer sends SIGKILL). Here each worker has its own pipe and its process
sentinel is watched, so a lost worker ends the run; each worker also writes
the index of the item it starts into its own shared slot, so the error can
name the item it was on.

Workers are forked after the items exist: they read items from their copy of
the list, and only chunk start indices and results cross the pipes.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import signal
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkContext, ForkProcess
from typing import Any, Generic, TypeVar

from linkgate.records import record

Item = TypeVar("Item")
Result = TypeVar("Result")

# Chunks queued per worker: the next one waits in its pipe while it works on the current one.
_DEPTH = 2
# How far ahead of the oldest unfinished chunk work is handed out: bounds the
# results held back for ordering, whatever the number of items, yet lets the
# other workers go on while one reads a slow file (a large Go binary).
_WINDOW_PER_WORKER = 16
_NOT_STARTED = -1


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
    chunk: int
    progress: Any  # RawArray of the item index each worker slot is on


class _Worker:
    def __init__(self, slot: int, process: ForkProcess, connection: Connection) -> None:
        self.slot = slot
        self.process = process
        self.connection = connection
        self.chunks: deque[int] = deque()  # chunk numbers sent and not answered, oldest first


def ordered_map(
    function: Callable[[Item], Result], items: Sequence[Item], processes: int, chunk: int
) -> Generator[Result, None, None]:
    """function(item) for every item, in item order, computed in `processes` forked workers.

    Raises WorkerLostError when a worker dies; an exception raised by `function` is re-raised here.
    """
    context = multiprocessing.get_context("fork")
    progress = context.RawArray("q", [_NOT_STARTED] * processes)
    workers: list[_Worker] = []
    finished = False
    work = _Work(function, items, chunk, progress)
    # Objects made so far are shared copy-on-write with every worker; a collection in a worker
    # would write to each one's header and copy nearly every page. Frozen, the collector skips them.
    gc.freeze()
    try:
        for slot in range(processes):
            workers.append(_start(context, slot, work))
        yield from _Schedule(workers, len(items), chunk, progress).results()
        for worker in workers:
            # Every answer is in: a worker that died idle since then has lost nothing.
            with contextlib.suppress(OSError):
                worker.connection.send(None)
        finished = True
    finally:
        _stop(workers, finished)
        gc.unfreeze()


def _start(context: ForkContext, slot: int, work: _Work[Any, Any]) -> _Worker:
    parent_end, child_end = context.Pipe(duplex=True)
    process = context.Process(target=_serve, args=(slot, child_end, work), daemon=True)
    process.start()
    child_end.close()  # the worker's end lives in the worker only
    return _Worker(slot, process, parent_end)


def _stop(workers: list[_Worker], finished: bool) -> None:
    """Finished: the workers were told to end and do. Otherwise (an error, Ctrl-C, the consumer stopped) kill them."""
    for worker in workers:
        if not finished:
            worker.process.kill()
        worker.process.join()
        worker.connection.close()


def _serve(slot: int, connection: Connection, work: _Work[Any, Any]) -> None:
    """Worker loop: chunk start index in, list of results out; None ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    while (start := connection.recv()) is not None:
        results = []
        for index in range(start, min(start + work.chunk, len(work.items))):
            work.progress[slot] = index
            try:
                results.append(work.function(work.items[index]))
            except Exception as error:  # re-raised in the parent, with its type
                connection.send(_Raised(error))
                return
        connection.send(results)


class _Schedule(Generic[Result]):
    """Hands out chunks, collects answers, yields them in order; watches every worker's sentinel."""

    def __init__(self, workers: list[_Worker], count: int, chunk: int, progress: Any) -> None:
        self.workers = workers
        self.starts = range(0, count, chunk)
        self.progress = progress
        self.window = _WINDOW_PER_WORKER * len(workers)
        self.next_chunk = 0  # the next chunk to hand out
        self.next_result = 0  # the next chunk to yield
        self.answered: dict[int, list[Result]] = {}

    def results(self) -> Iterator[Result]:
        by_handle: dict[Any, _Worker] = {}
        for worker in self.workers:
            by_handle[worker.connection] = by_handle[worker.process.sentinel] = worker
        self._hand_out()
        while self.next_result < len(self.starts):
            for handle in wait(list(by_handle)):
                self._receive(by_handle[handle], ended=handle is by_handle[handle].process.sentinel)
            while self.next_result in self.answered:
                yield from self.answered.pop(self.next_result)
                self.next_result += 1
            self._hand_out()

    def _hand_out(self) -> None:
        for worker in self.workers:
            while len(worker.chunks) < _DEPTH and self.next_chunk < min(
                len(self.starts), self.next_result + self.window
            ):
                try:
                    worker.connection.send(self.starts[self.next_chunk])
                except OSError:  # it ended: what it said last (maybe an exception) comes first
                    self._receive(worker, ended=True)
                worker.chunks.append(self.next_chunk)
                self.next_chunk += 1

    def _receive(self, worker: _Worker, ended: bool) -> None:
        # Answers a worker sent before it ended are still in its pipe: take them first.
        while worker.connection.poll():
            try:
                answer = worker.connection.recv()
            except (EOFError, OSError):
                break
            if isinstance(answer, _Raised):
                raise answer.error
            self.answered[worker.chunks.popleft()] = answer
        if ended or not worker.process.is_alive():
            self._lost(worker)

    def _lost(self, worker: _Worker) -> None:
        worker.process.join(timeout=5)
        code = worker.process.exitcode
        how = f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit status {code}"
        raise WorkerLostError(self._item_on(worker), how)

    def _item_on(self, worker: _Worker) -> int | None:
        """The item the worker was on: its slot, unless it finished that chunk and had not started the next."""
        if not worker.chunks:
            return None
        first = self.starts[worker.chunks[0]]
        return max(first, int(self.progress[worker.slot]))
