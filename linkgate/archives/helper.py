"""Nested zips (a layer's jars) read by a forked helper process while the caller walks the tar.

In an image layer the caller's thread is the bound: the decoder thread leaves it the tar walk,
the ELF members and every member of every jar (a jar's central directory, then 4 KiB inflated per
class file: about half of its time on a layer of /usr). Pure-Python work on a second thread would
hold the GIL, so the jars go to a process of their own, forked before any thread starts.

The caller holds a nested zip as reading it in place would (the same bytes, charged to the same
Budget, with the same errors), hands them to the helper and goes on with the tar. The helper reads
the zip exactly as the caller would (`Context.reader`, in a copy of the caller's context and of
its Budget as it stood), and answers with the zip's unit, or the problem that stopped it, and what
it spent. `settle` (for an image, after each layer) and `finish` put each answer where the caller
would have: on the member's node (and on every hard link made to it since), or among the unit's
problems at the place the problem would have had; then they charge what the helper spent.

Verdicts are the ones of reading in one process. Spending only grows, and the bounds are fixed
while members are read (Budget.grow raises the ratio bound only when an image blob is opened, and
a layer is settled before the next blob is), so a read in which no bound is passed, the sum of
the helper's spending included, is one in which reading in order passes none either. Anything
else (a bound passed in the helper, in the caller or by the sum; a helper that dies; an error the
reader does not expect; a thread that cannot run) raises `ReadAgainError`, and the caller reads the
whole archive again in one process: it then stops where and how reading in order stops.
"""

from __future__ import annotations

import contextlib
import gc
import io
import mmap
import os
import signal
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from linkgate.archives.limits import ArchiveError, BoundExceededError, Budget
from linkgate.archives.members import Context
from linkgate.archives.sniff import Format
from linkgate.archives.streams import Stream, read_capped
from linkgate.archives.tree import Unit
from linkgate.core.messages import receive, receive_raw, send, send_raw
from linkgate.core.records import replace

T = TypeVar("T")

# An archive smaller than this is read in one process: forking costs more than it could save.
WORTH_A_HELPER = 16 << 20
# A nested zip larger than this is read by the caller, as before (it may be spooled to disk).
LARGEST_HANDED = 64 << 20
# Bytes handed over and not yet taken by the helper: the caller waits beyond this (memory bound).
_MOST_WAITING = 64 << 20
# Seconds between looks at whether a thread the caller waits on is still there: one that could not
# begin (a MemoryError as it starts, under `ulimit -v`) would otherwise be waited for forever.
_LOOK_AGAIN = 0.1


class ReadAgainError(Exception):
    """The helper's reading cannot stand for reading in one process: read the archive again without it."""


class Pending(Unit):
    """A nested zip the helper is reading: stands in `Node.nested` until `settle` puts the answer there."""

    def __init__(self) -> None:
        super().__init__("zip")
        self.answer: Unit | None = None


def read_helped(fresh: Callable[[], Context], read_with: Callable[[Context], T]) -> T:
    """`read_with` in a context whose nested zips a helper process reads meanwhile; `read_with` again
    in a `fresh()` context, in this process alone, when the helper's reading cannot stand for
    reading in order (ReadAgainError). `read_with` reads from the start each time it is called."""
    context = fresh()
    helper = start_helper(context)
    if helper is None:
        return read_with(context)
    try:
        found = read_with(replace(context, helper=helper))
        helper.finish()
        return found
    except (ReadAgainError, BoundExceededError):
        pass  # a bound, or a helper lost: reading in order says where it stops
    except ArchiveError:
        # The archive's own error stands, unless the zips read before it pass a bound once counted.
        try:
            helper.finish()
        except ReadAgainError:
            pass
        else:
            raise
    finally:
        helper.close()
    return read_with(fresh())


def start_helper(context: Context) -> ZipHelper | None:
    """A helper for the archive read in `context`; None when no process can be forked."""
    if not hasattr(os, "fork"):
        return None
    try:
        return ZipHelper(context)
    except (OSError, RuntimeError, MemoryError):
        return None  # out of processes, threads or memory: read in this process alone


