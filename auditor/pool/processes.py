"""Worker processes: how they start, what they do first, and how they share the CPUs.

Both process pools of a run start their workers here: the readers'
supervisor (pool/supervisor.py) and the reports' ProcessPoolExecutor. Workers
are forked from a fork server that has imported what they need once.
"""

from __future__ import annotations

import contextlib
import gc
import os
import resource
import sys
from collections.abc import Iterator, Sequence
from functools import cache
from multiprocessing.context import ForkServerContext, ForkServerProcess
from typing import Any

from auditor.core.lifeline import mark_main, watch_main


@cache
def worker_context() -> Any:
    """Workers are forked from a fork server that has imported their task's module once.

    The server is a fresh process that only imports (polars starts its thread
    pool on first use, and the server never uses it), so forking it is safe,
    and a worker starts in milliseconds instead of paying the imports again.
    """
    mark_main()  # before the server starts: its workers watch this process
    return _Context()


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
    task is a function of the package (``auditor.api.read_and_judge``), never
    defined in the script: with the script's file and module hidden while the worker
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


def pin(cpu: int) -> None:
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


@contextlib.contextmanager
def aside(workers: int) -> Iterator[None]:
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


def tune_gc() -> None:
    """Collect young objects less often.

    A chunk makes hundreds of thousands of short-lived objects (cells, rows,
    findings) and keeps caches that grow over the run; at the default
    thresholds the collector rescans the old ones again and again, a fifth of
    a worker's time on a long batch.
    """
    gc.freeze()  # what was imported stays; never scanned again
    gc.set_threshold(50_000, 20, 100)
