"""Work on files in worker processes, each file under a time limit.

A pathological file (one that makes its worker hang, or crash, or eat memory
until the system kills it) costs its worker, never the batch: the supervisor
gives every worker a chunk of files through its own pipe, hears when each
file starts and ends, stops a worker whose file runs over the time limit,
answers that file through the caller's ``lost`` (reading answers it with an
``unreadable-file`` finding), and hands the rest of the chunk to a fresh
worker. Workers send one result per chunk, not per file: pickling hundreds of
small frames costs more than reading them (perf-floors.md, section 3).

What a worker does with its chunk is the caller's ``task``: a function of the
package, handed over as itself (pickled by its name), so the pool knows no
layer above it.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

from auditor.core.config import Limits
from auditor.core.errors import AuditorError
from auditor.pool.processes import aside, pin, tune_gc, warm_up, worker_context, worker_start


class Item(Protocol):
    """A file to work on: the pool knows it by its index in the batch."""

    @property
    def index(self) -> int: ...


# What a worker does with a chunk: called with the chunk, the limits,
# ``on_file`` (told "start"/"done" with each file's index) and the options.
Task = Callable[..., Any]
# The answer for a file whose worker was lost on it: the file, why ("timeout",
# "memory", "crashed") and the limit or detail.
Lost = Callable[..., Any]

# Files a worker gets at a time: at most, and at least (near the end of a
# batch). Larger chunks cost less per proposal to judge, and more memory. On
# 10,000 proposals (bench/), peak memory with two workers and time with one:
# chunks of 2,000 650 MB and 11.5 s, of 1,000 560 MB and 11.9 s, of 500
# 460 MB and 12.2 s. Since results.json is written piece by piece, chunks of
# 500 keep two workers under 500 MB (about 460 against 565 MB for 1,000)
# and take no longer with two workers (7.7 s against 7.9 s; one worker: 13.3
# against 12.7 s).
MAX_CHUNK = 500
# Judging a chunk costs about 0.15 s whatever its size (pandera, a query per
# rule set): a chunk of 100 files pays it once per 0.2 s of reading, so the
# tail of a batch is never cut finer than that.
MIN_CHUNK = 100
# Chunks a worker holds at once: the next one waits in its inbox, so it starts
# on it the moment it has sent a result, not a round trip later.
PREFETCH = 2
# Workers that may die between files (not while reading one) before the run
# gives up: once is the system's doing, again and again is ours.
MAX_DEATHS = 3
# A worker's exit code when a file took it over its memory limit.
EXIT_MEMORY = 71
Progress = Callable[[int], None]


class _Pending:
    """The files no worker has yet, handed out in chunks that shrink as the batch ends.

    Large chunks make judging cheaper per proposal (its fixed costs, pandera's
    above all, are paid per chunk); chunks of a fraction of what is left keep
    every worker busy to the end instead of one finishing a large chunk alone.
    """

    def __init__(self, items: Sequence[Item], workers: int) -> None:
        self.items: deque[Item] = deque(items)
        self.workers = workers

    def __len__(self) -> int:
        return len(self.items)

    def take(self) -> list[Item]:
        size = min(MAX_CHUNK, max(MIN_CHUNK, -(-len(self.items) // (2 * self.workers))))
        return [self.items.popleft() for _ in range(min(size, len(self.items)))]

    def put_back(self, items: list[Item]) -> None:
        """Files of a lost worker, to be read first."""
        self.items.extendleft(reversed(items))


# A worker's status, shared with the supervisor without messages: the file it
# is reading (-1 between files), when it started it, and how many it finished.
CURRENT, STARTED, FINISHED = 0, 1, 2


def _worker(
    conn: Connection,
    task: Task,
    limits: Limits,
    options: dict[str, Any],
    cpu: int,
    status: Any,
) -> None:
    """A worker's life: do its task on the chunks it is given until told to stop."""
    worker_start(limits.max_memory_bytes)
    pin(cpu)
    tune_gc()
    run = task
    inbox: queue.Queue[Any] = queue.Queue()

    def receive() -> None:
        # Drained continuously, so the supervisor's next chunk never waits on
        # a worker that is itself waiting to send a result.
        with contextlib.suppress(EOFError, OSError):
            while True:
                message = conn.recv()
                inbox.put(message)
                if message is None:
                    return
        inbox.put(None)

    threading.Thread(target=receive, name="auditor-inbox", daemon=True).start()

    def tell(event: str, index: int) -> None:
        if event == "start":
            status[STARTED] = time.monotonic()
            status[CURRENT] = index
        else:
            status[CURRENT] = -1
            status[FINISHED] += 1

    while True:
        message = inbox.get()
        if message is None:
            return
        chunk_id, items = message
        try:
            result = run(items, limits, on_file=tell, **options)
        except MemoryError:
            if status[CURRENT] >= 0:
                os._exit(EXIT_MEMORY)  # answered as over the memory limit
            conn.send(("error", chunk_id, traceback.format_exc()))
            continue
        except Exception:
            if status[CURRENT] >= 0:
                # Raised while reading a file: that file is answered as a crash
                # (the supervisor sees this process end while on it), the rest
                # of the batch goes on.
                traceback.print_exc()
                os._exit(70)
            # Raised outside any file (judging): a bug; the run stops with it.
            conn.send(("error", chunk_id, traceback.format_exc()))
            continue
        conn.send(("result", chunk_id, result))