class ZipHelper:
    """One forked helper process and the caller's side of the exchange."""

    def __init__(self, base: Context) -> None:
        self.base = base  # the context the helper reads in (prefix, depth and budget come with each zip)
        task_read, task_write = os.pipe()
        answer_read, answer_write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the helper: it never returns into the caller's code
            status = 1
            # The caller's objects, shared copy-on-write: the helper's collector leaves them be (frozen
            # here, not before the fork: the caller's own garbage is then still collected as before).
            gc.freeze()
            try:
                os.close(task_write)
                os.close(answer_read)
                _serve(base, task_read, answer_write)
                status = 0
            finally:
                os._exit(status)
        os.close(task_read)
        os.close(answer_write)
        self._pending: list[_Handed] = []
        self._placed = 0  # answers put in place so far (settle)
        self._closed = False
        try:
            self._sender = _Sender(task_write)
        except BaseException:
            os.close(task_write)
            os.close(answer_read)
            self._stop()
            raise
        try:
            self._answers = _Collector(answer_read)
        except BaseException:
            os.close(answer_read)
            self._stop()
            self._sender.close()
            raise

    def takes(self, context: Context, size: int | None) -> bool:
        """Whether a zip member of `context`'s archive, `size` bytes long, goes to the helper: only
        those of the archive the helper was started for (not of archives nested in it: they are read
        in contexts of their own), held in memory (no larger than LARGEST_HANDED)."""
        fits = size is not None and size <= min(LARGEST_HANDED, context.limits.member) and not self._closed
        return fits and replace(context, helper=None) == self.base

    def submit(self, unit: Unit, name: str, inner: Context, stream: Stream, size: int | None) -> Pending:
        """Hand the zip member `name` of `unit` (read from `stream`) to the helper: what stands in for
        its unit until it is settled. ArchiveError as reading it in place raises it while holding
        it (larger than the member bound, cut short)."""
        # The bytes read_zip would hold in its spooled file (their size is within the bound: see takes).
        data = read_capped(stream, inner.limits.member, "nested zip", size)
        stand_in = Pending()
        self._pending.append((unit, stand_in, len(unit.problems), name))
        self._sender.put((name, inner.prefix, inner.depth, inner.budget), data)
        return stand_in

    def settle(self) -> None:
        """Every answer so far where reading in place would have put it, and its spending charged;
        ReadAgainError when the helper's reading cannot stand for that. An image's layer is settled
        before it is applied to the filesystem below (its nodes and problems move there)."""
        answers = self._answers.all(len(self._pending), self._sender.stalled)
        if answers is None:
            raise ReadAgainError("the helper process ended early")
        batch = list(zip(self._pending[self._placed :], answers[self._placed :], strict=True))
        self._placed = len(self._pending)
        # In submission order, as the helper answers; problems go in from the last, so indexes stay true.
        for handed, answer in reversed(batch):
            _place(answer, handed, self.base.budget)
        for unit in {id(handed[0]): handed[0] for handed, _ in batch}.values():
            _resolve(unit)

    def finish(self) -> None:
        """settle() once every zip is handed over, then the helper is stopped."""
        self._sender.close()
        try:
            self.settle()
        finally:
            self.close()

    def close(self) -> None:
        """Stop the helper (idempotent): at the end, or on any error of the caller."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self._sender.close()  # what it still writes fails once the helper is gone: it ends
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        self._answers.close()

    def _stop(self) -> None:
        """The helper killed and reaped (its threads could not be started)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


# One answer: (what: unit, problem, bound or error; the unit or why; what was spent: bytes, members, produced).
Answer = tuple[str, Any, tuple[int, int, int]]
# One zip handed over: (the unit it is a member of, its stand-in, where its problem goes in the unit's, its name).
_Handed = tuple[Unit, "Pending", int, str]
# What the helper is sent before the zip's bytes: (its name, the inner context's prefix and depth, the budget then).
_Task = tuple[str, str, int, Budget]


def _place(answer: Answer, handed: _Handed, budget: Budget) -> None:
    unit, stand_in, at, name = handed
    what, found, spent = answer
    if what == "unit":
        stand_in.answer = found
    elif what == "problem":
        unit.problems.insert(at, (name, found))
    else:  # a bound passed, or an error reading in place would raise: read again, in order
        raise ReadAgainError(found)
    if not budget.absorb(*spent):
        raise ReadAgainError("a bound is passed once the helper's spending is counted")


def _resolve(unit: Unit) -> None:
    """Every node that stands in for a nested zip (the member, and hard links made to it) gets its answer."""
    for node in unit.nodes.values():
        if isinstance(node.nested, Pending):
            node.nested = node.nested.answer


