"""One run at a time: advisory file locks with a bounded wait.

Lock files lie beside the report folder and the state, where others may be
able to write: a lock file is opened without following symbolic links, must
be a plain file of this user, and is never truncated (the holder's pid is
written over its first bytes), so a planted link or hard link cannot make
the auditor overwrite another file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from auditor.core.errors import OutputError

_PID_FIELD = 24  # bytes of the lock file that say who holds it


def _open(lock_file: Path, create: bool) -> int:
    """A descriptor of ``lock_file``, refused unless it is a plain file of this user."""
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        if create:
            lock_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(lock_file, flags | (os.O_CREAT if create else 0), 0o600)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise OutputError(
                f"the lock file {lock_file} is a symbolic link; remove it (the auditor "
                "never writes through links)"
            ) from error
        raise OutputError(f"cannot write the lock file {lock_file}: {error.strerror}") from error
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode) or status.st_nlink != 1 or status.st_uid != os.geteuid():
        os.close(descriptor)
        raise OutputError(
            f"the lock file {lock_file} is not a plain file of this user (a link, a device "
            "or another user's file); remove it"
        )
    return descriptor


def held(lock_file: Path) -> bool:
    """Whether another process holds ``lock_file`` now (a hint; ``hold`` decides)."""
    try:
        descriptor = _open(lock_file, create=False)
    except OutputError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # (closing releases a lock taken here)
    return False


@contextlib.contextmanager
def hold(lock_file: Path, wait: float, busy: Callable[[str], str]) -> Iterator[None]:
    """Hold ``lock_file``; if another process holds it, wait up to ``wait`` seconds.

    The lock is an advisory ``flock``, released by the system when the
    process ends however it ends, so a killed run leaves no stale lock. The
    file says which process holds it; ``busy(holder)`` is the message of the
    error raised when the wait is over.
    """
    descriptor = _open(lock_file, create=True)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(descriptor, _PID_FIELD, 0).decode("ascii", "replace")
                    raise OutputError(busy(holder.strip() or "another process")) from None
                time.sleep(0.2)
        os.pwrite(descriptor, f"pid {os.getpid()}".ljust(_PID_FIELD - 1).encode() + b"\n", 0)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