@dataclass
class _Worker:
    process: Any
    conn: Connection
    status: Any  # shared array: CURRENT, STARTED, FINISHED
    # Chunks sent and not yet answered, in the order the worker does them.
    sent: deque[tuple[int, list[Item]]] = field(default_factory=deque)
    finished: int = 0  # FINISHED already counted for the progress bar

    @property
    def chunk(self) -> tuple[int, list[Item]] | None:
        """The chunk the worker is doing now."""
        return self.sent[0] if self.sent else None

    @property
    def current(self) -> int | None:
        index = int(self.status[CURRENT])
        return index if index >= 0 else None

    @property
    def started(self) -> float:
        return float(self.status[STARTED])


class WorkerError(RuntimeError):
    """A worker's task failed for a reason no file explains: a bug, shown with its traceback."""


class WorkersDying(AuditorError):
    """Workers die again and again outside any file: the machine (or its limits), not a file."""


class Supervisor:
    """Runs the worker processes and keeps every file's answer."""

    def __init__(
        self,
        workers: int,
        limits: Limits,
        task: Task,
        lost: Lost,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.count = max(1, workers)
        self.limits = limits
        self.task = task
        self.lost = lost
        self.options = options or {}
        # The fork server imports the task's module once for every worker
        # (unless the caller started it already, with what it preloads).
        warm_up([task.__module__])
        self.context = worker_context()
        self.workers: list[_Worker] = []
        self.parts: list[Any] = []  # what the task returned, or ``lost``'s answers
        self.answered: set[int] = set()  # files already counted for the progress bar
        self.started = 0  # workers started so far (each gets the next CPU)
        self.deaths = 0  # workers that died between files
        self.progress: Progress | None = None

    def _answered(self, index: int) -> None:
        """A file answered without its worker finishing it (lost to a limit or a crash)."""
        if index not in self.answered:
            self.answered.add(index)
            if self.progress is not None:
                self.progress(1)

    def _progressed(self, worker: _Worker) -> None:
        finished = int(worker.status[FINISHED])
        if finished > worker.finished and self.progress is not None:
            self.progress(finished - worker.finished)
        worker.finished = finished

    def _start(self) -> _Worker:
        ours, theirs = self.context.Pipe(duplex=True)
        status = self.context.Array("d", [-1.0, 0.0, 0.0], lock=False)
        process = self.context.Process(
            target=_worker,
            args=(theirs, self.task, self.limits, self.options, self.started % self.count, status),
            daemon=True,
        )
        process.start()
        self.started += 1
        theirs.close()
        worker = _Worker(process, ours, status)
        self.workers.append(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()
        self.workers.remove(worker)

    def _lost(self, worker: _Worker, failed: Item, variant: str, **params: Any) -> list[Item]:
        """The worker is gone: answer its current file, return the rest of its chunks."""
        assert worker.chunk is not None
        self.parts.append(self.lost(failed, variant, **params))
        rest = [item for _, items in worker.sent for item in items if item.index != failed.index]
        self._retire(worker)
        return rest

    def stream(self, items: Sequence[Item], progress: Progress | None = None) -> Iterator[Any]:
        """The batch read, a chunk at a time, as the workers finish them.

        The workers start at once and are kept busy from a thread of their
        own, so reading goes on while the caller prepares, and judges what has
        been read. The caller must go through the chunks to the end (or close
        the iterator), which stops the thread and the workers.
        """
        self.progress = progress
        parts: queue.Queue[Any] = queue.Queue()
        stop = threading.Event()
        supervisor = threading.Thread(
            target=self._supervise, args=(items, parts, stop), name="auditor-readers", daemon=True
        )
        supervisor.start()
        return self._handed(parts, stop, supervisor)

    def _handed(
        self, parts: queue.Queue[Any], stop: threading.Event, supervisor: threading.Thread
    ) -> Iterator[Any]:
        try:
            with aside(self.count):
                yield from self._parts(parts)
        finally:
            stop.set()
            supervisor.join()

    @staticmethod
    def _parts(parts: queue.Queue[Any]) -> Iterator[Any]:
        while True:
            part = parts.get()
            if part is None:
                return
            if isinstance(part, BaseException):
                raise part
            yield part

    def _supervise(
        self,
        items: Sequence[Item],
        parts: queue.Queue[Any],
        stop: threading.Event,
    ) -> None:
        chunks = _Pending(items, self.count)
        next_id = 0
        timeout = self.limits.timeout or None
        try:
            for _ in range(min(self.count, len(items))):
                self._start()
            while (chunks or any(w.sent for w in self.workers)) and not stop.is_set():
                for worker in list(self.workers):
                    while len(worker.sent) < PREFETCH and chunks:
                        worker.sent.append((next_id, chunks.take()))
                        next_id += 1
                        worker.conn.send(worker.sent[-1])
                busy = [w for w in self.workers if w.chunk is not None]
                ready = wait(
                    [w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=0.2
                )
                for worker in busy:
                    self._progressed(worker)
                    if worker.conn in ready or worker.process.sentinel in ready:
                        self._receive(worker, chunks)
                if timeout is not None:
                    self._stop_overdue(timeout, chunks)
                while len(self.workers) < self.count and chunks:
                    self._start()  # a replacement for a worker that was lost
                while self.parts:
                    parts.put(self.parts.pop(0))
            while self.parts:
                parts.put(self.parts.pop(0))
            parts.put(None)
        except BaseException as error:  # handed to the caller's thread
            parts.put(error)
        finally:
            for worker in list(self.workers):
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
                worker.process.join(timeout=5)
                self._retire(worker)

    def _receive(self, worker: _Worker, chunks: _Pending) -> None:
        try:
            while worker.sent and worker.conn.poll():
                message = worker.conn.recv()
                if message[0] == "error":
                    raise WorkerError(message[2])
                if message[0] == "result":
                    self._progressed(worker)
                    self.parts.append(message[2])
                    worker.sent.popleft()
        except (EOFError, OSError):
            pass
        if not worker.process.is_alive() and worker.chunk is not None:
            by_index = {item.index: item for _, items in worker.sent for item in items}
            failed = by_index.get(worker.current) if worker.current is not None else None
            detail = f"exit code {worker.process.exitcode}"
            if failed is None:  # died between files: read its chunks again elsewhere
                self.deaths += 1
                if self.deaths > MAX_DEATHS:
                    raise WorkersDying(
                        f"the worker processes keep dying between files ({detail}); if the "
                        "system is short of memory, or --max-memory is low, raise it or lower "
                        "--workers"
                    )
                chunks.put_back([item for _, items in worker.sent for item in items])
                self._retire(worker)
                return
            if worker.process.exitcode == EXIT_MEMORY:
                limit_mb = round(self.limits.max_memory_bytes / 1_000_000)
                rest = self._lost(worker, failed, "memory", limit_mb=limit_mb)
            else:
                rest = self._lost(worker, failed, "crashed", detail=detail)
            self._answered(failed.index)
            if rest:
                chunks.put_back(rest)

    def _stop_overdue(self, timeout: float, chunks: _Pending) -> None:
        now = time.monotonic()
        for worker in list(self.workers):
            if worker.chunk is None or worker.current is None or now - worker.started <= timeout:
                continue
            failed = next(
                item for _, items in worker.sent for item in items if item.index == worker.current
            )
            rest = self._lost(worker, failed, "timeout", limit=_seconds(timeout))
            self._answered(failed.index)
            if rest:
                chunks.put_back(rest)


def _seconds(value: float) -> str:
    return f"{value:g}"


def stream_isolated(
    items: Sequence[Item],
    limits: Limits,
    workers: int,
    progress: Progress | None = None,
    *,
    task: Task,
    lost: Lost,
    options: dict[str, Any] | None = None,
) -> Iterator[Any]:
    """What ``task`` returns for each chunk, and ``lost``'s answer for each file
    lost to a time limit or a crash, as the workers finish them."""
    return Supervisor(workers, limits, task, lost, options).stream(items, progress)