def _serve(base: Context, tasks: int, answers: int) -> None:
    """The helper's loop: a zip in, its answer out; the end of the task pipe ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle
    while True:
        try:
            task: _Task = receive(tasks)
            data = receive_raw(tasks)
        except EOFError:
            return
        send(answers, _read(base, task, data))


def _read(base: Context, task: _Task, data: bytes) -> Answer:
    name, prefix, depth, budget = task
    before = (budget.bytes_left, budget.members_left, budget.produced)
    inner = replace(base, prefix=prefix, depth=depth, budget=budget, helper=None)
    try:
        found: tuple[str, Any] = ("unit", base.reader(Format.ZIP, io.BytesIO(data), name, inner))
    except BoundExceededError as error:
        found = ("bound", str(error))
    except ArchiveError as error:
        found = ("problem", str(error))
    except Exception as error:  # reading in place raises it too: the caller reads again and does
        found = ("error", f"{type(error).__name__}: {error}")
    spent = (before[0] - budget.bytes_left, before[1] - budget.members_left, budget.produced - before[2])
    return (*found, spent)


class _Sender:
    """Writes zips to the helper from a thread of its own (the GIL is let go while it writes), so the
    caller goes on with the tar while the helper is busy; at most _MOST_WAITING bytes wait."""

    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor
        self._queue: deque[tuple[object, bytes | mmap.mmap] | None] = deque()
        self._waiting = 0
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="linkgate-zip-sender", daemon=True)
        self._closed = False
        self._failed = False
        self._started = False
        self._thread.start()

    def put(self, header: object, data: bytes | mmap.mmap) -> None:
        with self._changed:
            while self._waiting and self._waiting + len(data) > _MOST_WAITING and not self.stalled():
                self._changed.wait(_LOOK_AGAIN)
            if self.stalled():
                return  # the helper is gone: its answers stop short, and finish reads again in one process
            self._waiting += len(data)
            self._queue.append((header, data))
            self._changed.notify_all()

    def close(self) -> None:
        """No more zips: what waits is written, then the helper sees the end of its pipe."""
        if self._closed:
            return
        self._closed = True
        with self._changed:
            self._queue.append(None)
            self._changed.notify_all()
        self._thread.join()
        if not self._started:  # it died before running (out of memory as it began): close for it
            os.close(self._descriptor)

    def stalled(self) -> bool:
        """Zips handed over may never reach the helper: the writing thread failed, or is gone before
        close (it ended without running: out of memory as it began)."""
        return self._failed or (not self._closed and not self._thread.is_alive())

    def _run(self) -> None:
        self._started = True
        try:
            while (task := self._next()) is not None:
                header, data = task
                send(self._descriptor, header)
                send_raw(self._descriptor, data)
                with self._changed:
                    self._waiting -= len(data)
                    self._changed.notify_all()
        except OSError:  # the helper is gone
            with self._changed:
                self._failed = True
                self._changed.notify_all()
        finally:
            os.close(self._descriptor)

    def _next(self) -> tuple[object, bytes | mmap.mmap] | None:
        with self._changed:
            while not self._queue:
                self._changed.wait()
            return self._queue.popleft()


class _Collector:
    """Reads the helper's answers from a thread of its own as they come (unpickling them while the
    caller waits for the decoder or walks the tar), in the order the zips were handed over."""

    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor
        self._answers: list[Answer] = []
        self._ended = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="linkgate-zip-answers", daemon=True)
        self._thread.start()

    def all(self, count: int, stalled: Callable[[], bool]) -> list[Answer] | None:
        """The first `count` answers, once there; None when the helper ended before giving them, or
        when what it was to read can no longer reach it (`stalled`)."""
        with self._changed:
            while len(self._answers) < count and not self._ended and self._thread.is_alive() and not stalled():
                self._changed.wait(_LOOK_AGAIN)
            return self._answers[:count] if len(self._answers) >= count else None

    def close(self) -> None:
        self._thread.join()
        os.close(self._descriptor)

    def _run(self) -> None:
        # The end of the pipe, a read error, an answer that does not unpickle: whatever stops the
        # answers short makes `all` say so, and the archive is read again in one process.
        with contextlib.suppress(Exception):
            while True:
                answer = receive(self._descriptor)
                with self._changed:
                    self._answers.append(answer)
                    self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()
