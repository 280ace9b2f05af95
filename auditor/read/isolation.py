"""Reading files in worker processes, each file under a time limit.

A pathological file (one that makes the reader hang, or crash, or eat memory
until the system kills it) costs its worker, never the batch: the supervisor
gives every worker a chunk of files through its own pipe, hears when each
file starts and ends, stops a worker whose file runs over the time limit,
answers that file with an ``unreadable-file`` finding, and hands the rest of
the chunk to a fresh worker. Workers send one result per chunk, not per file:
pickling hundreds of small frames costs more than reading them
(perf-floors.md, section 3).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import queue
import resource
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerContext, ForkServerProcess
from typing import Any

from auditor.core.config import Limits
from auditor.core.errors import AuditorError
from auditor.core.findings import FindingDraft
from auditor.core.lifeline import mark_main, watch_main
from auditor.read.discover import InputFile
from auditor.read.model import FileRead, ReadBatch

DEFAULT_READER = "auditor.read.workbook:read_file"
# What a worker does with its chunk: "module:function", called with the chunk,
# the limits, ``on_file`` and the run's options. Named, not imported, so a
# higher layer can give the workers its own task (the API reads and judges).
DEFAULT_TASK = "auditor.read.batch:read_in_worker"
# Files a worker gets at a time: at most, and at least (near the end of a
# batch). Larger chunks cost less per proposal to judge, and more memory. On
# 10,000 proposals (bench/), peak memory with two workers and time with one:
# chunks of 2,000 650 MB and 11.5 s, of 1,000 560 MB and 11.9 s, of 500
# 460 MB and 12.2 s.
MAX_CHUNK = 1000
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


@cache
def worker_context() -> Any:
    """Workers are forked from a fork server that has imported the reader once.

    The server is a fresh process that only imports (polars starts its thread
    pool on first use, and the server never uses it), so forking it is safe,
    and a worker starts in milliseconds instead of paying the imports again.
    """
    mark_main()  # before the server starts: its workers watch this process
    context = _Context()
    context.set_forkserver_preload(["auditor.read.batch"])
    return context


class _Process(ForkServerProcess):
    """A worker that never imports the caller's script (``_script_kept_out``);
    the readers' supervisor and the reports' process pool both start these."""

    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        with _script_kept_out():
            return ForkServerProcess._Popen(process_obj)


class _Context(ForkServerContext):
    Process = _Process


def warm_up(preload: Sequence[str] = ()) -> None:
    """Start the fork server now, so its imports overlap with the caller's own.

    ``preload`` names the modules the server imports once for all workers
    (the task's module); it counts only if the server is not running yet.
    """
    from multiprocessing import forkserver

    context = worker_context()
    if preload:
        context.set_forkserver_preload(list(preload))
    forkserver.ensure_running()


@contextlib.contextmanager
def _script_kept_out() -> Iterator[None]:
    """Start a worker without running the caller's script again in it.

    multiprocessing prepares a worker by importing the caller's ``__main__``
    (its file, or its module under ``-m``), so a script that calls the
    library without an ``if __name__ == "__main__":`` guard would start a
    batch again in every worker, which multiprocessing refuses. A worker's
    task is named by module ("auditor.api:read_and_judge"), never defined in
    the script: with the script's file and module hidden while the worker
    starts, the worker has no reason to import it.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    names: tuple[str, ...] = ("__file__", "__spec__")
    hidden: dict[str, Any] = {name: main.__dict__[name] for name in names if name in main.__dict__}
    for name in hidden:
        del main.__dict__[name]
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(hidden)


def load_reader(reader: str | None) -> Callable[..., Any]:
    """The function that reads one file: ``reader`` ("module:function") or the default."""
    return _load(reader or DEFAULT_READER)


def worker_start(max_memory_bytes: int) -> None:
    """What every worker process does first: end with the main process, and cap its memory.

    The cap is on the address space (RLIMIT_AS) beyond what the worker holds
    at start (its imports, the thread pools' reservations, which vary with
    the machine's cores): a file or a report that would take more gets a
    MemoryError, in that worker only.
    """
    watch_main()
    # A finaliser's exception (a zip file closed on a full disk) is no news
    # for the user: the write that failed is reported where it failed.
    sys.unraisablehook = lambda unraisable: None
    if not hasattr(resource, "RLIMIT_AS") or not max_memory_bytes:
        return
    _start_thread_pool()  # its threads' stacks are start-up, not a file's memory
    limit = _address_space() + max_memory_bytes
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _start_thread_pool() -> None:
    """Make polars start its thread pool (a pool as large as the machine has cores)."""
    if "polars" in sys.modules:
        import polars as pl

        pl.DataFrame({"n": list(range(4096))}).select(pl.col("n").sum())


def _address_space() -> int:
    """This process's virtual memory size now, in bytes (0 where it cannot be told)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:  # noqa: PTH123
            pages = int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def _load(reader: str) -> Callable[..., Any]:
    module, _, name = reader.partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function


def _pin(cpu: int) -> None:
    """Keep a worker on one CPU.

    polars hands every query to its thread pool; a worker whose threads may
    wander pays a cross-CPU wake-up on each small query, two to three times
    the query itself on this project's 2-vCPU machines (perf-floors.md, "VM
    wake-up artefact"). Pinned, the cost disappears.
    """
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {cpus[cpu % len(cpus)]})


class _Pending:
    """The files no worker has yet, handed out in chunks that shrink as the batch ends.

    Large chunks make judging cheaper per proposal (its fixed costs, pandera's
    above all, are paid per chunk); chunks of a fraction of what is left keep
    every worker busy to the end instead of one finishing a large chunk alone.
    """

    def __init__(self, items: Sequence[InputFile], workers: int) -> None:
        self.items: deque[InputFile] = deque(items)
        self.workers = workers

    def __len__(self) -> int:
        return len(self.items)

    def take(self) -> list[InputFile]:
        size = min(MAX_CHUNK, max(MIN_CHUNK, -(-len(self.items) // (2 * self.workers))))
        return [self.items.popleft() for _ in range(min(size, len(self.items)))]

    def put_back(self, items: list[InputFile]) -> None:
        """Files of a lost worker, to be read first."""
        self.items.extendleft(reversed(items))


@contextlib.contextmanager
def _aside(workers: int) -> Iterator[None]:
    """Keep this process off the CPUs its workers are pinned to, while it has others.

    It unpickles and collects their results: on a worker's CPU it would slow
    the worker down.
    """
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    cpus = sorted(os.sched_getaffinity(0))
    if workers >= len(cpus):
        yield
        return
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, set(cpus[workers:]))
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, set(cpus))


# A worker's status, shared with the supervisor without messages: the file it
# is reading (-1 between files), when it started it, and how many it finished.
CURRENT, STARTED, FINISHED = 0, 1, 2


def _worker(
    conn: Connection,
    task: str,
    limits: Limits,
    options: dict[str, Any],
    cpu: int,
    status: Any,
) -> None:
    """A worker's life: do its task on the chunks it is given until told to stop."""
    worker_start(limits.max_memory_bytes)
    _pin(cpu)
    _tune_gc()
    run = _load(task)
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


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect young objects less often while a batch's results pile up here.

    The process gathering the workers' chunks keeps every result (a dozen
    checks and their findings per proposal); at the default thresholds the
    collector rescans all of them again and again as more arrive.
    """
    before = gc.get_threshold()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _tune_gc() -> None:
    """Collect young objects less often.

    A chunk makes hundreds of thousands of short-lived objects (cells, rows,
    findings) and keeps caches that grow over the run; at the default
    thresholds the collector rescans the old ones again and again, a fifth of
    a worker's time on a long batch.
    """
    gc.freeze()  # what was imported stays; never scanned again
    gc.set_threshold(50_000, 20, 100)


@dataclass
class _Worker:
    process: Any
    conn: Connection
    status: Any  # shared array: CURRENT, STARTED, FINISHED
    # Chunks sent and not yet answered, in the order the worker does them.
    sent: deque[tuple[int, list[InputFile]]] = field(default_factory=deque)
    finished: int = 0  # FINISHED already counted for the progress bar

    @property
    def chunk(self) -> tuple[int, list[InputFile]] | None:
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


def _unreadable(item: InputFile, variant: str, **params: Any) -> ReadBatch:
    read = FileRead(file=item.display, relative=item.relative, index=item.index, unreadable=True)
    read.drafts.append(FindingDraft("unreadable-file", params={"variant": variant, **params}))
    return ReadBatch(files=[read])


class Supervisor:
    """Runs the worker processes and keeps every file's answer."""

    def __init__(
        self,
        workers: int,
        limits: Limits,
        task: str = DEFAULT_TASK,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.count = max(1, workers)
        self.limits = limits
        self.task = task
        self.options = options or {}
        self.context = worker_context()
        self.workers: list[_Worker] = []
        self.parts: list[Any] = []  # what the task returned, or ReadBatch for lost files
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

    def _lost(
        self, worker: _Worker, failed: InputFile, variant: str, **params: Any
    ) -> list[InputFile]:
        """The worker is gone: answer its current file, return the rest of its chunks."""
        assert worker.chunk is not None
        self.parts.append(_unreadable(failed, variant, **params))
        rest = [item for _, items in worker.sent for item in items if item.index != failed.index]
        self._retire(worker)
        return rest

    def run(self, items: Sequence[InputFile], progress: Progress | None = None) -> ReadBatch:
        return ReadBatch.merge(list(self.stream(items, progress)))

    def stream(self, items: Sequence[InputFile], progress: Progress | None = None) -> Iterator[Any]:
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
            with _aside(self.count):
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
        items: Sequence[InputFile],
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
    items: Sequence[InputFile],
    limits: Limits,
    workers: int,
    progress: Progress | None = None,
    task: str = DEFAULT_TASK,
    options: dict[str, Any] | None = None,
) -> Iterator[Any]:
    """What the workers' task returns for each chunk (a ReadBatch for files lost to
    time limits or crashes)."""
    return Supervisor(workers, limits, task, options).stream(items, progress)
