"""One run at a time: advisory file locks with a bounded wait."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from auditor.core.errors import OutputError


@contextlib.contextmanager
def hold(lock_file: Path, wait: float, busy: Callable[[str], str]) -> Iterator[None]:
    """Hold ``lock_file``; if another process holds it, wait up to ``wait`` seconds.

    The lock is an advisory ``flock``, released by the system when the
    process ends however it ends, so a killed run leaves no stale lock. The
    file says which process holds it; ``busy(holder)`` is the message of the
    error raised when the wait is over.
    """
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_file.open("a+")
    except OSError as error:
        raise OutputError(f"cannot write the lock file {lock_file}: {error.strerror}") from error
    deadline = time.monotonic() + wait
    with handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    raise OutputError(busy(handle.read().strip() or "another process")) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
