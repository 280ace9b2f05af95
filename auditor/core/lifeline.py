"""Worker processes end when the run's main process ends, however it ends.

The workers are forked from a fork server, not from the main process, so
the system does not tell them when the main process is killed (``kill -9``,
the out-of-memory killer): they would go on reading, judging and writing for
a run that no longer exists, and hold the files they have open. Each worker
watches the main process through a pidfd (or by polling where there is
none) and exits the moment it is gone.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time

# Set by the main process before its fork server starts; inherited by every worker.
MAIN_PID = "AUDITOR_MAIN_PID"
EXIT_ORPHANED = 75


def mark_main() -> None:
    """Say, for the processes started from now on, that this process is the run's main one.

    Also keeps the C allocator of those processes to a few arenas: by
    default it reserves one per thread on many-core machines, address space
    that the workers' memory cap (RLIMIT_AS) would count as used.
    """
    os.environ[MAIN_PID] = str(os.getpid())
    os.environ.setdefault("MALLOC_ARENA_MAX", "4")


def watch_main() -> None:
    """In a worker: exit as soon as the main process is gone (no-op in the main process)."""
    try:
        pid = int(os.environ.get(MAIN_PID, ""))
    except ValueError:
        return
    if pid == os.getpid():
        return
    threading.Thread(target=_watch, args=(pid,), name="auditor-lifeline", daemon=True).start()


def _watch(pid: int) -> None:
    try:
        descriptor = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(EXIT_ORPHANED)
    except (AttributeError, OSError):  # no pidfd (old kernel, not Linux): poll
        while _alive(pid):
            time.sleep(1.0)
        os._exit(EXIT_ORPHANED)
    with contextlib.suppress(OSError):
        select.select([descriptor], [], [])  # readable once the process has ended
    os._exit(EXIT_ORPHANED)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
